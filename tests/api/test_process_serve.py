"""`mtx serve` options on real processes: several workers with shared metrics, and TLS."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.databases import SqliteTemplate
from tests.factories import CustomerWithKey, make_customer
from tests.servers import MTX, Server, run_command, seeding, serve, server_environment

pytestmark = pytest.mark.slow

BALANCE = {
    "currency": "USDT",
    "available": "25.00",
    "in_contracts": "0.00",
    "total_rewards": "0.00",
    "in_stakes": "0.00",
    "pending_withdrawals": "0.00",
}
BATCH = 10
#: The second worker may still be importing when the first answers /healthz.
BOTH_WORKERS_WITHIN = 90.0


def requests_counted(metrics_text: str, route: str, status: str) -> float:
    """The value of mtx_http_requests_total{method="GET", route, status}."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "mtx_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": route,
                "status": status,
            }:
                return sample.value
    raise AssertionError(f"no mtx_http_requests_total sample for {route} {status}")


def pids_with_counters(metrics_dir: Path) -> set[int]:
    """Processes that have counted a request: each writes its own counter_<pid>.db."""
    return {int(path.stem.removeprefix("counter_")) for path in metrics_dir.glob("counter_*.db")}


async def balance_on_new_connection(server: Server, customer: CustomerWithKey) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as client:
        return await client.get("/v1/balance", headers=customer.auth)


async def test_two_workers_serve_and_metrics_add_up_across_them(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    with sqlite_template.database(tmp_path) as url:
        async with seeding(url) as seed:
            frank = await make_customer(seed.db, seed.settings, deposit="25.00")
        async with serve(
            url,
            tmp_path / "server",
            args=["--workers", "2"],
            env={
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                # Each worker keeps its own in-memory window; keep it out of the way here.
                "MTX_RATE_LIMIT": "100000/minute",
            },
        ) as server:
            sent = 0
            deadline = time.monotonic() + BOTH_WORKERS_WITHIN
            # The kernel spreads new connections over the workers; go on until both answered.
            while len(pids_with_counters(metrics_dir)) < 2 and time.monotonic() < deadline:
                batch = [balance_on_new_connection(server, frank) for _ in range(BATCH)]
                responses = await asyncio.wait_for(asyncio.gather(*batch), timeout=30.0)
                sent += len(responses)
                for response in responses:
                    assert response.status_code == 200, response.text
                    assert response.json() == BALANCE
                await asyncio.sleep(0.05)
            assert sent >= BATCH
            workers = pids_with_counters(metrics_dir)
            assert len(workers) == 2, f"expected both workers to answer, got {workers}"
            assert server.process.pid not in workers

            async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as client:
                metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"].startswith("text/plain")
            assert requests_counted(metrics.text, "/v1/balance", "200") == sent
            assert requests_counted(metrics.text, "/healthz", "200") >= 1


def trust_only(certificate: Path) -> ssl.SSLContext:
    """A client context that trusts nothing but the test's self-signed certificate."""
    return ssl.create_default_context(cafile=str(certificate))


async def make_self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "the openssl CLI is required to make the test certificate"
    certificate, key = folder / "cert.pem", folder / "key.pem"
    code, _out, err = await run_command(
        openssl,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(certificate),
        cwd=folder,
    )
    assert code == 0, f"openssl could not make a certificate: {err}"
    return certificate, key


async def test_serve_speaks_https_with_the_given_certificate(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    certificate, key = await make_self_signed_certificate(tmp_path)
    with sqlite_template.database(tmp_path) as url:
        code, _out, err = await run_command(
            str(MTX),
            "serve",
            "--ssl-certfile",
            str(certificate),
            cwd=tmp_path,
            env=server_environment(url, {}),
        )
        assert code == 1
        assert err.strip().splitlines()[-1] == (
            "error: --ssl-certfile and --ssl-keyfile go together"
        )

        async with seeding(url) as seed:
            grace = await make_customer(seed.db, seed.settings, deposit="25.00")
        tls = trust_only(certificate)
        async with serve(
            url,
            tmp_path / "server",
            args=["--ssl-certfile", str(certificate), "--ssl-keyfile", str(key)],
            https=tls,
        ) as server:
            assert server.base_url.startswith("https://127.0.0.1:")
            async with httpx.AsyncClient(
                base_url=server.base_url, verify=tls, timeout=10
            ) as client:
                balance = await client.get("/v1/balance", headers=grace.auth)
            assert balance.status_code == 200
            assert balance.json() == BALANCE
            assert balance.headers["x-request-id"].startswith("req_")

            plain = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=plain, timeout=5.0) as client:
                with pytest.raises(httpx.TransportError):
                    await client.get("/healthz")

"""Schemathesis over the served OpenAPI document: every phase, every check but one.

A real `mtx serve` (sandbox, SQLite, its worker in-process) answers whatever the document
describes, so routes that land later are covered without touching this test. The run must
find no server error, no response outside the schema, no undocumented status or header and
no schema-invalid request accepted. Only `positive_data_acceptance` is off: a schema-valid
request may still be refused by a business rule (402 for a low balance, 404 for an unknown
id). The example count and the seed are fixed, so the run is bounded and repeatable.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest

from miningtx.customers import kyc
from miningtx.kit.clock import utcnow
from tests.databases import SqliteTemplate
from tests.factories import fund_pool, invariant_problems, make_customer, open_for_business
from tests.servers import run_command, seeding, serve

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).with_name("st")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
MAX_EXAMPLES = 30
SEED = 17
TIME_LIMIT = 300.0
#: The server the run talks to resolves every webhook host to 127.0.0.1, so creating
#: endpoints for generated URLs never sends a DNS query, nor a delivery, off this machine.
SERVE_OFFLINE = """
import sys
from miningtx.webhooks import urls

async def resolve(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]

urls.resolve = resolve
from miningtx.cli import main

sys.argv = ["mtx", *sys.argv[1:]]
main()
"""
SERVER_ENV = {
    "MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    "MTX_WORKER_IN_PROCESS": "true",
    "MTX_RATE_LIMIT": "1000000/minute",
}


async def test_schemathesis_finds_nothing_over_the_served_spec(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    with sqlite_template.database(tmp_path) as url:
        async with seeding(url) as seed:
            await open_for_business(seed.db)
            await fund_pool(seed.db, "staking", "1000000.00")
            await fund_pool(seed.db, "bonus", "1000.00")
            alice = await make_customer(seed.db, seed.settings, deposit="100000.00")
            async with seed.db.write() as session:
                await kyc.submit_kyc(
                    session,
                    alice.seq,
                    full_name="Alice Example",
                    date_of_birth=date(1990, 5, 17),
                    country="GB",
                    document_type="passport",
                    document_number="AB1234567",
                    now=utcnow(),
                )
                await kyc.approve_kyc(session, alice.id, utcnow(), operator=None)
            command = [sys.executable, "-c", SERVE_OFFLINE]
            async with serve(url, tmp_path / "server", env=SERVER_ENV, command=command) as server:
                spec_url = f"{server.base_url}/v1/openapi.json"
                async with httpx.AsyncClient(timeout=10.0) as client:
                    spec = (await client.get(spec_url)).json()
                status, out, err = await run_command(
                    str(SCHEMATHESIS),
                    "run",
                    spec_url,
                    "--header",
                    f"Authorization: Bearer {alice.key}",
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--checks",
                    "all",
                    "--exclude-checks",
                    "positive_data_acceptance",
                    "--max-examples",
                    str(MAX_EXAMPLES),
                    "--seed",
                    str(SEED),
                    "--workers",
                    "1",
                    "--request-timeout",
                    "20",
                    "--generation-database",
                    "none",
                    "--no-color",
                    env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
                    cwd=tmp_path,
                    time_limit=TIME_LIMIT,
                )
                server_log = server.log()
            problems = await invariant_problems(seed.db)

    report = f"{out}\n{err}\n--- server log ---\n{server_log[-5000:]}"
    assert status == 0, report
    operations = sum(len(methods) for methods in spec["paths"].values())
    tested = re.search(r"Tested:\s+(\d+)", out)
    assert tested is not None, report
    assert int(tested.group(1)) == operations, report
    assert "Traceback" not in server_log, report
    assert problems == []

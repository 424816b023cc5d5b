"""The client without a server: retries and keys, error mapping, webhook verification, parity."""

from __future__ import annotations

import ast
import inspect
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

import miningtx_client
from miningtx.webhooks.signing import signed_headers
from miningtx_client import (
    APIConnectionError,
    AsyncClient,
    BadRequestError,
    Client,
    ConflictError,
    RateLimitError,
    ServerError,
    WebhookVerificationError,
    models,
    webhooks,
)
from miningtx_client import _async as async_module
from miningtx_client import _sync as sync_module

STDLIB = sys.stdlib_module_names
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BALANCE = {
    "currency": "USDT",
    "available": "2480.75",
    "in_contracts": "0.00",
    "total_rewards": "0.00",
    "in_stakes": "0.00",
    "pending_withdrawals": "0.00",
}
STAKE = {
    "id": "stk_1",
    "amount": "1000.00",
    "days": 30,
    "roi_percent": "60",
    "payout": "1600.00",
    "status": "active",
    "start_time": "2026-06-22T11:02:00Z",
    "end_time": "2026-07-22T11:02:00Z",
    "completed_at": None,
}
Handler = Callable[[httpx.Request], httpx.Response]


def error(status: int, code: str, **extra: str) -> dict[str, object]:
    return {"error": {"code": code, "message": "m", "request_id": "req_x", **extra}}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)  # the sync client waits with it
    return recorded


def mock_client(handler: Handler, max_retries: int = 2) -> Client:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Client(
        "mtx_test_k", base_url="http://api.test", http_client=http, max_retries=max_retries
    )


def test_a_post_keeps_one_idempotency_key_across_5xx_retries(sleeps: list[float]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            return httpx.Response(503, json=error(503, "unavailable"))
        return httpx.Response(200, json=STAKE)

    stake = mock_client(handler).staking.create_stake(amount=Decimal("1000.00"), days=30)

    assert stake.payout == Decimal("1600.00")
    keys = {request.headers["idempotency-key"] for request in seen}
    assert len(seen) == 3
    assert len(keys) == 1
    assert next(iter(keys)).startswith("mtxpy_")
    assert json.loads(seen[0].content) == {"amount": "1000.00", "days": 30}
    assert seen[0].headers["authorization"] == "Bearer mtx_test_k"
    assert len(sleeps) == 2
    assert sleeps[0] < sleeps[1]


def test_each_post_gets_its_own_key_and_a_given_key_is_sent() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        return httpx.Response(200, json=STAKE)

    client = mock_client(handler)
    client.staking.create_stake(amount="1000.00", days=30)
    client.staking.create_stake(amount="1000.00", days=30)
    client.staking.create_stake(amount="1000.00", days=30, idempotency_key="order-7")

    assert keys[0] != keys[1]
    assert keys[2] == "order-7"


def test_a_409_conflict_is_retried_but_a_reused_key_is_not(sleeps: list[float]) -> None:
    answers = [
        httpx.Response(409, json=error(409, "conflict")),  # the first attempt still runs
        httpx.Response(200, json=STAKE),
    ]
    client = mock_client(lambda _request: answers.pop(0))

    assert client.staking.create_stake(amount="1000.00", days=30).id == "stk_1"
    assert len(sleeps) == 1

    reused = httpx.Response(409, json=error(409, "idempotency_key_reused"))
    with pytest.raises(ConflictError) as raised:
        mock_client(lambda _request: reused).staking.create_stake(amount="1", days=30)
    assert raised.value.code == "idempotency_key_reused"
    assert len(sleeps) == 1


def test_429_waits_for_retry_after(sleeps: list[float]) -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}, json=error(429, "rate_limited")),
        httpx.Response(200, json=BALANCE),
    ]

    balance = mock_client(lambda _request: answers.pop(0)).balance.retrieve()

    assert balance.available == Decimal("2480.75")
    assert sleeps == [7.0]


def test_retries_give_up_with_the_last_error(sleeps: list[float]) -> None:
    calls: list[int] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "1"}, json=error(429, "rate_limited"))

    with pytest.raises(RateLimitError) as raised:
        mock_client(handler, max_retries=3).balance.retrieve()

    assert len(calls) == 4
    assert raised.value.retry_after == 1.0
    assert raised.value.request_id == "req_x"


def test_network_errors_are_retried_then_raised(sleeps: list[float]) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(APIConnectionError):
        mock_client(handler).balance.retrieve()

    assert len(calls) == 3
    assert len(sleeps) == 2


def test_client_errors_are_not_retried(sleeps: list[float]) -> None:
    calls: list[int] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json=error(400, "invalid_request", param="amount"))

    with pytest.raises(BadRequestError) as raised:
        mock_client(handler).withdrawals.create(amount="1", network="bsc", address="0x0")

    assert calls == [1]
    assert sleeps == []
    assert (raised.value.status, raised.value.code, raised.value.param) == (
        400,
        "invalid_request",
        "amount",
    )


def test_a_5xx_without_the_envelope_is_a_server_error(sleeps: list[float]) -> None:
    client = mock_client(lambda _request: httpx.Response(502, text="bad gateway"), max_retries=0)

    with pytest.raises(ServerError) as raised:
        client.balance.retrieve()

    assert raised.value.status == 502
    assert raised.value.code == "http_502"


def test_amounts_are_exact_decimals_and_floats_are_refused() -> None:
    balance = models.Balance.model_validate({**BALANCE, "available": "0.000001"})

    assert balance.available == Decimal("0.000001")
    assert balance.model_dump(mode="json")["available"] == "0.000001"
    with pytest.raises(ValidationError):
        models.Balance.model_validate({**BALANCE, "available": 2480.75})
    with pytest.raises(ValidationError):
        models.Stake.model_validate({**STAKE, "start_time": "2026-06-22T11:02:00"})  # naive


def test_the_async_client_has_every_method_of_the_sync_one() -> None:
    sync_client = Client("k")
    async_client = AsyncClient("k")
    for name, resource in vars(sync_client).items():
        if name.startswith("_"):
            continue
        twin = getattr(async_client, name)
        for method_name, method in inspect.getmembers(resource, inspect.ismethod):
            if method_name.startswith("_"):
                continue
            async_method = getattr(twin, method_name)
            assert inspect.iscoroutinefunction(async_method), (name, method_name)
            assert inspect.signature(method).parameters.keys() == (
                inspect.signature(async_method).parameters.keys()
            ), (name, method_name)
    assert vars(sync_module).keys() - {"time", "Page"} <= vars(async_module).keys() | {
        "Client",
    }
    sync_client.close()


def delivery(now: datetime, secret: str = SECRET) -> tuple[str, dict[str, str]]:
    body = json.dumps(
        {
            "id": "evt_1",
            "event": "reward.credited",
            "created_at": "2026-06-22T06:00:00Z",
            "data": {"amount": "130.00", "contract": "Ultra Miner"},
        },
        separators=(",", ":"),
    )
    return body, signed_headers(secret, "evt_1", body, now)


def test_webhooks_verify_returns_the_typed_event() -> None:
    now = datetime.now(UTC)
    body, headers = delivery(now)
    shouting = {name.upper(): value for name, value in headers.items()}

    event = webhooks.verify(body.encode(), shouting, SECRET)

    assert event.id == "evt_1"
    assert event.event == "reward.credited"
    assert event.created_at == datetime(2026, 6, 22, 6, tzinfo=UTC)
    assert event.data == {"amount": "130.00", "contract": "Ultra Miner"}
    only_ours = {k: v for k, v in headers.items() if k != "webhook-signature"}
    assert webhooks.verify(body, only_ours, SECRET) == event


@pytest.mark.parametrize(
    "corrupt",
    ["body", "secret", "signature", "stale", "future", "missing-id", "not-json"],
)
def test_webhooks_verify_refuses_what_is_not_genuine(corrupt: str) -> None:
    now = datetime.now(UTC)
    body, headers = delivery(now - timedelta(minutes=10) if corrupt == "stale" else now)
    secret = SECRET
    if corrupt == "future":
        body, headers = delivery(now + timedelta(minutes=10))
    if corrupt == "body":
        body = body.replace("130.00", "131.00")
    if corrupt == "secret":
        secret = "whsec_" + "A" * 32
    if corrupt == "signature":
        headers = {**headers, "webhook-signature": "v1,bm90IGl0", "x-miningtx-signature": ""}
    if corrupt == "missing-id":
        headers = {k: v for k, v in headers.items() if k != "webhook-id"}
    if corrupt == "not-json":
        body = "not json"
        headers = signed_headers(SECRET, "evt_1", body, now)

    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body, headers, secret)


def test_the_package_exports_its_documented_names() -> None:
    for name in miningtx_client.__all__:
        assert hasattr(miningtx_client, name), name


def test_the_client_package_never_imports_the_server() -> None:
    package = Path(miningtx_client.__file__).parent
    imported: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
    roots = {name.split(".")[0] for name in imported}
    assert "miningtx" not in roots
    assert roots - STDLIB <= {"httpx", "pydantic", "standardwebhooks", "miningtx_client"}

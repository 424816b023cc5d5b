"""GET /v1/deposits/address, GET /v1/deposits, and the sandbox development wallet."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from miningtx.app import create_app
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.models import DepositAddress
from miningtx.wallet import repository, service
from miningtx.wallet.devwallet import MARKER, account_xpub, read_mnemonic
from miningtx.wallet.keys import derive_address, parse_account_xpub
from tests.conftest import TEST_XPUB, Env, make_settings
from tests.factories import invariant_problems, make_customer

ADDRESS_URL = "/v1/deposits/address"


async def address_rows(db: Database) -> int:
    async with db.read() as session:
        count = await session.scalar(select(func.count()).select_from(DepositAddress))
    return int(count or 0)


async def test_each_customer_has_one_stable_address_for_both_networks(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)

    bsc = await env.client.get(ADDRESS_URL, params={"network": "bsc"}, headers=alice.auth)
    polygon = await env.client.get(ADDRESS_URL, params={"network": "polygon"}, headers=alice.auth)
    again = await env.client.get(ADDRESS_URL, params={"network": "bsc"}, headers=alice.auth)
    other = await env.client.get(ADDRESS_URL, params={"network": "bsc"}, headers=bob.auth)

    expected = derive_address(TEST_XPUB, alice.seq)
    assert bsc.status_code == 200, bsc.text
    assert bsc.json() == {
        "network": "bsc",
        "token": "USDT",
        "address": expected,
        "min_deposit": "10.00",
    }
    assert polygon.json() == {
        "network": "polygon",
        "token": "USDT",
        "address": expected,
        "min_deposit": "10.00",
    }
    assert again.json() == bsc.json()
    assert other.json()["address"] == derive_address(TEST_XPUB, bob.seq)
    assert other.json()["address"] != expected
    async with env.db.read() as session:
        row = await session.get(DepositAddress, alice.seq)
    assert row is not None
    assert (row.derivation_index, row.address) == (alice.seq, expected)
    assert await address_rows(env.db) == 2


async def test_concurrent_first_calls_allocate_one_address(env: Env) -> None:
    carol = await make_customer(env.db, env.settings)

    responses = await asyncio.gather(
        *(
            env.client.get(ADDRESS_URL, params={"network": "bsc"}, headers=carol.auth)
            for _ in range(10)
        )
    )

    assert {r.status_code for r in responses} == {200}
    assert {r.json()["address"] for r in responses} == {derive_address(TEST_XPUB, carol.seq)}
    assert await address_rows(env.db) == 1


@pytest.mark.parametrize("query", [{}, {"network": "ethereum"}, {"network": "BSC"}])
async def test_missing_or_unknown_network_is_400(env: Env, query: dict[str, str]) -> None:
    dave = await make_customer(env.db, env.settings)

    response = await env.client.get(ADDRESS_URL, params=query, headers=dave.auth)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["param"] == "network"
    assert await address_rows(env.db) == 0


async def test_deposits_list_newest_first_in_pages(env: Env) -> None:
    erin = await make_customer(env.db, env.settings)
    amounts = ["10.00", "25.50", "100.123456"]
    for network, amount in zip(["bsc", "polygon", "bsc"], amounts, strict=True):
        credited = await env.client.post(
            "/v1/test_helpers/deposits",
            json={"network": network, "amount": amount},
            headers=erin.auth,
        )
        assert credited.status_code == 200, credited.text
    stranger = await make_customer(env.db, env.settings, deposit="50.00")

    first = await env.client.get("/v1/deposits", params={"limit": 2}, headers=erin.auth)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [d["amount"] for d in page["data"]] == ["100.123456", "25.50"]
    assert page["has_more"] is True
    second = await env.client.get(
        "/v1/deposits", params={"limit": 2, "cursor": page["next_cursor"]}, headers=erin.auth
    )
    rest = second.json()
    assert [d["amount"] for d in rest["data"]] == ["10.00"]
    assert rest == {"data": rest["data"], "has_more": False, "next_cursor": None}
    deposit = rest["data"][0]
    assert set(deposit) == {
        "id",
        "network",
        "token",
        "amount",
        "status",
        "confirmations",
        "tx_hash",
        "created_at",
        "credited_at",
    }
    assert deposit["id"].startswith("dep_")
    assert (deposit["network"], deposit["token"], deposit["status"]) == ("bsc", "USDT", "confirmed")
    theirs = (await env.client.get("/v1/deposits", headers=stranger.auth)).json()
    assert [d["amount"] for d in theirs["data"]] == ["50.00"]
    balance = (await env.client.get("/v1/balance", headers=erin.auth)).json()
    assert balance["available"] == "135.623456"
    assert await invariant_problems(env.db) == []


async def test_sandbox_without_xpub_generates_and_reuses_a_development_wallet(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "wallet"
    settings = make_settings(database_url, wallet_xpub=None, sandbox_wallet_dir=folder)

    first_app = create_app(settings)
    seed_file = folder / "sandbox-wallet.seed"
    xpub = (folder / "sandbox-wallet.xpub").read_text().strip()
    assert first_app.state.wallet_xpub == xpub
    assert xpub != TEST_XPUB
    assert parse_account_xpub(xpub).depth == 3
    assert seed_file.read_text().splitlines()[0] == MARKER
    assert stat.S_IMODE(seed_file.stat().st_mode) == 0o600
    mnemonic = read_mnemonic(seed_file)
    assert len(mnemonic.split()) in (12, 24)
    assert account_xpub(mnemonic) == xpub

    db: Database = first_app.state.db
    frank = await make_customer(db, settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=first_app), base_url="http://test"
    ) as client:
        first = await client.get(ADDRESS_URL, params={"network": "bsc"}, headers=frank.auth)
    await db.dispose()

    second_app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second_app), base_url="http://test"
    ) as client:
        second = await client.get(ADDRESS_URL, params={"network": "polygon"}, headers=frank.auth)
    await second_app.state.db.dispose()

    assert second_app.state.wallet_xpub == xpub
    assert first.status_code == 200, first.text
    assert first.json()["address"] == derive_address(xpub, frank.seq)
    assert second.json()["address"] == first.json()["address"]
    assert seed_file.read_text().splitlines()[-1] == mnemonic


async def test_a_broken_development_wallet_stops_start_up(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "wallet"
    folder.mkdir()
    (folder / "sandbox-wallet.xpub").write_text("not an xpub\n")
    settings = make_settings(database_url, wallet_xpub=None, sandbox_wallet_dir=folder)

    with pytest.raises(ValueError, match="does not hold a usable xpub"):
        create_app(settings)


async def test_losing_the_allocation_race_returns_the_winners_address(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first call that reads no row, then finds one inserted meanwhile, returns that row."""
    gina = await make_customer(env.db, env.settings)
    winner = (
        await env.client.get(ADDRESS_URL, params={"network": "bsc"}, headers=gina.auth)
    ).json()["address"]
    real_lookup = repository.deposit_address
    lookups: list[int] = []

    async def stale_first_read(session: WriteSession, customer_seq: int) -> DepositAddress | None:
        lookups.append(customer_seq)
        return None if len(lookups) == 1 else await real_lookup(session, customer_seq)

    monkeypatch.setattr(repository, "deposit_address", stale_first_read)
    async with env.db.write() as session:
        row = await service.assign_deposit_address(session, gina.seq, TEST_XPUB, utcnow())
        assert row.address == winner
        # The savepoint kept the transaction usable after the refused insert.
        assert await real_lookup(session, gina.seq) is row

    assert lookups == [gina.seq, gina.seq]
    assert await address_rows(env.db) == 1

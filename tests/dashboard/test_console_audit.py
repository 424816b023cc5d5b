"""The console's four-eyes withdrawal approvals, adjustments (maker-checker) and audit log
page: each signed-in operator is the identity the services record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from miningtx.app import create_app
from miningtx.kit.db import Database
from miningtx.kit.money import parse_amount
from miningtx.ledger.accounts import Platform, customer_available
from tests.audit.factories import actions
from tests.conftest import Env, make_settings
from tests.dashboard.console_factories import pending_withdrawal, signed_in_operator
from tests.dashboard.factories import WebOperator
from tests.dashboard.web import csrf_of, field_error, submit
from tests.factories import balances, fund_pool, invariant_problems, make_customer
from tests.wallet.factories import stored_withdrawal


@dataclass
class Console:
    env: Env
    app: FastAPI

    @asynccontextmanager
    async def operator(
        self, role: str = "admin"
    ) -> AsyncIterator[tuple[httpx.AsyncClient, WebOperator]]:
        """Another browser: its own client (cookies), signed in as a new operator."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, await signed_in_operator(self.env.db, client, role=role)


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[Console]:
    settings = make_settings(database_url, withdrawal_four_eyes_above="1000.00")
    app = create_app(settings)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Console(Env(settings, db, client), app)
    await db.dispose()


async def test_a_big_withdrawal_needs_two_operators_in_the_console(console: Console) -> None:
    env = console.env
    customer = await make_customer(env.db, env.settings, deposit="5000.00")
    withdrawal_id = await pending_withdrawal(
        env.db, env.settings, customer.seq, customer.id, "1500.00"
    )
    page = f"/console/withdrawals/{withdrawal_id}"
    async with (
        console.operator("reviewer") as (ann_client, ann),
        console.operator() as (
            ben_client,
            ben,
        ),
    ):
        first = await submit(ann_client, page, f"{page}/approve", {})
        after_first = (await stored_withdrawal(env.db, withdrawal_id)).status
        shown = await ann_client.get(page)
        queue = await ben_client.get("/console/withdrawals")
        twice = await submit(ann_client, page, f"{page}/approve", {})
        second = await submit(ben_client, page, f"{page}/approve", {})

    assert first.status_code == 303
    assert "1 of 2 approvals" in shown.text
    assert f"(by {ann.email})" in shown.text
    assert "You approved it; a second operator must approve it too." in shown.text
    assert "Approve withdrawal" not in shown.text
    assert after_first == "pending"
    assert "1 of 2 approvals" in queue.text
    assert twice.status_code == 409
    assert "needs a second operator" in twice.text
    assert second.status_code == 303
    assert (await stored_withdrawal(env.db, withdrawal_id)).status == "processed"
    assert await actions(env.db, withdrawal_id) == [
        (ann.email, "withdrawal.approval_recorded"),
        (ben.email, "withdrawal.approved"),
    ]
    assert await invariant_problems(env.db) == []


async def test_adjustments_in_the_console_need_a_second_operator(console: Console) -> None:
    env = console.env
    customer = await make_customer(env.db, env.settings)
    await fund_pool(env.db, "adjustments", "100.00")
    page = "/console/adjustments"
    async with (
        console.operator("reviewer") as (maker_client, maker),
        console.operator() as (
            checker_client,
            checker,
        ),
    ):
        bad = await submit(
            maker_client,
            page,
            page,
            {
                "customer": customer.id,
                "direction": "credit",
                "amount": "12.50",
                "category": "goodwill",
                "reason": "",
            },
        )
        proposed = await submit(
            maker_client,
            page,
            page,
            {
                "customer": customer.id,
                "direction": "credit",
                "amount": "12.50",
                "category": "goodwill",
                "reason": "outage on 1 December",
            },
        )
        listing = await maker_client.get(page)
        adjustment_id = listing.text.split('data-adjustment="', 1)[1].split('"', 1)[0]
        own = await maker_client.post(
            f"{page}/{adjustment_id}/approve", data={"csrf_token": csrf_of(listing)}
        )
        seen_by_checker = await checker_client.get(page)
        approved = await checker_client.post(
            f"{page}/{adjustment_id}/approve", data={"csrf_token": csrf_of(seen_by_checker)}
        )

    assert bad.status_code == 400
    assert field_error(bad, "reason") == "Say why this adjustment is made."
    assert proposed.status_code == 303
    assert f"Approve {adjustment_id}" not in listing.text  # not offered to its proposer
    assert own.status_code == 409
    assert "proposed by you" in own.text
    assert f"Approve {adjustment_id}" in seen_by_checker.text
    assert approved.status_code == 303
    account = customer_available(customer.id)
    assert await balances(env.db, account, Platform.ADJUSTMENTS) == {
        account: parse_amount("12.50"),
        Platform.ADJUSTMENTS: parse_amount("87.50"),
    }
    assert await actions(env.db, adjustment_id) == [
        (maker.email, "adjustment.proposed"),
        (checker.email, "adjustment.approved"),
    ]
    assert await invariant_problems(env.db) == []


async def test_both_roles_read_the_audit_log_with_filters(console: Console) -> None:
    env = console.env
    await signed_in_operator(env.db, env.client)  # an admin, who changes the capacity
    changed = await submit(env.client, "/console/capacity", "/console/capacity", {"ths": "123"})
    assert changed.status_code == 303
    async with console.operator("reviewer") as (reviewer, _):
        everything = await reviewer.get("/console/audit")
        filtered = await reviewer.get(
            "/console/audit", params={"action": "capacity.set", "target": "fleet"}
        )
        none = await reviewer.get("/console/audit", params={"operator_email": "system"})
        bad = await reviewer.get("/console/audit", params={"limit": "0"})

    assert everything.status_code == 200
    assert "capacity.set" in everything.text
    assert "operator.created" in everything.text
    assert filtered.text.count("data-entry=") == 1
    assert "capacity_ths: 123" in filtered.text
    assert none.text.count("data-entry=") == 2  # the operators, created with no operator named
    assert bad.status_code == 400
    assert 'href="/console/audit"' in everything.text  # in the navigation

"""Concurrent KYC approvals from separate `mtx kyc approve` processes pay the bonus once."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from miningtx.customers import kyc
from miningtx.kit.clock import utcnow
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import LedgerTransfer
from tests.factories import (
    SUITE_OPERATOR_EMAIL,
    fund_pool,
    invariant_problems,
    make_customer,
    make_operator_ref,
)
from tests.servers import MTX, seeding, server_environment

pytestmark = pytest.mark.slow

APPROVERS = 8


async def approve_in_a_process(customer_id: str, environment: dict[str, str]) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        str(MTX),
        "kyc",
        "approve",
        customer_id,
        "--operator",
        SUITE_OPERATOR_EMAIL,
        "--json",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120.0)
    assert process.returncode == 0, stderr.decode()
    result: dict[str, object] = json.loads(stdout)
    return result


async def test_concurrent_approvals_in_separate_processes_pay_one_bonus(
    database_url: str,
) -> None:
    async with seeding(database_url) as seed:
        await fund_pool(seed.db, "bonus", "100.00")
        customer = await make_customer(seed.db, seed.settings)
        await make_operator_ref(seed.db, SUITE_OPERATOR_EMAIL)
        async with seed.db.write() as session:
            await kyc.submit_kyc(
                session,
                customer.seq,
                full_name="Hal Finney",
                date_of_birth=date(1956, 5, 4),
                country="US",
                document_type="passport",
                document_number="HF-1956",
                now=utcnow(),
            )
        environment = server_environment(database_url, {})

        results = await asyncio.gather(
            *(approve_in_a_process(customer.id, environment) for _ in range(APPROVERS))
        )

        async with seed.db.read() as session:
            bonus_transfers = await session.scalar(
                select(func.count())
                .select_from(LedgerTransfer)
                .where(LedgerTransfer.kind == "bonus")
            )
            balances = await ledger.balances(
                session, [customer_available(customer.id), Platform.BONUS]
            )
        assert [r["bonus_paid"] for r in results].count(True) == 1
        assert all(r["kyc_status"] == "verified" for r in results)
        assert bonus_transfers == 1
        assert balances == {customer_available(customer.id): 10_000000, Platform.BONUS: 90_000000}
        assert await invariant_problems(seed.db) == []

"""Seeding a fresh platform the way an operator and customers would.

Operator steps go through the `mtx` CLI (migrate, fund the reward pool, declare
capacity, read the catalog). Customers and their keys are created with the project's
services in one transaction (the CLI would take a process start per customer).
Money enters through the sandbox deposit route, as a customer would send it.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from miningtx.config import Mode, Settings
from miningtx.customers import service as customers
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.money import UNITS_PER_USDT, format_amount, parse_amount, parse_decimal

#: Enough for ~400,000 starter activations (each reserves 6.67 x 365 USDT).
REWARD_POOL_FUNDING = "1000000000.00"
#: 35 million starter contracts' worth of hash rate: capacity never runs out here.
CAPACITY_THS = "100000000"
CONTRACT = "starter"
#: The body the issue asks deposits to use; larger needs are met with several.
DEPOSIT_AMOUNT = "100000.00"


class SetupFailed(Exception):
    pass


def mtx_binary() -> str:
    """The `mtx` console script of the running interpreter's environment."""
    beside = Path(sys.executable).with_name("mtx")
    if beside.exists():
        return str(beside)
    found = shutil.which("mtx")
    if found is None:
        raise SetupFailed("the mtx console script is not installed (pip install -e .)")
    return found


async def mtx(env: Mapping[str, str], cwd: Path, *args: str) -> dict[str, Any]:
    """Run `mtx ARGS --json` and return its JSON output; a failure raises with its reason."""
    process = await asyncio.create_subprocess_exec(
        mtx_binary(),
        *args,
        "--json",
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise SetupFailed(f"mtx {' '.join(args)} failed: {err.decode(errors='replace').strip()}")
    data: dict[str, Any] = json.loads(out)
    return data


@dataclass(frozen=True)
class ContractTerms:
    price: int
    hash_mths: int


async def open_for_business(env: Mapping[str, str], cwd: Path) -> ContractTerms:
    """Migrate, fund the reward pool, declare capacity; return the starter contract's terms."""
    await mtx(env, cwd, "migrate")
    await mtx(env, cwd, "pools", "fund", "rewards", "--amount", REWARD_POOL_FUNDING)
    await mtx(env, cwd, "capacity", "set", CAPACITY_THS)
    catalog = await mtx(env, cwd, "catalog", "show")
    for contract in catalog["contracts"]:
        if contract["id"] == CONTRACT:
            return ContractTerms(
                parse_amount(contract["price"]), parse_decimal(contract["hash_ths"], 3)
            )
    raise SetupFailed(f"the catalog has no {CONTRACT!r} contract")


@dataclass(frozen=True)
class BenchCustomer:
    id: str
    seq: int
    key: str


async def create_customers(database_url: str, tag: str, count: int) -> list[BenchCustomer]:
    """`count` customers, each with one sandbox API key, in a single transaction."""
    settings = Settings(_env_file=None, database_url=database_url, mode=Mode.SANDBOX)
    db = Database(settings)
    created = []
    try:
        async with db.write() as session:
            for i in range(count):
                customer = await customers.create_customer(
                    session,
                    email=f"bench-{tag}-{i}@bench.miningtx.invalid",
                    username=f"bench_{tag}_{i}",
                    now=utcnow(),
                )
                _, secret = await customers.create_api_key(
                    session, customer, prefix=settings.key_prefix, now=utcnow(), name="benchmark"
                )
                created.append(BenchCustomer(customer.id, customer.seq, secret))
    finally:
        await db.dispose()
    return created


class Api:
    """The few API calls set-up needs, with checks, over httpx."""

    def __init__(self, host: str, port: int) -> None:
        self.client = httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=60)

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, key: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {key}"}
        )
        if response.status_code != 200:
            raise SetupFailed(f"{method} {path}: {response.status_code} {response.text}")
        data: dict[str, Any] = response.json()
        return data

    async def available(self, customer: BenchCustomer) -> int:
        """The customer's available balance in micro-USDT (it may be zero)."""
        text = (await self._call("GET", "/v1/balance", customer.key))["available"]
        return int(Decimal(text) * UNITS_PER_USDT)

    async def deposit(self, customer: BenchCustomer) -> None:
        await self._call(
            "POST",
            "/v1/test_helpers/deposits",
            customer.key,
            {"network": "bsc", "amount": DEPOSIT_AMOUNT},
        )

    async def activate(self, customer: BenchCustomer) -> None:
        await self._call("POST", "/v1/contracts/activate", customer.key, {"contract_id": CONTRACT})

    async def ensure_available(self, customers_: Sequence[BenchCustomer], needed: int) -> int:
        """Deposit until every customer holds at least `needed`; returns how many deposits."""

        async def top_up(customer: BenchCustomer) -> int:
            missing = needed - await self.available(customer)
            count = max(0, math.ceil(missing / parse_amount(DEPOSIT_AMOUNT)))
            for _ in range(count):
                await self.deposit(customer)
            return count

        return sum(await asyncio.gather(*(top_up(c) for c in customers_)))


def describe_units(units: int) -> str:
    return f"{format_amount(units)} USDT"

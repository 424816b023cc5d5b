"""Capacity and pools: the fleet's declared TH/s, the balances of the pools and budgets,
and funding a pool, by the same calls as `mtx capacity` and `mtx pools fund` (sandbox: from
a network's treasury; live: from the operator's on-chain funds). Admins change them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.config import Settings
from miningtx.dashboard.deps import AdminDep, OperatorDep, page_work
from miningtx.dashboard.operator.forms import amount_field, decimal_field, refused
from miningtx.dashboard.rendering import Redirect, render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.kit.money import format_amount, format_decimal
from miningtx.kit.networks import NETWORKS
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import FUNDABLE_POOLS, Platform
from miningtx.mining import repository as mining_repo
from miningtx.mining import service as mining
from miningtx.pools import service as pools

router = console_pages()
PAGE = "/console/capacity"
TEMPLATE = "console/capacity.html"
Text = Annotated[str, Form()]


async def _context(request: Request) -> dict[str, Any]:
    db: Database = request.app.state.db
    async with db.read() as session:
        fleet = await mining_repo.fleet(session)
        held = await ledger.balances(session, [*FUNDABLE_POOLS.values(), Platform.OPERATOR_FUNDS])
    return {
        "fleet": fleet,
        "pools": [(name, held[code]) for name, code in FUNDABLE_POOLS.items()],
        "operator_funds": held[Platform.OPERATOR_FUNDS],
        "pool_options": [(name, name) for name in FUNDABLE_POOLS],
        "network_options": [(network, network) for network in NETWORKS],
        "decimal": format_decimal,
        "failed": None,
    }


@router.get(PAGE, name="console_capacity")
async def capacity(request: Request, operator: OperatorDep) -> Response:
    return await render(request, TEMPLATE, await _context(request))


async def _refused(
    request: Request, error: ApiError, form: str, fields: tuple[str, ...], values: dict[str, str]
) -> Response:
    context = await _context(request) | {"failed": form}
    return await refused(request, TEMPLATE, error, fields=fields, context=context, values=values)


@router.post(PAGE)
async def set_capacity(request: Request, operator: AdminDep, ths: Text = "") -> Response:
    try:
        async with page_work(request) as work:
            fleet = await mining.set_capacity(
                work.session, decimal_field("ths", ths, 3), operator=operator.ref, now=work.now
            )
    except ApiError as error:
        return await _refused(request, error, "capacity", ("ths",), {"ths": ths})
    raise Redirect(
        PAGE,
        flash=f"Capacity {format_decimal(fleet.capacity_mths, 3)} TH/s, "
        f"{format_decimal(fleet.sold_mths, 3)} TH/s sold.",
    )


@router.post(PAGE + "/fund")
async def fund_pool(
    request: Request, operator: AdminDep, pool: Text = "", amount: Text = "", network: Text = ""
) -> Response:
    settings: Settings = request.app.state.settings
    values = {"pool": pool, "amount": amount, "network": network}
    try:
        units = amount_field("amount", amount)
        async with page_work(request) as work:
            funded = await pools.fund(
                work.session,
                pool,
                units,
                network=network,
                sandbox=settings.sandbox,
                operator=operator.ref,
                now=work.now,
            )
    except ApiError as error:
        return await _refused(request, error, "fund", ("pool", "amount", "network"), values)
    raise Redirect(
        PAGE,
        flash=f"Funded {pool} with {format_amount(units)} USDT; "
        f"balance {format_amount(funded.balance)} USDT.",
    )

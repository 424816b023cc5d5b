"""The catalog: mining contracts (price, hash rate, daily reward, duration, on or off sale)
and the staking limits and ROI plan points, changed by the same calls as `mtx catalog`.
Every operator sees it; only admins change it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.dashboard.deps import AdminDep, OperatorDep, page_work
from miningtx.dashboard.operator.forms import (
    amount_field,
    decimal_field,
    refused,
    whole_field,
)
from miningtx.dashboard.rendering import Redirect, render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.money import format_amount, format_decimal
from miningtx.mining import repository as mining_repo
from miningtx.mining import service as mining
from miningtx.mining.schemas import render_catalog_contract
from miningtx.models import MiningContract
from miningtx.staking import repository as staking_repo
from miningtx.staking import service as staking

router = console_pages()
PAGE = "/console/catalog"
CONTRACT = "console/contract_edit.html"
#: The service names hash rates in thousandths (hash_mths); the form asks for TH/s.
CONTRACT_FIELDS = ("name", "price", "hash_ths", "daily_reward", "duration_days", "on_sale")
#: The service names ROI in ten-thousandths (roi_e4); the form asks for percent.
PLAN_FIELDS = ("days", "roi_percent")
LIMIT_FIELDS = ("min_amount", "max_amount")
Text = Annotated[str, Form()]


async def _catalog_context(request: Request) -> dict[str, Any]:
    db: Database = request.app.state.db
    async with db.read() as session:
        terms, plans = await staking_repo.plans(session)
        return {
            "contracts": [
                render_catalog_contract(c).model_dump(mode="json")
                for c in await mining_repo.all_contracts(session)
            ],
            "terms": terms,
            "plans": plans,
            "failed": None,
            "decimal": format_decimal,
        }


@router.get(PAGE, name="console_catalog")
async def catalog(request: Request, operator: OperatorDep) -> Response:
    return await render(request, "console/catalog.html", await _catalog_context(request))


async def _catalog_refused(
    request: Request, error: ApiError, form: str, fields: tuple[str, ...], values: dict[str, str]
) -> Response:
    context = await _catalog_context(request) | {"failed": form}
    return await refused(
        request,
        "console/catalog.html",
        error,
        fields=fields,
        context=context,
        values=values,
        renamed={"roi_e4": "roi_percent"},
    )


@router.post(PAGE + "/staking/limits")
async def set_staking_limits(
    request: Request, operator: AdminDep, min_amount: Text = "", max_amount: Text = ""
) -> Response:
    values = {"min_amount": min_amount, "max_amount": max_amount}
    try:
        async with page_work(request) as work:
            terms = await staking.set_terms(
                work.session,
                min_amount=amount_field("min_amount", min_amount) if min_amount.strip() else None,
                max_amount=amount_field("max_amount", max_amount) if max_amount.strip() else None,
                operator=operator.ref,
                now=work.now,
            )
    except ApiError as error:
        return await _catalog_refused(request, error, "limits", LIMIT_FIELDS, values)
    raise Redirect(
        PAGE,
        flash=f"Stakes now from {format_amount(terms.min_amount)} to "
        f"{format_amount(terms.max_amount)} USDT.",
    )


@router.post(PAGE + "/staking/plans")
async def set_staking_plan(
    request: Request, operator: AdminDep, days: Text = "", roi_percent: Text = ""
) -> Response:
    values = {"days": days, "roi_percent": roi_percent}
    try:
        async with page_work(request) as work:
            plan = await staking.set_plan(
                work.session,
                whole_field("days", days),
                decimal_field("roi_percent", roi_percent, 4),
                operator=operator.ref,
                now=work.now,
            )
    except ApiError as error:
        return await _catalog_refused(request, error, "plan", PLAN_FIELDS, values)
    raise Redirect(PAGE, flash=f"{plan.days}-day plan: ROI {format_decimal(plan.roi_e4, 4)} %.")


@router.post(PAGE + "/staking/plans/{days}/remove")
async def remove_staking_plan(request: Request, operator: AdminDep, days: int) -> Response:
    try:
        async with page_work(request) as work:
            await staking.remove_plan(work.session, days, operator=operator.ref, now=work.now)
    except ApiError as error:
        return await _catalog_refused(request, error, "remove", (), {})
    raise Redirect(PAGE, flash=f"The {days}-day plan is removed.")


async def _contract(request: Request, contract_id: str) -> MiningContract:
    db: Database = request.app.state.db
    async with db.read() as session:
        for contract in await mining_repo.all_contracts(session):
            if contract.id == contract_id:
                return contract
    raise mining.unknown_contract(contract_id)


def _contract_values(contract: MiningContract) -> dict[str, str]:
    """The edit form's fields, filled with the contract's terms as every adapter shows them."""
    shown = render_catalog_contract(contract).model_dump(mode="json", exclude={"id"})
    return {name: str(value) for name, value in shown.items()} | {
        "on_sale": "yes" if contract.on_sale else "no"
    }


@router.get(PAGE + "/contracts/{contract_id}")
async def contract_page(request: Request, operator: AdminDep, contract_id: str) -> Response:
    contract = await _contract(request, contract_id)
    return await render(
        request, CONTRACT, {"contract": contract}, values=_contract_values(contract)
    )


@router.post(PAGE + "/contracts/{contract_id}")
async def update_contract(
    request: Request,
    *,
    operator: AdminDep,
    contract_id: str,
    name: Text = "",
    price: Text = "",
    hash_ths: Text = "",
    daily_reward: Text = "",
    duration_days: Text = "",
    on_sale: Text = "",
) -> Response:
    """Blank fields stay as they are, as options left out of `mtx catalog set` do."""
    values = {
        "name": name,
        "price": price,
        "hash_ths": hash_ths,
        "daily_reward": daily_reward,
        "duration_days": duration_days,
        "on_sale": on_sale,
    }
    try:
        if on_sale not in ("", "yes", "no"):
            raise invalid("on_sale", "Choose yes or no.")
        days = whole_field("duration_days", duration_days) if duration_days.strip() else None
        async with page_work(request) as work:
            contract = await mining.update_contract(
                work.session,
                contract_id,
                name=name.strip() or None,
                price=amount_field("price", price) if price.strip() else None,
                hash_mths=decimal_field("hash_ths", hash_ths, 3) if hash_ths.strip() else None,
                daily_reward=(
                    amount_field("daily_reward", daily_reward) if daily_reward.strip() else None
                ),
                duration_days=days,
                on_sale=None if not on_sale else on_sale == "yes",
                operator=operator.ref,
                now=work.now,
            )
    except ApiError as error:
        if error.status == 404:
            raise
        return await refused(
            request,
            CONTRACT,
            error,
            fields=CONTRACT_FIELDS,
            context={"contract": await _contract(request, contract_id)},
            values=values,
            renamed={"hash_mths": "hash_ths"},
        )
    raise Redirect(PAGE, flash=f"Contract {contract.id} ({contract.name}) updated.")

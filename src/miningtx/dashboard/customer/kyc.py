"""KYC: the customer submits identity details with POST /v1/account/kyc's model and service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.customers import kyc, repository
from miningtx.customers.schemas import KycIn
from miningtx.dashboard.customer.forms import database, parse_form
from miningtx.dashboard.deps import CustomerDep, page_work
from miningtx.dashboard.rendering import Redirect, render, render_refused
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.db import ReadSession
from miningtx.kit.errors import ApiError

router = customer_pages()
PAGE = "/kyc"
TEMPLATE = "customer_pages/kyc.html"
FIELDS = ("full_name", "date_of_birth", "country", "document_type", "document_number")
DOCUMENT_TYPES = (
    ("passport", "Passport"),
    ("national_id", "National identity card"),
    ("driving_licence", "Driving licence"),
)


async def _context(request: Request, principal: CustomerDep) -> dict[str, Any]:
    session: ReadSession
    async with database(request).read() as session:
        customer = await repository.customer(session, principal.customer_seq)
    return {
        "customer": customer,
        "can_submit": customer.kyc_status in kyc.SUBMITTABLE,
        "document_types": DOCUMENT_TYPES,
        "bonus": kyc.KYC_BONUS,
    }


@router.get(PAGE, name="kyc")
async def kyc_page(request: Request, principal: CustomerDep) -> Response:
    return await render(request, TEMPLATE, await _context(request, principal))


@router.post(PAGE)
async def submit_kyc(
    request: Request,
    principal: CustomerDep,
    *,
    full_name: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    document_type: Annotated[str, Form()] = "",
    document_number: Annotated[str, Form()] = "",
) -> Response:
    typed = {
        "full_name": full_name,
        "date_of_birth": date_of_birth.strip(),
        "country": country.strip().upper(),
        "document_type": document_type,
        "document_number": document_number.strip().upper(),
    }
    try:
        body = parse_form(KycIn, typed)
        async with page_work(request) as work:
            await kyc.submit_kyc(
                work.session,
                principal.customer_seq,
                full_name=body.full_name,
                date_of_birth=body.date_of_birth,
                country=body.country,
                document_type=body.document_type,
                document_number=body.document_number,
                now=work.now,
            )
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=FIELDS,
            values=typed,
            context=await _context(request, principal),
        )
    raise Redirect(PAGE, flash="Thank you: your identity details are under review.")

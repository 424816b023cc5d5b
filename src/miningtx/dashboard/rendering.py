"""Rendering pages: the Jinja2 environment, `render`, `redirect`, form errors, flash messages.

Every page renders through `render`, which gives each template the same context: the
signed-in principal, the CSRF token its forms must carry, the flash message of the
previous redirect, the navigation and the form's values and errors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.routing import NoMatchFound

from miningtx.dashboard import sessions
from miningtx.kit.clock import rfc3339
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.kit.money import format_amount
from miningtx.models import (
    KycStatus,
    PrincipalKind,
    TransferDirection,
    WebhookDeliveryStatus,
    WebhookEndpointStatus,
    WithdrawalStatus,
)
from miningtx.wallet import custody

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/static"
FLASH_COOKIE = "mtx_flash"

#: The customer navigation: (label, route name). An entry shows once its route exists, so
#: each page's author names the GET route as listed here.
CUSTOMER_NAV: tuple[tuple[str, str], ...] = (
    ("Overview", "overview"),  # /dashboard
    ("Contracts", "contracts"),  # /contracts
    ("Staking", "staking"),  # /staking
    ("Deposits", "deposits"),  # /deposits
    ("Withdrawals", "withdrawals"),  # /withdrawals
    ("Address book", "withdrawal_addresses"),  # /withdrawals/addresses
    ("Transactions", "transactions"),  # /transactions
    ("Partners", "partners"),  # /partners
    ("KYC", "kyc"),  # /kyc
    ("Settings: API keys", "api_keys"),  # /settings/api-keys
    ("Settings: Webhooks", "webhooks"),  # /settings/webhooks
    ("Settings: Security", "security"),  # /settings/security
)
CONSOLE_NAV: tuple[tuple[str, str], ...] = (
    ("Home", "console_home"),  # /console
    ("KYC queue", "console_kyc"),  # /console/kyc
    ("Withdrawals", "console_withdrawals"),  # /console/withdrawals
    ("Catalog", "console_catalog"),  # /console/catalog
    ("Capacity & pools", "console_capacity"),  # /console/capacity
    ("Solvency", "console_solvency"),  # /console/solvency
    ("Customers", "console_customers"),  # /console/customers
    ("Adjustments", "console_adjustments"),  # /console/adjustments
    ("Audit log", "console_audit"),  # /console/audit
)


class Redirect(Exception):
    """Raise from a page or dependency to answer with a 303 to `url` (and a flash message)."""

    def __init__(self, url: str, flash: str | None = None) -> None:
        super().__init__(url)
        self.url = url
        self.flash = flash


@dataclass
class FormErrors:
    """Messages to show beside the fields that caused them, and one for the form as a whole."""

    fields: dict[str, str] = field(default_factory=dict)
    form: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields) or self.form is not None

    @classmethod
    def of(cls, error: ApiError, fields: Collection[str]) -> FormErrors:
        """Place a service's error: beside its `param` when the form has that field."""
        if error.param is not None and error.param in fields:
            return cls(fields={error.param: error.message})
        return cls(form=error.message)


# --- the environment ---------------------------------------------------------------------


@cache
def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """/static/<name>?v=<content hash>: safe to cache for long, changes when the file does."""
    return f"{STATIC_PREFIX}/{quote(name)}?v={_static_version(name)}"


def _usdt(units: int) -> str:
    return format_amount(units)


def _timestamp(moment: datetime | None) -> str:
    return rfc3339(moment) if moment is not None else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    # Templates compare statuses with the enums, so a status is spelled only there.
    env.globals.update(
        KycStatus=KycStatus,
        WithdrawalStatus=WithdrawalStatus,
        WebhookDeliveryStatus=WebhookDeliveryStatus,
        WebhookEndpointStatus=WebhookEndpointStatus,
        TransferDirection=TransferDirection,
        PrincipalKind=PrincipalKind,
    )
    env.filters["usdt"] = _usdt
    env.filters["timestamp"] = _timestamp
    return env


templates = _environment()


# --- flash messages ----------------------------------------------------------------------


def _flash_signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), b"flash:" + payload.encode(), hashlib.sha256).hexdigest()[:32]


def _pop_flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    payload, signature = raw.rsplit(".", 1)
    expected = _flash_signature(request.app.state.settings.secret_key, payload)
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except ValueError:
        return None


def _set_flash(request: Request, response: Response, message: str) -> None:
    # Unpadded, so the cookie value needs no quoting.
    payload = base64.urlsafe_b64encode(message.encode()).decode().rstrip("=")
    signature = _flash_signature(request.app.state.settings.secret_key, payload)
    response.set_cookie(
        FLASH_COOKIE,
        f"{payload}.{signature}",
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


# --- pages -------------------------------------------------------------------------------


def _nav(request: Request, items: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for label, name in items:
        try:
            url = str(request.app.url_path_for(name))
        except NoMatchFound:
            continue  # that page is not built yet
        entries.append({"label": label, "url": url})
    path = request.url.path
    matching = [e for e in entries if path == e["url"] or path.startswith(e["url"] + "/")]
    current = max(matching, key=lambda e: len(e["url"]), default=None)
    for entry in entries:
        entry["current"] = entry is current
    return entries


async def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    """Render `template` with the shared context plus `context`.

    `values` refill a form after an error; `errors` place messages beside its fields.
    """
    area = sessions.area_of(request)
    signed_in = await sessions.current(request, area)
    principal = signed_in.principal if signed_in and not signed_in.awaiting_totp else None
    flash = _pop_flash(request)
    shared: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_token": await sessions.csrf_token(request),
        "flash": flash,
        "nav": _nav(request, CONSOLE_NAV if area == PrincipalKind.OPERATOR else CUSTOMER_NAV)
        if principal
        else [],
        "sandbox": request.app.state.settings.sandbox,
        "custody_alerts": await _custody_alerts(request)
        if principal and area == PrincipalKind.OPERATOR
        else [],
        "errors": errors or FormErrors(),
        "values": dict(values or {}),
    }
    html = templates.get_template(template).render({**shared, **(context or {})})
    response = HTMLResponse(html, status_code=status_code)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    sessions.apply_cookies(request, response)
    return response


async def _custody_alerts(request: Request) -> list[str]:
    """Every console page's banner: hot wallets the signer last saw below their floor."""
    db: Database = request.app.state.db
    async with db.read() as session:
        return custody.floor_alerts(await custody.observations(session))


async def render_refused(
    request: Request,
    template: str,
    error: ApiError,
    *,
    fields: Collection[str],
    values: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    """Show a form again after a service refused it: the error's status and headers (such as
    Retry-After), its message beside the field named by `error.param` when the form has
    one, else above the form; `values` refill what was typed."""
    response = await render(
        request,
        template,
        context,
        status_code=error.status,
        errors=FormErrors.of(error, fields),
        values=values,
    )
    response.headers.update(error.headers)
    return response


def redirect(request: Request, url: str, *, flash: str | None = None) -> RedirectResponse:
    """303 See Other to `url` (a local path), with an optional flash message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        _set_flash(request, response, flash)
    return response


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after sign-in; anything else (another site) becomes `default`."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ch.isspace() or not ch.isprintable() for ch in target)
    ):
        return default
    return target


async def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    """The page shown for a refused or failed request (403 CSRF, 404 unknown id ...)."""
    return await render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
    )

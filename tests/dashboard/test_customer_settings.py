"""Customer pages without money moving: KYC, partners, Settings -> API keys and Webhooks."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from miningtx.models import Customer, WebhookDelivery
from tests.conftest import Env
from tests.dashboard.customer_helpers import (
    deposit,
    form_error,
    post_form,
    signed_in_customer,
    text_of,
)
from tests.dashboard.test_totp import code, enable_totp
from tests.dashboard.web import TotpClock, csrf_of, field_error, sign_in
from tests.factories import fund_pool, open_for_business

KYC = {
    "full_name": "Satoshi Nakamoto",
    "date_of_birth": "1975-04-05",
    "country": "jp",
    "document_type": "passport",
    "document_number": "tk1234567",
}


async def test_kyc_submission_goes_pending_and_errors_sit_beside_their_fields(web: Env) -> None:
    customer = await signed_in_customer(web)
    for field, value in (
        ("country", "XX"),
        ("date_of_birth", "2020-01-01"),
        ("date_of_birth", "05/04/1975"),
        ("document_number", "!"),
        ("document_type", "library_card"),
        ("full_name", ""),
    ):
        refused = await post_form(web.client, "/kyc", "/kyc", {**KYC, field: value})
        assert refused.status_code == 400, field
        assert field_error(refused, field) is not None, field
    response = await post_form(web.client, "/kyc", "/kyc", KYC)
    assert response.status_code == 303
    async with web.db.read() as session:
        row = (await session.execute(select(Customer).where(Customer.seq == customer.seq))).one()[0]
    assert row.kyc_status == "pending"
    assert row.kyc_details is not None
    assert row.kyc_details["country"] == "JP"
    assert row.kyc_details["document_number"] == "TK1234567"
    page = await web.client.get("/kyc")
    assert text_of(page, "kyc-status") == "pending"
    assert 'action="/kyc"' not in page.text  # no second submission while under review


async def test_partners_page_shows_the_referral_link_and_partner_rewards(web: Env) -> None:
    await open_for_business(web.db)
    await fund_pool(web.db, "partners", "1000.00")
    referrer = await signed_in_customer(web)
    page = await web.client.get("/partners")
    assert text_of(page, "referral-link") == f"http://test/signup?ref={referrer.referral_code}"
    await web.client.post("/logout", data={"csrf_token": csrf_of(page)})

    partner = await signed_in_customer(web, referral_code=referrer.referral_code)
    await deposit(web.db, partner, "200.00")
    activated = await post_form(
        web.client, "/contracts", "/contracts/activate", {"contract_id": "starter"}
    )
    assert activated.status_code == 303
    page = await web.client.get("/dashboard")
    await web.client.post("/logout", data={"csrf_token": csrf_of(page)})

    await sign_in(web.client, referrer.username, referrer.password)
    page = await web.client.get("/partners")
    assert 'data-figure="partners">1<' in page.text
    assert 'data-figure="partner_rewards">32.00 USDT<' in page.text  # 16% of 200.00
    assert '<td class="amount">32.00</td>' in page.text


async def test_api_key_is_shown_once_works_with_the_api_and_can_be_revoked(web: Env) -> None:
    customer = await signed_in_customer(web)
    await deposit(web.db, customer, "10.500001")
    created = await post_form(
        web.client, "/settings/api-keys", "/settings/api-keys", {"name": "books"}
    )
    assert created.status_code == 200
    key = text_of(created, "new-api-key")
    assert key.startswith("mtx_test_")
    listed = await web.client.get("/settings/api-keys")
    assert key not in listed.text  # shown once only
    assert key[:13] in listed.text  # its display prefix stays
    assert 'data-field="last_used">Never<' in listed.text

    api = await web.client.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200
    assert api.json()["available"] == "10.500001"
    listed = await web.client.get("/settings/api-keys")
    assert 'data-field="last_used">Never<' not in listed.text

    key_id = re.search(r'data-key="(key_[^"]+)"', listed.text)
    assert key_id is not None
    revoked = await web.client.post(
        f"/settings/api-keys/{key_id.group(1)}/revoke", data={"csrf_token": csrf_of(listed)}
    )
    assert revoked.status_code == 303
    api = await web.client.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 401


async def test_another_customers_key_cannot_be_revoked(web: Env) -> None:
    await signed_in_customer(web)
    created = await post_form(web.client, "/settings/api-keys", "/settings/api-keys", {})
    key_id = re.search(r'data-key-id="(key_[^"]+)"', created.text)
    assert key_id is not None
    page = await web.client.get("/dashboard")
    await web.client.post("/logout", data={"csrf_token": csrf_of(page)})
    await signed_in_customer(web)
    page = await web.client.get("/settings/api-keys")
    response = await web.client.post(
        f"/settings/api-keys/{key_id.group(1)}/revoke", data={"csrf_token": csrf_of(page)}
    )
    assert response.status_code == 404


async def test_api_key_creation_needs_the_totp_code_once_two_factor_is_on(
    web: Env, totp_clock: TotpClock
) -> None:
    await signed_in_customer(web)
    secret = await enable_totp(web)
    missing = await post_form(web.client, "/settings/api-keys", "/settings/api-keys", {})
    assert missing.status_code == 400
    assert field_error(missing, "totp_code") is not None
    assert 'id="new-api-key"' not in missing.text
    done = await post_form(
        web.client, "/settings/api-keys", "/settings/api-keys", {"totp_code": code(secret, 1)}
    )
    assert done.status_code == 200
    assert text_of(done, "new-api-key").startswith("mtx_test_")


async def test_webhook_endpoint_secret_shown_once_deliveries_resend_and_delete(web: Env) -> None:
    customer = await signed_in_customer(web)
    no_events = await post_form(
        web.client, "/settings/webhooks", "/settings/webhooks", {"url": "https://1.1.1.1/hook"}
    )
    assert no_events.status_code == 400
    assert "f-events-error" in no_events.text
    private = await post_form(
        web.client,
        "/settings/webhooks",
        "/settings/webhooks",
        {"url": "https://127.0.0.1/hook", "events": ["*"]},
    )
    assert private.status_code == 400
    assert field_error(private, "url") is not None

    created = await post_form(
        web.client,
        "/settings/webhooks",
        "/settings/webhooks",
        {"url": "https://1.1.1.1/hook", "events": ["deposit.confirmed", "reward.credited"]},
    )
    assert created.status_code == 200
    secret = text_of(created, "new-webhook-secret")
    assert secret.startswith("whsec_")
    page = await web.client.get("/settings/webhooks")
    assert secret not in page.text
    assert "<code>deposit.confirmed</code>, <code>reward.credited</code>" in page.text

    await deposit(web.db, customer, "25.00")  # emits deposit.confirmed
    page = await web.client.get("/settings/webhooks")
    delivery = re.search(r'data-delivery="(\d+)"', page.text)
    assert delivery is not None
    assert 'data-field="status">pending<' in page.text
    still = await web.client.post(
        f"/settings/webhooks/deliveries/{delivery.group(1)}/resend",
        data={"csrf_token": csrf_of(page)},
    )
    assert still.status_code == 409
    assert "still queued" in str(form_error(still))
    async with web.db.write() as session:
        await session.execute(update(WebhookDelivery).values(status="failed", attempts=3))
    page = await web.client.get("/settings/webhooks")
    resent = await web.client.post(
        f"/settings/webhooks/deliveries/{delivery.group(1)}/resend",
        data={"csrf_token": csrf_of(page)},
    )
    assert resent.status_code == 303
    async with web.db.read() as session:
        assert (await session.scalar(select(WebhookDelivery.status))) == "pending"

    endpoint_id = re.search(r'data-endpoint="(we_[^"]+)"', page.text)
    assert endpoint_id is not None
    deleted = await web.client.post(
        f"/settings/webhooks/{endpoint_id.group(1)}/delete", data={"csrf_token": csrf_of(page)}
    )
    assert deleted.status_code == 303
    page = await web.client.get("/settings/webhooks")
    assert "No endpoints yet." in page.text
    gone = await web.client.post(
        f"/settings/webhooks/deliveries/{delivery.group(1)}/resend",
        data={"csrf_token": csrf_of(page)},
    )
    assert gone.status_code == 404

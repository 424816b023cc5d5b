"""The asynchronous client: `AsyncClient(api_key, base_url=...)`, the same methods, awaited."""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from miningtx_client import _core, models
from miningtx_client.errors import APIConnectionError
from miningtx_client.pagination import AsyncPage

T = TypeVar("T", bound=BaseModel)


class AsyncClient:
    """The async MiningTX API client (httpx.AsyncClient underneath), with the same retries
    and one `Idempotency-Key` per POST across its retries."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = _core.DEFAULT_BASE_URL,
        timeout: float = _core.DEFAULT_TIMEOUT,
        max_retries: int = _core.DEFAULT_MAX_RETRIES,
        retry: _core.RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._api_key = api_key
        self._retry = retry or _core.RetryPolicy(max_retries=max_retries)
        self._http = http_client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        if not str(self._http.base_url):
            self._http.base_url = httpx.URL(base_url)
        self.account = Account(self)
        self.balance = BalanceResource(self)
        self.transactions = Transactions(self)
        self.contracts = Contracts(self)
        self.activations = Activations(self)
        self.rewards = Rewards(self)
        self.staking = Staking(self)
        self.deposits = Deposits(self)
        self.withdrawals = Withdrawals(self)
        self.withdrawal_limits = WithdrawalLimitsResource(self)
        self.withdrawal_addresses = WithdrawalAddresses(self)
        self.partners = PartnersResource(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.events = Events(self)
        self.test_helpers = TestHelpers(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: _core.Params | None = None,
        json: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one logical request, retrying as the policy says; the final answer, any status.

        Any route, typed or not yet: `client.request("GET", "/v1/balance").json()`.
        """
        headers = _core.headers_for(self._api_key)
        if method.upper() == "POST":
            headers["Idempotency-Key"] = idempotency_key or _core.new_idempotency_key()
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    path,
                    params=_core.clean_params(params),
                    json=_core.json_body(json),
                    headers=headers,
                )
            except httpx.TransportError as exc:
                if attempt >= self._retry.max_retries:
                    raise APIConnectionError(f"{method} {path}: {exc!r}") from exc
                delay = self._retry.delay(attempt, None)
            else:
                if attempt >= self._retry.max_retries or not _core.should_retry(response):
                    return response
                await response.aclose()
                delay = self._retry.delay(attempt, response)
            await asyncio.sleep(delay)
            attempt += 1

    async def _get(self, model: type[T], path: str, params: _core.Params | None = None) -> T:
        return _core.parse(model, await self.request("GET", path, params=params))

    async def _post(
        self,
        model: type[T],
        path: str,
        body: Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> T:
        response = await self.request("POST", path, json=body, idempotency_key=idempotency_key)
        return _core.parse(model, response)

    async def _delete(self, model: type[T], path: str) -> T:
        return _core.parse(model, await self.request("DELETE", path))

    async def _list(
        self, model: type[T], path: str, key: str, params: _core.Params | None = None
    ) -> AsyncPage[T]:
        async def fetch(cursor: str | None) -> AsyncPage[T]:
            body = _core.decode(
                await self.request("GET", path, params={**(params or {}), "cursor": cursor})
            )
            return AsyncPage(
                data=[model.model_validate(item) for item in body[key]],
                has_more=bool(body["has_more"]),
                next_cursor=body.get("next_cursor"),
                _fetch=fetch,
            )

        return await fetch(None)


def _id(value: str) -> str:
    return quote(value, safe="")


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class Account(_Resource):
    async def retrieve(self) -> models.Account:
        """GET /v1/account"""
        return await self._client._get(models.Account, "/v1/account")

    async def submit_kyc(
        self,
        *,
        full_name: str,
        date_of_birth: dt.date,
        country: str,
        document_type: models.DocumentType,
        document_number: str,
        idempotency_key: str | None = None,
    ) -> models.Account:
        """POST /v1/account/kyc"""
        body = {
            "full_name": full_name,
            "date_of_birth": date_of_birth.isoformat(),
            "country": country,
            "document_type": document_type,
            "document_number": document_number,
        }
        return await self._client._post(models.Account, "/v1/account/kyc", body, idempotency_key)


class BalanceResource(_Resource):
    async def retrieve(self) -> models.Balance:
        """GET /v1/balance"""
        return await self._client._get(models.Balance, "/v1/balance")


class Transactions(_Resource):
    async def list(
        self, *, type: models.TransactionType | None = None, limit: int | None = None
    ) -> AsyncPage[models.Transaction]:
        """GET /v1/transactions"""
        params = {"type": type, "limit": limit}
        return await self._client._list(models.Transaction, "/v1/transactions", "data", params)


class Contracts(_Resource):
    async def list(self) -> builtins.list[models.Contract]:
        """GET /v1/contracts: the catalogue (not paginated)."""
        body = _core.decode(await self._client.request("GET", "/v1/contracts"))
        return [models.Contract.model_validate(item) for item in body["contracts"]]

    async def activate(
        self, *, contract_id: str, idempotency_key: str | None = None
    ) -> models.Activation:
        """POST /v1/contracts/activate"""
        body = {"contract_id": contract_id}
        return await self._client._post(
            models.Activation, "/v1/contracts/activate", body, idempotency_key
        )


class Activations(_Resource):
    async def list(
        self, *, status: str | None = None, limit: int | None = None
    ) -> AsyncPage[models.Activation]:
        """GET /v1/contracts/activations"""
        params = {"status": status, "limit": limit}
        return await self._client._list(
            models.Activation, "/v1/contracts/activations", "data", params
        )

    async def retrieve(self, activation_id: str) -> models.Activation:
        """GET /v1/contracts/activations/{activation_id}"""
        path = f"/v1/contracts/activations/{_id(activation_id)}"
        return await self._client._get(models.Activation, path)


class Rewards(_Resource):
    async def list(self, *, limit: int | None = None) -> AsyncPage[models.Reward]:
        """GET /v1/rewards"""
        return await self._client._list(models.Reward, "/v1/rewards", "rewards", {"limit": limit})


class Staking(_Resource):
    async def plans(self) -> models.StakingPlans:
        """GET /v1/staking/plans"""
        return await self._client._get(models.StakingPlans, "/v1/staking/plans")

    async def create_stake(
        self, *, amount: Decimal | str, days: int, idempotency_key: str | None = None
    ) -> models.Stake:
        """POST /v1/staking/stakes"""
        body = {"amount": Decimal(amount), "days": days}
        return await self._client._post(models.Stake, "/v1/staking/stakes", body, idempotency_key)

    async def list_stakes(
        self, *, status: str | None = None, limit: int | None = None
    ) -> AsyncPage[models.Stake]:
        """GET /v1/staking/stakes"""
        params = {"status": status, "limit": limit}
        return await self._client._list(models.Stake, "/v1/staking/stakes", "stakes", params)

    async def retrieve_stake(self, stake_id: str) -> models.Stake:
        """GET /v1/staking/stakes/{stake_id}"""
        return await self._client._get(models.Stake, f"/v1/staking/stakes/{_id(stake_id)}")


class Deposits(_Resource):
    async def address(self, *, network: models.Network) -> models.DepositAddress:
        """GET /v1/deposits/address"""
        params = {"network": network}
        return await self._client._get(models.DepositAddress, "/v1/deposits/address", params)

    async def list(self, *, limit: int | None = None) -> AsyncPage[models.Deposit]:
        """GET /v1/deposits"""
        return await self._client._list(models.Deposit, "/v1/deposits", "data", {"limit": limit})


class Withdrawals(_Resource):
    async def create(
        self,
        *,
        amount: Decimal | str,
        network: models.Network,
        address: str,
        idempotency_key: str | None = None,
    ) -> models.Withdrawal:
        """POST /v1/withdrawals"""
        body = {"amount": Decimal(amount), "network": network, "address": address}
        return await self._client._post(models.Withdrawal, "/v1/withdrawals", body, idempotency_key)

    async def list(
        self, *, status: models.WithdrawalStatus | None = None, limit: int | None = None
    ) -> AsyncPage[models.Withdrawal]:
        """GET /v1/withdrawals"""
        params = {"status": status, "limit": limit}
        return await self._client._list(models.Withdrawal, "/v1/withdrawals", "data", params)

    async def retrieve(self, withdrawal_id: str) -> models.Withdrawal:
        """GET /v1/withdrawals/{withdrawal_id}"""
        return await self._client._get(models.Withdrawal, f"/v1/withdrawals/{_id(withdrawal_id)}")

    async def cancel(
        self, withdrawal_id: str, *, idempotency_key: str | None = None
    ) -> models.Withdrawal:
        """POST /v1/withdrawals/{withdrawal_id}/cancel"""
        path = f"/v1/withdrawals/{_id(withdrawal_id)}/cancel"
        return await self._client._post(models.Withdrawal, path, None, idempotency_key)


class WithdrawalLimitsResource(_Resource):
    async def retrieve(self) -> models.WithdrawalLimits:
        """GET /v1/withdrawals/limits: your 24 h and 30 day limits and what is left."""
        return await self._client._get(models.WithdrawalLimits, "/v1/withdrawals/limits")


class WithdrawalAddresses(_Resource):
    """The address book: with `saved_addresses_only` on, withdrawals go only to saved
    addresses whose cool-down is over."""

    async def create(
        self,
        *,
        network: models.Network,
        address: str,
        label: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.WithdrawalAddress:
        """POST /v1/withdrawal_addresses"""
        body = {"network": network, "address": address, "label": label}
        path = "/v1/withdrawal_addresses"
        return await self._client._post(models.WithdrawalAddress, path, body, idempotency_key)

    async def list(self, *, limit: int | None = None) -> AsyncPage[models.WithdrawalAddress]:
        """GET /v1/withdrawal_addresses"""
        path = "/v1/withdrawal_addresses"
        params = {"limit": limit}
        return await self._client._list(models.WithdrawalAddress, path, "data", params)

    async def delete(self, address_id: str) -> models.DeletedWithdrawalAddress:
        """DELETE /v1/withdrawal_addresses/{address_id}"""
        path = f"/v1/withdrawal_addresses/{_id(address_id)}"
        return await self._client._delete(models.DeletedWithdrawalAddress, path)

    async def settings(self) -> models.AddressBookSettings:
        """GET /v1/withdrawal_addresses/settings"""
        path = "/v1/withdrawal_addresses/settings"
        return await self._client._get(models.AddressBookSettings, path)

    async def update_settings(
        self, *, saved_addresses_only: bool, idempotency_key: str | None = None
    ) -> models.AddressBookSettings:
        """POST /v1/withdrawal_addresses/settings (switching off takes the cool-down)."""
        body = {"saved_addresses_only": saved_addresses_only}
        path = "/v1/withdrawal_addresses/settings"
        return await self._client._post(models.AddressBookSettings, path, body, idempotency_key)


class PartnersResource(_Resource):
    async def retrieve(self) -> models.Partners:
        """GET /v1/partners"""
        return await self._client._get(models.Partners, "/v1/partners")


class WebhookEndpoints(_Resource):
    async def create(
        self, *, url: str, events: builtins.list[str], idempotency_key: str | None = None
    ) -> models.CreatedWebhookEndpoint:
        """POST /v1/webhook_endpoints: the answer holds the signing secret, shown once."""
        body = {"url": url, "events": events}
        return await self._client._post(
            models.CreatedWebhookEndpoint, "/v1/webhook_endpoints", body, idempotency_key
        )

    async def list(self, *, limit: int | None = None) -> AsyncPage[models.WebhookEndpoint]:
        """GET /v1/webhook_endpoints"""
        params = {"limit": limit}
        return await self._client._list(
            models.WebhookEndpoint, "/v1/webhook_endpoints", "data", params
        )

    async def retrieve(self, endpoint_id: str) -> models.WebhookEndpoint:
        """GET /v1/webhook_endpoints/{endpoint_id}"""
        path = f"/v1/webhook_endpoints/{_id(endpoint_id)}"
        return await self._client._get(models.WebhookEndpoint, path)

    async def delete(self, endpoint_id: str) -> models.DeletedWebhookEndpoint:
        """DELETE /v1/webhook_endpoints/{endpoint_id}"""
        path = f"/v1/webhook_endpoints/{_id(endpoint_id)}"
        return await self._client._delete(models.DeletedWebhookEndpoint, path)


class Events(_Resource):
    async def list(
        self, *, type: str | None = None, limit: int | None = None
    ) -> AsyncPage[models.Event]:
        """GET /v1/events"""
        params = {"type": type, "limit": limit}
        return await self._client._list(models.Event, "/v1/events", "data", params)

    async def retrieve(self, event_id: str) -> models.Event:
        """GET /v1/events/{event_id}"""
        return await self._client._get(models.Event, f"/v1/events/{_id(event_id)}")


class TestHelpers(_Resource):
    """Sandbox-only routes (a key of a live server answers 404)."""

    __test__ = False  # not a pytest class, despite the name

    async def create_deposit(
        self,
        *,
        network: models.Network,
        amount: Decimal | str,
        idempotency_key: str | None = None,
    ) -> models.Deposit:
        """POST /v1/test_helpers/deposits"""
        body = {"network": network, "amount": Decimal(amount)}
        path = "/v1/test_helpers/deposits"
        return await self._client._post(models.Deposit, path, body, idempotency_key)

    async def advance_clock(
        self, *, seconds: int, idempotency_key: str | None = None
    ) -> models.Clock:
        """POST /v1/test_helpers/clock/advance"""
        body = {"seconds": seconds}
        path = "/v1/test_helpers/clock/advance"
        return await self._client._post(models.Clock, path, body, idempotency_key)

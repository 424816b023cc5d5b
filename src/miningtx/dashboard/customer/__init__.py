"""Customer pages beyond the overview: one module per page group, listed in ROUTERS."""

from fastapi import APIRouter

from miningtx.dashboard.customer import (
    address_book,
    api_keys,
    contracts,
    kyc,
    partners,
    staking,
    transactions,
    wallet,
    webhooks,
)

ROUTERS: list[APIRouter] = [
    contracts.router,
    staking.router,
    wallet.router,
    address_book.router,
    transactions.router,
    partners.router,
    kyc.router,
    api_keys.router,
    webhooks.router,
]

"""Operator console pages beyond sign-in and home: one module per page group, in ROUTERS."""

from fastapi import APIRouter

from miningtx.dashboard.operator import (
    adjustments,
    audit,
    capacity,
    catalog,
    customers,
    kyc,
    security,
    solvency,
    withdrawals,
)

ROUTERS: list[APIRouter] = [
    kyc.router,
    withdrawals.router,
    catalog.router,
    capacity.router,
    solvency.router,
    customers.router,
    security.router,
    adjustments.router,
    audit.router,
]

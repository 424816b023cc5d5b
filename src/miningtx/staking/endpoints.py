"""HTTP routes of staking: plans, stakes."""

from __future__ import annotations

from fastapi import APIRouter

from miningtx.customers.auth import auth_dependencies

router = APIRouter(tags=["Staking"], dependencies=auth_dependencies)

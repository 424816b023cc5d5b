"""HTTP routes of the partner programme."""

from __future__ import annotations

from fastapi import APIRouter

from miningtx.customers.auth import auth_dependencies

router = APIRouter(tags=["Partners"], dependencies=auth_dependencies)

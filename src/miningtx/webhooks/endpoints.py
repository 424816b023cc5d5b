"""Webhook endpoints and the event log: `/v1/webhook_endpoints`, `/v1/events`."""

from __future__ import annotations

from fastapi import APIRouter

from miningtx.customers.auth import auth_dependencies

router = APIRouter(tags=["Webhooks"], dependencies=auth_dependencies)

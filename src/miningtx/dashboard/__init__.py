"""The customer dashboard and the operator console: server-rendered pages on the API's app."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

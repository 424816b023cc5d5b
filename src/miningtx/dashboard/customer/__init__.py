"""Customer pages beyond the overview: one module per page group, listed in ROUTERS."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []

"""Operator console pages beyond sign-in and home: one module per page group, in ROUTERS."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []

"""One Settings object for the whole deployment, read from MTX_* variables."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./var/miningtx.db"
_RATE = re.compile(r"^\d+\s*/\s*(second|minute|hour|day)$")


class Mode(StrEnum):
    SANDBOX = "sandbox"
    LIVE = "live"


class Settings(BaseSettings):
    """Deployment configuration; invalid values fail at start-up, not at first use."""

    model_config = SettingsConfigDict(
        env_prefix="MTX_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    mode: Mode = Mode.SANDBOX
    database_url: str = DEFAULT_SQLITE_URL
    redis_url: str | None = None
    rate_limit: str = "120/minute"
    rate_limit_unauthenticated: str = "300/minute"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("rate_limit", "rate_limit_unauthenticated"):
            if not _RATE.match(getattr(self, name)):
                raise ValueError(f"MTX_{name.upper()} must look like '120/minute'")
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "MTX_DATABASE_URL must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://..."
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sandbox(self) -> bool:
        return self.mode is Mode.SANDBOX

    @property
    def key_prefix(self) -> str:
        return "mtx_test_" if self.sandbox else "mtx_live_"

    def sqlite_path(self) -> Path | None:
        """The database file on the embedded default, so its folder can be created."""
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split(":///", 1)[1])


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""One Settings object for the whole deployment, read from MTX_* variables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from miningtx.kit.money import DECIMALS, parse_decimal

#: The networks USDT moves on (ledger/accounts.NETWORKS names the same two).
NETWORK_NAMES = ("bsc", "polygon")
#: How a network decides a block is final: a count of confirmations, or the node's
#: `finalized` block tag (where the chain has one).
Finality = Literal["confirmations", "finalized"]
DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./var/miningtx.db"
#: Sandbox-only default; a live deployment refuses to start with it.
DEFAULT_SECRET_KEY = "sandbox-only-secret-key-do-not-use-in-live"  # noqa: S105
MIN_SECRET_KEY_LENGTH = 32
_RATE = re.compile(r"^\d+\s*/\s*(second|minute|hour|day)$")


class Mode(StrEnum):
    SANDBOX = "sandbox"
    LIVE = "live"


@dataclass(frozen=True)
class ChainSettings:
    """One network's JSON-RPC node and USDT contract, as the watcher and the signer use them."""

    network: str
    rpc_url: str
    chain_id: int
    usdt_address: str
    #: A transfer in block b is final once the head is at b + confirmations - 1 ...
    confirmations: int
    #: ... or, with "finalized", once b is at or below the node's `finalized` block.
    finality: Finality
    #: Smallest deposit credited, in micro-USDT; smaller ones are recorded, not credited.
    min_deposit: int
    #: First block the watcher reads when it has no cursor yet (None: the head at first run).
    start_block: int | None
    #: Blocks per eth_getLogs request.
    block_range: int


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
    #: Account-level extended public key (m/44'/60'/0') that deposit addresses derive from.
    #: Unset in sandbox: a generated development wallet under `sandbox_wallet_dir` is used.
    wallet_xpub: str | None = None
    sandbox_wallet_dir: Path = Path("./var")
    #: Smallest withdrawal `amount` accepted, and the fee kept from it (USDT strings).
    withdrawal_min: str = "20.00"
    withdrawal_fee: str = "1.00"
    #: Daily cut-off (UTC, HH:MM) at which mining rewards are credited.
    daily_cutoff: time = time(6, 0)
    #: Let webhook endpoints point at loopback/private/link-local addresses (development, tests).
    webhooks_allow_private_targets: bool = False
    #: Seconds between the worker's rounds when it finds nothing to do.
    worker_interval: float = Field(default=1.0, gt=0, le=60)
    #: Run the worker inside `mtx serve` (default: on the embedded SQLite default only).
    worker_in_process: bool | None = None
    #: Contracts credited per accrual transaction (memory and lock time stay bounded).
    accrual_batch_size: int = Field(default=5000, ge=1)
    #: Webhook delivery: seconds to connect and to read the answer; deliveries per round;
    #: hours after the first attempt before a delivery is given up.
    webhook_connect_timeout: float = Field(default=3.0, gt=0)
    webhook_read_timeout: float = Field(default=10.0, gt=0)
    webhook_batch_size: int = Field(default=50, ge=1)
    webhook_retry_window_hours: float = Field(default=72.0, gt=0)
    #: Chain settings per network (live mode needs both; sandbox simulates a network left unset).
    chain_bsc_rpc_url: str | None = None
    chain_bsc_chain_id: int = 56
    chain_bsc_usdt_address: str | None = None
    chain_bsc_confirmations: int = Field(default=15, ge=1)
    chain_bsc_finality: Finality = "confirmations"
    chain_bsc_min_deposit: str = "10.00"
    chain_bsc_start_block: int | None = Field(default=None, ge=0)
    chain_polygon_rpc_url: str | None = None
    chain_polygon_chain_id: int = 137
    chain_polygon_usdt_address: str | None = None
    chain_polygon_confirmations: int = Field(default=128, ge=1)
    chain_polygon_finality: Finality = "confirmations"
    chain_polygon_min_deposit: str = "10.00"
    chain_polygon_start_block: int | None = Field(default=None, ge=0)
    chain_block_range: int = Field(default=2000, ge=1)
    #: Deposit addresses holding at least this much USDT are swept into the hot wallet.
    sweep_threshold: str = "100.00"
    #: The signer's BIP-39 mnemonic file (read by `mtx signer` only; never by the API).
    signer_seed_file: Path | None = None
    #: Signs dashboard and console session and CSRF tokens. Live mode refuses the default.
    secret_key: str = DEFAULT_SECRET_KEY

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("rate_limit", "rate_limit_unauthenticated"):
            if not _RATE.match(getattr(self, name)):
                raise ValueError(f"MTX_{name.upper()} must look like '120/minute'")
        if parse_decimal(self.withdrawal_fee, DECIMALS) >= parse_decimal(
            self.withdrawal_min, DECIMALS
        ):
            raise ValueError("MTX_WITHDRAWAL_FEE must be below MTX_WITHDRAWAL_MIN")
        if self.mode is Mode.LIVE and not self.wallet_xpub:
            raise ValueError("live mode needs MTX_WALLET_XPUB, the wallet's extended public key")
        if self.mode is Mode.LIVE and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH
        ):
            raise ValueError(
                f"live mode needs MTX_SECRET_KEY: a secret of its own, at least "
                f"{MIN_SECRET_KEY_LENGTH} characters (not the sandbox default)"
            )
        if self.mode is Mode.LIVE:
            missing = [
                f"MTX_CHAIN_{network.upper()}_{field.upper()}"
                for network in NETWORK_NAMES
                for field in ("rpc_url", "usdt_address")
                if not getattr(self, f"chain_{network}_{field}")
            ]
            if missing:
                raise ValueError(f"live mode needs the chain settings {', '.join(missing)}")
        for network in NETWORK_NAMES:
            parse_decimal(getattr(self, f"chain_{network}_min_deposit"), DECIMALS)
        parse_decimal(self.sweep_threshold, DECIMALS)
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "MTX_DATABASE_URL must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://..."
            )
        return self

    def chain(self, network: str) -> ChainSettings | None:
        """The network's chain settings, or None when it has no node configured."""
        rpc_url = getattr(self, f"chain_{network}_rpc_url")
        usdt = getattr(self, f"chain_{network}_usdt_address")
        if not rpc_url or not usdt:
            return None
        return ChainSettings(
            network=network,
            rpc_url=rpc_url,
            chain_id=getattr(self, f"chain_{network}_chain_id"),
            usdt_address=usdt,
            confirmations=getattr(self, f"chain_{network}_confirmations"),
            finality=getattr(self, f"chain_{network}_finality"),
            min_deposit=parse_decimal(getattr(self, f"chain_{network}_min_deposit"), DECIMALS),
            start_block=getattr(self, f"chain_{network}_start_block"),
            block_range=self.chain_block_range,
        )

    def simulates(self, network: str) -> bool:
        """Whether the sandbox's simulated network stands in for `network` (no node set)."""
        return self.sandbox and self.chain(network) is None

    def chains(self) -> list[ChainSettings]:
        """The networks with a node configured."""
        return [chain for network in NETWORK_NAMES if (chain := self.chain(network)) is not None]

    @property
    def sweep_threshold_units(self) -> int:
        return parse_decimal(self.sweep_threshold, DECIMALS)

    @property
    def runs_worker_in_process(self) -> bool:
        return self.is_sqlite if self.worker_in_process is None else self.worker_in_process

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sandbox(self) -> bool:
        return self.mode is Mode.SANDBOX

    @property
    def key_prefix(self) -> str:
        return "mtx_test_" if self.sandbox else "mtx_live_"

    @property
    def withdrawal_min_units(self) -> int:
        return parse_decimal(self.withdrawal_min, DECIMALS)

    @property
    def withdrawal_fee_units(self) -> int:
        return parse_decimal(self.withdrawal_fee, DECIMALS)

    def sqlite_path(self) -> Path | None:
        """The database file on the embedded default, so its folder can be created."""
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split(":///", 1)[1])


@lru_cache
def get_settings() -> Settings:
    return Settings()

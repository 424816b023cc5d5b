"""One Settings object for the whole deployment, read from MTX_* variables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from eth_utils.address import is_checksum_address, to_checksum_address
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from miningtx.kit.money import DECIMALS, UNITS_PER_USDT, AmountError, parse_decimal
from miningtx.kit.networks import NETWORKS, Network, parse_network

#: How a network decides a block is final: a count of confirmations, or the node's
#: `finalized` block tag (where the chain has one).
Finality = Literal["confirmations", "finalized"]
DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./var/miningtx.db"
#: Sandbox-only default; a live deployment refuses to start with it.
DEFAULT_SECRET_KEY = "sandbox-only-secret-key-do-not-use-in-live"  # noqa: S105
MIN_SECRET_KEY_LENGTH = 32
_RATE = re.compile(r"^\d+\s*/\s*(second|minute|hour|day)$")
_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: What each network defaults to when its MTX_CHAIN_<NETWORK>_* variables are unset
#: (a network missing here fails every start-up, so none can be forgotten).
_NETWORK_DEFAULTS: dict[Network, dict[str, Any]] = {
    "bsc": {"chain_id": 56, "confirmations": 15},
    "polygon": {"chain_id": 137, "confirmations": 128},
}


class Mode(StrEnum):
    SANDBOX = "sandbox"
    LIVE = "live"


def _usdt(value: object, variable: str) -> int:
    """A money setting in micro-USDT: from a USDT decimal string (as the environment gives
    it, "10.00") or an int that already is micro-USDT."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return parse_decimal(value, DECIMALS)
        except AmountError:
            pass
    raise ValueError(
        f"{variable} must be a USDT amount with at most {DECIMALS} decimals, such as 10.00 "
        f"(got {value!r})"
    )


def _usdt_setting(value: object, info: ValidationInfo) -> int:
    return _usdt(value, f"MTX_{(info.field_name or '').upper()}")


#: A money setting: written in USDT ("20.00"), held as micro-USDT from start-up on.
UsdtSetting = Annotated[int, BeforeValidator(_usdt_setting)]


def _optional_usdt_setting(value: object, info: ValidationInfo) -> int | None:
    """An optional money setting: unset or empty is None (the feature is off)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _usdt_setting(value, info)


#: A money setting that may be unset (None): the feature it bounds is off.
OptionalUsdtSetting = Annotated[int | None, BeforeValidator(_optional_usdt_setting)]


def _duration_setting(value: object, info: ValidationInfo) -> timedelta:
    """A duration setting: seconds ("86400") or an ISO 8601 duration ("PT24H")."""
    variable = f"MTX_{(info.field_name or '').upper()}"
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return timedelta(seconds=float(text))
        try:
            return TypeAdapter(timedelta).validate_python(text)
        except ValidationError:
            pass
    raise ValueError(
        f"{variable} must be seconds or an ISO 8601 duration such as PT24H (got {value!r})"
    )


#: A duration setting: seconds or ISO 8601, held as a timedelta.
DurationSetting = Annotated[timedelta, BeforeValidator(_duration_setting)]

# --- withdrawal limits and the address book (issue 13, parts 3 and 5) ---
#: Rolling withdrawal limits per customer unless an operator set an override (micro-USDT).
DEFAULT_WITHDRAWAL_LIMIT_24H = 10_000 * UNITS_PER_USDT
DEFAULT_WITHDRAWAL_LIMIT_30D = 100_000 * UNITS_PER_USDT
#: How long a newly saved withdrawal address (or switching the saved-addresses-only mode
#: off) waits before it takes effect.
DEFAULT_WITHDRAWAL_ADDRESS_DELAY = timedelta(hours=24)


class NetworkSettings(BaseModel):
    """One network's MTX_CHAIN_<NETWORK>_* settings; `min_deposit` applies with or without
    a node (the sandbox's simulated network credits by it too)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    network: Network
    rpc_url: str | None = None
    chain_id: int
    usdt_address: str | None = None
    #: A transfer in block b is final once the head is at b + confirmations - 1 ...
    confirmations: int = Field(ge=1)
    #: ... or, with "finalized", once b is at or below the node's `finalized` block.
    finality: Finality = "confirmations"
    #: Smallest deposit credited, in micro-USDT; smaller ones are recorded, not credited.
    min_deposit: int = 10 * UNITS_PER_USDT
    #: First block the watcher reads when it has no cursor yet (None: the head at first run).
    start_block: int | None = Field(default=None, ge=0)
    # Custody tiers (issue 13, CUSTODY) --------------------------------------------------
    #: The operator's cold address (EIP-55; its key is never on a platform machine).
    #: Unset: sweeps keep everything in the hot wallet (live mode warns at start-up).
    cold_address: str | None = None
    #: Sweeps fill the hot wallet up to this many micro-USDT, the rest goes cold (None: no
    #: ceiling); below `hot_floor` the operator is alerted (None: no floor).
    hot_ceiling: int | None = None
    hot_floor: int | None = None

    @field_validator("min_deposit", mode="before")
    @classmethod
    def _parse_min_deposit(cls, value: object, info: ValidationInfo) -> int:
        network = str(info.data.get("network", "<network>"))
        return _usdt(value, f"MTX_CHAIN_{network.upper()}_MIN_DEPOSIT")

    @field_validator("hot_ceiling", "hot_floor", mode="before")
    @classmethod
    def _parse_hot_limits(cls, value: object, info: ValidationInfo) -> int | None:
        if value is None or value == "":
            return None
        network = str(info.data.get("network", "<network>"))
        return _usdt(value, f"MTX_CHAIN_{network.upper()}_{(info.field_name or '').upper()}")

    @field_validator("cold_address", mode="before")
    @classmethod
    def _parse_cold_address(cls, value: object, info: ValidationInfo) -> str | None:
        if value is None or value == "":
            return None
        network = str(info.data.get("network", "<network>"))
        variable = f"MTX_CHAIN_{network.upper()}_COLD_ADDRESS"
        text = str(value).strip()
        if not _HEX_ADDRESS.match(text) or int(text, 16) == 0:
            raise ValueError(f"{variable} must be an EVM address: 0x and 40 hex digits")
        digits = text[2:]
        mixed = digits not in (digits.lower(), digits.upper())
        if mixed and not is_checksum_address(text):
            raise ValueError(f"{variable} fails its EIP-55 checksum: check it for a typo")
        checksummed: str = to_checksum_address(text)
        return checksummed

    @model_validator(mode="after")
    def _check_hot_limits(self) -> Self:
        if (
            self.hot_ceiling is not None
            and self.hot_floor is not None
            and self.hot_floor > self.hot_ceiling
        ):
            name = self.network.upper()
            raise ValueError(
                f"MTX_CHAIN_{name}_HOT_FLOOR must not be above MTX_CHAIN_{name}_HOT_CEILING"
            )
        return self


#: The fields a flat MTX_CHAIN_<NETWORK>_<FIELD> variable (or chain_<network>_<field>) sets.
_NETWORK_FIELDS = tuple(name for name in NetworkSettings.model_fields if name != "network")


@dataclass(frozen=True)
class ChainSettings:
    """One network's JSON-RPC node and USDT contract, as the watcher and the signer use them."""

    network: Network
    rpc_url: str
    chain_id: int
    usdt_address: str
    confirmations: int
    finality: Finality
    #: Smallest deposit credited, in micro-USDT (the network's `min_deposit`).
    min_deposit: int
    start_block: int | None
    #: Blocks per eth_getLogs request.
    block_range: int
    #: Custody tiers: the network's cold address, hot-wallet ceiling and floor (micro-USDT).
    cold_address: str | None = None
    hot_ceiling: int | None = None
    hot_floor: int | None = None


class _NetworkVariables(EnvSettingsSource):
    """MTX_CHAIN_<NETWORK>_<FIELD> from the process environment, as the flat keys that
    `Settings._nest_networks` gathers.

    pydantic-settings reads only variables named after a field, and the `_` inside the
    nested field names (RPC_URL) makes a nested delimiter ambiguous, hence this source.
    The .env file needs none: its unknown MTX_ keys already reach the validator as extras.
    """

    def __call__(self) -> dict[str, Any]:
        # Settings are case-insensitive, so pydantic-settings has lower-cased the names.
        prefix = self.env_prefix.lower()
        names = {f"chain_{network}_{field}" for network in NETWORKS for field in _NETWORK_FIELDS}
        return {
            name[len(prefix) :]: value
            for name, value in self.env_vars.items()
            if name.startswith(prefix) and name[len(prefix) :] in names
        }


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
    #: PostgreSQL: seconds to establish a connection, and the most one statement may take
    #: (0: no limit), so a lost or stuck server fails a request instead of hanging it.
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_command_timeout: float = Field(default=30.0, ge=0)
    #: Seconds after which an Idempotency-Key claim whose request has not answered is
    #: presumed dead and a retry with the same key takes it over. The request that loses
    #: its claim this way rolls back, so keep it above the slowest POST.
    idempotency_stale_seconds: float = Field(default=60.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    #: Account-level extended public key (m/44'/60'/0') that deposit addresses derive from.
    #: Unset in sandbox: a generated development wallet under `sandbox_wallet_dir` is used.
    wallet_xpub: str | None = None
    sandbox_wallet_dir: Path = Path("./var")
    #: Smallest withdrawal `amount` accepted, and the fee kept from it (micro-USDT; the
    #: variables are USDT strings such as 20.00).
    withdrawal_min: UsdtSetting = 20 * UNITS_PER_USDT
    withdrawal_fee: UsdtSetting = 1 * UNITS_PER_USDT
    # AUDIT (issue 13, four-eyes):
    #: Withdrawals whose amount is above this need approvals by two different operators
    #: (MTX_WITHDRAWAL_FOUR_EYES_ABOVE, USDT; unset: one approval sends it).
    withdrawal_four_eyes_above: OptionalUsdtSetting = None
    # --- withdrawal limits, auto-approval, the address book (issue 13, parts 3 and 5) ---
    #: What one customer may withdraw over any rolling 24 hours / 30 days (USDT strings;
    #: operators override them per customer with `mtx customers limits set`).
    withdrawal_limit_24h: UsdtSetting = DEFAULT_WITHDRAWAL_LIMIT_24H
    withdrawal_limit_30d: UsdtSetting = DEFAULT_WITHDRAWAL_LIMIT_30D
    #: Withdrawals at or below this from verified customers, within their limits, are
    #: approved at request time without an operator. Unset: every withdrawal is reviewed.
    #: Keep it below MTX_WITHDRAWAL_FOUR_EYES_ABOVE.
    withdrawal_auto_approve_max: OptionalUsdtSetting = None
    #: Cool-down of a newly saved withdrawal address, and of switching the
    #: saved-addresses-only mode off (seconds, or an ISO 8601 duration such as PT24H).
    withdrawal_address_delay: DurationSetting = DEFAULT_WITHDRAWAL_ADDRESS_DELAY
    #: Daily cut-off (UTC, HH:MM) at which mining rewards are credited.
    daily_cutoff: time = time(6, 0)
    #: Let webhook endpoints point at loopback/private/link-local addresses (development,
    #: tests); live mode refuses to start with it.
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
    #: Every network's settings, from MTX_CHAIN_<NETWORK>_* (live mode needs a node on
    #: each; sandbox simulates a network left without one).
    networks: dict[Network, NetworkSettings] = Field(default_factory=dict)
    #: Blocks per eth_getLogs request (MTX_CHAIN_BLOCK_RANGE), on every network.
    chain_block_range: int = Field(default=2000, ge=1)
    #: Deposit addresses holding at least this much USDT are swept into the hot wallet.
    sweep_threshold: UsdtSetting = 100 * UNITS_PER_USDT
    #: The signer's BIP-39 mnemonic file (read by `mtx signer` only; never by the API).
    signer_seed_file: Path | None = None
    # Custody (issue 13, CUSTODY) ---------------------------------------------------------
    #: Seconds the signer waits, within a round, for the gas top-ups and sweeps it just
    #: sent to be mined before it pays withdrawals (instant-mining nodes answer at once).
    signer_receipt_wait: float = Field(default=5.0, ge=0, le=120)
    #: Minutes a withdrawal may wait for hot-wallet funds while later, smaller ones are
    #: paid past it; after that, nothing later on its network is paid until it is.
    withdrawal_wait_grace_minutes: float = Field(default=60.0, ge=0)
    #: Signs dashboard and console session and CSRF tokens. Live mode refuses the default.
    secret_key: str = DEFAULT_SECRET_KEY

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The default sources, plus the flat MTX_CHAIN_<NETWORK>_* variables between the
        environment and the .env file (the environment wins, as for every variable)."""
        return (
            init_settings,
            env_settings,
            _NetworkVariables(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @model_validator(mode="before")
    @classmethod
    def _nest_networks(cls, data: Any) -> Any:
        """Gather the flat chain_<network>_<field> values into `networks`, over each
        network's defaults, so every network has its settings whatever is configured."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        given: dict[Any, Any] = dict(data.get("networks") or {})
        networks: dict[Any, Any] = {}
        for network in NETWORKS:
            values: dict[str, Any] = {"network": network, **_NETWORK_DEFAULTS[network]}
            entry = given.pop(network, {})
            values |= entry.model_dump() if isinstance(entry, NetworkSettings) else dict(entry)
            for field in _NETWORK_FIELDS:
                flat = f"chain_{network}_{field}"
                if flat in data:
                    values[field] = data.pop(flat)
            networks[network] = values
        # An unknown network stays in, for validation to refuse it.
        data["networks"] = networks | given
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("rate_limit", "rate_limit_unauthenticated"):
            if not _RATE.match(getattr(self, name)):
                raise ValueError(f"MTX_{name.upper()} must look like '120/minute'")
        if self.withdrawal_fee >= self.withdrawal_min:
            raise ValueError("MTX_WITHDRAWAL_FEE must be below MTX_WITHDRAWAL_MIN")
        if self.withdrawal_address_delay < timedelta(0):
            raise ValueError("MTX_WITHDRAWAL_ADDRESS_DELAY must not be negative")
        if self.mode is Mode.LIVE and not self.wallet_xpub:
            raise ValueError("live mode needs MTX_WALLET_XPUB, the wallet's extended public key")
        if self.mode is Mode.LIVE and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH
        ):
            raise ValueError(
                f"live mode needs MTX_SECRET_KEY: a secret of its own, at least "
                f"{MIN_SECRET_KEY_LENGTH} characters (not the sandbox default)"
            )
        if self.mode is Mode.LIVE and self.webhooks_allow_private_targets:
            raise ValueError(
                "live mode refuses MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true: webhooks would "
                "reach this network; unset it (development and tests only)"
            )
        if self.mode is Mode.LIVE:
            missing = [
                f"MTX_CHAIN_{network.upper()}_{field.upper()}"
                for network, settings in self.networks.items()
                for field, value in (
                    ("rpc_url", settings.rpc_url),
                    ("usdt_address", settings.usdt_address),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"live mode needs the chain settings {', '.join(missing)}")
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "MTX_DATABASE_URL must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://..."
            )
        return self

    def network(self, network: str) -> NetworkSettings:
        """The network's settings (every network has them); ValueError for an unknown name."""
        return self.networks[parse_network(network)]

    def chain(self, network: str) -> ChainSettings | None:
        """The network's chain settings, or None when it has no node configured."""
        settings = self.network(network)
        if not settings.rpc_url or not settings.usdt_address:
            return None
        return ChainSettings(
            network=settings.network,
            rpc_url=settings.rpc_url,
            chain_id=settings.chain_id,
            usdt_address=settings.usdt_address,
            confirmations=settings.confirmations,
            finality=settings.finality,
            min_deposit=settings.min_deposit,
            start_block=settings.start_block,
            block_range=self.chain_block_range,
            cold_address=settings.cold_address,
            hot_ceiling=settings.hot_ceiling,
            hot_floor=settings.hot_floor,
        )

    def simulates(self, network: str) -> bool:
        """Whether the sandbox's simulated network stands in for `network` (no node set)."""
        return self.sandbox and self.chain(network) is None

    def chains(self) -> list[ChainSettings]:
        """The networks with a node configured."""
        return [chain for network in NETWORKS if (chain := self.chain(network)) is not None]

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

    def sqlite_path(self) -> Path | None:
        """The database file on the embedded default, so its folder can be created."""
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split(":///", 1)[1])


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_problems(error: ValidationError) -> list[str]:
    """The settings' refusal as one line per problem, each naming its variable, for the
    operator who starts a process (no traceback: the fix is in the environment)."""
    lines = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        location = "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"MTX_{location}: {message}" if location else message)
    return lines

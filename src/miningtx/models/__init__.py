"""SQLAlchemy tables, one module per table family. Importing this registers them all."""

from miningtx.models.base import Base
from miningtx.models.clock import ClockState
from miningtx.models.customers import ApiKey, Customer
from miningtx.models.dashboard import CustomerCredential, Operator, WebSession
from miningtx.models.idempotency import IdempotencyRecord
from miningtx.models.ledger import LedgerAccount, LedgerTransfer
from miningtx.models.mining import (
    AccrualState,
    Activation,
    Fleet,
    MiningContract,
)
from miningtx.models.staking import Stake, StakingPlan, StakingTerms
from miningtx.models.wallet import (
    ChainCursor,
    ChainTransaction,
    Deposit,
    DepositAddress,
    Withdrawal,
)
from miningtx.models.webhooks import (
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSubscription,
)

__all__ = [
    "AccrualState",
    "Activation",
    "ApiKey",
    "Base",
    "ChainCursor",
    "ChainTransaction",
    "ClockState",
    "Customer",
    "CustomerCredential",
    "Deposit",
    "DepositAddress",
    "Event",
    "Fleet",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerTransfer",
    "MiningContract",
    "Operator",
    "Stake",
    "StakingPlan",
    "StakingTerms",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookSubscription",
    "Withdrawal",
]

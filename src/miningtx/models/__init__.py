"""SQLAlchemy tables, one module per table family. Importing this registers them all.

Every status and kind column has its `StrEnum` beside its table, and a CHECK constraint
(migration 0007) so the database refuses any other value.
"""

from miningtx.models.audit import Adjustment, AdjustmentCategory, AdjustmentStatus, AuditEntry
from miningtx.models.base import Base
from miningtx.models.clock import ClockState
from miningtx.models.customers import ApiKey, Customer, KycStatus
from miningtx.models.dashboard import (
    CustomerCredential,
    Operator,
    OperatorRole,
    PrincipalKind,
    WebSession,
)
from miningtx.models.idempotency import IdempotencyRecord, IdempotencyState
from miningtx.models.ledger import (
    AccountKind,
    LedgerAccount,
    LedgerTransfer,
    TransferDirection,
    TransferKind,
)
from miningtx.models.mining import (
    AccrualState,
    Activation,
    ActivationStatus,
    Fleet,
    MiningContract,
)
from miningtx.models.solvency import (
    GENESIS_HASH,
    ColdAttestation,
    DailyBalance,
    LedgerChain,
    LiabilityLeafSet,
    LiabilitySnapshot,
    LiabilityTreeChunk,
    ReserveBalance,
)
from miningtx.models.staking import Stake, StakeStatus, StakingPlan, StakingTerms
from miningtx.models.wallet import (
    ChainCursor,
    ChainTransaction,
    ChainTransactionKind,
    ChainTransactionStatus,
    Deposit,
    DepositAddress,
    DepositPurpose,
    DepositStatus,
    HotWalletObservation,
    Withdrawal,
    WithdrawalApproval,
    WithdrawalStatus,
)
from miningtx.models.webhooks import (
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
    WebhookSubscription,
)
from miningtx.models.withdrawal_controls import WithdrawalAddress, WithdrawalControls

__all__ = [
    "GENESIS_HASH",
    "AccountKind",
    "AccrualState",
    "Activation",
    "ActivationStatus",
    "Adjustment",
    "AdjustmentCategory",
    "AdjustmentStatus",
    "ApiKey",
    "AuditEntry",
    "Base",
    "ChainCursor",
    "ChainTransaction",
    "ChainTransactionKind",
    "ChainTransactionStatus",
    "ClockState",
    "ColdAttestation",
    "Customer",
    "CustomerCredential",
    "DailyBalance",
    "Deposit",
    "DepositAddress",
    "DepositPurpose",
    "DepositStatus",
    "Event",
    "Fleet",
    "HotWalletObservation",
    "IdempotencyRecord",
    "IdempotencyState",
    "KycStatus",
    "LedgerAccount",
    "LedgerChain",
    "LedgerTransfer",
    "LiabilityLeafSet",
    "LiabilitySnapshot",
    "LiabilityTreeChunk",
    "MiningContract",
    "Operator",
    "OperatorRole",
    "PrincipalKind",
    "ReserveBalance",
    "Stake",
    "StakeStatus",
    "StakingPlan",
    "StakingTerms",
    "TransferDirection",
    "TransferKind",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEndpointStatus",
    "WebhookSubscription",
    "Withdrawal",
    "WithdrawalAddress",
    "WithdrawalApproval",
    "WithdrawalControls",
    "WithdrawalStatus",
]

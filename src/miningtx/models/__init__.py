"""SQLAlchemy tables, one module per table family. Importing this registers them all."""

from miningtx.models.base import Base
from miningtx.models.customers import ApiKey, Customer
from miningtx.models.idempotency import IdempotencyRecord
from miningtx.models.ledger import LedgerAccount, LedgerTransfer
from miningtx.models.mining import Activation, Fleet, MiningContract, MiningReward
from miningtx.models.staking import Stake, StakingPlan, StakingTerms
from miningtx.models.wallet import Deposit, DepositAddress, Withdrawal

__all__ = [
    "Activation",
    "ApiKey",
    "Base",
    "Customer",
    "Deposit",
    "DepositAddress",
    "Fleet",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerTransfer",
    "MiningContract",
    "MiningReward",
    "Stake",
    "StakingPlan",
    "StakingTerms",
    "Withdrawal",
]

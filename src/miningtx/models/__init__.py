"""SQLAlchemy tables, one module per table family. Importing this registers them all."""

from miningtx.models.base import Base
from miningtx.models.customers import ApiKey, Customer
from miningtx.models.idempotency import IdempotencyRecord
from miningtx.models.ledger import LedgerAccount, LedgerTransfer
from miningtx.models.mining import Activation, Fleet, MiningContract, MiningReward
from miningtx.models.wallet import Deposit

__all__ = [
    "Activation",
    "ApiKey",
    "Base",
    "Customer",
    "Deposit",
    "Fleet",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerTransfer",
    "MiningContract",
    "MiningReward",
]

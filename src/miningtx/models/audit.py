"""The audit log (append-only) and manual adjustments (maker-checker)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of
from miningtx.models.ledger import TransferDirection


class AuditEntry(Base):
    """One operator action (or the platform's own, `operator_seq` NULL), never changed.

    The database refuses UPDATE and DELETE on this table (triggers, migration 0008), and no
    code path edits a row: `audit.service.record` only inserts.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_operator", "operator_seq", "seq"),
        Index("ix_audit_log_action", "action", "seq"),
        Index("ix_audit_log_target", "target", "seq"),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    #: None: the platform itself acted (shown as "system").
    operator_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("operators.seq"), nullable=True
    )
    #: The operator's email when the action was taken (kept even if the account changes).
    operator_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    #: `<object>.<verb>`, e.g. withdrawal.approved, adjustment.proposed.
    action: Mapped[str] = mapped_column(String(64))
    #: What was acted on: a public id (wd_, usr_, adj_, op_), a pool or contract name.
    target: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdjustmentStatus(StrEnum):
    """`proposed` by one operator, then `approved` (and posted) or `rejected` by a decision."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class AdjustmentCategory(StrEnum):
    """Why an operator corrects a customer's balance by hand."""

    GOODWILL = "goodwill"
    CORRECTION = "correction"
    CHARGEBACK = "chargeback"
    FEE_REFUND = "fee_refund"


class Adjustment(Base):
    """A manual credit or debit of a customer's available balance, posted only once a
    second operator approves it (the CHECK makes the approver differ from the proposer)."""

    __tablename__ = "adjustments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive_amount"),
        CheckConstraint(
            "decided_by_seq IS NULL OR status = 'rejected' OR decided_by_seq <> proposed_by_seq",
            name="four_eyes",
        ),
        Index("ix_adjustments_status", "status", "seq"),
        Index("ix_adjustments_customer", "customer_seq", "seq"),
        one_of("direction", TransferDirection),
        one_of("category", AdjustmentCategory),
        one_of("status", AdjustmentStatus),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    direction: Mapped[TransferDirection] = mapped_column(EnumString(TransferDirection, 8))
    amount: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[AdjustmentCategory] = mapped_column(EnumString(AdjustmentCategory, 16))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[AdjustmentStatus] = mapped_column(EnumString(AdjustmentStatus, 16))
    proposed_by_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("operators.seq"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("operators.seq"), nullable=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The ledger transfer that posted it (approved only).
    transfer_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("ledger_transfers.seq"), nullable=True
    )

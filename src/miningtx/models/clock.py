"""The deployment's clock: one row holding how far the sandbox clock runs ahead."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base


class ClockState(Base):
    __tablename__ = "clock"
    __table_args__ = (CheckConstraint("offset_seconds >= 0", name="forward_only"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Seconds added to the wall clock; only the sandbox test helper moves it.
    offset_seconds: Mapped[int] = mapped_column(BigInteger, default=0)

"""Dashboard and console accounts: customer passwords, operators, server-side web sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class OperatorRole(StrEnum):
    """`admin` may change the platform; `reviewer` decides KYC and payouts."""

    ADMIN = "admin"
    REVIEWER = "reviewer"


class PrincipalKind(StrEnum):
    """Who a web session signs in: `principal_seq` is a customers.seq or an operators.seq."""

    CUSTOMER = "customer"
    OPERATOR = "operator"


class CustomerCredential(Base):
    """A customer's dashboard sign-in: an argon2 password hash and an optional TOTP secret.

    Kept apart from `customers`: a customer created by the API or the CLI has no row here
    and cannot sign in to the dashboard.
    """

    __tablename__ = "customer_credentials"

    customer_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("customers.seq"), primary_key=True, autoincrement=False
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Base32 TOTP secret once two-factor sign-in is confirmed; None while it is off.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The last TOTP time step accepted, so a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Operator(Base):
    """A console account; `admin` may change the platform, `reviewer` decides KYC and payouts."""

    __tablename__ = "operators"
    __table_args__ = (one_of("role", OperatorRole),)

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    #: Stored lower-cased, so sign-in and uniqueness ignore case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[OperatorRole] = mapped_column(EnumString(OperatorRole, 16))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's random token is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        one_of("principal_kind", PrincipalKind),
        Index("ix_web_sessions_principal", "principal_kind", "principal_seq"),
        Index("ix_web_sessions_expires_at", "expires_at"),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: customer | operator; `principal_seq` is a customers.seq or an operators.seq.
    principal_kind: Mapped[PrincipalKind] = mapped_column(EnumString(PrincipalKind, 16))
    principal_seq: Mapped[int] = mapped_column(SeqKey)
    #: The synchronizer token every form of this session must carry.
    csrf_token: Mapped[str] = mapped_column(String(64))
    #: The password was right but the TOTP code is still owed: no page is served yet.
    awaiting_totp: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When this session last passed a TOTP check (None: never, or TOTP is off).
    totp_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: A TOTP secret being set up in Settings, until confirmed with a code.
    pending_totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

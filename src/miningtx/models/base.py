"""Declarative base and the column types every table shares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

#: Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite so it autoincrements.
SeqKey = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E]):
    """A status or kind column: a plain VARCHAR in the database, a `StrEnum` member in Python.

    The DDL stays `VARCHAR(length)` (no native ENUM type), so the CHECK constraint written
    by the migrations is the only rule the database applies. Writes pass any string through
    unchanged: refusing an unknown value is the database's job, so code and SQL agree.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def quoted_values(values: Iterable[str]) -> str:
    """`'a', 'b'`: the SQL IN-list of a CHECK constraint, in the order given."""
    return ", ".join(f"'{value}'" for value in values)


def one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """CHECK (`column` IN the enum's values), named `ck_<table>_<column>` by the convention."""
    return CheckConstraint(f"{column} IN ({quoted_values(enum)})", name=column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

"""The declarative base shared by every area's models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, String, TypeDecorator, cast, event, func
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, mapped_column, registry

from programme.core.timezone import now as clock_now

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; SQLite gives them back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing a naive datetime: store aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Money: fixed-point, two decimals, never a float (asdecimal is the Numeric default).
Money = Annotated[Decimal, mapped_column(Numeric(14, 2))]


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), str: String(255)},
    )


def _is_sqlite(dbapi_connection: Any) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys (only done when asked, per connection), and use write-ahead
    logging so that readers do not block the writer (web threads and the scheduler)."""
    if _is_sqlite(dbapi_connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(connection: Any, name: str) -> None:
    """The sqlite3 driver opens a transaction only before INSERT, UPDATE or DELETE. A SAVEPOINT sent
    before any of them would open one of its own, and its RELEASE would then commit everything, so
    that a later rollback undoes nothing. Open the transaction first."""
    if connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN")


def utcnow() -> datetime:
    """The current moment by the programme's one clock (core.timezone.now): column defaults and services that are
    not handed a `now` read the same clock the pages pass and the tests set."""
    return clock_now()


def state_enum(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    """A column type that stores an enum's values as text behind a check constraint.

    The constraint is named `ck_<table>_<name>`; the database refuses any other value.
    """
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
    )


# Sums of money in SQL, in whole cents: SQLite keeps NUMERIC as binary floats, so a sum of amounts can drift by
# a fraction of a cent there; a sum of rounded cents is exact on both databases.


def cents(column: Any) -> Any:
    """A money column as whole cents (an integer in SQL)."""
    return cast(func.round(column * 100), BigInteger)


def sum_cents(column: Any) -> Any:
    """The sum of a money column in whole cents, 0 when there is no row."""
    return func.coalesce(func.sum(cents(column)), 0)


def from_cents(value: Any) -> Decimal:
    """Whole cents read back from SQL as money (two places)."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))

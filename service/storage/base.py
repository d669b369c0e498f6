"""What every table of the service shares: the declarative base, JSON columns, the
exactly-once insert and timestamps read back from SQLite.

The schema comes from the Alembic migrations in ``service/migrations`` (see
``service.storage.database``); the table modules only map it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session

JsonColumn = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


def insert_once(engine: Engine, row: Base) -> bool:
    """Insert ``row`` in its own transaction; False when a unique key already holds it
    (the exactly-once guard of batch items and failures, whoever races for them)."""
    try:
        with Session(engine) as session, session.begin():
            session.add(row)
    except IntegrityError:
        return False
    return True


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment

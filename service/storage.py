"""Record storage with SQLAlchemy 2: SQLite by default, PostgreSQL through psycopg.

The schema comes from the Alembic migrations in ``service/migrations`` (see
``service.database``); this module only maps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, Select, String, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from service.records import PatientRecord

JsonColumn = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class PatientRow(Base):
    __tablename__ = "patients"

    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    request: Mapped[str] = mapped_column(Text)
    tumour: Mapped[str] = mapped_column(String(200), index=True)
    record: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RecordStore:
    """Keyword-only, small repository for patient records."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def save(self, record: PatientRecord, *, seconds: float | None = None) -> None:
        self.save_all([(record, seconds)])

    def save_all(self, records: Iterable[tuple[PatientRecord, float | None]]) -> None:
        """Store (record, generation seconds) pairs in one transaction: all or none.

        A record's id derives from its request, seed, model and reference date, so saving
        the same reproducible record twice keeps one row.
        """
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            for record, seconds in records:
                session.merge(
                    PatientRow(
                        record_id=record.record_id,
                        seed=record.provenance.seed,
                        request=record.provenance.request,
                        tumour=record.diagnosis.tumour,
                        record=record.model_dump(mode="json"),
                        seconds=seconds,
                        created_at=now,
                    )
                )

    def get(self, record_id: str) -> PatientRecord | None:
        with Session(self.engine) as session:
            row = session.get(PatientRow, record_id)
            return PatientRecord.model_validate(row.record) if row else None

    def list(
        self, *, limit: int = 100, offset: int = 0, tumour: str | None = None
    ) -> list[PatientRecord]:
        """A page of records, oldest first; ``tumour`` matches part of the name, any case."""
        query = select(PatientRow).order_by(PatientRow.created_at, PatientRow.record_id)
        with Session(self.engine) as session:
            rows = session.scalars(_filtered(query, tumour).limit(limit).offset(offset))
            return [PatientRecord.model_validate(r.record) for r in rows]

    def count(self, *, tumour: str | None = None) -> int:
        query = _filtered(select(func.count()).select_from(PatientRow), tumour)
        with Session(self.engine) as session:
            return int(session.scalar(query) or 0)


def _filtered(query: Select[Any], tumour: str | None) -> Select[Any]:
    return query.where(PatientRow.tumour.ilike(f"%{tumour}%")) if tumour else query

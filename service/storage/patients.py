"""Patient records with SQLAlchemy 2: SQLite by default, PostgreSQL through psycopg.

Each record is stored with its validation result (``ValidationResult``, typed both ways)
and, for a batch item, its place in the batch.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Float, Index, Integer, Select, String, Text, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.records import PatientRecord
from service.storage.base import Base, JsonColumn, insert_once
from service.validation import ValidationResult


class PatientRow(Base):
    __tablename__ = "patients"

    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    request: Mapped[str] = mapped_column(Text)
    tumour: Mapped[str] = mapped_column(String(200), index=True)
    record: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A record made for a batch job holds its place in the batch: (batch_id, batch_index)
    # is unique, so a restarted batch can never store the same item twice.
    batch_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    batch_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Per-record validation result (service.validation), stored with the record.
    validation: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn, nullable=True)

    __table_args__ = (Index("ix_patients_batch_item", "batch_id", "batch_index", unique=True),)


def _patient_row(
    record: PatientRecord,
    *,
    seconds: float | None,
    created_at: datetime,
    validation: ValidationResult | None,
    **batch_item: Any,
) -> PatientRow:
    """The row of ``record``; ``batch_item`` (batch_id, batch_index) only for batch items,
    so merging a plain record never clears an existing row's place in a batch."""
    return PatientRow(
        record_id=record.record_id,
        seed=record.provenance.seed,
        request=record.provenance.request,
        tumour=record.diagnosis.tumour,
        record=record.model_dump(mode="json"),
        seconds=seconds,
        created_at=created_at,
        validation=validation.model_dump(mode="json") if validation is not None else None,
        **batch_item,
    )


class RecordStore:
    """Keyword-only, small repository for patient records."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def save(
        self,
        record: PatientRecord,
        *,
        seconds: float | None = None,
        validation: ValidationResult | None = None,
    ) -> None:
        self.save_all(
            [(record, seconds)],
            validations={record.record_id: validation} if validation is not None else None,
        )

    def save_all(
        self,
        records: Iterable[tuple[PatientRecord, float | None]],
        *,
        validations: Mapping[str, ValidationResult] | None = None,
    ) -> None:
        """Store (record, generation seconds) pairs in one transaction: all or none.

        ``validations`` maps record ids to their validation results, stored in the same
        transaction. A record's id derives from its request, seed, model and reference
        date, so saving the same reproducible record twice keeps one row.
        """
        now = datetime.now(UTC)
        validations = validations or {}
        with Session(self.engine) as session, session.begin():
            for record, seconds in records:
                session.merge(
                    _patient_row(
                        record,
                        seconds=seconds,
                        created_at=now,
                        validation=validations.get(record.record_id),
                    )
                )

    def save_batch_item(
        self,
        record: PatientRecord,
        *,
        batch_id: str,
        batch_index: int,
        seconds: float | None = None,
        validation: ValidationResult | None = None,
    ) -> bool:
        """Store item ``batch_index`` of a batch; False if that item is already stored.

        The unique (batch_id, batch_index) index makes this exactly-once even when two
        workers race for the same item or a restarted worker redoes a finished one.
        """
        row = _patient_row(
            record,
            seconds=seconds,
            created_at=datetime.now(UTC),
            validation=validation,
            batch_id=batch_id,
            batch_index=batch_index,
        )
        return insert_once(self.engine, row)

    def get(self, record_id: str) -> PatientRecord | None:
        with Session(self.engine) as session:
            row = session.get(PatientRow, record_id)
            return PatientRecord.model_validate(row.record) if row else None

    def set_validation(self, record_id: str, validation: ValidationResult) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(PatientRow, record_id)
            if row is None:
                raise KeyError(record_id)
            row.validation = validation.model_dump(mode="json")

    def get_validation(self, record_id: str) -> ValidationResult | None:
        """The stored validation result; KeyError when the record does not exist."""
        with Session(self.engine) as session:
            row = session.get(PatientRow, record_id)
            if row is None:
                raise KeyError(record_id)
            return ValidationResult.model_validate(row.validation) if row.validation else None

    def list(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        tumour: str | None = None,
        batch_id: str | None = None,
    ) -> list[PatientRecord]:
        """A page of records, oldest first (batch order within a batch).

        ``tumour`` matches part of the name, any case; ``batch_id`` keeps one batch's items.
        """
        order = (PatientRow.batch_index,) if batch_id else ()
        query = select(PatientRow).order_by(*order, PatientRow.created_at, PatientRow.record_id)
        with Session(self.engine) as session:
            rows = session.scalars(_filtered(query, tumour, batch_id).limit(limit).offset(offset))
            return [PatientRecord.model_validate(r.record) for r in rows]

    def count(self, *, tumour: str | None = None, batch_id: str | None = None) -> int:
        query = _filtered(select(func.count()).select_from(PatientRow), tumour, batch_id)
        with Session(self.engine) as session:
            return int(session.scalar(query) or 0)

    def batch_items(
        self, batch_id: str
    ) -> builtins.list[tuple[PatientRecord, ValidationResult | None]]:
        """A batch's records in batch order, each with its stored validation result."""
        query = (
            select(PatientRow.record, PatientRow.validation)
            .where(PatientRow.batch_id == batch_id)
            .order_by(PatientRow.batch_index, PatientRow.record_id)
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return [
            (
                PatientRecord.model_validate(record),
                ValidationResult.model_validate(validation) if validation else None,
            )
            for record, validation in rows
        ]

    def batch_counts(self, batch_id: str) -> tuple[int, int]:
        """A batch's stored records and how many of them carry a validation result."""
        query = select(PatientRow.validation).where(PatientRow.batch_id == batch_id)
        with Session(self.engine) as session:
            # A JSON column may hold JSON null for "no result": count the results in Python.
            results = session.scalars(query).all()
        return len(results), sum(r is not None for r in results)

    def batch_indexes(self, batch_id: str) -> set[int]:
        """The items of a batch already stored."""
        query = select(PatientRow.batch_index).where(PatientRow.batch_id == batch_id)
        with Session(self.engine) as session:
            return {int(i) for i in session.scalars(query) if i is not None}


def _filtered(query: Select[Any], tumour: str | None, batch_id: str | None = None) -> Select[Any]:
    if tumour:
        query = query.where(PatientRow.tumour.ilike(f"%{tumour}%"))
    if batch_id:
        query = query.where(PatientRow.batch_id == batch_id)
    return query

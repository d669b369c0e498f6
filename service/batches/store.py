"""The ``batches`` and ``batch_failures`` tables, reached only through ``BatchStore``.

An item is done when ``RecordStore.save_batch_item`` stored it: the unique (batch_id,
batch_index) index refuses a second copy, so a restarted or a concurrent worker may redo
any item without risk. Progress is counted from the stored items themselves.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.batches.models import (
    ACTIVE,
    BatchFailure,
    BatchJob,
    BatchRequest,
    BatchStatus,
    IdempotencyConflict,
)
from service.requests import MAX_SEED
from service.storage.base import Base, JsonColumn, aware, insert_once
from service.storage.patients import PatientRow


class BatchNotFound(LookupError):
    def __init__(self, batch_id: str):
        super().__init__(f"no batch with id {batch_id}")
        self.batch_id = batch_id


class BatchRow(Base):
    """A batch job: ``total`` records for one request; progress is counted from ``patients``."""

    __tablename__ = "batches"

    batch_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    total: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # queued|running|done|failed|cancelled
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_batches_idempotency_key", "idempotency_key", unique=True),)


class BatchFailureRow(Base):
    """A batch item that could not be generated after its attempts, with the reason."""

    __tablename__ = "batch_failures"

    batch_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("batches.batch_id", ondelete="CASCADE"), primary_key=True
    )
    batch_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _failed_items() -> Any:
    """Failure rows whose item was not stored after all (a racing worker may succeed)."""
    stored = exists().where(
        and_(
            PatientRow.batch_id == BatchFailureRow.batch_id,
            PatientRow.batch_index == BatchFailureRow.batch_index,
        )
    )
    return ~stored


class BatchStore:
    """Keyword-only repository over ``batches`` and ``batch_failures``; progress is
    counted from the stored items themselves."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self, request: BatchRequest) -> tuple[BatchStatus, bool]:
        """A new queued batch and True; with a known idempotency key, that batch and False.

        Raises IdempotencyConflict when the key was used for a different request."""
        key = request.idempotency_key
        if key is not None and (existing := self._same_request(key, request)) is not None:
            return existing, False
        seed = request.seed
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)  # item seeds wrap (seed_at)
        batch_id = str(uuid.uuid4())
        row = BatchRow(
            batch_id=batch_id,
            request=request.stored_request(),
            total=request.count,
            seed=seed,
            idempotency_key=key,
            status="queued",
            created_at=datetime.now(UTC),
        )
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
        except IntegrityError:  # the same key, created a moment ago by another request
            if key is None or (existing := self._same_request(key, request)) is None:
                raise
            return existing, False
        status = self.status(batch_id)
        assert status is not None
        return status, True

    def _same_request(self, key: str, request: BatchRequest) -> BatchStatus | None:
        with Session(self.engine) as session:
            row = session.scalar(select(BatchRow).where(BatchRow.idempotency_key == key))
            if row is None:
                return None
            if row.request != request.stored_request() or row.total != request.count:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was already used for batch {row.batch_id} "
                    "with a different request; use a new key for a new batch"
                )
            return self._statuses(session, [row], workers=1)[0]

    def status(self, batch_id: str, *, workers: int = 1) -> BatchStatus | None:
        with Session(self.engine) as session:
            row = session.get(BatchRow, batch_id)
            return self._statuses(session, [row], workers=workers)[0] if row else None

    def page(
        self, *, limit: int = 50, offset: int = 0, status: str | None = None, workers: int = 1
    ) -> list[BatchStatus]:
        """A page of batches, newest first."""
        query = select(BatchRow).order_by(BatchRow.created_at.desc(), BatchRow.batch_id)
        if status:
            query = query.where(BatchRow.status == status)
        with Session(self.engine) as session:
            rows = list(session.scalars(query.limit(limit).offset(offset)))
            return self._statuses(session, rows, workers=workers)

    def count(self, *, status: str | None = None) -> int:
        query = select(func.count()).select_from(BatchRow)
        if status:
            query = query.where(BatchRow.status == status)
        with Session(self.engine) as session:
            return int(session.scalar(query) or 0)

    def _statuses(
        self, session: Session, rows: Sequence[BatchRow], *, workers: int
    ) -> list[BatchStatus]:
        ids = [r.batch_id for r in rows]
        done = {
            batch_id: (int(n), seconds)
            for batch_id, n, seconds in session.execute(
                select(PatientRow.batch_id, func.count(), func.avg(PatientRow.seconds))
                .where(PatientRow.batch_id.in_(ids))
                .group_by(PatientRow.batch_id)
            )
        }
        failed = dict(
            session.execute(
                select(BatchFailureRow.batch_id, func.count())
                .where(BatchFailureRow.batch_id.in_(ids), _failed_items())
                .group_by(BatchFailureRow.batch_id)
            ).all()
        )
        statuses = []
        for row in rows:
            stored, mean = done.get(row.batch_id, (0, None))
            failures = int(failed.get(row.batch_id, 0))
            remaining = max(row.total - stored - failures, 0)
            eta: float | None = None
            if row.status == "done":
                eta = 0.0
            elif row.status in ACTIVE and mean is not None:
                eta = round(float(mean) * remaining / max(workers, 1), 1)
            base = f"/v1/batches/{row.batch_id}"
            statuses.append(
                BatchStatus(
                    batch_id=row.batch_id,
                    status=row.status,
                    total=row.total,
                    done=stored,
                    failed=failures,
                    seed=row.seed,
                    idempotency_key=row.idempotency_key,
                    created_at=aware(row.created_at) or row.created_at,
                    started_at=aware(row.started_at),
                    finished_at=aware(row.finished_at),
                    eta_seconds=eta,
                    request=row.request,
                    error=row.error,
                    links={
                        "self": base,
                        "patients": f"{base}/patients",
                        "failures": f"{base}/failures",
                        "cancel": f"{base}/cancel",
                    },
                )
            )
        return statuses

    def job(self, batch_id: str) -> BatchJob | None:
        with Session(self.engine) as session:
            row = session.get(BatchRow, batch_id)
            if row is None:
                return None
            return BatchJob(
                batch_id=row.batch_id,
                request=dict(row.request),
                seed=row.seed,
                total=row.total,
                status=row.status,
            )

    def active_ids(self) -> list[str]:
        """Queued and running batches, oldest first."""
        query = (
            select(BatchRow.batch_id)
            .where(BatchRow.status.in_(ACTIVE))
            .order_by(BatchRow.created_at, BatchRow.batch_id)
        )
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def pending(self, batch_id: str) -> list[int]:
        """Items neither stored nor recorded as failed, in order."""
        with Session(self.engine) as session:
            total = session.scalar(select(BatchRow.total).where(BatchRow.batch_id == batch_id))
            if total is None:
                return []
            settled = set(
                session.scalars(
                    select(PatientRow.batch_index).where(PatientRow.batch_id == batch_id)
                )
            )
            settled.update(
                session.scalars(
                    select(BatchFailureRow.batch_index).where(BatchFailureRow.batch_id == batch_id)
                )
            )
        return [i for i in range(total) if i not in settled]

    def is_settled(self, batch_id: str, index: int) -> bool:
        with Session(self.engine) as session:
            for table in (PatientRow, BatchFailureRow):
                found = session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.batch_id == batch_id, table.batch_index == index)
                )
                if found:
                    return True
        return False

    def failures(self, batch_id: str) -> list[BatchFailure]:
        query = (
            select(BatchFailureRow)
            .where(BatchFailureRow.batch_id == batch_id, _failed_items())
            .order_by(BatchFailureRow.batch_index)
        )
        with Session(self.engine) as session:
            return [
                BatchFailure(
                    batch_index=r.batch_index,
                    attempts=r.attempts,
                    error=r.error,
                    raw=r.raw,
                    created_at=aware(r.created_at) or r.created_at,
                )
                for r in session.scalars(query)
            ]

    def add_failure(
        self, batch_id: str, index: int, *, attempts: int, error: str, raw: str | None
    ) -> bool:
        """Record a failed item; False when it was stored or recorded meanwhile."""
        if self.is_settled(batch_id, index):
            return False
        row = BatchFailureRow(
            batch_id=batch_id,
            batch_index=index,
            attempts=attempts,
            error=error,
            raw=raw,
            created_at=datetime.now(UTC),
        )
        return insert_once(self.engine, row)

    def _transition(self, batch_id: str, states: Sequence[str], **values: Any) -> bool:
        """Move a batch out of ``states``; True only for the caller that moved it."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(BatchRow)
                .where(BatchRow.batch_id == batch_id, BatchRow.status.in_(states))
                .values(**values)
            )
            return bool(getattr(result, "rowcount", 0))

    def mark_running(self, batch_id: str) -> bool:
        return self._transition(
            batch_id, ("queued",), status="running", started_at=datetime.now(UTC)
        )

    def cancel(self, batch_id: str) -> bool:
        """Stop scheduling a batch's items; False when it had already ended."""
        return self._transition(batch_id, ACTIVE, status="cancelled", finished_at=datetime.now(UTC))

    def fail(self, batch_id: str, error: str) -> bool:
        """End a batch whose request cannot be generated at all."""
        return self._transition(
            batch_id, ACTIVE, status="failed", error=error, finished_at=datetime.now(UTC)
        )

    def finish_if_complete(self, batch_id: str) -> bool:
        """Mark the batch done once every item is stored or failed; True exactly once."""
        if self.pending(batch_id):
            return False
        return self._transition(batch_id, ACTIVE, status="done", finished_at=datetime.now(UTC))

    def exists(self, batch_id: str) -> bool:
        with Session(self.engine) as session:
            return session.get(BatchRow, batch_id) is not None

    def total(self, batch_id: str) -> int:
        """Records the batch asks for; BatchNotFound for an unknown batch."""
        with Session(self.engine) as session:
            total = session.scalar(select(BatchRow.total).where(BatchRow.batch_id == batch_id))
        if total is None:
            raise BatchNotFound(batch_id)
        return int(total)

    def report(self, batch_id: str) -> dict[str, Any] | None:
        """The stored quality report (JSON); BatchNotFound for an unknown batch."""
        with Session(self.engine) as session:
            row = session.get(BatchRow, batch_id)
            if row is None:
                raise BatchNotFound(batch_id)
            return row.report

    def save_report(self, batch_id: str, report: dict[str, Any]) -> None:
        """Keep the batch's quality report; BatchNotFound for an unknown batch."""
        with Session(self.engine) as session, session.begin():
            row = session.get(BatchRow, batch_id)
            if row is None:
                raise BatchNotFound(batch_id)
            row.report = report

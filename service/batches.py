"""Batch jobs: many records for one request, each item stored exactly once.

A batch is a request and a count. Item ``i`` is generated with seed ``batch seed + i`` and
stored under its own record id. An item is done when ``RecordStore.save_batch_item`` stored
it: the unique (batch_id, batch_index) index refuses a second copy, so a restarted or a
concurrent worker may redo any item without risk. Where items run is the business of the
runners in ``service.jobs``; this module holds the request, the repository and the work
on one item.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.generation import GenerationError, PatientGenerator
from service.records import PatientRecord
from service.repair import Checked, generate_checked
from service.requests import (
    MAX_SEED,
    ParsedRequest,
    RequestError,
    RequestFields,
    build_request,
    seed_at,
    validation_message,
)
from service.storage import BatchFailureRow, BatchRow, PatientRow, RecordStore, insert_once
from service.validation import ValidationResult, Validator

log = logging.getLogger(__name__)

BATCH_NAMESPACE = uuid.UUID("2d8e6a0b-5c4f-4f6e-8a43-7b1d9e0c3f21")
MAX_COUNT = 10_000
RETRY_SEED_STEP = 2**24  # far from any neighbouring item's seed
ACTIVE = ("queued", "running")
BatchState = Literal["queued", "running", "done", "failed", "cancelled"]
ItemOutcome = Literal["stored", "duplicate", "failed", "skipped", "inactive"]


class BatchRequest(RequestFields):
    """What ``POST /v1/batches`` accepts: the fields of ``POST /v1/patients`` (a prompt and/or
    age, sex, diagnosis, blocks, relapse, second_tumour, language, seed) plus a larger
    ``count`` and an optional ``idempotency_key``."""

    count: int = Field(  # required here, and up to MAX_COUNT
        ge=1, le=MAX_COUNT, description=f"How many records, 1 to {MAX_COUNT}"
    )
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200, description="Same key, same batch (no duplicate)"
    )

    @model_validator(mode="after")
    def _seeds_fit(self) -> BatchRequest:
        if self.seed is not None and self.seed + self.count - 1 > MAX_SEED:
            raise ValueError(f"seed + count - 1 must not exceed {MAX_SEED}")
        return self

    def stored_request(self) -> dict[str, Any]:
        """The request as kept with the batch: the given fields but the count and the key."""
        return self.model_dump(mode="json", exclude={"count", "idempotency_key"}, exclude_none=True)


def parsed_request(stored: dict[str, Any]) -> ParsedRequest:
    """The ``ParsedRequest`` of a batch's stored request; RequestError saying what is wrong."""
    try:
        fields = RequestFields.model_validate(stored)
    except ValidationError as exc:
        raise RequestError(validation_message(exc)) from exc
    return build_request(fields)


class BatchStatus(BaseModel):
    batch_id: str
    status: str
    total: int
    done: int
    failed: int
    seed: int
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    eta_seconds: float | None = Field(description="Estimate; None while unknown")
    request: dict[str, Any]
    error: str | None
    links: dict[str, str]


class BatchFailure(BaseModel):
    batch_index: int
    attempts: int
    error: str
    raw: str | None
    created_at: datetime


class IdempotencyConflict(ValueError):
    """An idempotency key reused with a different request."""


@dataclass(frozen=True)
class BatchJob:
    """What a worker needs to run a batch's items."""

    batch_id: str
    request: dict[str, Any]
    seed: int
    total: int
    status: str


def item_record_id(batch_id: str, index: int) -> str:
    """Batch items get their own ids: the generator's id could match a record made
    outside the batch from the same request and seed."""
    return str(uuid.uuid5(BATCH_NAMESPACE, f"{batch_id}:{index}"))


def item_seed(batch_seed: int, index: int, attempt: int = 0) -> int:
    return seed_at(batch_seed, index + attempt * RETRY_SEED_STEP)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


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
            seed = secrets.randbelow(MAX_SEED - request.count + 2)
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
                    created_at=_aware(row.created_at) or row.created_at,
                    started_at=_aware(row.started_at),
                    finished_at=_aware(row.finished_at),
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
                    created_at=_aware(r.created_at) or r.created_at,
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


class _ValidatorFailed(Exception):
    """The validator raised (a bug or a broken rules file), as opposed to a record failing."""


class _GuardedValidator:
    def __init__(self, validator: Validator):
        self.validator = validator

    def validate(self, record: PatientRecord) -> ValidationResult:
        try:
            return self.validator.validate(record)
        except Exception as exc:
            raise _ValidatorFailed(str(exc)) from exc


class BatchExecutor:
    """Runs one batch item: generate with the item's seed, store it exactly once.

    The batch's request is parsed once per process (``parsed_request``) and each item goes
    through ``generate_checked``: with a ``validator`` the record is validated and repaired
    (at most ``repair_rounds`` regenerations, as for a single record) and stored with the
    validation of the attempt kept, in the same transaction.
    ``on_finished`` (optional) is called once with the batch id when a batch is done.
    A generation failure is retried with another seed; after ``attempts`` tries the item
    is recorded as failed with the error and the model's raw output. A request that
    cannot be generated at all (RequestError) ends the whole batch as failed."""

    def __init__(
        self,
        generator: PatientGenerator,
        batches: BatchStore,
        records: RecordStore,
        *,
        attempts: int = 2,
        validator: Validator | None = None,
        repair_rounds: int = 0,
        on_finished: Callable[[str], None] | None = None,
    ):
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.generator = generator
        self.batches = batches
        self.records = records
        self.attempts = attempts
        self.validator = validator
        self.repair_rounds = repair_rounds
        self.on_finished = on_finished
        self._requests: dict[str, ParsedRequest] = {}

    def run_item(self, batch_id: str, index: int) -> ItemOutcome:
        job = self.batches.job(batch_id)
        if job is None or job.status not in ACTIVE:
            return "inactive"
        if not 0 <= index < job.total:
            raise ValueError(f"batch {batch_id} has no item {index} (total {job.total})")
        if self.batches.is_settled(batch_id, index):
            self.settle(batch_id)
            return "skipped"
        try:
            request = self._request(job)
        except RequestError as exc:
            self.batches.fail(batch_id, str(exc))
            return "inactive"
        self.batches.mark_running(batch_id)
        outcome = self._generate_and_store(job, request, index)
        self.settle(batch_id)
        return outcome

    def _request(self, job: BatchJob) -> ParsedRequest:
        request = self._requests.get(job.batch_id)
        if request is None:
            request = self._requests[job.batch_id] = parsed_request(job.request)
        return request

    def _generate_and_store(self, job: BatchJob, request: ParsedRequest, index: int) -> ItemOutcome:
        error, raw = "", None
        for attempt in range(self.attempts):
            try:
                checked = self._checked(request, item_seed(job.seed, index, attempt))
            except RequestError as exc:
                self.batches.fail(job.batch_id, str(exc))
                return "inactive"
            except GenerationError as exc:
                error, raw = str(exc), exc.raw
                continue
            except Exception as exc:  # a backend or retrieval failure is a failed try too
                log.warning("batch %s item %s: %s", job.batch_id, index, exc, exc_info=True)
                error, raw = f"{type(exc).__name__}: {exc}", None
                continue
            record_id = item_record_id(job.batch_id, index)
            record = checked.made.record.model_copy(update={"record_id": record_id})
            validation = checked.validation_json
            if validation is not None:
                validation["record_id"] = record_id
            stored = self.records.save_batch_item(
                record,
                batch_id=job.batch_id,
                batch_index=index,
                seconds=checked.made.seconds,
                validation=validation,
            )
            return "stored" if stored else "duplicate"
        added = self.batches.add_failure(
            job.batch_id, index, attempts=self.attempts, error=error, raw=raw
        )
        return "failed" if added else "duplicate"

    def _checked(self, request: ParsedRequest, seed: int) -> Checked:
        """Generate one item and, with a validator, validate and repair it. A validator that
        itself fails costs the item its validation, not the record: logged, stored unvalidated."""
        if self.validator is None:
            return generate_checked(self.generator, None, request, seed=seed, max_rounds=0)
        guarded = _GuardedValidator(self.validator)
        try:
            return generate_checked(
                self.generator, guarded, request, seed=seed, max_rounds=self.repair_rounds
            )
        except _ValidatorFailed:
            log.exception("validating a batch item failed; the record is kept unvalidated")
        return generate_checked(self.generator, None, request, seed=seed, max_rounds=0)

    def settle(self, batch_id: str) -> None:
        """Close the batch if nothing is left, and announce it (once)."""
        if not self.batches.finish_if_complete(batch_id):
            return
        self._requests.pop(batch_id, None)
        if self.on_finished is not None:
            try:
                self.on_finished(batch_id)
            except Exception:
                log.exception("on_finished failed for batch %s", batch_id)

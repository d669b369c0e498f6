"""Tabular generation as a job: stored request, progress per row, the result kept with it.

A job is one ``tabular`` run over a bundled reference. One worker thread runs jobs in
order with the app's model (its backend serialises calls). The job's row keeps its counts
up to date after every row, and its rows, summary and provenance once finished. A job left
queued or running by a stopped process is started again from row 0 when the runner starts
(the same seed gives the same rows), so none is lost.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import LanguageModel
from service.requests import MAX_SEED
from service.storage.base import Base, JsonColumn
from service.tabular.generate import GenerationOptions, RowSlot, TabularGenerator
from service.tabular.prompting import PromptType
from service.tabular.runs import open_reference, rows_json, run_document

log = logging.getLogger(__name__)
JobState = Literal["queued", "running", "done", "failed"]
MAX_ROWS = 10_000


class TabularJobRow(Base):
    __tablename__ = "tabular_jobs"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    status: Mapped[str] = mapped_column(String(16))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer)
    kept: Mapped[int] = mapped_column(Integer)
    dropped: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TabularJobRequest(BaseModel):
    """Body of ``POST /v1/tabular``: what ``clinsynth tabular`` takes, for a bundled reference."""

    model_config = ConfigDict(extra="forbid", strict=True)  # as the schema says

    reference: Literal["pbc", "pima"] = Field(description="Bundled reference data set")
    prompt_type: PromptType = Field(description="example, description, statistics or rules")
    rows: int = Field(20, ge=1, le=MAX_ROWS, description="Rows to generate")
    seed: int = Field(1, ge=0, le=MAX_SEED, description="Seed of row 0 (row i: seed + i)")
    split_seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of the train/holdout split")
    steer: bool | None = Field(None, description="Pin categories per row (default: statistics)")
    rule_schema: bool = Field(True, description="Compile the rules into the row schema")
    repair_rounds: int = Field(2, ge=0, le=5, description="Regenerations before a row is dropped")


class TabularJobStatus(BaseModel):
    job_id: str
    status: JobState
    request: TabularJobRequest
    rows_total: int
    rows_done: int
    kept: int
    dropped: int
    summary: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


def _status(row: TabularJobRow) -> TabularJobStatus:
    summary = (row.result or {}).get("run", {}).get("summary")
    return TabularJobStatus(
        job_id=row.job_id,
        status=row.status,
        request=TabularJobRequest.model_validate(row.request),
        rows_total=row.rows_total,
        rows_done=row.rows_done,
        kept=row.kept,
        dropped=row.dropped,
        summary=summary,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class TabularJobStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self, request: TabularJobRequest) -> TabularJobStatus:
        row = TabularJobRow(
            job_id=str(uuid.uuid4()),
            request=request.model_dump(mode="json"),
            status="queued",
            rows_total=request.rows,
            rows_done=0,
            kept=0,
            dropped=0,
            created_at=datetime.now(UTC),
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
            session.flush()
            return _status(row)

    def status(self, job_id: str) -> TabularJobStatus | None:
        with Session(self.engine) as session:
            row = session.get(TabularJobRow, job_id)
            return _status(row) if row is not None else None

    def result(self, job_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            row = session.get(TabularJobRow, job_id)
            return row.result if row is not None else None

    def unfinished(self) -> list[str]:
        with Session(self.engine) as session:
            query = (
                select(TabularJobRow.job_id)
                .where(TabularJobRow.status.in_(("queued", "running")))
                .order_by(TabularJobRow.created_at)
            )
            return list(session.scalars(query))

    def _set(self, job_id: str, **values: Any) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(TabularJobRow).where(TabularJobRow.job_id == job_id).values(**values)
            )

    def start(self, job_id: str) -> None:
        self._set(
            job_id, status="running", rows_done=0, kept=0, dropped=0, started_at=datetime.now(UTC)
        )

    def progress(self, job_id: str, *, done: int, kept: int, dropped: int) -> None:
        self._set(job_id, rows_done=done, kept=kept, dropped=dropped)

    def finish(self, job_id: str, result: dict[str, Any]) -> None:
        self._set(job_id, status="done", result=result, finished_at=datetime.now(UTC))

    def fail(self, job_id: str, error: str) -> None:
        self._set(job_id, status="failed", error=error, finished_at=datetime.now(UTC))


def run_job(model: LanguageModel, store: TabularJobStore, job_id: str) -> None:
    """Run one job to its end, recording progress, the result or the error."""
    status = store.status(job_id)
    if status is None:
        return
    request = status.request
    store.start(job_id)
    counts = {"done": 0, "kept": 0, "dropped": 0}

    def on_row(slot: RowSlot) -> None:
        counts["done"] += 1
        counts["kept" if slot.fate != "dropped" else "dropped"] += 1
        store.progress(job_id, **counts)

    try:
        reference, book, _ = open_reference(request.reference, split_seed=request.split_seed)
        options = GenerationOptions(
            rows=request.rows,
            seed=request.seed,
            steer=(request.prompt_type == "statistics") if request.steer is None else request.steer,
            rule_schema=request.rule_schema,
            repair_rounds=request.repair_rounds,
        )
        run = TabularGenerator(model, reference, book).generate(
            request.prompt_type, options, on_row=on_row
        )
        frame = run.frame(reference.spec)
        store.finish(
            job_id,
            {
                "columns": reference.spec.names,
                "rows": rows_json(frame, reference.spec),
                "run": run_document(run, reference, None),
            },
        )
    except Exception as exc:  # a job's failure is recorded, never the worker's end
        log.exception("tabular job %s failed", job_id)
        store.fail(job_id, f"{type(exc).__name__}: {exc}")


class TabularJobRunner:
    """One daemon thread running queued jobs in order; unfinished jobs restart with it."""

    def __init__(self, model: LanguageModel, store: TabularJobStore):
        self.model = model
        self.store = store
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for job_id in self.store.unfinished():
            self._queue.put(job_id)
        self._thread = threading.Thread(target=self._work, name="tabular-jobs", daemon=True)
        self._thread.start()

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current job (a job cut short restarts with the next runner)."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def join_idle(self) -> None:
        """Wait until every submitted job has run (tests)."""
        self._queue.join()

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                if job_id is None:
                    return
                run_job(self.model, self.store, job_id)
            finally:
                self._queue.task_done()

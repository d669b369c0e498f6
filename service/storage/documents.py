"""Document lifecycle as the API and CLI offer it: uploads as jobs, delete, search.

Uploads are checked (name, size) before a byte is kept, written under the data folder,
then ingested by a background job whose progress is stored in the SQL database.

A process beats the heartbeat of each job it holds (queued or running) every
``HEARTBEAT_SECONDS``. A job whose heartbeat is older than ``STALE_AFTER`` belonged to a
process that died (kill -9, a crash, a lost host): it is marked failed with the reason and
its upload folder removed, when ``IngestJobs`` starts and when the job is read. Several API
processes sharing one database leave each other's live jobs alone, since those beat.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import JSON, DateTime, Integer, String, Text, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from ingest.pipeline import IngestOptions, StoreWriteError, ingest_file
from knowledge.registry import Document
from knowledge.store import KnowledgeStore
from service.storage.base import Base

if TYPE_CHECKING:
    from models.base import LanguageModel

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30.0
STALE_AFTER = timedelta(minutes=5)  # ten missed heartbeats: the process is gone
_HELD = ("queued", "running")
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f]|^\.|\.\.")


class DocumentNotFound(LookupError):
    pass


class UploadRejected(ValueError):
    """An upload refused before ingestion; the message names the file and the reason."""


def delete_document(store: KnowledgeStore, document_id: str) -> Document:
    """Unregister first, then drop the chunks: a crash in between leaves only invisible
    chunks, never a listed document without its text."""
    document = store.registry.get(document_id)
    if document is None:
        raise DocumentNotFound(f"no document with id {document_id!r}")
    store.registry.remove(document_id)
    store.delete_document(document_id)
    return document


def check_upload_name(name: str | None) -> str:
    if not name or not name.strip():
        raise UploadRejected("upload without a file name")
    if _UNSAFE_NAME.search(name):
        raise UploadRejected(f"{name!r}: file name must not contain path separators or '..'")
    if not name.lower().endswith(".pdf"):
        raise UploadRejected(f"{name}: only .pdf files are accepted")
    if len(name) > 255:
        raise UploadRejected(f"{name[:40]}...: file name longer than 255 characters")
    return name


class IngestJobRow(Base):
    __tablename__ = "ingest_jobs"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    document_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # last sign of life of the process holding the job (None: written before heartbeats)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    facts: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)  # by kind


@dataclass(frozen=True)
class IngestJob:
    job_id: str
    file_name: str
    status: str
    pages_total: int
    pages_done: int
    chunks_done: int
    result: str | None
    document_id: str | None
    error: str | None
    facts: dict[str, int] | None = None  # facts indexed, by kind (done jobs)


def _job(row: IngestJobRow) -> IngestJob:
    return IngestJob(
        row.job_id,
        row.file_name,
        row.status,
        row.pages_total,
        row.pages_done,
        row.chunks_done,
        row.result,
        row.document_id,
        row.error,
        dict(row.facts) if row.facts is not None else None,
    )


class IngestJobs:
    """Upload ingestion jobs, one at a time per process (Chroma writes are serialised).

    Jobs whose process died are failed when this starts and when one is read; ``close``
    stops the heartbeat of the jobs still held."""

    def __init__(
        self,
        store: KnowledgeStore,
        engine: Engine,
        uploads: Path,
        *,
        stale_after: timedelta = STALE_AFTER,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ):
        self.store, self.engine, self.uploads = store, engine, uploads
        self.stale_after, self.heartbeat_seconds = stale_after, heartbeat_seconds
        self._lock = threading.Lock()
        self._held: set[str] = set()  # jobs of this process, queued or running
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._beating: threading.Thread | None = None
        self.reap_stale()

    def create(self, file_name: str) -> IngestJob:
        now = datetime.now(UTC)
        row = IngestJobRow(
            job_id=str(uuid.uuid4()),
            file_name=file_name,
            status="queued",
            created_at=now,
            updated_at=now,
            heartbeat_at=now,
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
            job = _job(row)
        self._hold(job.job_id)
        return job

    def path_for(self, job: IngestJob) -> Path:
        return self.uploads / job.job_id / job.file_name

    def get(self, job_id: str) -> IngestJob | None:
        """The job, failed first if its process died."""
        self.reap_stale(job_id)
        with Session(self.engine) as session:
            row = session.get(IngestJobRow, job_id)
            return _job(row) if row else None

    def reap_stale(self, job_id: str | None = None) -> list[str]:
        """Fail the queued or running jobs (or just ``job_id``) whose heartbeat is older than
        ``stale_after`` and remove their uploads; returns their ids. Each is failed by an
        update that re-checks the heartbeat, so a job that beat meanwhile is left alone."""
        now = datetime.now(UTC)
        cutoff = now - self.stale_after
        beat = func.coalesce(IngestJobRow.heartbeat_at, IngestJobRow.updated_at)
        query = select(IngestJobRow.job_id, IngestJobRow.file_name, beat).where(
            IngestJobRow.status.in_(_HELD), beat < cutoff
        )
        if job_id is not None:
            query = query.where(IngestJobRow.job_id == job_id)
        reaped = []
        with Session(self.engine) as session, session.begin():
            for stale_id, file_name, last in session.execute(query).all():
                if stale_id in self._held:
                    continue
                when = last if last.tzinfo else last.replace(tzinfo=UTC)  # SQLite drops it
                error = (
                    f"the process ingesting {file_name} stopped (no heartbeat since "
                    f"{when:%Y-%m-%d %H:%M:%S} UTC); upload the file again"
                )
                done = session.execute(
                    update(IngestJobRow)
                    .where(IngestJobRow.job_id == stale_id, IngestJobRow.status.in_(_HELD))
                    .where(beat < cutoff)
                    .values(status="failed", result="failed", error=error, updated_at=now)
                )
                if done.rowcount:  # type: ignore[attr-defined]
                    reaped.append(stale_id)
        for stale_id in reaped:
            log.warning("ingestion job %s: its process died; marked failed", stale_id)
            shutil.rmtree(self.uploads / stale_id, ignore_errors=True)
        return reaped

    def close(self) -> None:
        """Stop beating (the jobs still held go stale and are failed by the next reader)."""
        self._stop.set()
        if self._beating is not None:
            self._beating.join(timeout=5)

    def _hold(self, job_id: str) -> None:
        with self._held_lock:
            self._held.add(job_id)
            if self._beating is None and not self._stop.is_set():
                self._beating = threading.Thread(
                    target=self._beat, name="ingest-heartbeat", daemon=True
                )
                self._beating.start()

    def _release(self, job_id: str) -> None:
        with self._held_lock:
            self._held.discard(job_id)

    def _beat(self) -> None:
        """Every ``heartbeat_seconds``, one update for every job held; ends when none is."""
        while not self._stop.wait(self.heartbeat_seconds):
            with self._held_lock:
                held = sorted(self._held)
                if not held:
                    self._beating = None
                    return
            try:
                with Session(self.engine) as session, session.begin():
                    session.execute(
                        update(IngestJobRow)
                        .where(IngestJobRow.job_id.in_(held), IngestJobRow.status.in_(_HELD))
                        .values(heartbeat_at=datetime.now(UTC))
                    )
            except Exception:  # the database away for a moment: beat again next time
                log.warning("ingestion jobs: heartbeat not written", exc_info=True)

    def _update(self, job_id: str, **values: object) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(IngestJobRow, job_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = row.heartbeat_at = datetime.now(UTC)  # progress is a sign of life

    def fail(self, job: IngestJob, message: str) -> None:
        self._update(job.job_id, status="failed", result="failed", error=message)
        self._release(job.job_id)

    def run(
        self, job: IngestJob, options: IngestOptions, model: LanguageModel | None = None
    ) -> None:
        """Ingest the saved upload, recording progress; the upload is removed afterwards.
        ``model``: the language model of the model pass (``options.extract == "model"``)."""
        jobs = self

        class JobProgress:
            pages = chunks = 0

            def start(self, path: Path, pages: int) -> None:
                jobs._update(job.job_id, status="running", pages_total=pages)

            def advance(self, pages: int, chunks: int) -> None:
                self.pages += pages
                self.chunks += chunks
                jobs._update(job.job_id, pages_done=self.pages, chunks_done=self.chunks)

        path = self.path_for(job)
        try:
            with self._lock:
                result = ingest_file(path, self.store, options, JobProgress(), model=model)
            if result.status == "failed":
                error = (result.error or "").replace(str(path), job.file_name)
                self.fail(job, error)
            else:
                self._update(
                    job.job_id,
                    status="done",
                    result=result.status,
                    document_id=result.document_id,
                    pages_done=result.pages,
                    chunks_done=result.chunks,
                    facts=result.facts,
                )
        except StoreWriteError as exc:
            self.fail(job, str(exc).replace(path.name, job.file_name))
        finally:
            self._release(job.job_id)
            shutil.rmtree(path.parent, ignore_errors=True)

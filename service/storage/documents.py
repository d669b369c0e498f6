"""Document lifecycle as the API and CLI offer it: uploads as jobs, delete, search.

Uploads are checked (name, size) before a byte is kept, written under the data folder,
then ingested by a background job whose progress is stored in the SQL database.
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from ingest.pipeline import IngestOptions, StoreWriteError, ingest_file
from knowledge.registry import Document
from knowledge.store import KnowledgeStore
from service.storage.base import Base

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


def save_upload(stream: BinaryIO, target: Path, *, max_bytes: int) -> int:
    """Copy an upload to ``target`` in blocks, stopping (and removing it) past the limit."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as out:
        while block := stream.read(1 << 20):
            written += len(block)
            if written > max_bytes:
                out.close()
                shutil.rmtree(target.parent, ignore_errors=True)
                raise UploadRejected(f"{target.name}: larger than the limit of {max_bytes} bytes")
            out.write(block)
    return written


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
    )


class IngestJobs:
    """Upload ingestion jobs, one at a time per process (Chroma writes are serialised)."""

    def __init__(self, store: KnowledgeStore, engine: Engine, uploads: Path):
        self.store, self.engine, self.uploads = store, engine, uploads
        self._lock = threading.Lock()

    def create(self, file_name: str) -> IngestJob:
        now = datetime.now(UTC)
        row = IngestJobRow(
            job_id=str(uuid.uuid4()),
            file_name=file_name,
            status="queued",
            created_at=now,
            updated_at=now,
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
            job = _job(row)
        return job

    def path_for(self, job: IngestJob) -> Path:
        return self.uploads / job.job_id / job.file_name

    def get(self, job_id: str) -> IngestJob | None:
        with Session(self.engine) as session:
            row = session.get(IngestJobRow, job_id)
            return _job(row) if row else None

    def _update(self, job_id: str, **values: object) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(IngestJobRow, job_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = datetime.now(UTC)

    def fail(self, job: IngestJob, message: str) -> None:
        self._update(job.job_id, status="failed", result="failed", error=message)

    def run(self, job: IngestJob, options: IngestOptions) -> None:
        """Ingest the saved upload, recording progress; the upload is removed afterwards."""
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
                result = ingest_file(path, self.store, options, JobProgress())
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
                )
        except StoreWriteError as exc:
            self.fail(job, str(exc).replace(path.name, job.file_name))
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)

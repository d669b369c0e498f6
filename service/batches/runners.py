"""Where batch items run: an in-process thread (SQLite) or procrastinate (PostgreSQL).

Both runners have the same small interface: ``submit(batch_id)`` after a batch is
created, ``start()`` and ``stop()`` around a process's life, and ``workers()`` for the
ETA. Neither has to be careful about duplicates: an item is done only when the unique
(batch_id, batch_index) index accepted it, so redoing work is always safe.

On PostgreSQL every item is a procrastinate job (``service.batches.procrastinate``), so
any number of ``clinsynth worker`` processes share one queue.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy.engine import URL

from service.batches.executor import BatchExecutor
from service.batches.models import BatchRequest, BatchStatus, parsed_request
from service.batches.store import BatchStore
from service.settings import Settings
from service.storage.patients import RecordStore

log = logging.getLogger(__name__)

JobsKind = Literal["inprocess", "procrastinate"]


class BatchRunner(Protocol):
    def submit(self, batch_id: str) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def workers(self) -> int: ...

    def run(self) -> None:
        """Work in the foreground until stopped (``clinsynth worker``)."""


def jobs_kind(setting: str, url: URL) -> JobsKind:
    """``auto`` is procrastinate on PostgreSQL and in-process on SQLite."""
    postgres = url.get_backend_name() == "postgresql"
    if setting == "auto":
        return "procrastinate" if postgres else "inprocess"
    if setting == "procrastinate" and not postgres:
        raise ValueError("CLINSYNTH_JOBS=procrastinate needs a PostgreSQL CLINSYNTH_DATABASE_URL")
    if setting not in ("inprocess", "procrastinate"):
        raise ValueError(f"unknown CLINSYNTH_JOBS {setting!r}")
    return "procrastinate" if setting == "procrastinate" else "inprocess"


def build_runner(
    settings: Settings,
    batches: BatchStore,
    executor: BatchExecutor | None,
    *,
    concurrency: int = 1,
) -> BatchRunner:
    """The runner the settings ask for; ``executor`` None: this process only submits."""
    if jobs_kind(settings.batches.jobs, batches.engine.url) == "procrastinate":
        from service.batches.procrastinate import ProcrastinateRunner

        return ProcrastinateRunner(
            batches,
            executor,
            concurrency=concurrency,
            stalled_seconds=settings.batches.jobs_stalled_seconds,
        )
    return InProcessRunner(batches, executor)


@dataclass
class BatchService:
    """What the API and the CLI use: the repository plus a runner to hand work to."""

    store: BatchStore
    runner: BatchRunner

    def create(self, request: BatchRequest) -> tuple[BatchStatus, bool]:
        """Store and queue a batch; RequestError (nothing stored) when the request cannot
        be generated, IdempotencyConflict when its key was used for another request."""
        parsed_request(request.stored_request())
        status, created = self.store.create(request)
        if created:
            self.runner.submit(status.batch_id)
        return status, created

    def status(self, batch_id: str) -> BatchStatus | None:
        return self.store.status(batch_id, workers=self.runner.workers())

    def page(self, *, limit: int, offset: int, status: str | None = None) -> list[BatchStatus]:
        workers = self.runner.workers()
        return self.store.page(limit=limit, offset=offset, status=status, workers=workers)

    @property
    def records(self) -> RecordStore:
        return RecordStore(self.store.engine)


# -- in-process ---------------------------------------------------------------------------


class InProcessRunner:
    """One thread works through unfinished batches, oldest first, one item at a time.

    It finds work in the database (so batches created by the CLI or left by a killed
    process are picked up) and wakes at once on ``submit``."""

    def __init__(
        self,
        batches: BatchStore,
        executor: BatchExecutor | None,
        *,
        poll_seconds: float = 2.0,
        error_pause: float = 5.0,
    ):
        self.batches = batches
        self.executor = executor
        self.poll_seconds = poll_seconds
        self.error_pause = error_pause
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def workers(self) -> int:
        return 1 if self.executor is not None else 0

    def submit(self, batch_id: str) -> None:
        self._wake.set()

    def start(self) -> None:
        if self.executor is None or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, name="clinsynth-batches", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 120.0) -> None:
        """Stop after the item in hand (a model call cannot be interrupted)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        """Work until ``stop``; also the body of ``clinsynth worker`` on SQLite."""
        while not self._stopping.is_set():
            self._wake.clear()
            busy = False
            for batch_id in self.batches.active_ids():
                if self._stopping.is_set():
                    return
                busy = self._run_batch(batch_id) or busy
            if not busy:
                self._wake.wait(self.poll_seconds)

    def _run_batch(self, batch_id: str) -> bool:
        assert self.executor is not None
        pending = self.batches.pending(batch_id)
        if not pending:
            self.executor.settle(batch_id)
            return False
        for index in pending:
            if self._stopping.is_set():
                break
            try:
                outcome = self.executor.run_item(batch_id, index)
            except Exception:
                log.exception("batch %s item %s; retrying later", batch_id, index)
                self._stopping.wait(self.error_pause)
                break
            if outcome == "inactive":  # cancelled or failed meanwhile
                break
        return True


@contextlib.contextmanager
def stop_on_signals(runner: InProcessRunner) -> Iterator[None]:
    """SIGTERM and SIGINT stop a foreground in-process worker after its current item."""

    def handler(signum: int, frame: object) -> None:
        runner.stop(timeout=0)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)

"""Batch items as procrastinate jobs on PostgreSQL, shared by every worker process.

On PostgreSQL every item is a procrastinate job, so any number of ``clinsynth worker``
processes (and ``clinsynth serve``'s embedded worker) share one queue. A SIGKILLed
worker leaves its job in ``doing``; every worker sweeps such stalled jobs (no heartbeat
for ``stalled_seconds``) back to ``todo``, and defers any item of an unfinished batch
that has no job at all (a crash between creating a batch and deferring its items).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from service.batches.executor import BatchExecutor
from service.batches.store import BatchStore

log = logging.getLogger(__name__)

QUEUE = "clinsynth-batches"
ITEM_TASK = "clinsynth.generate_item"
SCHEMA_LOCK = 0x636C696E  # advisory lock id while procrastinate's schema is applied
DEFER_CHUNK = 500


def conninfo(url: URL) -> str:
    """libpq connection string from a SQLAlchemy URL (``postgresql+psycopg://`` ...)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_procrastinate_schema(engine: Engine) -> None:
    """Apply procrastinate's schema once; an advisory lock lets workers start together."""
    from procrastinate.schema import SchemaManager

    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        present = connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        if present is None:
            log.info("applying procrastinate's schema")
            raw: Any = connection.connection.driver_connection
            with raw.cursor() as cursor:
                cursor.execute(SchemaManager.get_schema())


class ProcrastinateRunner:
    """Items as procrastinate jobs; ``executor`` None only defers (no worker here)."""

    def __init__(
        self,
        batches: BatchStore,
        executor: BatchExecutor | None,
        *,
        concurrency: int = 1,
        stalled_seconds: float = 30.0,
    ):
        self.batches = batches
        self.executor = executor
        self.concurrency = concurrency
        self.stalled_seconds = stalled_seconds
        self.conninfo = conninfo(batches.engine.url)
        self._defer_app: Any = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()

    # submitting ------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the queue for submissions; run an embedded worker when there is an executor."""
        from procrastinate import App, SyncPsycopgConnector

        ensure_procrastinate_schema(self.batches.engine)
        if self._defer_app is None:
            self._defer_app = App(
                connector=SyncPsycopgConnector(conninfo=self.conninfo, min_size=1, max_size=2)
            )
            self._defer_app.open()
        if self.executor is not None and self._thread is None:
            self._started.clear()
            self._thread = threading.Thread(
                target=self._embedded, name="clinsynth-worker", daemon=True
            )
            self._thread.start()
            self._started.wait(30)

    def _embedded(self) -> None:
        try:
            asyncio.run(self._work(install_signal_handlers=False))
        except Exception:
            log.exception("the embedded batch worker stopped")
        finally:
            self._started.set()

    def submit(self, batch_id: str) -> None:
        if self._defer_app is None:
            raise RuntimeError("ProcrastinateRunner.submit before start")
        manager = self._defer_app.job_manager
        for chunk in _chunks(self.batches.pending(batch_id)):
            jobs = item_jobs(batch_id, chunk)
            try:
                manager.batch_defer_jobs(jobs)
            except _already_enqueued():  # a sweep deferred some already: one by one
                for job in jobs:
                    with contextlib.suppress(_already_enqueued()):
                        manager.defer_job(job)

    def stop(self, timeout: float = 120.0) -> None:
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just ended
                loop.call_soon_threadsafe(main.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._defer_app is not None:
            self._defer_app.close()
            self._defer_app = None

    def workers(self) -> int:
        """Workers with a recent heartbeat (every host's), for the ETA."""
        query = text(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - make_interval(secs => :seconds)"
        )
        try:
            with self.batches.engine.connect() as connection:
                return int(
                    connection.execute(query, {"seconds": self.stalled_seconds}).scalar() or 0
                )
        except Exception:  # no schema yet: nobody works
            return 0

    # working ----------------------------------------------------------------------------------

    def run(self) -> None:
        """A worker in the foreground until SIGINT/SIGTERM (``clinsynth worker``)."""
        ensure_procrastinate_schema(self.batches.engine)
        asyncio.run(self._work(install_signal_handlers=True))

    async def _work(self, *, install_signal_handlers: bool) -> None:
        from procrastinate import App, PsycopgConnector

        assert self.executor is not None
        executor = self.executor
        app = App(
            connector=PsycopgConnector(
                conninfo=self.conninfo, min_size=1, max_size=self.concurrency + 3
            )
        )

        def generate_item(batch_id: str, index: int) -> None:
            executor.run_item(batch_id, index)

        app.task(name=ITEM_TASK, queue=QUEUE)(generate_item)
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        async with app.open_async():
            sweeper = asyncio.create_task(self._sweep_forever(app))
            self._started.set()
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    name="clinsynth",
                    concurrency=self.concurrency,
                    install_signal_handlers=install_signal_handlers,
                    update_heartbeat_interval=self.stalled_seconds / 3,
                    stalled_worker_timeout=self.stalled_seconds,
                )
            except asyncio.CancelledError:
                pass
            finally:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
                self._main = self._loop = None

    async def _sweep_forever(self, app: Any) -> None:
        while True:
            try:
                await self.sweep(app)
            except Exception:
                log.exception("batch recovery sweep failed; trying again")
            await asyncio.sleep(self.stalled_seconds / 2)

    async def sweep(self, app: Any) -> None:
        """Retry stalled item jobs, then defer items that have no job (see module doc)."""
        manager = app.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE, task_name=ITEM_TASK, seconds_since_heartbeat=self.stalled_seconds
        )
        for job in stalled:
            log.info("retrying stalled job %s %s", job.id, job.task_kwargs)
            try:
                await manager.retry_job(job)
            except Exception as exc:  # another worker's sweep got there first
                log.info("stalled job %s not retried: %s", job.id, exc)
        live: set[tuple[str, int]] = set()
        for state in ("todo", "doing"):
            for job in await manager.list_jobs_async(queue=QUEUE, task=ITEM_TASK, status=state):
                live.add((str(job.task_kwargs["batch_id"]), int(job.task_kwargs["index"])))
        missing = await asyncio.to_thread(self._missing, live)
        for batch_id, indexes in missing.items():
            log.info("deferring %d missing item(s) of batch %s", len(indexes), batch_id)
            for job in item_jobs(batch_id, indexes):
                with contextlib.suppress(_already_enqueued()):
                    await manager.defer_job_async(job)

    def _missing(self, live: set[tuple[str, int]]) -> dict[str, list[int]]:
        assert self.executor is not None
        missing: dict[str, list[int]] = {}
        for batch_id in self.batches.active_ids():
            pending = self.batches.pending(batch_id)
            if not pending:
                self.executor.settle(batch_id)
            elif todo := [i for i in pending if (batch_id, i) not in live]:
                missing[batch_id] = todo
        return missing


def item_jobs(batch_id: str, indexes: Sequence[int]) -> list[Any]:
    """One job per item; the queueing lock keeps a second copy of a waiting item out."""
    from procrastinate.jobs import Job

    return [
        Job(
            queue=QUEUE,
            lock=None,
            queueing_lock=f"{batch_id}:{index}",
            task_name=ITEM_TASK,
            task_kwargs={"batch_id": batch_id, "index": index},
        )
        for index in indexes
    ]


def _already_enqueued() -> type[Exception]:
    from procrastinate.exceptions import AlreadyEnqueued

    return AlreadyEnqueued


def _chunks(items: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(items), DEFER_CHUNK):
        yield items[start : start + DEFER_CHUNK]

"""Upload ingest jobs of a process that died: failed with the reason and their upload folder
removed, at start and when read; live jobs (fresh heartbeat) of other processes untouched."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from service.storage.documents import IngestJobRow, IngestJobs
from tests.conftest import fresh_database, postgres_or_skip

OLD = datetime.now(UTC) - timedelta(hours=1)


def add_job(engine, uploads: Path, job_id: str, status: str, heartbeat: datetime | None):
    """A job row as a process leaves it, with its upload folder."""
    with Session(engine) as session, session.begin():
        session.add(
            IngestJobRow(
                job_id=job_id,
                file_name=f"{job_id}.pdf",
                status=status,
                pages_total=3,
                pages_done=1,
                chunks_done=0,
                created_at=OLD,
                updated_at=heartbeat or OLD,
                heartbeat_at=heartbeat,
            )
        )
    (uploads / job_id).mkdir(parents=True)
    (uploads / job_id / f"{job_id}.pdf").write_bytes(b"%PDF-1.7")


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_jobs_of_a_dead_process_fail_at_start_and_on_read(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'j.db'}" if backend == "sqlite" else postgres_or_skip()
    engine = fresh_database(url)
    uploads = tmp_path / "uploads"
    try:
        add_job(engine, uploads, "killed", "running", OLD)  # kill -9 during the ingest
        add_job(engine, uploads, "waiting", "queued", None)  # written before heartbeats
        add_job(engine, uploads, "live", "running", datetime.now(UTC))  # another process's
        add_job(engine, uploads, "finished", "done", OLD)
        jobs = IngestJobs(None, engine, uploads)  # type: ignore[arg-type]
        killed = jobs.get("killed")
        assert killed is not None and (killed.status, killed.result) == ("failed", "failed")
        assert "the process ingesting killed.pdf stopped" in (killed.error or "")
        assert "upload the file again" in (killed.error or "")
        assert jobs.get("waiting").status == "failed"  # type: ignore[union-attr]
        assert not (uploads / "killed").exists() and not (uploads / "waiting").exists()
        live = jobs.get("live")
        assert live is not None and (live.status, live.error) == ("running", None)
        assert (uploads / "live").exists() and jobs.get("finished").status == "done"  # type: ignore[union-attr]

        # the live job's process dies: the next read of it fails it
        with Session(engine) as session, session.begin():
            session.get(IngestJobRow, "live").heartbeat_at = OLD  # type: ignore[union-attr]
        dead = jobs.get("live")
        assert dead is not None and dead.status == "failed" and "live.pdf" in (dead.error or "")
        assert not (uploads / "live").exists()
        assert jobs.reap_stale() == []  # each job is failed once
    finally:
        engine.dispose()


def test_a_held_job_beats_so_other_processes_leave_it_alone(tmp_path):
    engine = fresh_database(f"sqlite:///{tmp_path / 'j.db'}")
    uploads = tmp_path / "uploads"
    here = IngestJobs(None, engine, uploads, heartbeat_seconds=0.05)  # type: ignore[arg-type]
    try:
        job = here.create("guideline.pdf")  # queued behind another upload, for a long time
        with Session(engine) as session, session.begin():
            session.get(IngestJobRow, job.job_id).heartbeat_at = OLD  # type: ignore[union-attr]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with Session(engine) as session:
                beat = session.get(IngestJobRow, job.job_id).heartbeat_at  # type: ignore[union-attr]
            if beat is not None and beat.replace(tzinfo=UTC) > OLD + timedelta(minutes=1):
                break
            time.sleep(0.05)
        other = IngestJobs(None, engine, uploads, stale_after=timedelta(minutes=1))  # type: ignore[arg-type]
        assert other.get(job.job_id).status == "queued"  # type: ignore[union-attr]
        here.fail(job, "refused")  # released: the heartbeat thread ends
    finally:
        here.close()
        engine.dispose()
    assert here._beating is None or not here._beating.is_alive()

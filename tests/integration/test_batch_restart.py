"""The kill-and-restart batch test: SIGKILL ``clinsynth serve`` mid-batch, start it again,
and the batch still ends with exactly the requested records, none lost, none duplicated.

Runs the installed ``clinsynth`` with the real model (llama.cpp SmolLM2), MiniLM and
Chroma over one guideline, once on SQLite (in-process runner) and once on PostgreSQL
(procrastinate, whose stalled job the restarted server's sweep hands back to the queue).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.storage.database import make_engine
from service.storage.patients import RecordStore
from tests.conftest import CORPUS_PDF_DIR, fresh_database, postgres_or_skip

pytestmark = pytest.mark.integration

CLINSYNTH = str(Path(sys.executable).with_name("clinsynth"))
PROMPT = "8-year-old boy with Ewing sarcoma, chemotherapy"
COUNT = 4


def environment(home: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINSYNTH_")}
    env["CLINSYNTH_HOME"] = str(home)
    env["CLINSYNTH_REFERENCE_DATE"] = "2026-06-01"
    env["CLINSYNTH_LLM_N_THREADS"] = "2"
    env["CLINSYNTH_JOBS_STALLED_SECONDS"] = "10"  # the killed worker's item returns sooner
    env["CLINSYNTH_BATCH_ATTEMPTS"] = "5"  # the small model's rare unusable answer is retried
    if database_url:
        env["CLINSYNTH_DATABASE_URL"] = database_url
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("w") as sink:
        server = subprocess.Popen(
            [CLINSYNTH, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,  # its own process group, killed as a whole
        )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _healthy(base, server, log), "the server to start", timeout=180)
    return server, base


def _healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> bool:
    assert server.poll() is None, log.read_text()
    try:
        return httpx.get(f"{base}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.5)


def batch(base: str, batch_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/batches/{batch_id}", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ingest_one_guideline(tmp_path: Path, env: dict[str, str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS_PDF_DIR / "ewing_sarcoma.pdf", corpus)
    ingested = subprocess.run(
        [CLINSYNTH, "ingest", str(corpus)], env=env, capture_output=True, text=True, timeout=600
    )
    assert ingested.returncode == 0, ingested.stderr


def create_batch(base: str, key: str) -> str:
    created = httpx.post(
        f"{base}/v1/batches",
        json={"prompt": PROMPT, "count": COUNT, "seed": 21},
        headers={"Idempotency-Key": key},
        timeout=30,
    )
    assert created.status_code == 202, created.text
    batch_id: str = created.json()["batch_id"]
    return batch_id


def kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stored_items(url: str, batch_id: str) -> int:
    engine = make_engine(url)
    try:
        return RecordStore(engine).count(batch_id=batch_id)
    finally:
        engine.dispose()


def assert_exactly_once(base: str, url: str, batch_id: str) -> None:
    """Every item stored once, validated, and nothing else stored."""
    final = batch(base, batch_id)
    assert (final["status"], final["total"], final["done"], final["failed"]) == (
        "done",
        COUNT,
        COUNT,
        0,
    )
    patients = httpx.get(f"{base}/v1/batches/{batch_id}/patients", timeout=30).json()
    ids = [p["record_id"] for p in patients["items"]]
    assert patients["total"] == COUNT and len(set(ids)) == COUNT
    engine = make_engine(url)
    try:
        records = RecordStore(engine)
        assert records.batch_indexes(batch_id) == set(range(COUNT))
        assert records.count() == COUNT  # nothing stored twice, nothing outside the batch
        assert all(records.get_validation(record_id) is not None for record_id in ids)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_kill_and_restart_batch(backend: str, tmp_path: Path) -> None:
    database_url = None
    if backend == "postgresql":
        database_url = postgres_or_skip()
        fresh_database(database_url).dispose()
    home = tmp_path / "home"
    env = environment(home, database_url)
    url = database_url or f"sqlite:///{home / 'clinsynth.db'}"
    ingest_one_guideline(tmp_path, env)

    server, base = start_server(env, tmp_path / "serve-1.log")
    try:
        batch_id = create_batch(base, f"restart-{backend}")
        wait_until(lambda: batch(base, batch_id)["done"] >= 1, "a first stored item", 600)
    finally:
        kill(server)  # mid-batch: the next item is being generated
    assert 1 <= stored_items(url, batch_id) < COUNT, "the batch ended before the kill"

    server, base = start_server(env, tmp_path / "serve-2.log")
    try:
        wait_until(lambda: batch(base, batch_id)["status"] == "done", "the batch to end", 600)
        assert_exactly_once(base, url, batch_id)
    finally:
        kill(server)  # the batch's report may still be building: no need to wait for it


@pytest.mark.postgres
def test_kill_a_worker_and_let_two_others_share_the_queue(tmp_path: Path) -> None:
    """``clinsynth serve`` only queues; a SIGKILLed ``clinsynth worker``'s item goes back to
    the PostgreSQL queue, and two fresh workers finish the batch between them."""
    database_url = postgres_or_skip()
    fresh_database(database_url).dispose()
    home = tmp_path / "home"
    env = environment(home, database_url)
    ingest_one_guideline(tmp_path, env)

    def start_worker(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("w") as sink:
            return subprocess.Popen(
                [CLINSYNTH, "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=sink,
                start_new_session=True,
            )

    server, base = start_server(env | {"CLINSYNTH_SERVE_WORKER": "false"}, tmp_path / "serve.log")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        batch_id = create_batch(base, "restart-worker")
        workers.append(start_worker("worker-1"))
        wait_until(lambda: batch(base, batch_id)["done"] >= 1, "a first stored item", 600)
        kill(workers.pop())  # mid-batch
        assert 1 <= stored_items(database_url, batch_id) < COUNT, "the batch ended too soon"
        workers += [start_worker("worker-2"), start_worker("worker-3")]
        wait_until(lambda: batch(base, batch_id)["status"] == "done", "the batch to end", 600)
        assert_exactly_once(base, database_url, batch_id)
    finally:
        for process in [server, *workers]:
            kill(process)

"""Batch jobs with a generator faked at its seam (``generate_one``): the request, the
repository, exactly-once items, validation and reports, the runners, the API and the CLI,
on SQLite and PostgreSQL (there with a real procrastinate worker)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from typer.testing import CliRunner

from models.fake import FakeModel
from service.api.app import Services, create_app
from service.auth import ApiKeys
from service.batches.executor import BatchExecutor
from service.batches.models import (
    RETRY_SEED_STEP,
    BatchRequest,
    IdempotencyConflict,
    item_record_id,
    item_seed,
)
from service.batches.procrastinate import ProcrastinateRunner
from service.batches.runners import InProcessRunner, jobs_kind
from service.batches.store import MAX_SEED, BatchStore
from service.cli import app as cli
from service.generation.generator import GeneratedPatient, GenerationError, PatientGenerator
from service.generation.repair import REPAIR_SEED_STEP
from service.quality.report import report_builder, stored_report
from service.records import PatientRecord
from service.requests import ParsedRequest
from service.settings import Settings
from service.storage.patients import RecordStore
from service.validation import ValidationResult, Validator, build_validator
from service.validation.rules import RuleFailure
from tests.conftest import fresh_database, postgres_or_skip
from tests.fakes import StaticIndex, validation_result
from tests.records import full_record

PROMPT = "boy with Ewing sarcoma"


class ScriptedGenerator(PatientGenerator):
    """``generate_one`` gives the test record with the item's seed, or raises the next
    scripted exception; ``before_return`` runs between generating and returning."""

    def __init__(
        self,
        *failures: Exception,
        seconds: float = 2.0,
        before_return: Callable[[], object] | None = None,
    ):
        super().__init__(StaticIndex([]), FakeModel())
        self.failures = list(failures)
        self.seconds = seconds
        self.before_return = before_return
        self.calls: list[tuple[ParsedRequest, int]] = []

    def generate_one(
        self, request: ParsedRequest, *, seed: int, **options: Any
    ) -> GeneratedPatient:
        self.calls.append((request, seed))
        if self.failures:
            raise self.failures.pop(0)
        record = full_record()
        record = record.model_copy(
            update={"provenance": record.provenance.model_copy(update={"seed": seed})}
        )
        if self.before_return is not None:
            self.before_return()
        return GeneratedPatient(record=record, seconds=self.seconds)


class BrokenValidator(Validator):
    def validate(self, record: PatientRecord) -> ValidationResult:
        raise RuntimeError("the rules file went away")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'b.db'}" if request.param == "sqlite" else postgres_or_skip()
    engine = fresh_database(url)
    yield engine
    engine.dispose()


def executor(engine: Engine, generator: PatientGenerator | None = None, **options) -> BatchExecutor:
    return BatchExecutor(
        generator or ScriptedGenerator(), BatchStore(engine), RecordStore(engine), **options
    )


def new_batch(engine: Engine, count: int, **fields) -> str:
    fields.setdefault("prompt", PROMPT)
    status, created = BatchStore(engine).create(BatchRequest(count=count, **fields))
    assert created
    return status.batch_id


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def settled(engine: Engine, batch_id: str) -> Callable[[], bool]:
    def check() -> bool:
        status = BatchStore(engine).status(batch_id)
        return status is not None and status.status == "done"

    return check


# -- request and repository ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"prompt": PROMPT, "count": 0},
        {"prompt": PROMPT, "count": 10_001},
        {"prompt": "", "count": 1},
        {"count": 1},  # nothing describes the patients
        {"prompt": PROMPT},
        {"prompt": PROMPT, "count": 1, "colour": "blue"},  # unknown fields are refused
        {"age": 40, "count": 1},
    ],
)
def test_request_bounds_are_clear_errors(fields):
    with pytest.raises(ValidationError):
        BatchRequest(**fields)


def test_item_seeds_past_the_last_seed_wrap_to_zero():
    request = BatchRequest(prompt=PROMPT, count=2, seed=MAX_SEED)
    assert request.seed is not None
    assert [item_seed(request.seed, i) for i in range(2)] == [MAX_SEED, 0]


def test_the_last_seed_may_be_the_largest():
    assert BatchRequest(prompt=PROMPT, count=2, seed=MAX_SEED - 1).seed == MAX_SEED - 1


def test_create_keeps_the_request_fields(engine):
    store = BatchStore(engine)
    request = BatchRequest(count=3, diagnosis="osteosarcoma", age=8, blocks=["quimio"])
    status, created = store.create(request)
    assert created and status.status == "queued"
    assert (status.total, status.done, status.failed, status.eta_seconds) == (3, 0, 0, None)
    assert status.request == {"age": 8, "diagnosis": "osteosarcoma", "blocks": ["chemotherapy"]}
    assert 0 <= status.seed <= MAX_SEED - 2
    assert status.links["self"] == f"/v1/batches/{status.batch_id}"
    assert status.created_at.tzinfo is not None
    assert store.status("no-such-batch") is None
    assert store.count() == 1 and store.page()[0].batch_id == status.batch_id


def test_an_idempotency_key_returns_the_same_batch_or_a_conflict(engine):
    store = BatchStore(engine)
    request = BatchRequest(prompt=PROMPT, count=2, idempotency_key="k-1")
    first, created = store.create(request)
    again, created_again = store.create(request)
    assert created and not created_again and again.batch_id == first.batch_id
    with pytest.raises(IdempotencyConflict, match="different request"):
        store.create(BatchRequest(prompt=PROMPT, count=3, idempotency_key="k-1"))
    with pytest.raises(IdempotencyConflict, match="different request"):
        store.create(BatchRequest(prompt=PROMPT, count=2, age=9, idempotency_key="k-1"))
    assert store.count() == 1


# -- items ------------------------------------------------------------------------------------


def test_items_are_stored_once_each_with_their_own_id_and_seed(engine):
    batch_id = new_batch(engine, 3, seed=10)
    generator = ScriptedGenerator()
    run = executor(engine, generator)
    assert [run.run_item(batch_id, i) for i in (0, 1, 2)] == ["stored"] * 3
    assert [seed for _, seed in generator.calls] == [10, 11, 12]
    assert {request.prompt for request, _ in generator.calls} == {PROMPT}
    status = BatchStore(engine).status(batch_id)
    assert status is not None and status.status == "done" and status.done == 3
    assert status.finished_at is not None and status.started_at is not None
    assert status.eta_seconds == 0.0
    records = RecordStore(engine)
    stored = records.list(batch_id=batch_id)
    assert [r.provenance.seed for r in stored] == [10, 11, 12]
    assert [r.record_id for r in stored] == [item_record_id(batch_id, i) for i in range(3)]
    assert records.batch_indexes(batch_id) == {0, 1, 2}
    # the same item again is refused by the store, and a done batch runs nothing more
    assert not records.save_batch_item(stored[0], batch_id=batch_id, batch_index=0)
    assert run.run_item(batch_id, 1) == "inactive"
    assert records.count(batch_id=batch_id) == 3


def test_structured_fields_reach_the_generator(engine):
    batch_id = new_batch(
        engine, 1, prompt=None, age=8, sex="niña", diagnosis="osteosarcoma", blocks=["surgery"]
    )
    generator = ScriptedGenerator()
    assert executor(engine, generator).run_item(batch_id, 0) == "stored"
    [(request, _)] = generator.calls
    assert (request.age, request.sex, request.surgery, request.chemotherapy) == (
        8,
        "female",
        True,
        False,
    )
    assert request.morphology is not None and request.morphology.code == "9180/3"


def test_each_stored_item_gets_its_validation(engine, tmp_path):
    batch_id = new_batch(engine, 2)
    validator = build_validator(Settings(home=tmp_path), None)
    run = executor(engine, validator=validator)
    assert [run.run_item(batch_id, i) for i in (0, 1)] == ["stored"] * 2
    for index in (0, 1):
        stored = RecordStore(engine).get_validation(item_record_id(batch_id, index))
        assert stored is not None and stored.record_id == item_record_id(batch_id, index)
        assert stored.rules_checked > 0 and isinstance(stored.passed, bool)


class FirstAttemptFails(Validator):
    """Fails the record made with the item's own seed; its repair (a new seed) passes."""

    def __init__(self, seed: int):
        self.seed = seed

    def validate(self, record: PatientRecord) -> ValidationResult:
        failures = []
        if record.provenance.seed == self.seed:
            failures = [RuleFailure(rule_id="dates.after_birth", severity="error", message="x")]
        return validation_result(record, failures)


def test_a_failing_item_is_repaired_like_a_single_record(engine):
    batch_id = new_batch(engine, 1, seed=40)
    run = executor(engine, validator=FirstAttemptFails(40), repair_rounds=1)
    assert run.run_item(batch_id, 0) == "stored"
    records = RecordStore(engine)
    record = records.get(item_record_id(batch_id, 0))
    assert record is not None and record.provenance.seed == 40 + REPAIR_SEED_STEP
    stored = records.get_validation(item_record_id(batch_id, 0))
    assert stored is not None and stored.passed is True
    assert stored.record_id == item_record_id(batch_id, 0)


def test_without_repair_rounds_a_failing_item_is_kept_with_its_failures(engine):
    batch_id = new_batch(engine, 1, seed=40)
    assert executor(engine, validator=FirstAttemptFails(40)).run_item(batch_id, 0) == "stored"
    stored = RecordStore(engine).get_validation(item_record_id(batch_id, 0))
    assert stored is not None and stored.passed is False
    assert [f.rule_id for f in stored.failures] == ["dates.after_birth"]


def test_a_validation_failure_keeps_the_record(engine, tmp_path, caplog):
    batch_id = new_batch(engine, 1)
    broken = BrokenValidator(build_validator(Settings(home=tmp_path), None).vocabulary, None)
    assert executor(engine, validator=broken).run_item(batch_id, 0) == "stored"
    records = RecordStore(engine)
    assert records.count(batch_id=batch_id) == 1
    assert records.get_validation(item_record_id(batch_id, 0)) is None
    assert "the record is kept" in caplog.text


def test_a_finished_batch_gets_its_quality_report(engine, tmp_path):
    batch_id = new_batch(engine, 2)
    settings = Settings(home=tmp_path)
    generator = ScriptedGenerator()
    run = BatchExecutor(
        generator,
        BatchStore(engine),
        RecordStore(engine),
        validator=build_validator(settings, None),
        on_finished=report_builder(engine, generator.model, None),
    )
    run.run_item(batch_id, 0)
    assert stored_report(engine, batch_id) is None
    run.run_item(batch_id, 1)
    report = stored_report(engine, batch_id)
    assert report is not None and report.batch_id == batch_id


def test_a_report_failure_does_not_fail_the_batch(engine, caplog):
    batch_id = new_batch(engine, 1)

    def broken_report(batch_id: str) -> None:
        raise RuntimeError("no disk left")

    assert executor(engine, on_finished=broken_report).run_item(batch_id, 0) == "stored"
    status = BatchStore(engine).status(batch_id)
    assert status is not None and status.status == "done"
    assert "no disk left" in caplog.text


def test_an_item_stored_meanwhile_by_another_worker_is_not_stored_twice(engine):
    batch_id = new_batch(engine, 1)
    other = executor(engine)
    # between generation and storage the other worker wins the race
    racer = executor(engine, ScriptedGenerator(before_return=lambda: other.run_item(batch_id, 0)))
    assert racer.run_item(batch_id, 0) == "duplicate"
    assert RecordStore(engine).count(batch_id=batch_id) == 1


def test_two_runners_racing_store_every_item_exactly_once(engine):
    batch_id = new_batch(engine, 4)
    runners = [executor(engine) for _ in range(2)]
    outcomes: list[str] = []

    def work(run: BatchExecutor) -> None:
        outcomes.extend(run.run_item(batch_id, i) for i in range(4))

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("stored") == 4
    assert RecordStore(engine).batch_indexes(batch_id) == {0, 1, 2, 3}
    status = BatchStore(engine).status(batch_id)
    assert status is not None and (status.status, status.done, status.failed) == ("done", 4, 0)


def test_a_failing_item_is_recorded_with_its_error_and_raw_output(engine):
    batch_id = new_batch(engine, 1, seed=5)
    generator = ScriptedGenerator(
        GenerationError("did not return a JSON object", raw="{not json"),
        GenerationError("did not return a JSON object", raw="not json"),
    )
    finished: list[str] = []
    run = executor(engine, generator, on_finished=finished.append)
    assert run.run_item(batch_id, 0) == "failed"
    assert [seed for _, seed in generator.calls] == [5, 5 + RETRY_SEED_STEP]
    [failure] = BatchStore(engine).failures(batch_id)
    assert failure.attempts == 2 and failure.raw == "not json"
    assert "did not return a JSON object" in failure.error
    status = BatchStore(engine).status(batch_id)
    assert status is not None and (status.status, status.done, status.failed) == ("done", 0, 1)
    assert finished == [batch_id]


def test_a_retry_with_another_seed_can_succeed(engine):
    batch_id = new_batch(engine, 1, seed=5)
    generator = ScriptedGenerator(RuntimeError("the model server restarted"))
    assert executor(engine, generator).run_item(batch_id, 0) == "stored"
    [record] = RecordStore(engine).list(batch_id=batch_id)
    assert record.provenance.seed == 5 + RETRY_SEED_STEP
    assert BatchStore(engine).failures(batch_id) == []


def test_a_request_that_cannot_be_generated_fails_the_batch(engine):
    batch_id = new_batch(engine, 2)
    store = BatchStore(engine)  # the API refuses such prompts; a stored one must still end
    status, _ = store.create(BatchRequest(prompt="60-year-old with osteosarcoma", count=2))
    generator = ScriptedGenerator()
    assert executor(engine, generator).run_item(status.batch_id, 0) == "inactive"
    failed = store.status(status.batch_id)
    assert failed is not None and failed.status == "failed" and "outside" in (failed.error or "")
    assert generator.calls == [] and store.active_ids() == [batch_id]


def test_cancel_stops_further_items_and_keeps_stored_ones(engine):
    batch_id = new_batch(engine, 3)
    store = BatchStore(engine)
    run = executor(engine)
    assert run.run_item(batch_id, 0) == "stored"
    assert store.cancel(batch_id) and not store.cancel(batch_id)
    assert run.run_item(batch_id, 1) == "inactive"
    status = store.status(batch_id)
    assert status is not None and (status.status, status.done) == ("cancelled", 1)
    assert status.eta_seconds is None and store.active_ids() == []


def test_eta_is_mean_item_time_times_remaining_over_workers(engine):
    batch_id = new_batch(engine, 4)
    executor(engine, ScriptedGenerator(seconds=4.0)).run_item(batch_id, 0)
    store = BatchStore(engine)
    running = store.status(batch_id)
    assert running is not None and running.status == "running"
    assert running.eta_seconds == 12.0
    halved = store.status(batch_id, workers=2)
    assert halved is not None and halved.eta_seconds == 6.0


def test_on_finished_is_called_once(engine):
    batch_id = new_batch(engine, 2)
    finished: list[str] = []
    run = executor(engine, on_finished=finished.append)
    run.run_item(batch_id, 0)
    assert finished == []
    run.run_item(batch_id, 1)
    run.settle(batch_id)
    assert finished == [batch_id]


# -- runners ------------------------------------------------------------------------------------


def test_jobs_kind_follows_the_database():
    sqlite, postgres = make_url("sqlite:///x.db"), make_url("postgresql+psycopg://h/db")
    assert jobs_kind("auto", sqlite) == "inprocess"
    assert jobs_kind("auto", postgres) == "procrastinate"
    assert jobs_kind("inprocess", postgres) == "inprocess"
    with pytest.raises(ValueError, match="needs a PostgreSQL"):
        jobs_kind("procrastinate", sqlite)


def test_the_in_process_runner_resumes_a_half_done_batch(engine):
    batch_id = new_batch(engine, 3)
    executor(engine).run_item(batch_id, 1)  # then the process "died"
    generator = ScriptedGenerator()
    runner = InProcessRunner(BatchStore(engine), executor(engine, generator), poll_seconds=0.1)
    runner.start()
    try:
        wait_for(settled(engine, batch_id), "the batch to finish")
    finally:
        runner.stop()
    assert RecordStore(engine).batch_indexes(batch_id) == {0, 1, 2}
    assert len(generator.calls) == 2  # only the two missing items were generated


@pytest.mark.postgres
def test_procrastinate_recovers_a_killed_workers_item_and_a_missing_job(tmp_path):
    engine = fresh_database(postgres_or_skip())
    try:
        batch_id = new_batch(engine, 3)
        submitter = ProcrastinateRunner(BatchStore(engine), None, stalled_seconds=3)
        submitter.start()
        submitter.submit(batch_id)
        submitter.submit(batch_id)  # submitting twice queues nothing more
        submitter.stop()
        with engine.begin() as db:
            jobs = db.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar()
            assert jobs == 3
            # item 0 was in the hands of a worker that died; item 2's job never got queued
            dead = db.execute(
                text(
                    "INSERT INTO procrastinate_workers (last_heartbeat) "
                    "VALUES (now() - interval '1 hour') RETURNING id"
                )
            ).scalar()
            db.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w "
                    "WHERE queueing_lock = :lock"
                ),
                {"w": dead, "lock": f"{batch_id}:0"},
            )
            db.execute(
                text("DELETE FROM procrastinate_jobs WHERE queueing_lock = :lock"),
                {"lock": f"{batch_id}:2"},
            )
        worker = ProcrastinateRunner(BatchStore(engine), executor(engine), stalled_seconds=3)
        worker.start()
        try:
            wait_for(settled(engine, batch_id), "the batch to finish")
        finally:
            worker.stop()
        assert RecordStore(engine).batch_indexes(batch_id) == {0, 1, 2}
        assert RecordStore(engine).count() == 3
        with engine.connect() as db:
            left = db.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
            ).scalar()
        assert left == 0
    finally:
        engine.dispose()


# -- API ------------------------------------------------------------------------------------------


@pytest.fixture
def api(engine, tmp_path) -> Iterator[tuple[TestClient, Engine]]:
    settings = Settings(home=tmp_path, jobs_stalled_seconds=3)
    services = Services(
        ScriptedGenerator(), RecordStore(engine), validator=build_validator(settings, None)
    )
    with TestClient(create_app(settings, services)) as client:
        yield client, engine


def test_api_creates_follows_and_cancels_batches(api):
    client, engine = api
    runner = client.app.state.batches.runner
    expected = ProcrastinateRunner if engine.dialect.name == "postgresql" else InProcessRunner
    assert isinstance(runner, expected)
    body = {"prompt": PROMPT, "count": 2, "seed": 7}
    created = client.post("/v1/batches", json=body, headers={"Idempotency-Key": "abc"})
    assert created.status_code == 202, created.text
    batch = created.json()
    assert created.headers["location"] == f"/v1/batches/{batch['batch_id']}"
    assert batch["status"] in ("queued", "running") and batch["total"] == 2
    again = client.post("/v1/batches", json={**body, "idempotency_key": "abc"})
    assert again.status_code == 200 and again.json()["batch_id"] == batch["batch_id"]
    conflict = client.post("/v1/batches", json={**body, "count": 3, "idempotency_key": "abc"})
    assert conflict.status_code == 409 and "different request" in conflict.json()["detail"]
    wait_for(
        lambda: client.get(f"/v1/batches/{batch['batch_id']}").json()["status"] == "done",
        "the batch to finish",
    )
    done = client.get(f"/v1/batches/{batch['batch_id']}").json()
    assert (done["done"], done["failed"], done["eta_seconds"]) == (2, 0, 0.0)
    patients = client.get(f"/v1/batches/{batch['batch_id']}/patients").json()
    assert patients["total"] == 2
    assert [p["provenance"]["seed"] for p in patients["items"]] == [7, 8]
    first = patients["items"][0]["record_id"]
    assert client.get(f"/v1/patients/{first}/validation").status_code == 200
    assert client.get(f"/v1/batches/{batch['batch_id']}/failures").json() == []
    ended = client.post(f"/v1/batches/{batch['batch_id']}/cancel")
    assert ended.status_code == 409 and "already ended (done)" in ended.json()["detail"]
    page = client.get("/v1/batches", params={"limit": 1}).json()
    assert page["total"] == 1 and page["items"][0]["batch_id"] == batch["batch_id"]
    assert client.get("/v1/batches", params={"status": "queued"}).json()["total"] == 0


def test_api_accepts_the_structured_fields_of_post_patients(api):
    client, _ = api
    body = {"age": 8, "diagnosis": "osteosarcoma", "blocks": ["surgery"], "count": 1}
    created = client.post("/v1/batches", json=body)
    assert created.status_code == 202, created.text
    request = created.json()["request"]
    assert request == {"age": 8, "diagnosis": "osteosarcoma", "blocks": ["surgery"]}
    path = f"/v1/batches/{created.json()['batch_id']}"
    wait_for(lambda: client.get(path).json()["status"] == "done", "the batch to finish")
    generator = client.app.state.services.generator
    [(parsed, _)] = generator.calls
    assert parsed.age == 8 and parsed.surgery and not parsed.chemotherapy


def test_api_errors_are_clear_and_store_nothing(api):
    client, _ = api
    assert client.get("/v1/batches/nope").status_code == 404
    assert client.post("/v1/batches/nope/cancel").status_code == 404
    assert client.get("/v1/batches/nope/patients").status_code == 404
    for bad in (
        {"prompt": PROMPT, "count": 0},
        {"prompt": "", "count": 1},
        {"prompt": PROMPT},
        {"count": 1},
        {"prompt": PROMPT, "count": 1, "colour": "blue"},
    ):
        assert client.post("/v1/batches", json=bad).status_code == 422, bad
    too_old = client.post(
        "/v1/batches", json={"prompt": "60-year-old with osteosarcoma", "count": 1}
    )
    assert too_old.status_code == 422 and "outside" in too_old.json()["detail"]
    unknown = client.post("/v1/batches", json={"diagnosis": "blastoma of the elbow", "count": 1})
    assert unknown.status_code == 422 and "blastoma of the elbow" in unknown.json()["detail"]
    mismatch = client.post(
        "/v1/batches",
        json={"prompt": PROMPT, "count": 1, "idempotency_key": "a"},
        headers={"Idempotency-Key": "b"},
    )
    assert mismatch.status_code == 422 and "differ" in mismatch.json()["detail"]
    assert client.get("/v1/batches", params={"status": "lost"}).status_code == 422
    assert client.get("/v1/batches").json()["total"] == 0


def test_api_cancel_of_a_running_batch(tmp_path):
    engine = fresh_database(f"sqlite:///{tmp_path / 'c.db'}")
    settings = Settings(home=tmp_path, serve_worker=False)  # nobody works on it
    services = Services(ScriptedGenerator(), RecordStore(engine))
    with TestClient(create_app(settings, services)) as c:
        batch = c.post("/v1/batches", json={"prompt": PROMPT, "count": 5}).json()
        cancelled = c.post(f"/v1/batches/{batch['batch_id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert c.post(f"/v1/batches/{batch['batch_id']}/cancel").status_code == 200
    engine.dispose()


def test_api_scopes(tmp_path):
    engine = fresh_database(f"sqlite:///{tmp_path / 's.db'}")
    keys = ApiKeys(engine)
    _, reader = keys.create(["read"])
    _, writer = keys.create(["generate"])
    settings = Settings(home=tmp_path, api_auth="required", serve_worker=False)
    services = Services(ScriptedGenerator(), RecordStore(engine), keys=keys)
    body = {"prompt": PROMPT, "count": 1}
    with TestClient(create_app(settings, services)) as client:
        as_reader = {"Authorization": f"Bearer {reader}"}
        as_writer = {"Authorization": f"Bearer {writer}"}
        assert client.post("/v1/batches", json=body).status_code == 401
        assert client.post("/v1/batches", json=body, headers=as_reader).status_code == 403
        created = client.post("/v1/batches", json=body, headers=as_writer)
        assert created.status_code == 202
        path = f"/v1/batches/{created.json()['batch_id']}"
        assert client.get(path, headers=as_writer).status_code == 403
        assert client.get(path, headers=as_reader).status_code == 200
        assert client.get("/v1/batches", headers=as_reader).status_code == 200
        assert client.post(f"{path}/cancel", headers=as_reader).status_code == 403
        assert client.post(f"{path}/cancel", headers=as_writer).status_code == 200
    engine.dispose()


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_creates_shows_lists_and_cancels(clinsynth_env):
    runner = CliRunner()
    create = ["batches", "create", "--prompt", PROMPT, "--count", "2", "--format", "json"]
    made = runner.invoke(cli, [*create, "--idempotency-key", "nightly"])
    assert made.exit_code == 0, made.output
    [batch] = json.loads(made.stdout)
    assert batch["status"] == "queued" and batch["total"] == 2
    again = runner.invoke(cli, [*create, "--idempotency-key", "nightly"])
    assert json.loads(again.stdout)[0]["batch_id"] == batch["batch_id"]
    clash = runner.invoke(cli, [*create[:-4], "--count", "3", "--idempotency-key", "nightly"])
    assert clash.exit_code == 1 and "different request" in clash.stderr
    shown = runner.invoke(cli, ["batches", "show", batch["batch_id"]])
    assert shown.exit_code == 0 and "0/2 done" in shown.stdout
    listed = runner.invoke(cli, ["batches", "list", "--format", "json"])
    assert [b["batch_id"] for b in json.loads(listed.stdout)] == [batch["batch_id"]]
    cancelled = runner.invoke(cli, ["batches", "cancel", batch["batch_id"]])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stderr
    assert runner.invoke(cli, ["batches", "cancel", batch["batch_id"]]).exit_code == 0
    assert runner.invoke(cli, ["batches", "show", "nope"]).exit_code == 1
    bad = runner.invoke(cli, ["batches", "create", "--prompt", PROMPT, "--count", "0"])
    assert bad.exit_code == 2


def test_cli_takes_the_structured_fields(clinsynth_env):
    runner = CliRunner()
    fields = ["--age", "8", "--diagnosis", "osteosarcoma", "--block", "surgery"]
    made = runner.invoke(cli, ["batches", "create", *fields, "--count", "1", "--format", "json"])
    assert made.exit_code == 0, made.output
    [batch] = json.loads(made.stdout)
    assert batch["request"] == {"age": 8, "diagnosis": "osteosarcoma", "blocks": ["surgery"]}
    unknown = runner.invoke(
        cli, ["batches", "create", "--diagnosis", "blastoma of the elbow", "--count", "1"]
    )
    assert unknown.exit_code == 2 and "blastoma of the elbow" in unknown.stderr
    nothing = runner.invoke(cli, ["batches", "create", "--count", "1"])
    assert nothing.exit_code == 2 and "nothing to generate" in nothing.stderr
    listed = runner.invoke(cli, ["batches", "list", "--format", "json"])
    assert len(json.loads(listed.stdout)) == 1

"""POST /v1/tabular: a job with progress and CSV/JSON export; unfinished jobs restart."""

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from models.fake import FakeModel
from service.api.app import create_app
from service.api.deps import Services
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from service.tabular.jobs import TabularJobRequest, TabularJobRunner, TabularJobStore
from tests.conftest import fresh_database, postgres_or_skip
from tests.unit.test_generation import make
from tests.unit.test_tabular_generation import pima_row


def client(tmp_path, model):
    settings = Settings(home=tmp_path)
    services = Services(make(model), RecordStore(open_database(settings.database.url)))
    return TestClient(create_app(settings, services))


def test_a_job_runs_reports_progress_and_exports(tmp_path):
    model = FakeModel().enqueue(pima_row(), pima_row(Glucose="999"), pima_row(Age="60"))
    with client(tmp_path, model) as c:
        created = c.post(
            "/v1/tabular",
            json={"reference": "pima", "prompt_type": "rules", "rows": 3, "seed": 4,
                  "repair_rounds": 0},
        )  # fmt: skip
        assert created.status_code == 202, created.text
        job = created.json()
        assert job["status"] == "queued" and job["rows_total"] == 3
        c.app.state.tabular.join_idle()  # type: ignore[attr-defined]
        status = c.get(f"/v1/tabular/{job['job_id']}").json()
        assert (status["status"], status["rows_done"], status["kept"], status["dropped"]) == (
            "done", 3, 2, 1,
        )  # fmt: skip
        assert status["summary"]["schema_valid_first"] == 2
        exported = c.get(f"/v1/tabular/{job['job_id']}/export")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["Age"] for r in rows] == ["35", "60"] and rows[0]["Insulin"] == "90"
        as_json = c.get(f"/v1/tabular/{job['job_id']}/export", params={"format": "json"}).json()
        assert len(as_json["rows"]) == 2 and as_json["run"]["dropped"][0]["index"] == 1
        assert [call.seed for call in model.calls] == [4, 5, 6]
        assert c.get("/v1/tabular/nope").status_code == 404
        bad = c.post("/v1/tabular", json={"reference": "mimic", "prompt_type": "rules"})
        assert bad.status_code == 422
        assert (
            c.post("/v1/tabular", json={"reference": "pbc", "prompt_type": "x"}).status_code == 422
        )


def test_export_of_an_unfinished_job_is_409(tmp_path):
    with client(tmp_path, FakeModel()) as c:
        store = c.app.state.tabular.store  # type: ignore[attr-defined]
        job = store.create(TabularJobRequest(reference="pima", prompt_type="rules", rows=1))
        assert c.get(f"/v1/tabular/{job.job_id}/export").status_code == 409


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_jobs_left_unfinished_restart_with_the_runner(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'j.db'}" if backend == "sqlite" else postgres_or_skip()
    engine = fresh_database(url)
    store = TabularJobStore(engine)
    job = store.create(TabularJobRequest(reference="pima", prompt_type="description", rows=1))
    store.start(job.job_id)  # as a killed process leaves it
    store.progress(job.job_id, done=1, kept=1, dropped=0)
    runner = TabularJobRunner(FakeModel().enqueue(pima_row()), store)
    runner.start()
    runner.join_idle()
    runner.stop()
    status = store.status(job.job_id)
    assert status is not None and status.status == "done" and status.kept == 1
    assert json.dumps(store.result(job.job_id)["rows"][0]["Age"]) == "35"
    engine.dispose()


def test_csv_exports_quote_formula_text_and_keep_negative_numbers(tmp_path):
    """Both tabular CSV writers (the API export and ``write_rows`` of the CLI and benchmark)
    quote a category or column name a spreadsheet would run; numbers stay as they are."""
    import pandas as pd

    from service.tabular.runs import write_rows
    from service.tabular.spec import TableSpec

    hostile = '=HYPERLINK("http://evil.example")'
    with client(tmp_path, FakeModel()) as c:
        store = c.app.state.tabular.store  # type: ignore[attr-defined]
        job = store.create(TabularJobRequest(reference="pima", prompt_type="rules", rows=1))
        store.start(job.job_id)
        rows = [{"@name": hostile, "delta": -3.5, "code": "-3.5"}, {"@name": "+ok", "delta": None,
                 "code": "-x"}]  # fmt: skip
        store.finish(job.job_id, {"columns": ["@name", "delta", "code"], "rows": rows, "run": {}})
        exported = c.get(f"/v1/tabular/{job.job_id}/export").text
    assert exported.splitlines() == [
        "'@name,delta,code",
        f'"\'{hostile.replace(chr(34), chr(34) * 2)}",-3.5,-3.5',
        "'+ok,,'-x",
    ]
    spec = TableSpec.model_validate(
        {"name": "t", "columns": [
            {"name": "=label", "kind": "category", "categories": [hostile, "-a", "b"]},
            {"name": "delta", "kind": "number", "minimum": -10, "maximum": 10, "decimals": 1},
        ]}
    )  # fmt: skip
    frame = pd.DataFrame({"=label": [hostile, "-a", "b"], "delta": [-3.5, 2.0, None]})
    write_rows(frame, spec, {}, tmp_path / "rows.csv")
    written = list(csv.reader(io.StringIO((tmp_path / "rows.csv").read_text())))
    assert written == [["'=label", "delta"], ["'" + hostile, "-3.5"], ["'-a", "2.0"], ["b", ""]]

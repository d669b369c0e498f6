"""The batch report: JSON model, HTML page, storage with the batch, API and CLI."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from knowledge.chunks import GuidelineChunk
from models.base import TextScore
from models.fake import FakeModel
from service.api.app import Services, create_app
from service.batches.store import BatchRow
from service.cli import app as cli_app
from service.quality.report import (
    BatchNotFound,
    BatchReport,
    load_or_build_report,
    render_html,
    store_batch_report,
    stored_report,
)
from service.records import PatientRecord
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from service.validation import ValidationResult
from tests.conftest import fresh_database, postgres_or_skip
from tests.unit.test_generation import make
from tests.unit.test_metrics import CORPUS, ConstantScorer, HashingEmbedder, report_of, variant


def sample_report() -> BatchReport:
    datas = [variant(i) for i in range(5)]
    datas[4]["summary"] = "Boy aged 9. " + CORPUS
    datas[3]["diagnosis"]["tumour"] = "<script>alert(1)</script> sarcoma"
    validations = [
        {"passed": i != 2, "rules_checked": 20, "grounding": {"items": 9, "verified": 9 - i % 2},
         "failures": [{"rule_id": "dose.max", "severity": "error"}] if i == 2 else []}
        for i in range(5)
    ]  # fmt: skip
    return report_of(datas, validations, corpus_passages=[CORPUS], batch_id="batch-1")


def test_json_round_trips():
    report = sample_report()
    assert BatchReport.model_validate_json(report.model_dump_json()) == report
    top = json.loads(report.model_dump_json())
    assert list(top) == [
        "batch_id", "generated_at", "scorer", "embedder", "counts", "record_ids", "metrics",
        "diversity", "duplicates", "privacy",
    ]  # fmt: skip


def test_html_is_self_contained_with_one_histogram_per_metric():
    report = sample_report()
    page = render_html(report)
    cards = page.split('<div class="card"><h3>')[1:]
    for name in report.metrics:
        card = next(c for c in cards if c.startswith(name + "</h3>"))
        assert "<svg" in card and "<rect" in card, name  # every metric here is computed
    svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(svgs) == len(report.metrics) + 1  # and the pairwise distances
    for svg in svgs:
        ElementTree.fromstring(svg)  # well-formed: renders inline as is
    assert "<script" not in page and "&lt;script&gt;" in page
    assert not re.search(r"(src|href)\s*=", page, re.IGNORECASE)
    assert "http" not in page.lower() and "url(" not in page.lower()
    assert "words copied from a corpus passage" in page


def test_html_says_why_a_metric_is_missing():
    report = report_of([variant(0)], scorer=None, embedder=None)
    page = render_html(report)
    assert page.count("not computed (see below)") == len(report.metrics) + 1
    assert "no scoring model configured" in page and "needs at least 4 records" in page
    assert "needs at least 2 records" in page  # the pairwise distances


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'reports.db'}" if request.param == "sqlite" else None
    engine = fresh_database(url or postgres_or_skip())
    yield engine
    engine.dispose()


def add_batch(engine, batch_id: str, datas, *, total: int | None = None) -> RecordStore:
    with Session(engine) as session, session.begin():
        session.add(
            BatchRow(
                batch_id=batch_id,
                request={"prompt": "boy with Ewing sarcoma"},
                total=len(datas) if total is None else total,
                seed=1,
                status="done",
                created_at=datetime.now(UTC),
            )
        )
    store = RecordStore(engine)
    for index, data in enumerate(datas):
        record = PatientRecord.model_validate(data)
        store.save_batch_item(record, batch_id=batch_id, batch_index=index)
    return store


def build(engine, batch_id, **kwargs):
    kwargs.setdefault("scorer", ConstantScorer())
    kwargs.setdefault("embedder", HashingEmbedder())
    return load_or_build_report(engine, batch_id, examples=(), **kwargs)


class Chunks:
    """Chunk lookup over fixed texts (``KnowledgeStore.get``)."""

    def __init__(self, text: str):
        self.text = text
        self.asked: list[str] = []

    def get(self, chunk_ids):
        self.asked += list(chunk_ids)
        return [
            GuidelineChunk(
                chunk_id=i, document="ewing.pdf", document_sha256="0" * 64, title="Ewing",
                page=2, start=0, end=len(self.text), text=self.text,
            )
            for i in chunk_ids
        ]  # fmt: skip


@pytest.mark.postgres
def test_reports_are_stored_and_rebuilt_when_the_batch_changes(engine):
    datas = [variant(i) for i in range(4)]
    datas[0]["summary"] = "Boy aged 9. " + CORPUS
    store = add_batch(engine, "batch-1", datas[:3], total=4)
    chunks = Chunks(CORPUS)
    first = build(engine, "batch-1", chunks=chunks)
    assert first.counts.records == 3 and first.counts.requested == 4
    assert first.record_ids == ["rec-000", "rec-001", "rec-002"]
    assert "ewing-p2-c1" in chunks.asked  # the passages the records were built from
    assert [f.kind for f in first.privacy.findings] == ["corpus_passage"]
    assert stored_report(engine, "batch-1") == first
    embedder = HashingEmbedder()
    assert build(engine, "batch-1", embedder=embedder) == first and embedder.calls == 0

    store.save_batch_item(PatientRecord.model_validate(datas[3]), batch_id="batch-1", batch_index=3)
    assert stored_report(engine, "batch-1") is None
    second = build(engine, "batch-1")
    assert second.counts.records == 4 and second.metrics["reconstruction_error"].computed

    passing = {"record_id": "rec-001", "passed": True, "rules_checked": 4, "failures": []}
    store.set_validation(
        "rec-001", ValidationResult.model_validate(passing | {"validated_at": datetime.now(UTC)})
    )
    third = build(engine, "batch-1")
    assert third.counts.validated == 1 and third.metrics["consistency"].values["rec-001"] == 1.0
    assert build(engine, "batch-1", refresh=True).generated_at > third.generated_at


@pytest.mark.postgres
def test_unknown_and_empty_batches(engine):
    with pytest.raises(BatchNotFound, match="no batch with id nope"):
        build(engine, "nope")
    with pytest.raises(BatchNotFound):
        store_batch_report(engine, "nope", sample_report())
    add_batch(engine, "empty", [], total=5)
    report = build(engine, "empty")
    assert (report.counts.records, report.counts.requested, report.counts.validated) == (0, 5, 0)
    assert not any(m.computed for m in report.metrics.values())
    assert "<svg" in render_html(report)


def api_client(tmp_path, model, knowledge=None):
    settings = Settings(home=tmp_path)
    engine = open_database(settings.database.url)
    services = Services(make(model), RecordStore(engine), knowledge=knowledge)
    return TestClient(create_app(settings, services)), engine


class FakeKnowledge(Chunks):
    """What the reports route takes from the knowledge store: an embedder and chunks."""

    def __init__(self) -> None:
        super().__init__(CORPUS)
        self.embedder = HashingEmbedder()


def test_api_serves_json_and_html_and_404(tmp_path):
    model = FakeModel()
    for _ in range(4):  # summary and surgery description of two records
        model.enqueue_score(TextScore(tokens=["a", "b"], logprobs=[-2.0, -2.0]))
    client, engine = api_client(tmp_path, model, FakeKnowledge())
    add_batch(engine, "batch-api", [variant(0), variant(1)])
    with client as c:
        assert c.get("/v1/reports/unknown").status_code == 404
        assert c.post("/v1/reports/unknown").status_code == 404
        built = c.post("/v1/reports/batch-api").json()
        body = c.get("/v1/reports/batch-api").json()
        assert body == built
        page = c.get("/v1/reports/batch-api", params={"format": "html"})
        assert c.get("/v1/reports/batch-api", params={"format": "pdf"}).status_code == 422
    assert body["batch_id"] == "batch-api" and body["counts"]["records"] == 2
    assert body["metrics"]["perplexity"]["mean"] == pytest.approx(math.exp(2))
    assert body["metrics"]["coherence"]["computed"]
    assert body["scorer"] == "fake"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count("<svg") >= len(body["metrics"])


def test_api_without_a_knowledge_store_reports_what_it_cannot_compute(tmp_path):
    client, engine = api_client(tmp_path, FakeModel())  # FakeModel has no scores queued
    add_batch(engine, "batch-bare", [variant(0)])
    with client as c:
        metrics = c.post("/v1/reports/batch-bare").json()["metrics"]
    assert "cannot score" in metrics["perplexity"]["reason"]
    assert metrics["coherence"]["reason"] == "no embedding model configured"


def test_api_get_only_reads_the_stored_report(tmp_path):
    """GET never builds (no model call, nothing written), not even with ?refresh=true: it
    names the POST that builds; a report older than the batch's records is a 409."""
    model = FakeModel()  # no scores queued: any scoring would raise
    client, engine = api_client(tmp_path, model)
    add_batch(engine, "batch-read", [variant(0)])
    with client as c:
        missing = c.get("/v1/reports/batch-read", params={"refresh": "true"})
        assert missing.status_code == 404
        assert "POST /v1/reports/batch-read" in missing.json()["detail"]
        assert stored_report(engine, "batch-read") is None and model.calls == []
        built = build(engine, "batch-read")  # as the executor does when the batch finishes
        stored = c.get("/v1/reports/batch-read", params={"refresh": "true"})
        assert BatchReport.model_validate(stored.json()) == built and model.calls == []
        again = PatientRecord.model_validate(variant(1))
        RecordStore(engine).save_batch_item(again, batch_id="batch-read", batch_index=1)
        outdated = c.get("/v1/reports/batch-read")
    assert outdated.status_code == 409 and "POST /v1/reports/batch-read" in outdated.text
    engine.dispose()


def test_cli_writes_the_stored_report(clinsynth_env, tmp_path):
    engine = open_database(Settings().database.url)
    add_batch(engine, "batch-cli", [variant(0), variant(1)])
    report = build(engine, "batch-cli")
    runner = CliRunner()
    out = tmp_path / "report.html"
    args = ["report", "--batch", "batch-cli", "--format", "html", "--output", str(out)]
    result = runner.invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert "<svg" in out.read_text(encoding="utf-8")
    as_json = runner.invoke(cli_app, ["report", "--batch", "batch-cli"])
    assert as_json.exit_code == 0 and BatchReport.model_validate_json(as_json.stdout) == report
    missing = runner.invoke(cli_app, ["report", "--batch", "nope"])
    assert missing.exit_code == 1 and "no batch with id nope" in missing.stderr

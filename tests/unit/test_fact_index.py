"""The fact index stored with the registry (SQLite and PostgreSQL): round trip, facts gone
with their document or its superseded version, by tumour, coverage; the CLI and API."""

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from knowledge.facts import extract_page, for_document
from knowledge.facts.store import FactIndex, resolve_tumour
from knowledge.registry import DocumentRegistry
from models.fake import FakeModel
from service.api.app import Services, create_app
from service.cli import app
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from tests.conftest import fresh_database, postgres_or_skip
from tests.unit.test_generation import make

PAGE_1 = "Sarcoma de Ewing: vincristina 1,5 mg/m2 EV D1. Radioterapia 54 Gy em 30 frações."
PAGE_2 = "Osteosarcoma. Resección quirúrgica completa."


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}" if request.param == "sqlite" else postgres_or_skip()
    engine = fresh_database(url)
    yield engine
    engine.dispose()


def ingest(registry, sha, name="a.pdf"):
    doc = registry.begin(sha256=sha, file_name=name, title="T", pages=2, size_bytes=1, tags=())
    facts = [*extract_page(1, PAGE_1, language="pt"), *extract_page(2, PAGE_2, language="es")]
    counts = FactIndex(registry.engine).put(doc.document_id, for_document(doc.document_id, facts))
    registry.activate(doc.document_id, chunks=1)
    return doc.document_id, counts


def test_round_trip_keeps_every_field(engine):
    registry = DocumentRegistry(engine)
    document_id, counts = ingest(registry, "a" * 64)
    assert counts["drug_dose"] == 1 and counts["radiotherapy"] == 1
    index = FactIndex(engine)
    assert index.counts(document_id) == counts
    [dose] = index.facts(document_id=document_id, kinds=["drug_dose"])
    assert dose.fields["drug"] == "vincristine" and dose.fields["route"] == "iv"
    assert dose.quote == PAGE_1[dose.start : dose.end] and dose.page == 1
    assert dose.as_json()["id"] == dose.key()


def test_facts_go_with_their_document(engine):
    registry = DocumentRegistry(engine)
    document_id, _ = ingest(registry, "a" * 64)
    registry.remove(document_id)
    assert FactIndex(engine).facts(document_id=document_id) == []


def test_facts_go_with_a_superseded_version(engine):
    registry = DocumentRegistry(engine)
    old, _ = ingest(registry, "a" * 64)
    new, _ = ingest(registry, "b" * 64)
    index = FactIndex(engine)
    assert index.facts(document_id=old) == []
    assert {f.document_id for f in index.facts()} == {new}


def test_by_tumour_in_any_language_and_coverage(engine):
    registry = DocumentRegistry(engine)
    ingest(registry, "a" * 64)
    index = FactIndex(engine)
    assert [t.code for t in resolve_tumour("Ewing sarcoma")] == ["9364/3"]
    ewing = index.facts(tumour="sarcoma de ewing")
    assert {f.kind for f in ewing} >= {"tumour_mention", "drug_dose", "radiotherapy"}
    assert all(f.page == 1 for f in ewing)
    assert [f.kind for f in index.facts(tumour="9180/3", kinds=["surgery"])] == ["surgery"]
    coverage = {entry["code"]: entry for entry in index.coverage()}
    assert coverage["9364/3"]["supported"] == ["chemotherapy", "radiotherapy"]
    assert coverage["9180/3"]["supported"] == ["surgery"]


def test_facts_list_and_coverage_commands(clinsynth_env):
    settings = Settings()
    engine = open_database(settings.database.url)
    document_id, _ = ingest(DocumentRegistry(engine), "a" * 64)
    engine.dispose()
    runner = CliRunner()
    listed = runner.invoke(app, ["facts", "list", "--kind", "drug_dose", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    [fact] = json.loads(listed.stdout)
    assert fact["document_id"] == document_id and fact["fields"]["dose"] == 1.5
    text = runner.invoke(app, ["facts", "list", "--tumour", "Ewing sarcoma"])
    assert text.exit_code == 0 and "radiotherapy" in text.stdout and "surgery" not in text.stdout
    bad = runner.invoke(app, ["facts", "list", "--kind", "dose"])
    assert bad.exit_code == 2 and "unknown kind" in bad.stderr
    covered = runner.invoke(app, ["coverage", "--format", "json"])
    assert covered.exit_code == 0
    assert {e["code"] for e in json.loads(covered.stdout)} == {"9364/3", "9180/3"}
    assert "chemotherapy" in runner.invoke(app, ["coverage"]).stdout


class RegistryOnly:
    """The knowledge store as the fact routes use it: its registry."""

    def __init__(self, registry):
        self.registry = registry


def test_fact_routes(tmp_path):
    settings = Settings(home=tmp_path)
    engine = open_database(settings.database.url)
    registry = DocumentRegistry(engine)
    document_id, counts = ingest(registry, "a" * 64)
    services = Services(make(FakeModel()), RecordStore(engine), knowledge=RegistryOnly(registry))
    with TestClient(create_app(settings, services)) as client:
        facts = client.get(f"/v1/documents/{document_id}/facts")
        assert facts.status_code == 200 and len(facts.json()) == sum(counts.values())
        doses = client.get(f"/v1/documents/{document_id}/facts", params={"kind": "drug_dose"})
        assert [f["fields"]["drug"] for f in doses.json()] == ["vincristine"]
        assert client.get("/v1/documents/unknown/facts").status_code == 404
        assert client.get(f"/v1/documents/{document_id}/facts?kind=x").status_code == 422
        coverage = client.get("/v1/knowledge/coverage")
        assert coverage.status_code == 200
        assert {e["code"] for e in coverage.json()} == {"9364/3", "9180/3"}
    engine.dispose()


def test_ingest_reports_facts_by_kind_and_warns_without_treatment(capsys):
    from pathlib import Path

    from ingest.pipeline import IngestResult
    from service.cli.ingest import _report_facts

    _report_facts(IngestResult(Path("a.pdf"), "ingested", facts={"drug_dose": 3, "regimen": 1}))
    _report_facts(IngestResult(Path("b.pdf"), "ingested", facts={"tumour_mention": 2}))
    out = capsys.readouterr()
    text = out.out + out.err
    assert "facts: 1 regimen, 3 drug_dose" in text
    assert "b.pdf: no treatment facts" in text and "a.pdf: no treatment" not in text


def test_pages_naming_no_tumour_are_about_the_last_one_named(engine):
    """A manual names the tumour, then gives its regimen forms on the following pages."""
    registry = DocumentRegistry(engine)
    doc = registry.begin(
        sha256="c" * 64, file_name="m.pdf", title="T", pages=3, size_bytes=1, tags=()
    )
    pages = {
        1: "Temozolomida: dose conforme a tabela.",  # before any tumour: about none
        2: "1 Tumores do SNC recorrentes\nRacional: temozolomida.",
        3: "D1 Temozolomida 200 mg/m2 VO",
        4: "Osteosarcoma: metotrexato 12 g/m2.",
    }
    facts = [f for n, text in pages.items() for f in extract_page(n, text, language="pt")]
    FactIndex(engine).put(doc.document_id, for_document(doc.document_id, facts))
    registry.activate(doc.document_id, chunks=1)
    [entry] = [e for e in FactIndex(engine).coverage() if e["term"] == "relapsed CNS tumours"]
    assert entry["blocks"]["chemotherapy"]["facts"] == 1
    doses = FactIndex(engine).facts(tumour="recurrent CNS tumours", kinds=["drug_dose"])
    assert [(f.page, f.fields["dose"]) for f in doses] == [(3, 200)]

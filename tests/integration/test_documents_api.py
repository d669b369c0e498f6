"""Uploads, jobs, listing, search and delete over HTTP, on a real store (fake model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import IngestOptions
from knowledge.embedded import packaged_embedder_path
from knowledge.embeddings import Embedder
from knowledge.registry import DocumentRegistry
from knowledge.store import KnowledgeStore, chroma_client
from models.fake import FakeModel
from service.api.app import create_app
from service.api.deps import Services
from service.generation.generator import PatientGenerator
from service.settings import Settings
from service.storage.database import open_database
from service.storage.documents import IngestJobs
from service.storage.patients import RecordStore
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration


@pytest.fixture
def client(tmp_path: Path):
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = KnowledgeStore(
        Embedder(packaged_embedder_path()),
        DocumentRegistry(engine),
        client=chroma_client(tmp_path / "chroma"),
    )
    services = Services(
        PatientGenerator(store, FakeModel()),
        RecordStore(engine),
        knowledge=store,
        jobs=IngestJobs(store, engine, tmp_path / "uploads"),
        ingest=IngestOptions(),
        max_upload_bytes=2_000_000,
    )
    with TestClient(create_app(Settings(home=tmp_path), services)) as test_client:
        yield test_client


def pdf_upload(name: str, path: Path = CORPUS_PDF_DIR / "hodgkin_lymphoma.pdf"):
    return ("files", (name, path.read_bytes(), "application/pdf"))


def test_upload_job_list_search_delete(client, tmp_path):
    response = client.post(
        "/v1/documents", files=[pdf_upload("hodgkin.pdf")], data={"tags": ["lymphoma"]}
    )
    assert response.status_code == 202, response.text
    [job] = response.json()["jobs"]
    # TestClient runs background tasks before returning: the job is finished
    status = client.get(f"/v1/documents/jobs/{job['job_id']}").json()
    assert status["status"] == "done" and status["result"] == "ingested"
    assert status["pages_done"] == status["pages_total"] == 3 and status["chunks_done"] > 0
    assert status["facts"]["drug_dose"] > 0  # the fact index, counted by kind
    [document] = client.get("/v1/documents").json()
    assert document["file_name"] == "hodgkin.pdf" and document["tags"] == ["lymphoma"]
    hits = client.post(
        "/v1/search", json={"query": "OEPA doses", "k": 3, "tags": ["lymphoma"]}
    ).json()["results"]
    assert len(hits) == 3 and {h["document"] for h in hits} == {"hodgkin.pdf"}
    assert all({"page", "score", "text"} <= set(h) for h in hits)
    again = client.post("/v1/documents", files=[pdf_upload("hodgkin.pdf")]).json()
    assert client.get(f"/v1/documents/jobs/{again['jobs'][0]['job_id']}").json()["result"] == (
        "unchanged"
    )
    renamed = client.post("/v1/documents", files=[pdf_upload("hodgkin-v2.pdf")]).json()
    job = client.get(f"/v1/documents/jobs/{renamed['jobs'][0]['job_id']}").json()
    assert (job["result"], job["document_id"]) == ("unchanged", document["document_id"])
    [listed] = client.get("/v1/documents").json()
    assert (listed["file_name"], listed["aliases"]) == ("hodgkin.pdf", ["hodgkin-v2.pdf"])
    facts = client.get(f"/v1/documents/{document['document_id']}/facts").json()
    assert facts and all(f["document_id"] == document["document_id"] for f in facts)
    assert client.delete(f"/v1/documents/{document['document_id']}").status_code == 200
    assert client.get("/v1/documents").json() == []
    assert client.get(f"/v1/documents/{document['document_id']}/facts").status_code == 404
    assert client.post("/v1/search", json={"query": "OEPA"}).json()["results"] == []
    assert client.delete(f"/v1/documents/{document['document_id']}").status_code == 404
    assert list((tmp_path / "uploads" / ".spool").iterdir()) == []  # nothing left spooled


def test_bad_uploads_are_refused_with_reasons(client, tmp_path):
    for name in ("../etc/passwd.pdf", "a/b.pdf", "..\\x.pdf", "notes.txt"):
        response = client.post("/v1/documents", files=[pdf_upload(name)])
        assert response.status_code == 400, name
        assert name.split("/")[-1].split("\\")[-1][:4] in str(response.json()["detail"])
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 2_100_000)
    response = client.post("/v1/documents", files=[pdf_upload("big.pdf", big)])
    assert response.status_code == 413
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a pdf")
    mixed = client.post(
        "/v1/documents", files=[pdf_upload("fake.pdf", fake), pdf_upload("../x.pdf")]
    )
    assert mixed.status_code == 202
    assert "path separators" in mixed.json()["refused"][0]["error"]
    [job] = mixed.json()["jobs"]
    failed = client.get(f"/v1/documents/jobs/{job['job_id']}").json()
    assert failed["status"] == "failed" and failed["error"] == (
        "fake.pdf: not a PDF file (no %PDF- header)"
    )
    assert client.get("/v1/documents/jobs/nope").status_code == 404
    assert client.post("/v1/search", json={"query": ""}).status_code == 422
    assert list((tmp_path / "uploads" / ".spool").iterdir()) == []


def test_an_upload_can_refuse_ocr(client, tmp_path):
    from fpdf import FPDF

    blank = tmp_path / "blank.pdf"
    pdf = FPDF()
    pdf.add_page()
    pdf.output(str(blank))
    for ocr, error in (("false", "run OCR first"), ("true", "OCR found no text")):
        response = client.post(
            "/v1/documents", files=[pdf_upload(f"blank-{ocr}.pdf", blank)], data={"ocr": ocr}
        )
        [job] = response.json()["jobs"]
        status = client.get(f"/v1/documents/jobs/{job['job_id']}").json()
        assert status["status"] == "failed" and error in status["error"], status


def test_an_upload_can_ask_for_the_model_pass(client):
    model = client.app.state.services.generator.model
    model.enqueue(*[{"facts": []}] * 6)  # at most 2 passages a page, 3 pages
    response = client.post(
        "/v1/documents", files=[pdf_upload("hodgkin.pdf")], data={"extract": "model"}
    )
    [job] = response.json()["jobs"]
    status = client.get(f"/v1/documents/jobs/{job['job_id']}").json()
    assert status["status"] == "done" and status["facts"]["drug_dose"] > 0
    assert model.calls and all(call.schema is not None for call in model.calls)
    facts = client.get(f"/v1/documents/{status['document_id']}/facts").json()
    assert {f["fields"]["source"] for f in facts} == {"patterns"}  # the fake proposed none
    bad = client.post("/v1/documents", files=[pdf_upload("h.pdf")], data={"extract": "llm"})
    assert bad.status_code == 422 and "patterns or model" in bad.json()["detail"]

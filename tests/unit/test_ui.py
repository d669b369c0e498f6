"""The web UI without a browser: login, CSRF, scopes, escaping, languages, page rendering.

A real knowledge store (Chroma, a hashing embedder standing in for MiniLM) and the fake
model: PDFs are uploaded through the UI itself, whose ingestion jobs TestClient runs
before it returns."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import IngestOptions
from knowledge.registry import DocumentRegistry
from knowledge.store import KnowledgeStore, chroma_client
from models.fake import FakeModel
from service.api.app import create_app
from service.api.deps import Services
from service.auth import ApiKeys
from service.records import Citation
from service.requests import RequestFields, build_request
from service.settings import Settings
from service.storage.database import open_database
from service.storage.documents import IngestJobs
from service.storage.patients import RecordStore
from service.ui.i18n import SPANISH
from service.ui.pages import find_quote, mark_quote
from service.ui.session import COOKIE
from tests.conftest import CORPUS_PDF_DIR
from tests.unit.test_generation import TREATMENT, diagnosis_answer, make

TEMPLATES = Path(__file__).resolve().parents[2] / "service" / "ui" / "templates"
HODGKIN = CORPUS_PDF_DIR / "hodgkin_lymphoma.pdf"


class HashingEmbedder:
    """Bag of words hashed into 64 dimensions, unit length (MiniLM's stand-in)."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            v = [0.0] * 64
            for word in re.findall(r"\w+", text.lower()):
                v[int(hashlib.sha256(word.encode()).hexdigest(), 16) % 64] += 1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            vectors.append([x / norm for x in v])
        return vectors


@dataclass
class Ui:
    client: TestClient
    services: Services
    keys: ApiKeys
    model: FakeModel

    def csrf(self, path: str = "/ui/login") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def login(self, token: str) -> None:
        csrf = self.csrf()
        answer = self.client.post(
            "/ui/login", data={"csrf": csrf, "api_key": token, "next": "/ui/knowledge"}
        )
        assert answer.status_code == 200 and answer.url.path == "/ui/knowledge", answer.text

    def upload(self, name: str, path: Path = HODGKIN, tags: str = "") -> str:
        csrf = self.csrf("/ui/knowledge")
        answer = self.client.post(
            "/ui/knowledge/upload",
            files=[("files", (name, path.read_bytes(), "application/pdf"))],
            data={"tags": tags},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert answer.status_code == 200, answer.text
        return answer.text


@pytest.fixture
def ui(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Ui]:
    auth = getattr(request, "param", "required")
    settings = Settings(home=tmp_path, api_auth=auth)
    engine = open_database(settings.database.url)
    store = KnowledgeStore(
        HashingEmbedder(),  # type: ignore[arg-type]
        DocumentRegistry(engine),
        client=chroma_client(tmp_path / "chroma"),
        originals=tmp_path / "originals",
    )
    model = FakeModel()
    keys = ApiKeys(engine)
    services = Services(
        make(model),
        RecordStore(engine),
        knowledge=store,
        jobs=IngestJobs(store, engine, tmp_path / "uploads"),
        ingest=IngestOptions(),
        max_upload_bytes=2_000_000,
        keys=keys,
    )
    with TestClient(create_app(settings, services)) as client:
        yield Ui(client, services, keys, model)


def test_login_logout_and_session_rotation(ui: Ui) -> None:
    first = ui.client.get("/ui/knowledge", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/ui/login?next=%2Fui%2Fknowledge")
    _, token = ui.keys.create(["read"], name="ward-7")
    csrf = ui.csrf()
    before = ui.client.cookies[COOKIE]
    bad = ui.client.post("/ui/login", data={"csrf": csrf, "api_key": "cs_nope_nope"})
    assert bad.status_code == 401 and "Invalid or revoked API key" in bad.text
    ui.login(token)
    assert ui.client.cookies[COOKIE] != before  # a new session id at login
    page = ui.client.get("/ui/knowledge")
    assert page.status_code == 200 and "ward-7" in page.text
    who = ui.client.get("/ui/whoami").json()
    assert who == {"open": False, "name": "ward-7", "scopes": ["read"]}
    csrf = ui.csrf("/ui/knowledge")
    out = ui.client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert ui.client.get("/ui/knowledge", follow_redirects=False).status_code == 303


def test_a_login_redirect_never_leaves_the_ui(ui: Ui) -> None:
    _, token = ui.keys.create(["read"])
    csrf = ui.csrf()
    for target in ("https://evil.example/", "//evil.example/ui", "/ui\\..\\x"):
        answer = ui.client.post(
            "/ui/login",
            data={"csrf": csrf, "api_key": token, "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/ui/", target
        csrf = ui.csrf()


def test_every_form_needs_the_sessions_csrf_token(ui: Ui) -> None:
    _, token = ui.keys.create(["admin"])
    no_token = ui.client.post("/ui/login", data={"api_key": token})
    assert no_token.status_code == 403 and "reload the page" in no_token.text
    ui.login(token)
    csrf = ui.csrf("/ui/knowledge")
    refused = [
        ui.client.post("/ui/generate", data={"prompt": "boy with Ewing sarcoma"}),
        ui.client.post("/ui/generate", data={"prompt": "Ewing", "csrf": "forged"}),
        ui.client.post("/ui/batches", data={"prompt": "Ewing", "count": "2"}),
        ui.client.post("/ui/logout"),
        ui.client.post("/ui/knowledge/0123456789abcdef/delete", data={"csrf": csrf + "x"}),
        ui.client.post(
            "/ui/knowledge/upload",
            files=[("files", ("h.pdf", HODGKIN.read_bytes(), "application/pdf"))],
            data={"csrf": csrf},  # an upload's token travels in the header, read first
        ),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert ui.services.records.count() == 0 and ui.model.calls == []
    assert ui.services.knowledge_store().registry.documents() == []
    # the token of another session is no good either
    other = TestClient(ui.client.app)
    with other:
        theirs = re.search(r'name="csrf" value="([^"]+)"', other.get("/ui/login").text)
        assert theirs and theirs.group(1) != csrf
        forged = ui.client.post("/ui/logout", data={"csrf": theirs.group(1)})
        assert forged.status_code == 403


def test_pages_and_actions_follow_the_keys_scopes(ui: Ui) -> None:
    reader, token = ui.keys.create(["read"])
    ui.login(token)
    knowledge = ui.client.get("/ui/knowledge")
    assert knowledge.status_code == 200
    assert 'id="upload"' not in knowledge.text  # no upload form without the ingest scope
    assert ui.client.get("/ui/batches").status_code == 200
    generate = ui.client.get("/ui/generate")
    assert generate.status_code == 403 and "generate" in generate.text
    csrf = ui.csrf("/ui/knowledge")
    posted = ui.client.post("/ui/generate", data={"csrf": csrf, "prompt": "Ewing sarcoma"})
    assert posted.status_code == 403 and ui.model.calls == []
    upload = ui.client.post(
        "/ui/knowledge/upload",
        files=[("files", ("h.pdf", HODGKIN.read_bytes(), "application/pdf"))],
        headers={"X-CSRF-Token": csrf},
    )
    assert upload.status_code == 403
    ui.keys.revoke(reader.key_id)  # a revoked key ends the session at once
    assert ui.client.get("/ui/knowledge", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("ui", ["auto"], indirect=True)
def test_an_open_loopback_server_needs_no_login_until_a_key_exists(ui: Ui) -> None:
    page = ui.client.get("/ui/knowledge")
    assert page.status_code == 200 and "no API key is needed" in page.text
    ui.keys.create(["read"])
    assert ui.client.get("/ui/knowledge", follow_redirects=False).status_code == 303


def test_hostile_values_are_escaped(ui: Ui) -> None:
    _, token = ui.keys.create(["admin"])
    ui.login(token)
    hostile = '<img src=x onerror="alert(1)">'
    jobs = ui.upload(f"{hostile}.pdf", tags=f"{hostile},ok")
    assert hostile not in jobs and "&lt;img src=x onerror=" in jobs
    page = ui.client.get("/ui/knowledge").text
    assert hostile not in page and "<img" not in page
    assert '<span class="tag">&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</span>' in page
    search = ui.client.get("/ui/patients", params={"tumour": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in search.text and "&#34;&gt;&lt;script&gt;" in search.text
    assert "script-src 'self'" in search.headers["content-security-policy"]


def test_english_and_spanish(ui: Ui) -> None:
    _, token = ui.keys.create(["admin"])
    ui.login(token)
    english = ui.client.get("/ui/knowledge").text
    assert "Guideline documents" in english and '<html lang="en">' in english
    spanish = ui.client.get("/ui/knowledge", headers={"Accept-Language": "es-ES,es;q=0.9"}).text
    assert "Documentos de guías" in spanish and '<html lang="es">' in spanish
    switched = ui.client.get("/ui/lang/es?next=%2Fui%2Fgenerate")
    assert switched.url.path == "/ui/generate" and "Generar pacientes" in switched.text
    back = ui.client.get("/ui/lang/en?next=%2Fui%2Fgenerate")
    assert "Generate patients" in back.text


def test_every_interface_text_has_a_spanish_translation() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        used |= set(re.findall(r"""\bt\("([^"]+)"\)""", text))
        used |= set(re.findall(r"""\bt\('([^']+)'\)""", text))
    assert used and sorted(used - set(SPANISH)) == []


def test_the_cited_page_is_rendered_with_its_quote_marked(ui: Ui) -> None:
    _, token = ui.keys.create(["admin"])
    ui.login(token)
    ui.upload("hodgkin.pdf")
    registry = ui.services.knowledge_store().registry
    [document] = registry.documents()
    listed = ui.client.get("/ui/knowledge").text
    assert "hodgkin.pdf" in listed and f'data-document="{document.document_id}"' in listed
    page = registry.page(document.document_id, 1)
    assert page is not None
    words = page.text.split()
    quote = " ".join(words[20:32])
    image = ui.client.get(
        f"/ui/documents/{document.document_id}/pages/1.png", params={"quote": quote}
    )
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG") and int(image.headers["x-highlighted-lines"]) >= 1
    missing = ui.client.get(f"/ui/documents/{document.document_id}/pages/99.png")
    assert missing.status_code == 404

    ui.model.enqueue(diagnosis_answer(), TREATMENT)
    request = build_request(RequestFields(prompt="boy with Ewing sarcoma"))
    [made] = ui.services.flow.create_all(request, seed=1, count=1)
    record = made.record
    cited = Citation(
        chunk_id=f"{document.document_id}-p0001-c000",
        document="hodgkin.pdf",
        page=1,
        quote=quote,
    )
    record = record.model_copy(
        update={"diagnosis": record.diagnosis.model_copy(update={"citations": [cited]})}
    )
    ui.services.records.save(record)
    shown = ui.client.get(f"/ui/patients/{record.record_id}")
    assert f"/ui/patients/{record.record_id}/citations/0" in shown.text
    view = ui.client.get(f"/ui/patients/{record.record_id}/citations/0")
    assert view.status_code == 200
    marked = re.search(r'<mark id="cited">(.*?)</mark>', view.text, re.S)
    assert marked and " ".join(marked.group(1).split()) == quote
    assert f"pages/1.png?record={record.record_id}&amp;citation=0" in view.text
    by_citation = ui.client.get(
        f"/ui/documents/{document.document_id}/pages/1.png",
        params={"record": record.record_id, "citation": 0},
    )
    assert int(by_citation.headers["x-highlighted-lines"]) >= 1


def test_quotes_are_found_across_line_breaks_and_compatibility_forms() -> None:
    text = "Give doxorubicin 60 mg/m²\nas a 6-hour\ninfusion on day 1."
    span = find_quote(text, "doxorubicin 60 mg/m2 as a 6-hour infusion")
    assert span and text[span[0] : span[1]] == "doxorubicin 60 mg/m²\nas a 6-hour\ninfusion"
    marked = mark_quote(text, "nothing like it")
    assert not marked.found and marked.before == text


def test_the_ui_is_not_in_the_api_schema(ui: Ui) -> None:
    paths = ui.client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def _wait_for(ui: Ui, url: str, seconds: float = 30.0) -> str:
    """Poll a progress fragment as the page does; the URL its HX-Redirect opens, or ''."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = ui.client.get(url, headers={"HX-Request": "true"})
        if "HX-Redirect" in answer.headers:
            return answer.headers["HX-Redirect"]
        if 'data-status="done"' in answer.text:
            return ""
        time.sleep(0.2)
    raise AssertionError(f"{url} did not finish in {seconds} s")


def test_generate_then_batches_exports_and_cancel(ui: Ui) -> None:
    _, token = ui.keys.create(["admin"])
    ui.login(token)
    for _ in range(3):
        ui.model.enqueue(diagnosis_answer(), TREATMENT)
    csrf = ui.csrf("/ui/generate")
    form = {"csrf": csrf, "prompt": "niño de 8 años con sarcoma de Ewing", "seed": "3"}
    started = ui.client.post("/ui/generate", data=form, follow_redirects=False)
    assert started.status_code == 303, started.text
    batch_url = started.headers["location"].split("?")[0]
    record_url = _wait_for(ui, f"{batch_url}/progress?generate=true")
    assert record_url.startswith("/ui/patients/")
    record = ui.client.get(record_url)
    assert record.status_code == 200 and 'id="block-chemotherapy"' in record.text
    assert "Not validated yet." in record.text  # no validator configured here
    spanish = ui.client.get(record_url, headers={"Accept-Language": "es"}).text
    assert "Quimioterapia" in spanish and "<dt>fármaco</dt>" in spanish
    coverage = ui.client.get("/ui/knowledge/coverage", headers={"HX-Request": "true"})
    assert coverage.status_code == 200

    bad = ui.client.post("/ui/batches", data={"csrf": csrf, "prompt": "x", "age": "sixty"})
    assert bad.status_code == 422 and "age: a whole number" in bad.text
    form = {"csrf": csrf, "diagnosis": "Ewing sarcoma", "count": "2", "seed": "9"}
    form |= {"blocks": "chemotherapy"}
    created = ui.client.post("/ui/batches", data=form, follow_redirects=False)
    batch_url = created.headers["location"]
    assert _wait_for(ui, f"{batch_url}/progress") == ""
    page = ui.client.get(batch_url).text
    assert page.count('<li><a href="/ui/patients/') == 2
    fhir = ui.client.get(f"{batch_url}/export", params={"format": "fhir"})
    lines = [json.loads(line) for line in fhir.text.splitlines() if line.strip()]
    assert fhir.status_code == 200 and [b["resourceType"] for b in lines] == ["Bundle"] * 2
    assert ui.client.get(f"{batch_url}/export", params={"format": "csv"}).content[:2] == b"PK"
    report = ui.client.get(f"{batch_url}/report")
    assert report.status_code == 200
    ended = ui.client.post(f"{batch_url}/cancel", data={"csrf": csrf})
    assert ended.status_code == 409 and "already ended" in ended.text
    listed = ui.client.get("/ui/batches").text
    assert batch_url.rsplit("/", 1)[1][:8] in listed


def test_replace_and_delete_a_document(ui: Ui) -> None:
    _, token = ui.keys.create(["admin"])
    ui.login(token)
    ui.upload("guideline.pdf")
    registry = ui.services.knowledge_store().registry
    [old] = registry.documents()
    csrf = ui.csrf("/ui/knowledge")
    replaced = ui.client.post(
        f"/ui/knowledge/replace/{old.document_id}",
        files=[("files", ("other-name.pdf", (CORPUS_PDF_DIR / "osteosarcoma.pdf").read_bytes()))],
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert replaced.status_code == 200 and "guideline.pdf" in replaced.text
    [new] = registry.documents()
    assert new.file_name == "guideline.pdf" and new.document_id != old.document_id
    deleted = ui.client.post(f"/ui/knowledge/{new.document_id}/delete", data={"csrf": csrf})
    assert deleted.status_code == 200 and deleted.url.path == "/ui/knowledge"
    assert registry.documents() == [] and "No documents yet" in deleted.text
    gone = ui.client.post(f"/ui/knowledge/{new.document_id}/delete", data={"csrf": csrf})
    assert gone.status_code == 404


def test_html_forms_are_accepted_under_ui_only(ui: Ui) -> None:
    _, token = ui.keys.create(["admin"])
    ui.login(token)
    as_form = ui.client.post(
        "/v1/patients",
        content=b"prompt=Ewing",
        headers={"content-type": "application/x-www-form-urlencoded", "X-API-Key": token},
    )
    assert as_form.status_code == 415  # the API still reads JSON only
    csrf = ui.csrf("/ui/knowledge")
    multipart = ui.client.post(
        "/ui/generate", data={"csrf": csrf}, files=[("files", ("a.pdf", b"%PDF-1.4"))]
    )
    assert multipart.status_code == 415  # multipart only on the UI's upload paths
    huge = ui.client.post("/ui/generate", data={"csrf": csrf, "prompt": "x" * (2 * 1024 * 1024)})
    assert huge.status_code == 413 and ui.model.calls == []


def test_serve_prints_where_the_ui_is(clinsynth_env: Path, monkeypatch: pytest.MonkeyPatch):
    import logging

    import uvicorn
    from typer.testing import CliRunner

    from service.cli import app as cli
    from service.cli.serve import ui_address_line

    monkeypatch.setattr(logging.getLogger("service"), "handlers", [])  # serve adds one
    monkeypatch.setattr(uvicorn, "run", lambda app, **bind: None)
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "web UI: http://127.0.0.1:8123/ui" in result.stderr
    assert ui_address_line("0.0.0.0", 80).startswith("web UI: http://127.0.0.1:80/ui")
    assert ui_address_line("::1", 8000).startswith("web UI: http://[::1]:8000/ui")


def test_the_generate_form_asks_for_the_second_tumours_blocks(ui: Ui) -> None:
    from service.ui.generation import batch_request

    _, token = ui.keys.create(["admin"])
    ui.login(token)
    page = ui.client.get("/ui/generate").text
    assert 'name="second_tumour_blocks" value="radiotherapy"' in page
    assert 'name="second_tumour_blocks" value="hsct"' not in page
    values = {"second_tumour": ["Hodgkin lymphoma"], "second_tumour_blocks": ["radiotherapy"]}
    asked = batch_request(values, max_count=10)
    assert asked.stored_request()["second_tumour_blocks"] == ["radiotherapy"]


def test_the_generate_form_chooses_the_names_locale(ui: Ui) -> None:
    from service.ui.generation import batch_request

    _, token = ui.keys.create(["admin"])
    ui.login(token)
    page = ui.client.get("/ui/generate").text
    assert 'name="locale"' in page and '<option value="es_MX">' in page
    assert "es_ES" in page  # the configured default, shown as the placeholder
    asked = batch_request({"prompt": ["Ewing sarcoma"], "locale": ["en-GB"]}, max_count=10)
    assert asked.stored_request()["locale"] == "en_GB"
    csrf = ui.csrf("/ui/generate")
    bad = ui.client.post("/ui/generate", data={"csrf": csrf, "prompt": "x", "locale": "xx_YY"})
    assert bad.status_code == 422 and "unknown locale" in bad.text and "es_MX" in bad.text
    assert ui.model.calls == []

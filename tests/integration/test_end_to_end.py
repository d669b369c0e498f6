"""The real path: corpus PDFs -> Chroma + MiniLM -> SmolLM2 via llama.cpp -> SQLite.

Runs the installed ``clinsynth`` command as a user would, so stdout purity, exit codes
and settings-from-environment are tested too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from knowledge.text import normalize_whitespace
from service.records import PatientRecord
from service.storage.database import open_database
from service.storage.patients import RecordStore
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration

CLINSYNTH = str(Path(sys.executable).with_name("clinsynth"))
PROMPT = "8-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy"
GENERATE = [
    CLINSYNTH,
    "generate",
    "--prompt",
    PROMPT,
    "--format",
    "json",
    "--seed",
    "1",
    "--count",
    "2",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("clinsynth-home")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLINSYNTH_")}
    environment["CLINSYNTH_HOME"] = str(home)
    environment["CLINSYNTH_REFERENCE_DATE"] = "2026-06-01"
    environment["CLINSYNTH_LLM_N_THREADS"] = "2"
    return environment


def run(args: list[str], env: dict[str, str], prefix: list[str] | None = None):
    return subprocess.run(
        (prefix or []) + args, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def ingested(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([CLINSYNTH, "ingest", str(CORPUS_PDF_DIR)], env)


@pytest.fixture(scope="module")
def generated(ingested, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert ingested.returncode == 0, ingested.stderr
    return run(GENERATE, env)


@cache
def page_text(document: str, page: int) -> str:
    reader = PdfReader(CORPUS_PDF_DIR / document)
    return normalize_whitespace(reader.pages[page - 1].extract_text())


def test_ingest_reports_every_corpus_file(ingested):
    pdfs = sorted(CORPUS_PDF_DIR.glob("*.pdf"))
    assert len(pdfs) >= 5
    assert ingested.returncode == 0, ingested.stderr
    assert f"{len(pdfs)} of {len(pdfs)} files ok" in ingested.stderr


def test_reingesting_the_same_files_is_a_no_op(generated, env):
    again = run([CLINSYNTH, "ingest", str(CORPUS_PDF_DIR)], env)
    assert again.returncode == 0
    assert again.stderr.count("unchanged") == len(list(CORPUS_PDF_DIR.glob("*.pdf")))


def test_generate_prints_only_a_json_array_of_valid_records(generated):
    assert generated.returncode == 0, generated.stderr
    payload = json.loads(generated.stdout)
    assert isinstance(payload, list) and len(payload) == 2
    records = [PatientRecord.model_validate(item) for item in payload]
    assert records[0].record_id != records[1].record_id
    for record in records:
        assert record.diagnosis.icdo3_morphology == "9364/3"
        assert record.demographics.sex == "male"
        assert record.diagnosis.age_at_diagnosis == 8
        assert record.chemotherapy, "chemotherapy was asked for"
        assert record.provenance.model == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert record.provenance.model_sha256 and len(record.provenance.model_sha256) == 64


def test_every_citation_was_retrieved_for_its_record_and_is_on_the_cited_page(generated):
    for item in json.loads(generated.stdout):
        record = PatientRecord.model_validate(item)
        retrieved = {c.chunk_id for c in record.provenance.chunks}
        assert record.citations()
        for citation in record.citations():
            assert citation.chunk_id in retrieved
            assert citation.quote in page_text(citation.document, citation.page), citation


def test_generated_records_are_stored_in_sqlite(generated, env):
    store = RecordStore(open_database(f"sqlite:///{Path(env['CLINSYNTH_HOME']) / 'clinsynth.db'}"))
    for item in json.loads(generated.stdout):
        assert store.get(item["record_id"]) == PatientRecord.model_validate(item)


def test_same_seed_same_output_with_the_network_cut_off(generated, env):
    if shutil.which("unshare") is None or run(["unshare", "-rn", "true"], env).returncode:
        pytest.skip("unshare -rn (a user and network namespace) is not permitted here")
    offline = run(GENERATE, env, prefix=["unshare", "-rn"])
    assert offline.returncode == 0, offline.stderr

    def records(stdout: str) -> list[dict]:
        return [PatientRecord.model_validate(item).reproducible() for item in json.loads(stdout)]

    assert records(offline.stdout) == records(generated.stdout)  # measured timings aside


def test_serve_generates_and_returns_a_patient_over_http(generated, env, tmp_path):
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [CLINSYNTH, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.5)
        assert health.json()["status"] == "ok" and health.json()["chunks"] > 0
        created = httpx.post(
            f"{base}/v1/patients", json={"prompt": PROMPT, "seed": 11}, timeout=300
        )
        assert created.status_code == 201, created.text
        record = PatientRecord.model_validate(created.json())
        fetched = httpx.get(f"{base}/v1/patients/{record.record_id}", timeout=10)
        assert PatientRecord.model_validate(fetched.json()) == record
        assert httpx.get(f"{base}/v1/patients/nope", timeout=10).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=30)


FULL_PROMPT = (
    "14-year-old boy with Ewing sarcoma, chemotherapy, radiotherapy, surgery, transplant "
    "and others, relapse after the first line, second tumour: osteosarcoma"
)


def test_a_full_request_gives_every_block_cited_and_valid(generated, env, tmp_path):
    """Every block the request names, from the real model and store, passing the rules."""
    full = run(
        [CLINSYNTH, "generate", "--prompt", FULL_PROMPT, "--format", "json", "--seed", "3"], env
    )
    assert full.returncode == 0, full.stderr
    (item,) = json.loads(full.stdout)
    record = PatientRecord.model_validate(item)
    assert record.chemotherapy and record.radiotherapy and record.surgery and record.hsct
    assert record.others is not None and record.relapse is not None
    assert record.second_tumour is not None
    assert record.second_tumour.diagnosis.icdo3_morphology == "9180/3"
    assert record.relapse.date > record.hsct[0].date > record.diagnosis.diagnosis_date
    assert {p.id for p in record.provenance.prompts} >= {"diagnosis", "treatment", "hsct"}
    for citation in record.citations():
        assert citation.quote in page_text(citation.document, citation.page), citation
    saved = tmp_path / "full.json"
    saved.write_text(full.stdout, encoding="utf-8")
    checked = run([CLINSYNTH, "validate", str(saved)], env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_eval_runs_a_slice_with_the_model_and_the_random_choice_baseline(generated, env, tmp_path):
    """The test suite's slice of `clinsynth eval` (the full set is `make bench-eval`): one
    request without a diagnosis, through the real model and again with random choices."""
    requests = tmp_path / "slice.toml"
    requests.write_text(
        'version = 2\n[[request]]\nid = "nodx"\n'
        'prompt = "4-year-old girl, chemotherapy only"\nseed = 5\n',
        encoding="utf-8",
    )
    report_path = tmp_path / "eval.json"
    done = run(
        [CLINSYNTH, "eval", "--requests", str(requests), "-o", str(report_path)]
        + ["--repair-rounds", "0"],
        env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    baseline = report["baseline"]
    assert report["requests"] == baseline["requests"] == 1
    assert baseline["backend"] == "random" and report["backend"] == "llamacpp"
    (item,) = report["items"]
    assert item["schema_valid"], item["error"]
    assert item["missing"] == [] and report["every_block"] == 1.0
    assert "every requested block" in done.stdout and "nodx" in done.stdout

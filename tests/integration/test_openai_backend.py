"""The OpenAI-compatible backend against a real server: llama-cpp-python's own (through
service.llama_server, for its load options), on loopback, serving the embedded SmolLM2.
No mocked HTTP. One server for the module."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from models.embedded import packaged_gguf_path
from models.openai_compat import OpenAICompatModel
from service.components import build_generator, build_knowledge_store
from service.settings import Settings
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration

CLINSYNTH = str(Path(sys.executable).with_name("clinsynth"))
EWING_PDF = CORPUS_PDF_DIR / "ewing_sarcoma.pdf"
PROMPT = "8-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """(base URL, model id) of a llama-cpp-python server; stopped and its log closed after."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.llama_server", "--model", str(packaged_gguf_path())]
            + ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{base_url}/models", timeout=5) as response:
                        model_id = json.load(response)["data"][0]["id"]
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"llama_cpp.server did not start: {log_path.read_text()}")
                    time.sleep(0.5)
            yield base_url, model_id
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(home=tmp_path_factory.mktemp("home"), reference_date=date(2026, 6, 1))
    knowledge = build_knowledge_store(settings)
    ingest_paths([EWING_PDF], knowledge)
    return settings, knowledge


def test_misnamed_model_lists_what_the_server_serves(server):
    base_url, model_id = server
    with pytest.raises(ValueError, match="does not serve model 'gpt-4o'") as caught:
        OpenAICompatModel(base_url=base_url, api_key=None, model="gpt-4o")
    assert model_id in str(caught.value)


def test_a_full_record_through_the_server(server, store):
    base_url, model_id = server
    settings, knowledge = store
    model = OpenAICompatModel(base_url=base_url, api_key=None, model=model_id)
    try:
        made = build_generator(settings, knowledge, model).generate(PROMPT, seed=1)[0]
    finally:
        model.close()
    record = made.record
    # llama-cpp-python's server refuses response_format json_schema (HTTP 500), so the
    # backend fell back to JSON mode with the schema, which that server enforces.
    assert model.structured == "json_object"
    assert record.diagnosis.tumour == "Ewing sarcoma"
    assert record.chemotherapy and record.radiotherapy
    assert (record.provenance.backend, record.provenance.model) == ("openai", model_id)
    assert record.provenance.model_sha256 is None
    assert record.provenance.prompt_tokens > 500 and record.provenance.completion_tokens > 20
    assert {c.document for c in record.citations()} == {"ewing_sarcoma.pdf"}


def test_compare_local_and_openai_side_by_side(server, tmp_path):
    base_url, model_id = server
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINSYNTH_")}
    env |= {
        "CLINSYNTH_HOME": str(tmp_path / "home"),
        "CLINSYNTH_REFERENCE_DATE": "2026-06-01",
        "CLINSYNTH_LLM_N_THREADS": "2",
        "CLINSYNTH_OPENAI_BASE_URL": base_url,
        "CLINSYNTH_OPENAI_MODEL": model_id,
        "CLINSYNTH_OPENAI_PROMPT_PRICE_PER_1K": "0.0025",
        "CLINSYNTH_OPENAI_COMPLETION_PRICE_PER_1K": "0.01",
    }
    ingest = subprocess.run(
        [CLINSYNTH, "ingest", str(EWING_PDF)], env=env, capture_output=True, text=True
    )
    assert ingest.returncode == 0, ingest.stderr
    args = ["compare", "--prompt", PROMPT, "--backends", "local,openai", "--count", "1"]
    result = subprocess.run(
        [CLINSYNTH, *args, "--format", "json"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    local, api = json.loads(result.stdout)
    assert (local["label"], local["backend"], api["label"], api["backend"]) == (
        "local",
        "llamacpp",
        "openai",
        "openai",
    )
    for run in (local, api):
        assert run["records"] == {"valid": 1, "requested": 1}, run["failures"]
        assert run["grounding"]["rate"] == 1.0
        assert run["basic_checks"]["rate"] == 1.0
        assert run["seconds_per_record"] > 0 and run["prompt_tokens_per_record"] > 500
    assert local["cost_usd_per_record"] is None
    expected = (
        api["prompt_tokens_per_record"] * 0.0025 + api["completion_tokens_per_record"] * 0.01
    ) / 1000
    assert api["cost_usd_per_record"] == pytest.approx(expected)

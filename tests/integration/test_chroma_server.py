"""The knowledge store against a Chroma server (``chromadb.HttpClient``) on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest_paths
from service.components import build_knowledge_store
from service.settings import Settings
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration
CHROMA = str(Path(sys.executable).with_name("chroma"))


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("chroma-server")
    log = folder / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                CHROMA,
                "run",
                "--path",
                str(folder / "data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "Chroma server did not start"
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_ingest_and_search_through_a_chroma_server(chroma_port, tmp_path):
    settings = Settings(home=tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_port)
    store = build_knowledge_store(settings)
    [result] = ingest_paths([CORPUS_PDF_DIR / "osteosarcoma.pdf"], store)
    assert result.status == "ingested"
    hits = store.query("high-dose methotrexate", k=3)
    assert hits and all(h.document == "osteosarcoma.pdf" for h in hits)
    assert not (tmp_path / "chroma").exists()  # nothing went to the embedded folder

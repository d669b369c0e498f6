"""Ingest and generate attempt no outbound connection: every socket call is audited."""

from __future__ import annotations

import socket
import sys
from datetime import date

import pytest

from ingest.pipeline import ingest_paths
from service.components import build_generator, build_knowledge_store, build_language_model
from service.settings import Settings
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration

_NETWORK_EVENTS = {
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.sendto",
    "socket.bind",
}
_recording: list[list[tuple[str, tuple]]] = []


def _audit(event: str, args: tuple) -> None:
    if _recording and event in _NETWORK_EVENTS:
        _recording[-1].append((event, args))


sys.addaudithook(_audit)  # hooks cannot be removed; recording is switched by _recording


def test_the_audit_hook_sees_a_connection_attempt():
    _recording.append([])
    try:
        with socket.socket() as s:
            s.settimeout(0.2)
            s.connect_ex(("127.0.0.1", 9))
    finally:
        events = _recording.pop()
    assert any(event == "socket.connect" for event, _ in events)


def test_ingest_and_generate_make_no_network_call(tmp_path):
    settings = Settings(
        home=tmp_path, llm_n_threads=2, reference_date=date(2026, 6, 1), llm_max_tokens=384
    )
    _recording.append([])
    try:
        store = build_knowledge_store(settings)
        results = ingest_paths([CORPUS_PDF_DIR / "ewing_sarcoma.pdf"], store)
        generator = build_generator(settings, store, build_language_model(settings))
        made = generator.generate("girl with Ewing sarcoma", seed=3)[0]
    finally:
        events = _recording.pop()
    assert [r.status for r in results] == ["ingested"]
    assert made.record.citations()
    assert events == [], f"network calls attempted: {events}"

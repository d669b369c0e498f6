"""Grounding against the real thing: the Ewing guideline PDF ingested into Chroma + MiniLM."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.pipeline import ingest_file
from knowledge.store import KnowledgeStore
from knowledge.text import normalize_whitespace
from service.components import build_knowledge_store, ingest_options
from service.records import PatientRecord
from service.settings import Settings
from service.validation import build_validator
from tests.conftest import CORPUS_PDF_DIR
from tests.unit.test_grounding import grounded_record_data

pytestmark = pytest.mark.integration


def stored_citation(store: KnowledgeStore, quote: str) -> dict[str, Any]:
    """A citation of the stored chunk whose text holds ``quote``."""
    wanted = normalize_whitespace(quote).casefold()
    for hit in store.query(quote, k=store.count()):  # every chunk, best first
        if wanted in normalize_whitespace(hit.text).casefold():
            return {"chunk_id": hit.chunk_id, "document": hit.document, "page": hit.page}
    raise AssertionError(f"no stored chunk holds {quote!r}")


def cited_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    relapse = data["relapse"]
    return [data["diagnosis"], *data["chemotherapy"], *data["radiotherapy"], *data["surgery"]] + [
        *data["hsct"],
        relapse,
        *relapse["second_line"],
    ]


def test_citations_resolve_and_support_items_in_the_ingested_guideline(tmp_path):
    settings = Settings(home=tmp_path)
    store = build_knowledge_store(settings)
    result = ingest_file(CORPUS_PDF_DIR / "ewing_sarcoma.pdf", store, ingest_options(settings))
    assert result.status == "ingested", result.error
    data = grounded_record_data()
    data["provenance"]["language"] = "en"  # its clinical words are English
    for item in cited_items(data):
        for citation in item["citations"]:
            citation.update(stored_citation(store, citation["quote"]))
    topography = "ICD-O-3 topography C41.4 (pelvic bones, sacrum, coccyx and associated joints)"
    data["diagnosis"]["citations"].append(
        {**stored_citation(store, topography), "quote": topography}
    )
    validator = build_validator(settings, store)

    clean = validator.validate(PatientRecord.model_validate(data))
    assert clean.failures == [], [f.message for f in clean.failures]
    assert clean.grounding.items == clean.grounding.verified == 10

    data["chemotherapy"][0]["dose"] = 3  # vincristine: its quote states 1.5 mg/m2 (max 2 mg)
    data["surgery"][0]["citations"][0]["chunk_id"] = "0" * 16 + "-p0002-c999"
    planted = validator.validate(PatientRecord.model_validate(data))
    assert {f.rule_id for f in planted.failures} == {
        "grounding.dose_in_quote",
        "grounding.citation_exists",
    }
    assert planted.grounding.verified == 8 and not planted.passed

"""Batch metrics with the real embedded models: SmolLM2 scores perplexity, MiniLM embeds
the narratives for coherence. Two records, so it stays well under a minute on 2 cores."""

from __future__ import annotations

import math
import random

import pytest

from knowledge.embedded import packaged_embedder_path
from knowledge.embeddings import Embedder
from models.embedded import packaged_gguf_path
from models.llamacpp import LlamaCppModel
from service.quality.metrics import build_report
from service.quality.report import render_html
from service.records import PatientRecord
from tests.records import full_record_data

pytestmark = pytest.mark.integration

FLUENT = (
    "A twelve-year-old boy was diagnosed with Ewing sarcoma of the pelvis with lung "
    "metastases. He received chemotherapy with vincristine, ifosfamide and doxorubicin. "
    "The tumour bed was then irradiated with 50.4 Gy in 28 fractions."
)


def scrambled(text: str) -> str:
    tokens = text.split()
    random.Random(3).shuffle(tokens)
    return " ".join(tokens)


@pytest.fixture(scope="module")
def model():
    loaded = LlamaCppModel(packaged_gguf_path(), n_ctx=2048, n_threads=2)
    yield loaded
    loaded.close()


def test_perplexity_and_coherence_with_the_embedded_models(model):
    records = []
    for i, summary in enumerate([FLUENT, scrambled(FLUENT)]):
        data = full_record_data()
        data["record_id"] = f"rec-{i}"
        data["summary"] = summary
        records.append(PatientRecord.model_validate(data))
    report = build_report(
        records, [None, None], scorer=model, embedder=Embedder(packaged_embedder_path())
    )
    perplexity = report.metrics["perplexity"].values
    fluent, jumbled = perplexity["rec-0"], perplexity["rec-1"]
    assert fluent is not None and jumbled is not None
    assert 1 < fluent < jumbled and math.isfinite(jumbled)  # word salad reads worse
    coherence = report.metrics["coherence"]
    assert coherence.computed and coherence.count == 2
    assert all(-1 <= v <= 1 for v in coherence.values.values() if v is not None)
    assert report.metrics["narrative_alignment"].computed
    assert report.diversity.mean_pairwise_distance is not None
    assert report.scorer == packaged_gguf_path().name
    assert render_html(report).count("<svg") == len(report.metrics) + 1

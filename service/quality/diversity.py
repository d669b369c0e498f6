"""Diversity of a batch: pairwise cosine distances of summary embeddings (in blocks, never an
n x n matrix), distinct word n-grams, and coverage of tumours, regimens and sites."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from knowledge.vocabulary import morphologies
from service.quality.models import Coverage, Histogram
from service.quality.overlap import NEAR_DUPLICATE_COSINE, words
from service.records import PatientRecord


def _similarity_blocks(vectors: np.ndarray, block: int = 512) -> Iterator[tuple[int, np.ndarray]]:
    """(row offset, cosine block against all later rows' columns) without an n x n matrix."""
    for start in range(0, len(vectors), block):
        yield start, vectors[start : start + block] @ vectors.T


def pairwise_distances(
    vectors: np.ndarray,
) -> tuple[float, Histogram, list[tuple[int, int, float]]]:
    """Mean pairwise cosine distance, its histogram, and pairs above the near threshold."""
    total, pairs, low, high = 0.0, 0, math.inf, -math.inf
    near: list[tuple[int, int, float]] = []
    for start, sims in _similarity_blocks(vectors):
        for r, row in enumerate(sims):
            i = start + r
            later = 1.0 - row[i + 1 :]
            if later.size:
                total, pairs = total + float(later.sum()), pairs + later.size
                low, high = min(low, float(later.min())), max(high, float(later.max()))
            near += [
                (i, int(j), float(row[j]))
                for j in np.nonzero(row > NEAR_DUPLICATE_COSINE)[0]
                if j > i
            ]
    bins = min(20, max(5, math.ceil(math.sqrt(pairs))))
    edges = np.linspace(low, high if high > low else low + 1e-9, bins + 1)
    counts = np.zeros(bins, dtype=np.int64)
    for start, sims in _similarity_blocks(vectors):
        for r, row in enumerate(sims):
            counts += np.histogram(1.0 - row[start + r + 1 :], bins=edges)[0]
    hist = Histogram(edges=[float(e) for e in edges], counts=[int(c) for c in counts])
    return total / pairs, hist, near


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    grams: list[tuple[str, ...]] = []
    for text in texts:
        tokens = words(text)
        grams += [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def coverage(records: Sequence[PatientRecord]) -> Coverage:
    vocabulary = {t.code for t in morphologies()}
    codes = {r.diagnosis.icdo3_morphology for r in records}
    return Coverage(
        tumours=dict(Counter(r.diagnosis.tumour for r in records)),
        morphology_codes=len(codes),
        tumour_vocabulary=len(vocabulary),
        tumour_vocabulary_share=len(codes & vocabulary) / len(vocabulary) if vocabulary else None,
        regimens=dict(
            Counter(
                " + ".join(sorted({a.drug.lower() for a in r.chemotherapy}))
                for r in records
                if r.chemotherapy
            )
        ),
        radiotherapy_sites=dict(Counter(c.site.lower() for r in records for c in r.radiotherapy)),
        risk_groups=dict(Counter(r.diagnosis.risk_group or "none" for r in records)),
        sites=dict(Counter(r.diagnosis.site.lower() for r in records)),
        ages_at_diagnosis=dict(Counter(str(r.diagnosis.age_at_diagnosis) for r in records)),
    )

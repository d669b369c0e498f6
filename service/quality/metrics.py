"""Batch quality metrics: plausibility, coherence, consistency, outliers, diversity,
duplicates and privacy, computed over one batch of records (issue 5, item 4).

Definitions (also written into every report, ``DEFINITIONS``):

- **perplexity**: exp of minus the mean token log-probability of a record's narrative
  fields (the summary and each surgery description, scored one by one, tokens pooled)
  under the local model's ``score``. Lower reads as more plausible text to that model.
- **coherence**: mean cosine similarity between the embeddings of consecutive sentences of
  the summary (records with one sentence have none). **narrative_alignment**: cosine
  between the summary and a plain description written from the structured blocks.
- **consistency**: 1 - (distinct failed error rules / rules checked) of the stored
  validation result; records without one count as "not validated". **grounding**:
  verified citations / cited items of the stored validation result.
- **reconstruction_error**: numeric features of each record (``numeric_features``),
  standardised over the batch, reconstructed by a small autoencoder (bottleneck 2-3,
  fixed seed) trained on the batch; the value is each record's mean squared error on a
  model trained *without* it (5-fold), because an autoencoder memorises what it trained on
  and an outlier would then look normal. Needs 4 records.
- **diversity**: mean pairwise cosine distance of summary embeddings; distinct-n (distinct
  word n-grams / all n-grams of the narratives, n = 1, 2, 3); coverage of tumours,
  first-line drug sets and radiotherapy sites, and the share of the morphology codes of
  ``knowledge/vocab`` the batch uses.
- **duplicates**: exact, identical clinical content (the record without record_id,
  summary, demographics, provenance and citations); near, summary embeddings with cosine
  > 0.97, or an identical diagnosis and treatment signature.
- **privacy**: identifiers repeated across records; narrative text sharing a run of 12 or
  more words with a corpus passage the records were built from, or with a prompt example;
  a record value equal to a placeholder value of a prompt example.

A metric whose model is missing (no scorer, no embedder) or unsupported is reported as not
computed, with the reason, never estimated. Features and the autoencoder live in
``outliers``, narrative text, duplicates and privacy in ``overlap``, pairwise distances
and coverage in ``diversity``; the report model in ``models``, its storage in ``report``
and the HTML page in ``html``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from models.base import BackendError, ScoringUnsupported, TextScore
from service.quality.diversity import coverage, distinct_n, pairwise_distances
from service.quality.models import (
    BatchReport,
    Counts,
    Diversity,
    Histogram,
    MetricSummary,
)
from service.quality.outliers import (
    drug_atc_codes,
    numeric_features,
    reconstruction_errors,
    standardise,
)
from service.quality.overlap import (
    DUPLICATES_DEFINITION,
    PRIVACY_DEFINITION,
    find_duplicates,
    narrative_fields,
    privacy_findings,
    prompt_examples,
    sentences,
    structured_description,
)
from service.records import PatientRecord
from service.validation import ValidationResult

__all__ = ["TextEmbedder", "TextScorer", "build_report", "prompt_examples"]

MIN_AUTOENCODER_RECORDS = 4

DEFINITIONS = {
    "perplexity": "exp(-mean token log-probability) of the summary and surgery descriptions "
    "under the local model (lower: more plausible to that model).",
    "coherence": "Mean cosine similarity of the embeddings of consecutive summary sentences "
    "(MiniLM); summaries of one sentence have no value.",
    "narrative_alignment": "Cosine similarity between the summary and a description written "
    "from the record's structured blocks (MiniLM).",
    "consistency": "1 - distinct failed error rules / rules checked, from the stored "
    "validation result; records without one are not validated.",
    "grounding": "Verified citations / cited items, from the stored validation result.",
    "reconstruction_error": "Mean squared error of the standardised numeric features "
    "reconstructed by a small autoencoder (bottleneck 2-3, fixed seed) trained on the rest "
    "of the batch (5-fold, so a record is never scored by a model that saw it).",
    "diversity": "Mean pairwise cosine distance of summary embeddings; distinct-n = distinct "
    "word n-grams / all n-grams of the narratives; coverage of tumours, first-line drug sets, "
    "radiotherapy sites and the share of the tumour vocabulary (knowledge/vocab).",
    "duplicates": DUPLICATES_DEFINITION,
    "privacy": PRIVACY_DEFINITION,
}
REFERENCES = {
    "perplexity": "20-50 (GPT-4 admissions data; depends on the scoring model)",
    "coherence": "near 1.0 (next-sentence prediction, not embedding cosine)",
    "consistency": "0.9875-0.9925",
    "reconstruction_error": "mostly below 0.08 (in-sample, other features and scaling)",
}


class TextScorer(Protocol):
    """What perplexity needs of a model (``models.base.LanguageModel.score``)."""

    def score(self, text: str) -> TextScore: ...


class TextEmbedder(Protocol):
    """What coherence and diversity need (``knowledge.embeddings.Embedder``)."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


# --- summaries -----------------------------------------------------------------------------


def histogram(values: Sequence[float], bins: int | None = None) -> Histogram:
    bins = bins or min(20, max(5, math.ceil(math.sqrt(len(values)))))
    counts, edges = np.histogram(np.asarray(values, dtype=np.float64), bins=bins)
    return Histogram(edges=[float(e) for e in edges], counts=[int(c) for c in counts])


def summarise(
    name: str, values: Mapping[str, float | None], *, reason: str | None = None
) -> MetricSummary:
    """Summary statistics and histogram of the values present; none present: not computed."""
    present = [v for v in values.values() if v is not None and math.isfinite(v)]
    base = {"name": name, "definition": DEFINITIONS[name], "reference": REFERENCES.get(name)}
    if not present:
        why = (reason or "no record has a value") if values else "the batch has no records"
        return MetricSummary(**base, computed=False, reason=why, values=dict(values))
    array = np.asarray(present, dtype=np.float64)
    return MetricSummary(
        **base,
        computed=True,
        reason=reason if len(present) < len(values) else None,
        count=len(present),
        mean=float(array.mean()),
        median=float(np.median(array)),
        p5=float(np.percentile(array, 5)),
        p95=float(np.percentile(array, 95)),
        min=float(array.min()),
        max=float(array.max()),
        histogram=histogram(present),
        values={k: (v if v is None or math.isfinite(v) else None) for k, v in values.items()},
    )


def not_computed(name: str, reason: str) -> MetricSummary:
    return MetricSummary(
        name=name,
        definition=DEFINITIONS[name],
        reference=REFERENCES.get(name),
        computed=False,
        reason=reason,
    )


# --- per-record metrics --------------------------------------------------------------------


def perplexity(scorer: TextScorer, texts: Sequence[str]) -> float | None:
    """Perplexity of the texts' pooled tokens; a text too short or too long is skipped."""
    total, tokens = 0.0, 0
    for text in texts:
        try:
            scored = scorer.score(text)
        except ValueError:
            continue
        total += sum(scored.logprobs)
        tokens += len(scored.logprobs)
    if not tokens:
        return None
    try:
        return math.exp(-total / tokens)
    except OverflowError:
        return None


def _perplexity_metric(
    records: Sequence[PatientRecord], scorer: TextScorer | None
) -> MetricSummary:
    if scorer is None:
        return not_computed("perplexity", "no scoring model configured")
    try:
        values = {
            r.record_id: perplexity(scorer, [text for _, text in narrative_fields(r)])
            for r in records
        }
    except (ScoringUnsupported, BackendError) as exc:
        return not_computed("perplexity", f"the model cannot score text: {exc}")
    return summarise("perplexity", values, reason="texts too short or too long to score")


def _unit(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float64)
    if array.size == 0:
        return array.reshape(0, 0)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.asarray(array / np.where(norms > 0, norms, 1.0))


class _Embedded:
    """Every narrative text of the batch embedded in one call."""

    def __init__(self, records: Sequence[PatientRecord], embedder: TextEmbedder):
        self.sentences = [sentences(r.summary) for r in records]
        texts = [r.summary for r in records] + [structured_description(r) for r in records]
        texts += [s for found in self.sentences for s in found]
        vectors = _unit(embedder.embed(texts))
        n = len(records)
        self.summaries, self.descriptions = vectors[:n], vectors[n : 2 * n]
        self.sentence_vectors: list[np.ndarray] = []
        offset = 2 * n
        for found in self.sentences:
            self.sentence_vectors.append(vectors[offset : offset + len(found)])
            offset += len(found)


def _coherence_metrics(
    records: Sequence[PatientRecord], embedded: _Embedded | None
) -> tuple[MetricSummary, MetricSummary]:
    if embedded is None:
        reason = "no embedding model configured" if records else "the batch has no records"
        return not_computed("coherence", reason), not_computed("narrative_alignment", reason)
    coherence: dict[str, float | None] = {}
    alignment: dict[str, float | None] = {}
    for i, record in enumerate(records):
        v = embedded.sentence_vectors[i]
        pairs = (v[:-1] * v[1:]).sum(axis=1) if len(v) >= 2 else np.array([])
        coherence[record.record_id] = float(pairs.mean()) if pairs.size else None
        alignment[record.record_id] = float(embedded.summaries[i] @ embedded.descriptions[i])
    return (
        summarise("coherence", coherence, reason="summaries of one sentence have no value"),
        summarise("narrative_alignment", alignment),
    )


def _validation_metrics(
    records: Sequence[PatientRecord], validations: Sequence[ValidationResult | None]
) -> tuple[MetricSummary, MetricSummary]:
    consistency: dict[str, float | None] = {}
    grounding: dict[str, float | None] = {}
    for record, result in zip(records, validations, strict=True):
        consistency[record.record_id] = grounding[record.record_id] = None
        if result is None:
            continue
        checked = result.rules_checked
        failed = {f.rule_id for f in result.failures if f.severity == "error"}
        items, verified = result.grounding.items, result.grounding.verified
        if checked:
            consistency[record.record_id] = max(0.0, 1.0 - len(failed) / checked)
        if items:
            grounding[record.record_id] = verified / items
    reason = "records without a stored validation result are not validated"
    return (
        summarise("consistency", consistency, reason=reason),
        summarise("grounding", grounding, reason=reason + " (or cite nothing)"),
    )


def _reconstruction_metric(
    records: Sequence[PatientRecord], device: str | None = None
) -> MetricSummary:
    if len(records) < MIN_AUTOENCODER_RECORDS:
        return not_computed(
            "reconstruction_error",
            f"needs at least {MIN_AUTOENCODER_RECORDS} records (the batch has {len(records)})",
        )
    import torch

    codes = drug_atc_codes()
    matrix = standardise([numeric_features(r, codes) for r in records])
    errors = reconstruction_errors(torch.tensor(matrix, dtype=torch.float32, device=device))
    values = {r.record_id: float(e) for r, e in zip(records, errors.cpu().tolist(), strict=True)}
    return summarise("reconstruction_error", values)


# --- batch-level: diversity, duplicates, privacy -------------------------------------------


def _diversity(
    records: Sequence[PatientRecord], embedded: _Embedded | None
) -> tuple[Diversity, list[tuple[int, int, float]]]:
    texts = [text for r in records for _, text in narrative_fields(r)]
    diversity = Diversity(
        definition=DEFINITIONS["diversity"],
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        distinct_3=distinct_n(texts, 3),
        coverage=coverage(records),
    )
    if len(records) < 2:
        diversity.reason = "needs at least 2 records"
        return diversity, []
    if embedded is None:
        diversity.reason = "no embedding model configured"
        return diversity, []
    mean, hist, near = pairwise_distances(embedded.summaries)
    diversity.mean_pairwise_distance, diversity.pairwise_distance_histogram = mean, hist
    return diversity, near


def _model_name(model: object | None) -> str | None:
    if model is None:
        return None
    name = getattr(model, "name", None) or getattr(getattr(model, "model_dir", None), "name", None)
    return str(name) if name else type(model).__name__


def build_report(
    records: Sequence[PatientRecord],
    validations: Sequence[ValidationResult | None],
    *,
    scorer: TextScorer | None,
    embedder: TextEmbedder | None,
    corpus_passages: Iterable[str] = (),
    examples: Iterable[str] = (),
    batch_id: str | None = None,
    requested: int | None = None,
    device: str | None = None,
) -> BatchReport:
    """The quality report of a batch (see the module docstring for each definition).

    ``validations[i]`` is the stored validation result of ``records[i]`` (None: not
    validated); ``device`` places the autoencoder (None: CPU).
    """
    if len(validations) != len(records):
        raise ValueError(
            f"{len(records)} records but {len(validations)} validation results: pass one "
            "(or None) per record"
        )
    ids = [r.record_id for r in records]
    if len(set(ids)) != len(ids):
        raise ValueError("record ids repeat in the batch: a report needs one entry per id")
    embedded = _Embedded(records, embedder) if embedder is not None and records else None
    coherence, alignment = _coherence_metrics(records, embedded)
    consistency, grounding = _validation_metrics(records, validations)
    diversity, near_pairs = _diversity(records, embedded)
    validated = sum(v is not None for v in validations)
    passed = sum(v is not None and v.passed for v in validations)
    return BatchReport(
        batch_id=batch_id,
        generated_at=datetime.now(UTC),
        scorer=_model_name(scorer),
        embedder=_model_name(embedder),
        counts=Counts(
            records=len(records),
            requested=requested,
            validated=validated,
            not_validated=len(records) - validated,
            passed=passed,
            failed=validated - passed,
            pass_rate=passed / validated if validated else None,
        ),
        record_ids=ids,
        metrics={
            "perplexity": _perplexity_metric(records, scorer),
            "coherence": coherence,
            "narrative_alignment": alignment,
            "consistency": consistency,
            "grounding": grounding,
            "reconstruction_error": _reconstruction_metric(records, device),
        },
        diversity=diversity,
        duplicates=find_duplicates(records, near_pairs, embedded is not None),
        privacy=privacy_findings(records, list(corpus_passages), list(examples)),
    )

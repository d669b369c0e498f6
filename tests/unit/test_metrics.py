"""Batch metrics on hand-built records with a deterministic scorer and embedder."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest
import torch

from models.base import TextScore
from models.fake import FakeModel
from service.quality.metrics import build_report, prompt_examples
from service.quality.outliers import numeric_features, reconstruction_errors
from service.quality.overlap import verbatim_run, words
from service.records import PatientRecord
from service.validation import ValidationResult
from tests.records import full_record_data

CORPUS = (
    "Local control of Ewing sarcoma is achieved by surgery, radiotherapy or both, and the "
    "choice depends on the site, the size of the tumour and the expected functional outcome."
)


class HashingEmbedder:
    """Bag of words hashed into 256 dimensions, unit length: same words, same vector."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        vectors = []
        for text in texts:
            v = [0.0] * 256
            for word in re.findall(r"\w+", text.lower()):
                v[int(hashlib.sha256(word.encode()).hexdigest(), 16) % 256] += 1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            vectors.append([x / norm for x in v])
        return vectors


class ConstantScorer:
    """Every token scores log-probability -1 (perplexity e); texts scored are kept."""

    name = "constant-scorer"

    def __init__(self) -> None:
        self.scored: list[str] = []

    def score(self, text: str) -> TextScore:
        self.scored.append(text)
        tokens = text.split()
        return TextScore(tokens=tokens, logprobs=[-1.0] * len(tokens))


def shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def variant(i: int, **top: Any) -> dict[str, Any]:
    """A record with its own identity, age, doses, dates and a two-sentence summary."""
    data = full_record_data()
    data["record_id"] = f"rec-{i:03d}"
    demo = data["demographics"]
    demo.update(
        given_name=f"Nombre{i}",
        phone=f"+34 600 000 {i:03d}",
        email=f"familia{i}@example.org",
        health_card_number=f"VLCA{i:08d}",
        medical_record_number=f"HC-{i:07d}",
    )
    data["diagnosis"]["age_at_diagnosis"] = 6 + i % 9
    for admin in data["chemotherapy"]:
        admin["dose"] = round(admin["dose"] * (1 + 0.03 * (i % 7)), 3)
        admin["date"] = shift(admin["date"], i % 5)
    data["radiotherapy"][0].update(dose=45.0 + i % 6, fractions=25 + i % 4)
    data["summary"] = (
        f"Patient number {i} was treated for sarcoma variant {i * 7}. "
        f"Follow-up note {i * 13} mentions marker {i * 31} and plan {i * 17}."
    )
    data.update(top)
    return data


def records_of(datas: Sequence[dict[str, Any]]) -> list[PatientRecord]:
    return [PatientRecord.model_validate(d) for d in datas]


def typed_validation(record: PatientRecord, stored: dict[str, Any]) -> ValidationResult:
    """A stored validation result written by hand, with the fields a test leaves out."""
    failures = [{"message": "m"} | f for f in stored.get("failures", [])]
    defaults = {"record_id": record.record_id, "validated_at": "2026-01-01T00:00:00Z"}
    return ValidationResult.model_validate(defaults | stored | {"failures": failures})


def report_of(datas, validations=None, **kwargs):
    records = records_of(datas)
    kwargs.setdefault("scorer", ConstantScorer())
    kwargs.setdefault("embedder", HashingEmbedder())
    typed = [
        None if v is None else typed_validation(r, v)
        for r, v in zip(records, validations or [None] * len(records), strict=True)
    ]
    return build_report(records, typed, **kwargs)


def test_exact_duplicates_ignore_identity_summary_and_provenance():
    datas = [variant(i) for i in range(4)]
    copy = variant(1, record_id="rec-copy", summary="A different text entirely, written anew.")
    copy["demographics"] = variant(99)["demographics"]
    copy["provenance"]["seed"] = 12345
    report = report_of([*datas, copy])
    assert [g.record_ids for g in report.duplicates.exact] == [["rec-001", "rec-copy"]]
    assert report.duplicates.exact[0].method == "clinical_content"
    # the exact pair is not reported again as a near duplicate
    assert all(set(g.record_ids) != {"rec-001", "rec-copy"} for g in report.duplicates.near)


def test_near_duplicates_by_summary_embedding_and_by_signature():
    datas = [variant(i) for i in range(5)]
    datas[3]["summary"] = datas[0]["summary"]  # same words, other clinical content
    moved = variant(2, record_id="rec-moved")  # same treatment, every date a week later
    moved["diagnosis"]["diagnosis_date"] = shift(moved["diagnosis"]["diagnosis_date"], 7)
    for admin in moved["chemotherapy"]:
        admin["date"] = shift(admin["date"], 7)
    report = report_of([*datas, moved])
    near = {(g.method, tuple(g.record_ids)) for g in report.duplicates.near}
    assert ("summary_embedding", ("rec-000", "rec-003")) in near
    assert report.duplicates.exact == []
    by_signature = [g for g in report.duplicates.near if g.method == "treatment_signature"]
    assert any({"rec-002", "rec-moved"} <= set(g.record_ids) for g in by_signature)
    embedding_group = next(g for g in report.duplicates.near if g.method == "summary_embedding")
    assert embedding_group.similarity == pytest.approx(1.0)


def test_the_outlier_has_the_highest_reconstruction_error():
    datas = [variant(i) for i in range(11)]
    outlier = datas[7]
    for admin in outlier["chemotherapy"]:
        admin["dose"] *= 15
    outlier["radiotherapy"][0].update(dose=180.0, fractions=2)
    outlier["diagnosis"]["age_at_diagnosis"] = 1
    metric = report_of(datas).metrics["reconstruction_error"]
    assert metric.computed and metric.count == 11
    assert max(metric.values, key=lambda k: metric.values[k] or 0) == "rec-007"
    others = [v for k, v in metric.values.items() if k != "rec-007"]
    assert metric.values["rec-007"] > 5 * max(others)  # type: ignore[operator]


def test_reconstruction_errors_are_reproducible_and_stay_on_the_tensor_device():
    features = torch.randn(9, 6, generator=torch.Generator().manual_seed(1))
    first, second = reconstruction_errors(features), reconstruction_errors(features)
    assert torch.equal(first, second)
    assert first.device == features.device and first.shape == (9,)


def test_perplexity_pools_the_narrative_fields_and_coherence_compares_sentences():
    data = variant(0, summary="The boy is well. The boy is well. The boy is well.")
    scorer = ConstantScorer()
    report = report_of([data, variant(1)], scorer=scorer)
    perplexity = report.metrics["perplexity"]
    assert perplexity.values["rec-000"] == pytest.approx(math.e)
    assert "Internal hemipelvectomy with wide resection" in scorer.scored  # surgery text too
    assert report.metrics["coherence"].values["rec-000"] == pytest.approx(1.0)
    assert report.scorer == "constant-scorer"
    assert report.metrics["narrative_alignment"].computed


def test_consistency_counts_failed_error_rules_and_unvalidated_records():
    def result(record_id: str, passed: bool, failures: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "record_id": record_id,
            "passed": passed,
            "rules_checked": 10,
            "failures": [
                {"rule_id": r, "severity": s, "message": "m", "fields": []} for r, s in failures
            ],
            "grounding": {"items": 8, "verified": 6},
            "validated_at": "2026-01-01T00:00:00Z",
        }

    datas = [variant(i) for i in range(3)]
    validations = [
        result("rec-000", True, [("dose.range", "warning")]),
        result("rec-001", False, [("dose.max", "error"), ("dose.max", "error")]),
        None,
    ]
    report = report_of(datas, validations)
    consistency = report.metrics["consistency"]
    assert consistency.values == {"rec-000": 1.0, "rec-001": 0.9, "rec-002": None}
    assert consistency.mean == pytest.approx(0.95)
    assert "not validated" in (consistency.reason or "")
    assert report.metrics["grounding"].values["rec-000"] == 0.75
    counts = report.counts
    assert (counts.validated, counts.not_validated, counts.passed, counts.failed) == (2, 1, 1, 1)
    assert counts.pass_rate == 0.5


def test_privacy_flags_copied_corpus_text_and_repeated_identifiers():
    datas = [variant(i) for i in range(3)]
    datas[0]["summary"] = "Boy aged 9. " + CORPUS
    datas[1]["summary"] = "Girl aged 7, local control by surgery, radiotherapy or both."  # short
    datas[2]["demographics"]["health_card_number"] = datas[1]["demographics"]["health_card_number"]
    privacy = report_of(datas, corpus_passages=["Page 3. " + CORPUS]).privacy
    copied = [f for f in privacy.findings if f.kind == "corpus_passage"]
    assert [(f.record_ids, f.field) for f in copied] == [(["rec-000"], "summary")]
    assert "local control of ewing sarcoma" in copied[0].detail
    repeated = [f for f in privacy.findings if f.kind == "repeated_identifier"]
    assert [(f.field, f.record_ids) for f in repeated] == [
        ("demographics.health_card_number", ["rec-001", "rec-002"])
    ]
    assert privacy.corpus_passages_checked == 1


def test_privacy_flags_a_copied_prompt_example():
    examples = prompt_examples()
    assert examples and all(e.startswith("{") for e in examples)
    data = variant(0)
    data["diagnosis"]["tumour"] = "Tumour name"  # the diagnosis template's placeholder
    privacy = report_of([data, variant(1)], examples=examples).privacy
    found = [f for f in privacy.findings if f.kind == "prompt_example"]
    assert [f.record_ids for f in found] == [["rec-000"]]
    assert "Tumour name" in found[0].detail


def test_verbatim_runs_need_twelve_words():
    source = words("one two three four five six seven eight nine ten eleven twelve thirteen")
    grams = {tuple(source[i : i + 12]) for i in range(len(source) - 11)}
    assert verbatim_run("x one two three four five six seven eight nine ten eleven", grams) is None
    run = verbatim_run(
        "One two three four five six seven eight nine ten eleven twelve thirteen!", grams
    )
    assert run is not None and len(run.split()) == 13


def test_missing_models_are_reported_as_not_computed_never_faked():
    datas = [variant(i) for i in range(4)]
    report = report_of(datas, scorer=None, embedder=None)
    for name in ("perplexity", "coherence", "narrative_alignment"):
        metric = report.metrics[name]
        assert not metric.computed and metric.mean is None and metric.values == {}
        assert "no " in (metric.reason or "")
    assert report.diversity.mean_pairwise_distance is None
    assert report.diversity.distinct_1 is not None  # needs no model
    assert not report.duplicates.embedding_checked
    unsupported = report_of(datas, scorer=FakeModel()).metrics["perplexity"]
    assert not unsupported.computed and "cannot score" in (unsupported.reason or "")


@pytest.mark.parametrize("size", [0, 1, 2])
def test_small_batches_do_not_crash_and_say_what_they_lack(size):
    report = report_of([variant(i) for i in range(size)])
    assert report.counts.records == size
    autoencoder = report.metrics["reconstruction_error"]
    assert not autoencoder.computed and "at least 4 records" in (autoencoder.reason or "")
    if size < 2:
        assert report.diversity.mean_pairwise_distance is None
        assert "at least 2" in (report.diversity.reason or "")
    else:
        assert report.diversity.mean_pairwise_distance is not None
    if size == 0:
        assert report.metrics["perplexity"].reason == "the batch has no records"


def test_diversity_coverage_and_distinct_ngrams():
    datas = [variant(i) for i in range(3)]
    datas[2]["summary"] = datas[1]["summary"]
    report = report_of(datas)
    coverage = report.diversity.coverage
    assert coverage.tumours == {"Ewing sarcoma": 3}
    assert coverage.regimens == {"doxorubicin + ifosfamide + vincristine": 3}
    assert coverage.radiotherapy_sites == {"pelvis": 3}
    assert coverage.tumour_vocabulary_share == pytest.approx(1 / coverage.tumour_vocabulary)
    assert 0 < report.diversity.distinct_3 < 1  # type: ignore[operator]
    assert report.diversity.mean_pairwise_distance > 0  # type: ignore[operator]


def test_numeric_features_of_the_full_record():
    features = numeric_features(PatientRecord.model_validate(full_record_data()))
    assert features["chemo_administrations"] == 5  # four first-line, one second-line
    assert features["cumulative_alkylating_mg_m2"] == 3000  # ifosfamide 3 g/m2
    assert features["cumulative_plant_alkaloid_mg_m2"] == 1.5 + 1.5 + 50  # VCR x2, irinotecan
    assert features["rt_total_dose_gy"] == pytest.approx(50.4 + 5.4)
    assert features["days_to_first_treatment"] == 7
    assert features["relapse"] == 1 and features["transplants"] == 1


def test_validations_must_match_records():
    records = records_of([variant(0)])
    with pytest.raises(ValueError, match="1 records but 2 validation results"):
        build_report(records, [None, None], scorer=None, embedder=None)
    twice = records_of([variant(0), variant(0)])
    with pytest.raises(ValueError, match="record ids repeat"):
        build_report(twice, [None, None], scorer=None, embedder=None)

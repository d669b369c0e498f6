"""The batch quality report as data: per-record metrics, counts, diversity, duplicates,
privacy findings. ``service.quality.metrics`` computes it, ``service.quality.report``
stores it with its batch and ``service.quality.html`` renders it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Histogram(BaseModel):
    """``counts[i]`` values fell in ``[edges[i], edges[i + 1])`` (the last bin is closed)."""

    edges: list[float]
    counts: list[int]


class MetricSummary(BaseModel):
    """One per-record metric over the batch; ``values`` maps record id to its value."""

    name: str
    definition: str
    reference: str | None = Field(None, description="What published work reported")
    computed: bool
    reason: str | None = Field(None, description="Why it is not computed, or has gaps")
    count: int = Field(0, description="Records with a value")
    mean: float | None = None
    median: float | None = None
    p5: float | None = None
    p95: float | None = None
    min: float | None = None
    max: float | None = None
    histogram: Histogram | None = None
    values: dict[str, float | None] = Field(default_factory=dict)


class Counts(BaseModel):
    records: int
    requested: int | None = Field(None, description="The batch's total, when known")
    validated: int
    not_validated: int
    passed: int
    failed: int
    pass_rate: float | None = Field(None, description="passed / validated")


class Coverage(BaseModel):
    tumours: dict[str, int] = Field(default_factory=dict)
    morphology_codes: int = 0
    tumour_vocabulary: int = Field(0, description="Morphology codes in knowledge/vocab")
    tumour_vocabulary_share: float | None = None
    regimens: dict[str, int] = Field(default_factory=dict, description="First-line drug sets")
    radiotherapy_sites: dict[str, int] = Field(default_factory=dict)
    risk_groups: dict[str, int] = Field(
        default_factory=dict, description="Records by risk group ('none': the guideline names none)"
    )
    sites: dict[str, int] = Field(default_factory=dict, description="Primary tumour sites")
    ages_at_diagnosis: dict[str, int] = Field(default_factory=dict, description="Years")


class Diversity(BaseModel):
    definition: str
    mean_pairwise_distance: float | None = None
    pairwise_distance_histogram: Histogram | None = None
    reason: str | None = None
    distinct_1: float | None = None
    distinct_2: float | None = None
    distinct_3: float | None = None
    coverage: Coverage = Field(default_factory=Coverage)


class DuplicateGroup(BaseModel):
    method: Literal["clinical_content", "summary_embedding", "treatment_signature"]
    record_ids: list[str]
    similarity: float | None = Field(None, description="Lowest cosine linking the group")


class Duplicates(BaseModel):
    definition: str
    exact: list[DuplicateGroup] = Field(default_factory=list)
    near: list[DuplicateGroup] = Field(default_factory=list)
    embedding_checked: bool = False


class PrivacyFinding(BaseModel):
    kind: Literal["repeated_identifier", "corpus_passage", "prompt_example"]
    record_ids: list[str]
    field: str
    detail: str


class Privacy(BaseModel):
    definition: str
    corpus_passages_checked: int = 0
    examples_checked: int = 0
    findings: list[PrivacyFinding] = Field(default_factory=list)


class BatchReport(BaseModel):
    batch_id: str | None
    generated_at: datetime
    scorer: str | None = Field(None, description="Model that scored perplexity")
    embedder: str | None = Field(None, description="Model that embedded the narratives")
    counts: Counts
    record_ids: list[str] = Field(default_factory=list, description="In batch order")
    metrics: dict[str, MetricSummary]
    diversity: Diversity
    duplicates: Duplicates
    privacy: Privacy

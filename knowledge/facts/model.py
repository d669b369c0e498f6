"""A fact: one treatment or diagnosis statement of a guideline page, cited verbatim."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

FactKind = Literal[
    "tumour_mention", "regimen", "drug_dose", "radiotherapy", "surgery", "transplant", "supportive"
]
FACT_KINDS: tuple[str, ...] = (
    "tumour_mention",
    "regimen",
    "drug_dose",
    "radiotherapy",
    "surgery",
    "transplant",
    "supportive",
)
TREATMENT_KINDS = ("regimen", "drug_dose", "radiotherapy", "surgery", "transplant", "supportive")


@dataclass(frozen=True)
class Fact:
    """``quote`` is exactly ``page_text[start:end]`` of page ``page`` (1-based)."""

    kind: FactKind
    page: int
    start: int
    end: int
    quote: str
    fields: dict[str, Any] = field(default_factory=dict)
    document_id: str = ""

    def key(self) -> str:
        """A stable id: the same fact of the same document always gets the same id."""
        text = json.dumps(
            [self.document_id, self.kind, self.page, self.start, self.end, self.fields],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.key(),
            "document_id": self.document_id,
            "kind": self.kind,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "fields": self.fields,
        }

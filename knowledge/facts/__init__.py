"""The fact index: treatment and diagnosis facts of guideline pages, each with its
document, page, exact span and verbatim quote (``quote == page_text[start:end]``)."""

from knowledge.facts.extract import extract_page, for_document
from knowledge.facts.model import FACT_KINDS, TREATMENT_KINDS, Fact, FactKind

__all__ = ["FACT_KINDS", "TREATMENT_KINDS", "Fact", "FactKind", "extract_page", "for_document"]

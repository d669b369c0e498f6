"""The fact index over HTTP: a document's facts and the corpus coverage per tumour."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from knowledge.facts.store import FactIndex
from service.api.deps import ServicesDep, require

facts_router = APIRouter(tags=["knowledge"])

KindParam = Literal[
    "tumour_mention", "regimen", "drug_dose", "radiotherapy", "surgery", "transplant", "supportive"
]


class FactOut(BaseModel):
    id: str
    document_id: str
    kind: KindParam
    page: int = Field(ge=1, description="1-based page number")
    start: int = Field(ge=0, description="Offset of the quote in the page's exact text")
    end: int = Field(ge=0)
    quote: str = Field(description="Exactly the page text [start, end)")
    fields: dict[str, Any] = Field(description="The kind's fields (drug, dose, unit, ...)")


class BlockCoverage(BaseModel):
    facts: int
    documents: dict[str, int] = Field(description="Facts per document id")


class TumourCoverage(BaseModel):
    code: str
    term: str | None
    names: list[str] = Field(description="How the documents name it")
    documents: list[str]
    blocks: dict[str, BlockCoverage]
    supported: list[str] = Field(description="Record blocks with at least one fact")


@facts_router.get("/v1/documents/{document_id}/facts", dependencies=[require("read")])
def document_facts(
    document_id: str, services: ServicesDep, kind: KindParam | None = None
) -> list[FactOut]:
    registry = services.knowledge_store().registry
    if registry.get(document_id) is None:
        raise HTTPException(status_code=404, detail=f"no document with id {document_id!r}")
    facts = FactIndex(registry.engine).facts(document_id=document_id, kinds=[kind] if kind else ())
    return [FactOut(**fact.as_json()) for fact in facts]


@facts_router.get("/v1/knowledge/coverage", dependencies=[require("read")])
def knowledge_coverage(services: ServicesDep) -> list[TumourCoverage]:
    registry = services.knowledge_store().registry
    return [TumourCoverage(**entry) for entry in FactIndex(registry.engine).coverage()]

"""A record's provenance: what it was made from and how (model, prompts, passages, seed,
tokens, timings), and the request as it was understood, which a rule checks the record
against. Re-exported by ``service.records``, whose ``PatientRecord`` carries it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PromptRef(BaseModel):
    id: str
    version: int


class BlockTiming(BaseModel):
    block: str
    seconds: float = Field(ge=0, description="Wall-clock: retrieval, model calls and building")


class ChunkRef(BaseModel):
    chunk_id: str
    document: str
    document_sha256: str


class RequestedRecord(BaseModel):
    """The request as it was understood, whether from a prompt or from fields: what the
    record must hold (a rule checks every stored record against it)."""

    model_config = ConfigDict(extra="forbid")

    blocks: list[str] = Field(description="Treatment blocks asked for, each required")
    age: int | None = Field(None, description="Age at diagnosis asked for")
    age_now: int | None = Field(None, description='Age today asked for ("18, had it at 13")')
    sex: Literal["female", "male"] | None = None  # service.records.Sex
    diagnosis: str | None = Field(None, description="The tumour or tumour group asked for")
    diagnosis_codes: list[str] = Field(
        default_factory=list, description="ICD-O-3 morphologies that satisfy it"
    )
    metastatic: bool | None = None
    relapse: bool | None = None
    second_tumour: str | None = None
    second_tumour_codes: list[str] = Field(default_factory=list)
    second_tumour_blocks: list[str] | None = Field(
        None,
        description="Treatment blocks asked for the second tumour, each required; none named "
        "(and records made before it was kept): null, the second tumour then follows the "
        "first tumour's kinds of treatment where its evidence allows",
    )
    shunt: bool | None = Field(
        None, description="A CSF diversion (shunt) asked for (true) or refused (false)"
    )
    triple_intrathecal: bool | None = Field(
        None, description="Triple intrathecal therapy asked for (true) or refused (false)"
    )
    brachytherapy: bool | None = Field(
        None, description="A brachytherapy course asked for (true) or refused (false)"
    )
    metabolic_therapy: bool | None = Field(
        None, description="Metabolic (radionuclide) therapy asked for (true) or refused (false)"
    )
    genetic_conditions: list[str] = Field(
        default_factory=list, description="Predisposition syndromes asked for (English names)"
    )
    # service.records.RiskGroup (records imports this module)
    risk_group: Literal["low", "standard", "intermediate", "high"] | None = Field(
        None, description="The protocol risk group asked for (null: none asked)"
    )
    from_fields: list[str] = Field(
        default_factory=list, description="What explicit fields set, over the prompt"
    )


class Provenance(BaseModel):
    """Everything needed to reproduce and audit the record."""

    generator: str
    backend: str
    model: str
    model_sha256: str | None
    prompts: list[PromptRef]
    chunks: list[ChunkRef]
    seed: int
    request: str
    reference_date: date
    language: str
    locale: str | None = Field(
        None,
        description="Faker locale of the invented identity (records made before it was kept "
        "have none)",
    )
    prompt_tokens: int
    completion_tokens: int
    # Measured, so they differ between two runs of the same seed; nothing else does.
    model_seconds: float | None = Field(None, ge=0, description="Seconds spent in the model")
    block_timings: list[BlockTiming] = Field(
        default_factory=list, description="Seconds per block, in generation order"
    )
    parsed_request: RequestedRecord | None = Field(
        None, description="The request as parsed (records made before it was kept have none)"
    )

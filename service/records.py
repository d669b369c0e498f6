"""The synthetic patient record.

Blocks follow ../shared/docs/mission.md. Demographics and diagnosis are always present;
treatment blocks are lists that may be empty. Every clinical item carries citations to
chunks retrieved for this record. Later blocks (surgery, HSCT, others, course) are added
as further optional lists without changing these.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from knowledge.evidence import DoseUnit

Sex = Literal["female", "male"]


class Citation(BaseModel):
    """Where a clinical item comes from: a passage on one page of one guideline PDF."""

    chunk_id: str
    document: str = Field(description="File name of the cited PDF")
    page: int = Field(ge=1, description="1-based page number")
    quote: str = Field(min_length=1, description="Text found on that page")


class ClinicalItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    citations: list[Citation] = Field(min_length=1)


class Demographics(BaseModel):
    """Invented identity: every value comes from a seeded Faker, never from the LLM."""

    model_config = ConfigDict(extra="forbid")

    given_name: str
    first_surname: str
    second_surname: str
    birth_date: date
    sex: Sex
    phone: str
    email: str
    email_owner: Literal["patient", "parent"]
    health_card_number: str = Field(description="SIP-style regional health-card number")
    medical_record_number: str


class Diagnosis(ClinicalItem):
    tumour: str
    icdo3_morphology: str = Field(pattern=r"^\d{4}/\d$")
    icdo3_topography: str | None = Field(None, pattern=r"^C\d{2}\.\d$")
    site: str
    diagnosis_date: date
    age_at_diagnosis: int = Field(ge=0, le=25)
    metastatic: bool
    metastasis_sites: list[str] = Field(default_factory=list)


class ChemotherapyAdministration(ClinicalItem):
    date: date
    cycle: int = Field(ge=1)
    drug: str
    atc: str | None = None
    dose: float = Field(gt=0)
    unit: DoseUnit


class RadiotherapyCourse(ClinicalItem):
    start_date: date
    site: str
    dose: float = Field(gt=0)
    unit: Literal["Gy"] = "Gy"
    fractions: int = Field(ge=1)


class PromptRef(BaseModel):
    id: str
    version: int


class ChunkRef(BaseModel):
    chunk_id: str
    document: str
    document_sha256: str


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
    prompt_tokens: int
    completion_tokens: int


class PatientRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: str
    summary: str
    demographics: Demographics
    diagnosis: Diagnosis
    chemotherapy: list[ChemotherapyAdministration] = Field(default_factory=list)
    radiotherapy: list[RadiotherapyCourse] = Field(default_factory=list)
    provenance: Provenance

    def citations(self) -> list[Citation]:
        items: list[ClinicalItem] = [self.diagnosis, *self.chemotherapy, *self.radiotherapy]
        return [c for item in items for c in item.citations]

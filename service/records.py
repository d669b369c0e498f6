"""The synthetic patient record.

Blocks follow ../shared/docs/mission.md. Demographics and diagnosis are always present;
treatment blocks are lists that may be empty (a treatment may repeat), and the single
blocks (intrathecal therapy, others, relapse, second tumour) are ``None`` when absent.
Every clinical item (``ClinicalItem``: a drug and dose, a radiotherapy dose, a code, a
procedure) carries citations to chunks retrieved for this record; the "others" block
(catheter, transfusions, fertility preservation, intoxications) may cite when it can.
"""

from __future__ import annotations

from datetime import date
from datetime import date as Day  # for fields declared after a field named `date`
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge.evidence import DoseUnit
from service.provenance import BlockTiming as BlockTiming
from service.provenance import ChunkRef as ChunkRef
from service.provenance import PromptRef as PromptRef
from service.provenance import Provenance as Provenance
from service.provenance import RequestedRecord as RequestedRecord

Sex = Literal["female", "male"]
BloodGroup = Literal["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]
RiskGroup = Literal["low", "standard", "intermediate", "high"]  # knowledge.risk.RISK_GROUPS
RadiotherapyTechnique = Literal["external_beam", "proton", "tbi", "brachytherapy", "metabolic"]


CODE_SOURCE = "ICD-O-3 (WHO, 3rd ed., 1st rev.) via clinsynth knowledge/vocab/icdo3_*.csv"


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
    prosthesis_placed: bool = False
    prosthesis_still_present: bool | None = Field(
        None, description="Only meaningful when a prosthesis was placed"
    )
    genetic_conditions: list[str] = Field(
        default_factory=list, description="Cancer predisposition syndromes, e.g. Li-Fraumeni"
    )
    risk_group: RiskGroup | None = Field(
        None,
        description="The protocol risk group the treatment is for, where the guideline's "
        "regimens or radiotherapy are stratified by one; cited to the passage or heading "
        "naming it",
    )
    code_source: str = Field(
        CODE_SOURCE,
        description="Where the ICD-O-3 codes come from: the vocabulary, not the guideline "
        "(whose cited passages name the tumour and its site)",
    )


class ChemotherapyAdministration(ClinicalItem):
    date: date
    cycle: int = Field(ge=1)
    drug: str
    atc: str | None = None
    dose: float = Field(gt=0)
    unit: DoseUnit


class IntrathecalTherapy(ClinicalItem):
    """Intrathecal chemotherapy over the course (e.g. triple intrathecal therapy)."""

    start_date: date
    injections: int = Field(ge=1)
    drugs: list[str] = Field(min_length=1)


class RadiotherapyBoost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str
    dose: float = Field(gt=0)
    unit: Literal["Gy"] = "Gy"


class Brachytherapy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="Isotope, e.g. Ir-192")
    applicator: str | None = None
    dose_rate: Literal["LDR", "HDR", "PDR"] | None = None


class MetabolicTherapy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    radiopharmaceutical: str = Field(description="e.g. 131I-MIBG")
    activity: float = Field(gt=0)
    activity_unit: Literal["MBq", "GBq", "mCi", "MBq/kg", "mCi/kg"]


class RadiotherapyCourse(ClinicalItem):
    """A course of radiotherapy. Metabolic (radionuclide) therapy is dosed by the activity
    given (``metabolic``), which guidelines state instead of a dose in Gy: its ``dose`` may be
    None and its ``fractions`` count administrations."""

    start_date: date
    site: str
    dose: float | None = Field(
        gt=0, description="Total dose in Gy; none for metabolic therapy dosed by its activity"
    )
    unit: Literal["Gy"] = "Gy"
    fractions: int = Field(ge=1, description="Fractions (administrations of metabolic therapy)")
    technique: RadiotherapyTechnique = "external_beam"
    boost: RadiotherapyBoost | None = None
    shielding_block_site: str | None = None
    brachytherapy: Brachytherapy | None = None
    metabolic: MetabolicTherapy | None = None

    def given(self) -> str:
        """What the course gives: "21.6 Gy in 12 fractions", or a metabolic therapy's
        activity ("131I-MIBG 18 mCi/kg in 1 administration")."""
        if self.dose is None and self.metabolic is not None:
            m = self.metabolic
            times = "administration" if self.fractions == 1 else "administrations"
            activity = f"{m.radiopharmaceutical} {m.activity:g} {m.activity_unit}"
            return f"{activity} in {self.fractions} {times}"
        return f"{self.dose:g} Gy in {self.fractions} fractions"

    @model_validator(mode="after")
    def _dosed(self) -> RadiotherapyCourse:
        if self.dose is None and (self.technique != "metabolic" or self.metabolic is None):
            raise ValueError(
                "dose (Gy) is required, except for metabolic therapy that gives its "
                "administered activity (technique 'metabolic' with 'metabolic')"
            )
        return self


class Shunt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="e.g. ventriculoperitoneal shunt")
    still_present: bool


class Surgery(ClinicalItem):
    date: date
    description: str
    organs_affected: list[str] = Field(default_factory=list)
    organs_removed: list[str] = Field(default_factory=list)
    amputation: bool = False
    shunt: Shunt | None = None


class Donor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["matched_sibling", "matched_unrelated", "mismatched_unrelated", "haploidentical"]
    relationship: str | None = Field(None, description="e.g. sister, father; none if unrelated")


class GraftVersusHost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: Literal["acute", "chronic"]
    grade: int = Field(ge=1, le=4)
    organs: list[str] = Field(default_factory=list)


class StemCellTransplant(ClinicalItem):
    date: date
    type: Literal["autologous", "allogeneic"]
    cell_source: Literal["bone_marrow", "peripheral_blood", "cord_blood"]
    blood_group_before: BloodGroup | None = None
    blood_group_after: BloodGroup | None = None
    donor: Donor | None = None
    donor_blood_group: BloodGroup | None = None
    gvhd: list[GraftVersusHost] = Field(default_factory=list)
    immunosuppression: list[str] = Field(default_factory=list)
    conditioning: str | None = Field(
        None,
        description="Conditioning regimen (e.g. BuMel); its dosed drugs are chemotherapy "
        "items and total body irradiation a radiotherapy course",
    )


class Intoxication(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    agent: str
    resolved: bool
    resolution_date: Day | None = None


class CentralVenousCatheter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="e.g. implanted port, Hickman")
    placed_date: date
    still_present: bool
    complications: list[str] = Field(default_factory=list)


class FertilityPreservation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    done: bool
    method: str | None = Field(None, description="e.g. sperm cryopreservation")
    storage_site: str | None = None


class Transfusions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: bool
    more_than_10: bool = False


class Others(BaseModel):
    """Supportive care and complications; cites guidance where it rests on a passage."""

    model_config = ConfigDict(extra="forbid")

    intoxications: list[Intoxication] = Field(default_factory=list)
    central_venous_catheter: CentralVenousCatheter | None = None
    fertility_preservation: FertilityPreservation | None = None
    transfusions: Transfusions | None = None
    citations: list[Citation] = Field(default_factory=list)


class Relapse(ClinicalItem):
    """Relapse after first-line treatment and the second-line treatment given."""

    date: date
    site: str
    second_line_regimen: str | None = Field(
        None, description="The second-line treatment as the guideline names it"
    )
    second_line: list[ChemotherapyAdministration] = Field(default_factory=list)
    second_line_radiotherapy: list[RadiotherapyCourse] = Field(default_factory=list)


class SecondTumour(BaseModel):
    """A second malignancy, with its own diagnosis and treatments."""

    model_config = ConfigDict(extra="forbid")

    diagnosis: Diagnosis
    chemotherapy: list[ChemotherapyAdministration] = Field(default_factory=list)
    radiotherapy: list[RadiotherapyCourse] = Field(default_factory=list)
    surgery: list[Surgery] = Field(default_factory=list)


class BodyMeasures(BaseModel):
    """Weight and height at diagnosis: what turns per-kg and flat doses into doses per m²."""

    model_config = ConfigDict(extra="forbid")

    weight_kg: float = Field(gt=0, le=250)
    height_cm: float = Field(gt=30, le=230)

    @property
    def bsa_m2(self) -> float:
        """Body surface area by Mosteller: sqrt(height cm x weight kg / 3600)."""
        return round((self.height_cm * self.weight_kg / 3600) ** 0.5, 3)


TIMINGS = frozenset({"model_seconds", "block_timings"})


class PatientRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: str
    summary: str
    demographics: Demographics
    diagnosis: Diagnosis
    chemotherapy: list[ChemotherapyAdministration] = Field(default_factory=list)
    intrathecal: IntrathecalTherapy | None = None
    corticosteroids_over_4_weeks: bool | None = None
    radiotherapy: list[RadiotherapyCourse] = Field(default_factory=list)
    surgery: list[Surgery] = Field(default_factory=list)
    hsct: list[StemCellTransplant] = Field(default_factory=list)
    others: Others | None = None
    relapse: Relapse | None = None
    second_tumour: SecondTumour | None = None
    measures_at_diagnosis: BodyMeasures | None = Field(
        None,
        description="Weight and height at diagnosis (seeded); records made before they were "
        "kept have none, and exports derive the same values from the record id",
    )
    provenance: Provenance

    def reproducible(self) -> dict[str, Any]:
        """The record as JSON without its measured timings: equal for equal seeds."""
        return self.model_dump(mode="json", exclude={"provenance": set(TIMINGS)})

    def clinical_items(self) -> list[ClinicalItem]:
        """Every cited item of the record, in record order (second tumour last)."""
        items: list[ClinicalItem] = [self.diagnosis, *self.chemotherapy]
        if self.intrathecal:
            items.append(self.intrathecal)
        items += [*self.radiotherapy, *self.surgery, *self.hsct]
        if self.relapse:
            items += [
                self.relapse,
                *self.relapse.second_line,
                *self.relapse.second_line_radiotherapy,
            ]
        if self.second_tumour:
            second = self.second_tumour
            items += [second.diagnosis, *second.chemotherapy, *second.radiotherapy, *second.surgery]
        return items

    def citations(self) -> list[Citation]:
        cited = [c for item in self.clinical_items() for c in item.citations]
        return cited + (self.others.citations if self.others else [])

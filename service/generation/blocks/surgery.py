"""Surgery: a procedure named by the tumour's own guideline (local control, or the biopsy
that made the diagnosis), fitting the tumour's site and metastases. The model chooses
between procedures; code fills the organs, the amputation flag and the prosthesis."""

from __future__ import annotations

from datetime import date

from knowledge.care_facts import ProcedureFact, care_facts
from knowledge.evidence import build_evidence_sheet
from service.generation.blocks.base import Agent, GenerationError, Patient, as_object, unique_by
from service.generation.constraints import EvidenceLabels, choice, const, object_schema
from service.records import Diagnosis, Surgery
from service.requests import RequestError

PROSTHESIS_KEPT = 0.9  # a prosthesis is sometimes removed (infection, loosening, fracture)
_LIMBS = {
    "C40.0": "upper limb",
    "C40.1": "upper limb",
    "C40.2": "lower limb",
    "C40.3": "lower limb",
}


def fits(fact: ProcedureFact, diagnosis: Diagnosis) -> bool:
    topography = diagnosis.icdo3_topography  # None: a site the guideline gave no code for
    if (
        topography
        and fact.topography
        and not any(topography.startswith(t) for t in fact.topography)
    ):
        return False
    return not fact.requires_metastasis or fact.requires_metastasis in diagnosis.metastasis_sites


def surgery_block(
    agent: Agent, patient: Patient, diagnosis: Diagnosis, anchor: str, *, required: bool
) -> ProcedureFact | None:
    """The chosen procedure; None when none fits and surgery was not asked for outright."""
    where = agent.protocol(anchor)
    tumour = diagnosis.tumour
    queries = (
        f"{tumour} surgery: resection, limb salvage, amputation, biopsy",
        f"{tumour} local control: wide surgical resection of the primary tumour",
        f"{tumour}: the diagnosis is made on a biopsy",
    )
    chunks = agent.retrieve_until(
        queries,
        lambda found: any(fits(f, diagnosis) for f in care_facts(found).procedures),
        where,
    )
    facts = unique_by(
        [f for f in care_facts(chunks).procedures if fits(f, diagnosis)], lambda f: f.procedure
    )
    if not facts:
        if required:
            raise RequestError(
                f"surgery was asked for, but no retrieved passage of the {tumour} guideline "
                f"names a procedure for a tumour of the {diagnosis.site}"
            )
        return None
    if len(facts) == 1:
        return facts[0]
    labels = EvidenceLabels(build_evidence_sheet(chunks))
    options = agent.shuffled(facts)
    answer = agent.ask(
        "surgery",
        object_schema(
            {
                "surgery": choice(
                    [
                        object_schema(
                            {"procedure": const(f.procedure), "source": const(labels(f.chunk_id))}
                        )
                        for f in options
                    ]
                )
            }
        ),
        procedures="\n".join(f"- {f.procedure} (source {labels(f.chunk_id)})" for f in options),
        patient=f"{patient.describe()}; {tumour} of the {diagnosis.site}"
        + (
            f", metastases: {', '.join(diagnosis.metastasis_sites)}" if diagnosis.metastatic else ""
        ),
    )
    chosen = as_object(answer.get("surgery"))
    for fact in options:
        if fact.procedure == chosen.get("procedure"):
            return fact
    raise GenerationError(f"surgery not in the evidence: {answer.get('surgery')!r}")


def surgery_item(agent: Agent, fact: ProcedureFact, diagnosis: Diagnosis, day: date) -> Surgery:
    site = diagnosis.site
    limb = _LIMBS.get(diagnosis.icdo3_topography or "", site)
    removed = {"site": [site], "limb": [limb], "": []}.get(fact.removes, [fact.removes])
    affected = ["lung"] if fact.requires_metastasis == "lung" else [site]
    return Surgery(
        date=day,
        description=fact.procedure,
        organs_affected=affected,
        organs_removed=removed,
        amputation=fact.amputation,
        citations=[agent.cite(fact)],
    )


def with_prosthesis(agent: Agent, diagnosis: Diagnosis, fact: ProcedureFact) -> Diagnosis:
    """The diagnosis block records a prosthesis the chosen procedure placed."""
    if not fact.prosthesis:
        return diagnosis
    return diagnosis.model_copy(
        update={
            "prosthesis_placed": True,
            "prosthesis_still_present": agent.rng.random() < PROSTHESIS_KEPT,
        }
    )

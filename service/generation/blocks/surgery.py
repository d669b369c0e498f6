"""Surgery: a procedure named by the tumour's own guideline (local control, or the biopsy
that made the diagnosis), fitting the tumour's site and metastases. The model chooses
between procedures; code fills the organs, the amputation flag and the prosthesis.

A CSF diversion (shunt, ventriculostomy, drain) is a second item, dated before the
tumour's resection: always when asked for (or the request fails), never when refused, and
otherwise with ``SHUNT_WHEN_NAMED`` odds where the passages retrieved for the tumour's
surgery name one for its site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from knowledge.care_facts import ProcedureFact, care_facts
from knowledge.chunks import RetrievedChunk
from knowledge.evidence import build_evidence_sheet
from service.generation.blocks.base import Agent, GenerationError, Patient, as_object, unique_by
from service.generation.completeness import coverage_note
from service.generation.constraints import EvidenceLabels, choice, const, object_schema
from service.records import Diagnosis, Shunt, Surgery
from service.requests import RequestError

PROSTHESIS_KEPT = 0.9  # a prosthesis is sometimes removed (infection, loosening, fracture)
# An implanted shunt stays in most children; some are removed once no longer needed
# (Riva-Cambrin et al., J Neurosurg Pediatr 2009: ~20-40% of posterior fossa tumours need
# permanent CSF diversion, a minority are later weaned).
SHUNT_KEPT = 0.85
SHUNT_WHEN_NAMED = 0.3  # not asked for: how often a named CSF diversion is done
RESECTION_AFTER_SHUNT = (1, 4)  # days from the CSF diversion to the tumour's resection
SHUNTS = "ventriculoperitoneal shunt, endoscopic third ventriculostomy, external ventricular drain"


@dataclass(frozen=True)
class SurgeryPlan:
    procedure: ProcedureFact | None  # the tumour's procedure
    shunt: ProcedureFact | None = None  # a CSF diversion before it

    @property
    def timing(self) -> str | None:
        if self.procedure is not None:
            return self.procedure.timing
        return "diagnosis" if self.shunt is not None else None

    def with_prosthesis(self, agent: Agent, diagnosis: Diagnosis) -> Diagnosis:
        return with_prosthesis(agent, diagnosis, self.procedure)


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
    agent: Agent,
    patient: Patient,
    diagnosis: Diagnosis,
    anchor: str,
    required: bool,
    shunt: bool | None = False,
) -> SurgeryPlan:
    """The chosen procedure (None when none fits and surgery was not asked for outright)
    and a CSF diversion: ``shunt`` True asked for, False refused, None as the evidence has
    it."""
    where = agent.protocol(anchor)
    tumour = diagnosis.tumour
    queries = (
        f"{tumour} surgery: resection, limb salvage, amputation, biopsy",
        f"{tumour} local control: wide surgical resection of the primary tumour",
        f"{tumour}: the diagnosis is made on a biopsy",
    )
    chunks = agent.retrieve_until(
        queries,
        lambda found: any(_tumour_surgery(f, diagnosis) for f in care_facts(found).procedures),
        where,
    )
    diversion = _shunt(agent, diagnosis, where, chunks, shunt)
    return SurgeryPlan(_procedure(agent, patient, diagnosis, chunks, required), diversion)


def _tumour_surgery(fact: ProcedureFact, diagnosis: Diagnosis) -> bool:
    return not fact.shunt and fits(fact, diagnosis)


def _shunt(
    agent: Agent,
    diagnosis: Diagnosis,
    where: dict[str, Any],
    chunks: list[RetrievedChunk],
    asked: bool | None,
) -> ProcedureFact | None:
    def named(found: list[RetrievedChunk]) -> list[ProcedureFact]:
        return [f for f in care_facts(found).procedures if f.shunt and fits(f, diagnosis)]

    if asked is False:
        return None
    facts = named(chunks)
    if asked and not facts:
        query = f"{diagnosis.tumour} hydrocephalus: CSF diversion, {SHUNTS}"
        facts = named(agent.retrieve_until((query,), lambda found: bool(named(found)), where))
        if not facts:
            raise RequestError(
                f"a shunt was asked for, but no retrieved passage of the {diagnosis.tumour} "
                f"guideline names a CSF diversion ({SHUNTS}) for a tumour of the "
                f"{diagnosis.site}; {coverage_note(agent.store, diagnosis)}"
            )
    if not facts or (not asked and agent.rng.random() >= SHUNT_WHEN_NAMED):
        return None
    return agent.shuffled(unique_by(facts, lambda f: f.procedure))[0]


def _procedure(
    agent: Agent,
    patient: Patient,
    diagnosis: Diagnosis,
    chunks: list[RetrievedChunk],
    required: bool,
) -> ProcedureFact | None:
    tumour = diagnosis.tumour
    facts = unique_by(
        [f for f in care_facts(chunks).procedures if _tumour_surgery(f, diagnosis)],
        lambda f: f.procedure,
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


def surgery_items(
    agent: Agent, plan: SurgeryPlan, diagnosis: Diagnosis, day: date
) -> list[Surgery]:
    """The CSF diversion first, the tumour's procedure after it (moved a few days on when
    both would fall on the same day)."""
    items = []
    if plan.shunt is not None:
        items.append(shunt_item(agent, plan.shunt, diagnosis, day))
    if plan.procedure is not None:
        if plan.shunt is not None:
            low, high = RESECTION_AFTER_SHUNT
            day += timedelta(days=agent.rng.randint(low, high))
        items.append(surgery_item(agent, plan.procedure, diagnosis, day))
    return items


def shunt_item(agent: Agent, fact: ProcedureFact, diagnosis: Diagnosis, day: date) -> Surgery:
    """A drain is removed, a ventriculostomy has no device to remove, a shunt mostly stays."""
    kept = {"temporary": False, "endoscopic": True}.get(fact.shunt, agent.rng.random() < SHUNT_KEPT)
    return Surgery(
        date=day,
        description=fact.procedure,
        organs_affected=[diagnosis.site],
        shunt=Shunt(type=fact.procedure, still_present=kept),
        citations=[agent.cite(fact)],
    )


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


def with_prosthesis(agent: Agent, diagnosis: Diagnosis, fact: ProcedureFact | None) -> Diagnosis:
    """The diagnosis block records a prosthesis the chosen procedure placed."""
    if fact is None or not fact.prosthesis:
        return diagnosis
    return diagnosis.model_copy(
        update={
            "prosthesis_placed": True,
            "prosthesis_still_present": agent.rng.random() < PROSTHESIS_KEPT,
        }
    )

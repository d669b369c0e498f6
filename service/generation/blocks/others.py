"""The "others" block: central venous catheter, fertility preservation, transfusions and
intoxications. Each is drawn by seeded code from the supportive-care facts of the retrieved
passages (no model call: there is nothing here for a model to choose that code cannot), and
the block cites the sentences it rests on."""

from __future__ import annotations

from datetime import timedelta

from knowledge.care_facts import CareFact, care_facts
from knowledge.evidence import Fact
from service.generation.blocks.base import Agent, Patient, unique_by
from service.generation.blocks.timeline import CATHETER, days
from service.records import (
    CentralVenousCatheter,
    ChemotherapyAdministration,
    FertilityPreservation,
    Intoxication,
    Others,
    Transfusions,
)

CATHETER_KEPT = 0.3  # still in place at the reference date
CATHETER_COMPLICATION = 0.35
FERTILITY_DONE = 0.6
TRANSFUSED = 0.85
MANY_TRANSFUSIONS = 0.35  # more than 10 (higher after a transplant)
INTOXICATION = 0.3
STORAGE = {
    "en": "hospital cryobank",
    "es": "banco de criopreservación del hospital",
}


def others_block(
    agent: Agent,
    patient: Patient,
    *,
    anchor: str,
    chemotherapy: list[ChemotherapyAdministration],
    transplant: bool,
    language: str,
) -> Others:
    """An intoxication is by a drug of ``chemotherapy``, days after it was given."""
    rng = agent.rng
    chunks = agent.retrieve(
        "supportive care: central venous catheter (Hickman, Broviac line or implanted port) "
        "complications, catheter-related bloodstream infection, thrombosis, occlusion"
    )
    chunks += agent.retrieve(
        "fertility preservation: sperm, oocyte, ovarian or testicular tissue cryopreservation"
    )
    chunks += agent.retrieve("transfusions of irradiated red cells and platelets")
    chunks += agent.retrieve(
        "methotrexate elimination, toxicity and intoxication", agent.protocol(anchor)
    )
    facts = care_facts(chunks)
    cited: list[Fact] = []
    others = Others()
    catheters = unique_by(facts.supportive_of("catheter"), lambda f: f.term)
    if catheters:
        fact = rng.choice(catheters)
        complications = unique_by(facts.supportive_of("catheter_complication"), lambda f: f.term)
        had = (
            rng.sample(complications, rng.randint(1, min(2, len(complications))))
            if complications and rng.random() < CATHETER_COMPLICATION
            else []
        )
        others.central_venous_catheter = CentralVenousCatheter(
            type=fact.term,
            placed_date=patient.diagnosis_date + days(rng, CATHETER),
            still_present=rng.random() < CATHETER_KEPT,
            complications=[c.term for c in had],
        )
        cited += [fact, *had]
    fertility = [
        f
        for f in unique_by(facts.supportive_of("fertility"), lambda f: f.term)
        if f.fits(patient.sex, patient.age)
    ]
    if fertility:
        done = rng.random() < FERTILITY_DONE
        fact = rng.choice(fertility)
        others.fertility_preservation = FertilityPreservation(
            done=done,
            method=fact.term if done else None,
            storage_site=STORAGE.get(language, STORAGE["en"]) if done else None,
        )
        cited.append(fact)
    transfusions: list[CareFact] = unique_by(facts.supportive_of("transfusion"), lambda f: f.term)
    if transfusions:
        any_given = transplant or rng.random() < TRANSFUSED
        share = 2 * MANY_TRANSFUSIONS if transplant else MANY_TRANSFUSIONS
        many = any_given and rng.random() < share
        others.transfusions = Transfusions(any=any_given, more_than_10=many)
        if any_given:
            cited.append(transfusions[0])
    given = {c.drug for c in chemotherapy}
    possible = [f for f in facts.intoxications if f.drug in given]
    if possible and rng.random() < INTOXICATION:
        poisoning = rng.choice(possible)
        dates = sorted({c.date for c in chemotherapy if c.drug == poisoning.drug})
        day = rng.choice(dates) + timedelta(days=rng.randint(1, 3))
        others.intoxications = [
            Intoxication(
                date=day,
                agent=poisoning.drug,
                resolved=True,
                resolution_date=day + timedelta(days=rng.randint(2, 10)),
            )
        ]
        cited.append(poisoning)
    others.citations = agent.cite_all(cited)
    return others

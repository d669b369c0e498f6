"""The generation agent: retrieve evidence per block, constrain, generate, cite.

A record is written block by block (``service.generation.blocks``): the diagnosis is retrieved from
the whole store; chemotherapy, radiotherapy, surgery and the relapse from the guideline
that states the chosen diagnosis (its "anchor"), so drugs and doses come from the tumour's
own protocol; the transplant and supportive care ("others") from whatever guidance the
store holds for them. A second tumour gets its own diagnosis and treatments the same way:
those the request asks for it, else the first tumour's kinds.
Identifiers and every date come from seeded code (``service.generation.blocks.timeline``),
never from the model, so the same seed gives the same record.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from knowledge.store import PassageIndex
from models.base import LanguageModel
from service.body_measures import estimate_body_measures
from service.generation.blocks.base import Agent, GenerationError, GenerationOptions, Patient
from service.generation.blocks.chemotherapy import (
    anthracycline_bound,
    anthracycline_dose,
)
from service.generation.blocks.diagnosis import diagnosis_block
from service.generation.blocks.others import others_block
from service.generation.blocks.predisposition import predisposition_block
from service.generation.blocks.radionuclide import brachytherapy_sites
from service.generation.blocks.relapse import relapse_block, relapse_item
from service.generation.blocks.timeline import (
    RELAPSE_AFTER,
    SECOND_LINE_START,
    days,
    lookback_days,
    years_back,
)
from service.generation.completeness import refuse_if_short
from service.generation.course import salvage_transplant, second_tumour, treat
from service.generation.identity import age_on, invent_demographics
from service.generation.localise import in_language
from service.generation.narrative import summarise_record
from service.records import (
    Demographics,
    Diagnosis,
    Others,
    PatientRecord,
    Relapse,
    SecondTumour,
)
from service.requests import ParsedRequest, RequestError, parse_request

GENERATOR = "clinsynth/0.2"
RECORD_NAMESPACE = uuid.UUID("6f0c7c1e-3a0e-4b8e-9d7a-1c2b3d4e5f60")
REDRAWS = 3  # other tumours drawn for a request without a diagnosis when one fails a block
SECOND_TUMOUR_MAX_AGE = 15  # a drawn age leaves room for a second tumour before 25

__all__ = [
    "GeneratedPatient",
    "GenerationError",
    "GenerationOptions",
    "PatientGenerator",
]


@dataclass(frozen=True)
class GeneratedPatient:
    """A record and how long its model calls took (seconds per block are in its provenance)."""

    record: PatientRecord
    seconds: float


class _Redraw(Exception):
    """A drawn tumour whose passages failed a requested block: draw another."""

    def __init__(self, codes: tuple[str, ...], refusal: RequestError):
        super().__init__(str(refusal))
        self.codes = codes
        self.refusal = refusal


class PatientGenerator:
    """Writes grounded synthetic patients from a knowledge store and a language model."""

    def __init__(
        self,
        store: PassageIndex,
        model: LanguageModel,
        options: GenerationOptions | None = None,
    ):
        self.store = store
        self.model = model
        self.options = options or GenerationOptions()

    def generate(self, prompt: str, *, seed: int, count: int = 1) -> list[GeneratedPatient]:
        return list(self.iter_generate(prompt, seed=seed, count=count))

    def iter_generate(
        self, prompt: str, *, seed: int, count: int = 1
    ) -> Iterator[GeneratedPatient]:
        """Records ``seed``, ``seed + 1``...: the same seed always gives the same batch."""
        if count < 1:
            raise RequestError(f"count must be at least 1, not {count}")
        request = parse_request(prompt)
        for index in range(count):
            yield self.generate_one(request, seed=seed + index)

    def generate_one(
        self,
        request: ParsedRequest,
        *,
        seed: int,
        feedback: Sequence[str] | None = None,
    ) -> GeneratedPatient:
        """One record. ``feedback``: validation messages of a previous attempt, shown to
        the model in every block prompt so it can avoid them.

        A request without a diagnosis gets a tumour drawn among those the fact index says
        support every requested block; where that tumour's passages then fail a block (the
        index counts a page that names a tumour in passing), another is drawn without it,
        up to ``REDRAWS`` times, and the last refusal is the request's."""
        excluded: tuple[str, ...] = ()
        redraws = 0
        while True:
            try:
                return self._attempt(request, seed=seed, feedback=feedback, excluded=excluded)
            except _Redraw as redraw:
                redraws += 1
                if redraws > REDRAWS:
                    raise redraw.refusal from None
                excluded += redraw.codes

    def _attempt(
        self,
        request: ParsedRequest,
        *,
        seed: int,
        feedback: Sequence[str] | None,
        excluded: tuple[str, ...],
    ) -> GeneratedPatient:
        rng = random.Random(seed)
        agent = Agent(
            store=self.store,
            model=self.model,
            options=self.options,
            request=request,
            seed=seed,
            rng=rng,
            feedback=tuple(feedback or ()),
        )
        today = self.options.reference_date or date.today()
        wants_second = request.second_tumour is not None
        if request.age is not None:
            age = request.age
        else:
            age = rng.randint(1, SECOND_TUMOUR_MAX_AGE if wants_second else 17)
        locale = request.locale or self.options.locale  # whatever the record's language
        room = lookback_days(rng, relapse=bool(request.relapse), second_tumour=wants_second)
        for lookback in years_back(request.age_now, age, room):
            diagnosis_date = today - timedelta(days=lookback)
            demographics = invent_demographics(
                seed=seed,
                sex=request.sex,
                age=age,
                diagnosis_date=diagnosis_date,
                locale=locale,
            )
            if request.age_now in (None, age_on(demographics.birth_date, today)):
                break
        patient = Patient(demographics.sex, age, demographics.birth_date, diagnosis_date)
        with agent.timed("diagnosis"):
            diagnosis, anchor = diagnosis_block(
                agent,
                patient,
                wanted=request.morphology,
                metastatic=request.metastatic,
                exclude=(
                    *((request.second_tumour.code,) if request.second_tumour else ()),
                    *excluded,
                ),
                blocks=request.blocks,
                sites_first=brachytherapy_sites(agent) if request.brachytherapy else frozenset(),
            )
        try:
            return self._rest(
                agent, request, patient, demographics, diagnosis, anchor, locale, today
            )
        except RequestError as refusal:
            if request.morphology is not None:
                raise
            code = diagnosis.icdo3_morphology
            # The tumours drawn with it stand on the same evidence: none of them either.
            drawn = agent.drawn if code in agent.drawn else ()
            raise _Redraw((code, *drawn), refusal) from refusal

    def _rest(
        self,
        agent: Agent,
        request: ParsedRequest,
        patient: Patient,
        demographics: Demographics,
        diagnosis: Diagnosis,
        anchor: str,
        locale: str,
        today: date,
    ) -> GeneratedPatient:
        """The record's treatments, relapse, supportive care and second tumour, after its
        diagnosis."""
        rng, seed, diagnosis_date = agent.rng, agent.seed, patient.diagnosis_date
        with agent.timed("diagnosis"):
            diagnosis = predisposition_block(agent, diagnosis, anchor, request.genetic_conditions)
        first = treat(
            agent,
            patient,
            diagnosis,
            anchor,
            chemotherapy=request.chemotherapy,
            radiotherapy=request.radiotherapy,
            surgery=request.surgery or bool(request.shunt),
            hsct=request.hsct,
            budget=anthracycline_bound(),
            required_surgery=request.surgery,
            primary=True,
        )
        end = first.end or diagnosis_date
        relapse: Relapse | None = None
        if request.relapse:
            with agent.timed("relapse"):
                plan = relapse_block(agent, patient, first.diagnosis, anchor)
                relapse_day = end + days(rng, RELAPSE_AFTER)
                relapse = relapse_item(
                    agent,
                    plan,
                    relapse_day,
                    relapse_day + days(rng, SECOND_LINE_START),
                    anthracycline_budget=anthracycline_bound()
                    - anthracycline_dose(first.chemotherapy),
                )
            end = max([relapse.date, *(c.date for c in relapse.second_line)])
            if first.deferred_transplant is not None:
                relapse, transplant = salvage_transplant(
                    agent, first.deferred_transplant, relapse, end
                )
                first.hsct = [transplant]
                end = transplant.date
        others: Others | None = None
        if request.others:
            with agent.timed("others"):
                others = others_block(
                    agent,
                    patient,
                    anchor=anchor,
                    chemotherapy=first.chemotherapy,
                    transplant=bool(first.hsct),
                    language=request.language,
                )
        second: SecondTumour | None = None
        if request.second_tumour is not None:
            used = first.chemotherapy + (relapse.second_line if relapse else [])
            second = second_tumour(
                agent, patient, request.second_tumour, end, anthracycline_dose(used)
            )
        provenance = agent.provenance(GENERATOR, today, locale)
        identity = json.dumps(
            [request.prompt, seed, self.model.sha256, today.isoformat(), GENERATOR],
            ensure_ascii=False,
        )
        record_id = str(uuid.uuid5(RECORD_NAMESPACE, identity))
        record = PatientRecord(
            record_id=record_id,
            summary="",
            demographics=demographics,
            diagnosis=first.diagnosis,
            chemotherapy=first.chemotherapy,
            intrathecal=first.intrathecal,
            corticosteroids_over_4_weeks=first.corticosteroids,
            radiotherapy=first.radiotherapy,
            surgery=first.surgery,
            hsct=first.hsct,
            others=others,
            relapse=relapse,
            second_tumour=second,
            measures_at_diagnosis=estimate_body_measures(
                key=record_id, age=first.diagnosis.age_at_diagnosis, sex=demographics.sex
            ),
            provenance=provenance,
        )
        refuse_if_short(request, record, self.store)
        # The record's words in its language first, so that the summary restates them.
        record = in_language(record, request.language)
        summary = summarise_record(record, first.first_line_items, request.language)
        return GeneratedPatient(record.model_copy(update={"summary": summary}), agent.usage.seconds)

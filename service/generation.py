"""The generation agent: retrieve evidence per block, constrain, generate, cite.

Block 1 (diagnosis) is retrieved from the whole store; block 2 (treatment) is retrieved
from the guideline that states the chosen diagnosis, so drugs and doses come from the
tumour's own protocol. Identifiers and dates come from seeded code, never from the model.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from knowledge.chunks import RetrievedChunk
from knowledge.evidence import CodeFact, EvidenceSheet, Fact, Regimen, build_evidence_sheet
from knowledge.store import PassageIndex
from models.base import ChatMessage, LanguageModel
from prompts import PromptTemplate, load_prompt
from service.constraints import (
    METASTASIS_SITES,
    EvidenceLabels,
    diagnosis_schema,
    regimen_label,
    treatment_schema,
)
from service.identity import invent_demographics
from service.narrative import summarise
from service.records import (
    ChemotherapyAdministration,
    ChunkRef,
    Citation,
    Diagnosis,
    PatientRecord,
    PromptRef,
    Provenance,
    RadiotherapyCourse,
)
from service.requests import ParsedRequest, RequestError, parse_request

T = TypeVar("T")
GENERATOR = "clinsynth/0.1"
RECORD_NAMESPACE = uuid.UUID("6f0c7c1e-3a0e-4b8e-9d7a-1c2b3d4e5f60")
CYCLE_DAYS = 21


class GenerationError(RuntimeError):
    """The model's output could not be turned into a record; ``raw`` keeps what it wrote."""

    def __init__(self, message: str, raw: str | None = None):
        super().__init__(message)
        self.raw = raw


@dataclass
class _Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


@dataclass
class _Draft:
    """Everything one record accumulates while its blocks are generated."""

    request: ParsedRequest
    seed: int
    rng: random.Random
    retrieved: dict[str, RetrievedChunk] = field(default_factory=dict)
    usage: _Usage = field(default_factory=_Usage)


@dataclass(frozen=True)
class GeneratedPatient:
    """A record and how long its model calls took (kept beside it: timings vary by run)."""

    record: PatientRecord
    seconds: float


@dataclass(frozen=True)
class GenerationOptions:
    retrieval_k: int = 4
    max_tokens: int = 512
    temperature: float = 1.0
    locale: str = "es_ES"
    reference_date: date | None = None


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
        self.diagnosis_prompt = load_prompt("diagnosis")
        self.treatment_prompt = load_prompt("treatment")

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

    def generate_one(self, request: ParsedRequest, *, seed: int) -> GeneratedPatient:
        draft = _Draft(request=request, seed=seed, rng=random.Random(seed))
        today = self.options.reference_date or date.today()
        age = request.age if request.age is not None else draft.rng.randint(1, 17)
        diagnosis_date = today - timedelta(days=draft.rng.randint(200, 900))
        demographics = invent_demographics(
            seed=seed,
            sex=request.sex,
            age=age,
            diagnosis_date=diagnosis_date,
            locale=self.options.locale,
        )
        patient = (
            f"{'girl' if demographics.sex == 'female' else 'boy'}, {age} years old at "
            f"diagnosis on {diagnosis_date.isoformat()}"
        )
        diagnosis, anchor = self._diagnosis_block(draft, patient, diagnosis_date, age)
        chemotherapy, radiotherapy = self._treatment_block(draft, patient, diagnosis, anchor)
        summary = summarise(demographics, diagnosis, chemotherapy, radiotherapy, request.language)
        provenance = Provenance(
            generator=GENERATOR,
            backend=self.model.backend,
            model=self.model.name,
            model_sha256=self.model.sha256,
            prompts=[
                PromptRef(id=p.id, version=p.version)
                for p in (self.diagnosis_prompt, self.treatment_prompt)
            ],
            chunks=[
                ChunkRef(
                    chunk_id=c.chunk_id, document=c.document, document_sha256=c.document_sha256
                )
                for c in draft.retrieved.values()
            ],
            seed=seed,
            request=request.prompt,
            reference_date=today,
            language=request.language,
            prompt_tokens=draft.usage.prompt_tokens,
            completion_tokens=draft.usage.completion_tokens,
        )
        identity = json.dumps(
            [request.prompt, seed, self.model.sha256, today.isoformat(), GENERATOR],
            ensure_ascii=False,
        )
        record = PatientRecord(
            record_id=str(uuid.uuid5(RECORD_NAMESPACE, identity)),
            summary=summary,
            demographics=demographics,
            diagnosis=diagnosis,
            chemotherapy=chemotherapy,
            radiotherapy=radiotherapy,
            provenance=provenance,
        )
        return GeneratedPatient(record, draft.usage.seconds)

    # -- block 1 -----------------------------------------------------------------------

    def _diagnosis_block(
        self, draft: _Draft, patient: str, diagnosis_date: date, age: int
    ) -> tuple[Diagnosis, str]:
        wanted = draft.request.morphology
        query = f"{draft.request.prompt}. Diagnosis, ICD-O-3 morphology and topography codes."
        chunks = self._retrieve(draft, query)
        if wanted is not None:
            chunks += self._retrieve(draft, f"{wanted.term}: ICD-O-3 morphology {wanted.code}")
        sheet = build_evidence_sheet(chunks)
        morphologies = sheet.morphologies
        if wanted is not None:
            morphologies = [m for m in morphologies if m.code == wanted.code]
            if not morphologies:
                raise RequestError(
                    f"no ingested guideline states ICD-O-3 {wanted.code} ({wanted.term}); "
                    "ingest a guideline for it first"
                )
        if not morphologies:
            raise RequestError(
                "the knowledge store has no passage with an ICD-O-3 morphology code; "
                "run `clinsynth ingest` on guideline PDFs first"
            )
        # Options are listed in a seeded order: small models favour the first one offered.
        options = [
            (m, _shuffled(draft.rng, _same_document(sheet, m, sheet.topographies)))
            for m in _shuffled(draft.rng, morphologies)
        ]
        labels = EvidenceLabels(sheet)
        listing = "\n".join(
            f"- {m.term} (ICD-O-3 {m.code}, source {labels(m.chunk_id)}); sites: "
            + (", ".join(f"{t.term} ({t.code}, {labels(t.chunk_id)})" for t in sites) or "any")
            for m, sites in options
        )
        answer = self._ask(
            draft,
            self.diagnosis_prompt,
            diagnosis_schema(options, labels, metastatic=draft.request.metastatic),
            diagnoses=listing,
            metastasis_sites=", ".join(METASTASIS_SITES),
            patient=patient,
        )
        try:
            chosen = answer["diagnosis"]
            morphology = next(m for m, _ in options if m.code == chosen["icdo3_morphology"])
            sites = _sites_for(options, morphology)
            site = chosen["site"]
            topography = next((t for t in sites if t.code == site.get("icdo3_topography")), None)
            metastasis = answer["metastasis"]
        except (KeyError, StopIteration, TypeError, AttributeError) as exc:
            raise GenerationError(f"diagnosis block does not fit its schema ({exc!r})") from exc
        facts: list[CodeFact] = [morphology] + ([topography] if topography else [])
        diagnosis = Diagnosis(
            tumour=morphology.term,
            icdo3_morphology=morphology.code,
            icdo3_topography=topography.code if topography else None,
            site=topography.term if topography else str(site["site"]),
            diagnosis_date=diagnosis_date,
            age_at_diagnosis=age,
            metastatic=bool(metastasis["metastatic"]),
            metastasis_sites=list(dict.fromkeys(metastasis.get("sites", []))),
            citations=[_cite(sheet, f) for f in facts],
        )
        anchor = sheet.chunk(morphology.chunk_id).document_sha256
        return diagnosis, anchor

    # -- block 2 -----------------------------------------------------------------------

    def _treatment_block(
        self, draft: _Draft, patient: str, diagnosis: Diagnosis, anchor: str
    ) -> tuple[list[ChemotherapyAdministration], list[RadiotherapyCourse]]:
        request = draft.request
        where = {"document_sha256": anchor}
        chunks: list[RetrievedChunk] = []
        if request.chemotherapy:
            chunks += self._retrieve(
                draft, f"{diagnosis.tumour} chemotherapy regimen drugs and doses mg/m2", where
            )
        if request.radiotherapy:
            chunks += self._retrieve(
                draft, f"{diagnosis.tumour} radiotherapy dose in Gy and fractions", where
            )
        sheet = build_evidence_sheet(chunks)
        labels = EvidenceLabels(sheet)
        regimens = _shuffled(draft.rng, sheet.regimens())
        courses = _shuffled(draft.rng, sheet.radiotherapy)
        schema = treatment_schema(
            regimens,
            courses,
            labels,
            want_chemotherapy=request.chemotherapy,
            want_radiotherapy=request.radiotherapy,
        )
        if not schema["properties"]:
            return [], []
        answer = self._ask(
            draft,
            self.treatment_prompt,
            schema,
            regimens="\n".join(
                f"- {regimen_label(i)}: "
                + ", ".join(f"{d.drug} {d.dose:g} {d.unit}" for d in r.drugs)
                + f" (source {labels(r.chunk_id)})"
                for i, r in enumerate(regimens, start=1)
            )
            or "- none",
            radiotherapy="\n".join(
                f"- {r.site}: {r.dose:g} Gy in {r.fractions} fractions (source "
                f"{labels(r.chunk_id)})"
                for r in courses
            )
            or "- none",
            chemotherapy_rule="mandatory" if "chemotherapy" in schema["properties"] else "none",
            radiotherapy_rule="mandatory" if "radiotherapy" in schema["properties"] else "none",
            patient=f"{patient}; {diagnosis.tumour} of the {diagnosis.site}",
        )
        # Only the blocks the schema offered are read, whatever else a backend returns.
        answer = {key: answer.get(key, []) for key in schema["properties"]}
        start = diagnosis.diagnosis_date + timedelta(days=draft.rng.randint(5, 21))
        chemotherapy = self._chemotherapy(sheet, regimens, answer.get("chemotherapy", []), start)
        last_cycle = max((c.cycle for c in chemotherapy), default=0)
        rt_start = start + timedelta(days=last_cycle * CYCLE_DAYS + draft.rng.randint(7, 28))
        radiotherapy = self._radiotherapy(sheet, answer.get("radiotherapy", []), rt_start)
        return chemotherapy, radiotherapy

    def _chemotherapy(
        self, sheet: EvidenceSheet, regimens: list[Regimen], items: list[Any], start: date
    ) -> list[ChemotherapyAdministration]:
        """Expand chosen regimens into dated administrations, one regimen after another."""
        by_label = {regimen_label(i): r for i, r in enumerate(regimens, start=1)}
        administrations: list[ChemotherapyAdministration] = []
        chosen: set[str] = set()
        cycle = 0
        for item in items:
            label = item.get("regimen") if isinstance(item, dict) else None
            regimen = by_label.get(str(label))
            if regimen is None:
                raise GenerationError(f"chemotherapy regimen not in the evidence: {item!r}")
            if label in chosen:  # the schema cannot forbid repeats; keep the first
                continue
            chosen.add(str(label))
            for _ in range(int(item.get("cycles", 1))):
                cycle += 1
                day = start + timedelta(days=(cycle - 1) * CYCLE_DAYS)
                administrations.extend(
                    ChemotherapyAdministration(
                        date=day,
                        cycle=cycle,
                        drug=d.drug,
                        atc=d.atc,
                        dose=d.dose,
                        unit=d.unit,
                        citations=[_cite(sheet, d)],
                    )
                    for d in regimen.drugs
                )
        return administrations

    def _radiotherapy(
        self, sheet: EvidenceSheet, items: list[Any], start: date
    ) -> list[RadiotherapyCourse]:
        by_value = {(r.site, r.dose, r.fractions): r for r in sheet.radiotherapy}
        courses: list[RadiotherapyCourse] = []
        for item in items:
            fact = by_value.get((item.get("site"), item.get("dose"), item.get("fractions")))
            if fact is None:
                raise GenerationError(f"radiotherapy item not in the evidence: {item!r}")
            if any(c.site == fact.site for c in courses):
                continue
            courses.append(
                RadiotherapyCourse(
                    start_date=start,
                    site=fact.site,
                    dose=fact.dose,
                    fractions=fact.fractions,
                    citations=[_cite(sheet, fact)],
                )
            )
        return courses

    # -- shared steps --------------------------------------------------------------------

    def _retrieve(
        self, draft: _Draft, query: str, where: dict[str, Any] | None = None
    ) -> list[RetrievedChunk]:
        chunks = self.store.query(query, k=self.options.retrieval_k, where=where)
        for chunk in chunks:
            draft.retrieved.setdefault(chunk.chunk_id, chunk)
        return chunks

    def _ask(
        self, draft: _Draft, template: PromptTemplate, schema: dict[str, Any], **values: str
    ) -> dict[str, Any]:
        """One constrained call, retried once with another seed if the JSON is unusable."""
        system, user = template.render(request=draft.request.prompt, **values)
        messages: list[ChatMessage] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        raw = ""
        for attempt in range(2):
            completion = self.model.complete_json(
                messages,
                schema,
                seed=draft.seed + attempt * 7919,
                max_tokens=self.options.max_tokens,
                temperature=self.options.temperature,
            )
            draft.usage.prompt_tokens += completion.prompt_tokens
            draft.usage.completion_tokens += completion.completion_tokens
            draft.usage.seconds += completion.seconds
            raw = completion.text
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                continue
            # A backend that could not constrain decoding reports what it found wrong.
            if isinstance(parsed, dict) and not completion.schema_errors:
                return parsed
        raise GenerationError(
            f"{template.id} block: the model did not return a JSON object after 2 attempts",
            raw=raw,
        )


def _shuffled(rng: random.Random, items: list[T]) -> list[T]:
    copy = list(items)
    rng.shuffle(copy)
    return copy


def _same_document(sheet: EvidenceSheet, fact: Fact, candidates: list[CodeFact]) -> list[CodeFact]:
    document = sheet.chunk(fact.chunk_id).document_sha256
    return [c for c in candidates if sheet.chunk(c.chunk_id).document_sha256 == document]


def _sites_for(
    options: list[tuple[CodeFact, list[CodeFact]]], morphology: CodeFact
) -> list[CodeFact]:
    return next(sites for m, sites in options if m is morphology)


def _cite(sheet: EvidenceSheet, fact: Fact) -> Citation:
    chunk = sheet.chunk(fact.chunk_id)
    return Citation(
        chunk_id=chunk.chunk_id, document=chunk.document, page=chunk.page, quote=fact.quote
    )

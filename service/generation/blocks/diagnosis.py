"""Block 1: the tumour and its site, as the guidelines name them; metastases.

Retrieved from the whole store. The guidelines name tumours and sites in their own words and
languages; the ICD-O-3 codes are the vocabulary's for those names (``knowledge/vocab``), so a
guideline need not print a code. The guideline that names the chosen tumour most (its
"anchor" document) is where the treatment blocks then look.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from knowledge.evidence import CodeFact, EvidenceSheet, Fact, build_evidence_sheet, tumours_in
from knowledge.vocabulary import Term, TumourGroup, groups_holding
from service.generation.blocks.base import WIDEN, Agent, GenerationError, Patient, unique_by
from service.generation.constraints import METASTASIS_SITES, EvidenceLabels, diagnosis_schema
from service.records import Diagnosis
from service.requests import RequestError
from service.requests.tumours import covers


def diagnosis_block(
    agent: Agent,
    patient: Patient,
    *,
    wanted: Term | None,
    metastatic: bool | None,
    event: str = "diagnosis",
    exclude: str | None = None,
    blocks: Sequence[str] = (),
) -> tuple[Diagnosis, str]:
    """The diagnosis and the sha256 of the guideline that states its morphology code.

    ``exclude``: a morphology code not to offer (the second tumour asked for, so that the
    first tumour differs from it). ``blocks``: the treatment blocks asked for; tumours whose
    evidence (the fact index's coverage) supports all of them are offered first."""
    query = (
        f"{agent.request.prompt}. Diagnosis, tumour type and primary site, "
        "ICD-O-3 morphology and topography codes."
    )
    chunks = agent.retrieve(query)
    if wanted is not None:
        chunks += agent.retrieve(f"{' / '.join(_names(wanted)[:6])}: diagnosis and treatment")
    sheet = build_evidence_sheet(chunks)
    morphologies = sheet.morphologies
    if wanted is not None:
        morphologies = [m for m in morphologies if covers(wanted, m.code)]
    if not morphologies:
        # A guideline naming only a group ("gliomas de baixo grau") treats its morphologies.
        members = unique_by(sheet.group_members(), lambda m: m.code)
        morphologies = [m for m in members if wanted is None or covers(wanted, m.code)]
    if wanted is not None and not morphologies:
        raise RequestError(
            f"no ingested guideline names {_shown(wanted)} under any of its names "
            f"({', '.join(_names(wanted)[1:4]) or wanted.term}); "
            "`clinsynth coverage` lists the tumours the guidelines treat; "
            "ingest a guideline for it first"
        )
    if exclude is not None and wanted is None:
        morphologies = [m for m in morphologies if m.code != exclude]
    morphologies = _supporting(agent, morphologies, blocks)
    if not morphologies:
        raise RequestError(
            "no retrieved passage names a tumour of the ICD-O-3 vocabulary; "
            "run `clinsynth ingest` on guideline PDFs first (`clinsynth coverage` shows "
            "which tumours the ingested guidelines treat)"
        )
    uncoded = [m for m in morphologies if not _same_document(sheet, m, sheet.topographies)]
    for m in unique_by(uncoded, lambda m: sheet.chunk(m.chunk_id).document_sha256):
        # The sites a guideline codes may sit in another passage than its tumour's code.
        where = {"document_sha256": sheet.chunk(m.chunk_id).document_sha256}
        query = f"{m.term}: primary sites, localisation, ICD-O-3 topography"
        chunks += agent.retrieve(query, where)
    if uncoded:
        sheet = build_evidence_sheet(chunks)
    options = [
        (m, agent.shuffled(_same_document(sheet, m, sheet.topographies)))
        for m in agent.shuffled(morphologies)
    ]
    labels = EvidenceLabels(sheet)
    listing = "\n".join(
        f"- {m.term} (ICD-O-3 {m.code}, source {labels(m.chunk_id)}); sites: "
        + (", ".join(f"{t.term} ({t.code}, {labels(t.chunk_id)})" for t in sites) or "any")
        for m, sites in options
    )
    answer = agent.ask(
        "diagnosis",
        diagnosis_schema(options, labels, metastatic=metastatic),
        diagnoses=listing,
        metastasis_sites=", ".join(METASTASIS_SITES),
        patient=patient.describe(event),
    )
    try:
        chosen = answer["diagnosis"]
        morphology = next(m for m, _ in options if m.code == chosen["icdo3_morphology"])
        sites = next(s for m, s in options if m is morphology)
        site = chosen["site"]
        topography = next((t for t in sites if t.code == site.get("icdo3_topography")), None)
        metastasis = answer["metastasis"]
        facts: list[CodeFact] = [morphology] + ([topography] if topography else [])
        diagnosis = Diagnosis(
            tumour=morphology.term,
            icdo3_morphology=morphology.code,
            icdo3_topography=topography.code if topography else None,
            site=topography.term if topography else str(site["site"]),
            diagnosis_date=patient.diagnosis_date,
            age_at_diagnosis=patient.age,
            metastatic=bool(metastasis["metastatic"]),
            metastasis_sites=list(dict.fromkeys(metastasis.get("sites", []))),
            citations=agent.cite_all(facts),
        )
    except (KeyError, StopIteration, TypeError, AttributeError) as exc:
        raise GenerationError(f"diagnosis block does not fit its schema ({exc!r})") from exc
    anchor = sheet.chunk(morphology.chunk_id).document_sha256
    agent.protocols[anchor] = _protocol(agent, morphology, anchor)
    return diagnosis, anchor


def _protocol(agent: Agent, morphology: CodeFact, anchor: str) -> tuple[str, ...]:
    """The anchor, then the other documents whose passages on treating the tumour name it
    (by any name, or by a tumour group holding it), most passages first."""
    groups = {g.code for g in groups_holding(morphology.code)}
    chunks = agent.retrieve(
        f"{morphology.term}: chemotherapy, radiotherapy, surgery, doses and regimens", widen=WIDEN
    )
    naming = Counter(
        c.document_sha256
        for c in chunks
        if any(f.code == morphology.code or f.code in groups for f in tumours_in(c))
    )
    return (anchor, *(d for d, _ in naming.most_common() if d != anchor))


def _supporting(agent: Agent, offered: list[CodeFact], blocks: Sequence[str]) -> list[CodeFact]:
    """The tumours whose coverage supports every requested block (by their own code or a
    group holding it); all of them where none does or the store keeps no fact index."""
    coverage = getattr(agent.store, "tumour_coverage", None)
    if coverage is None or not blocks or len(offered) < 2:
        return offered
    holding = {m.code: {m.code, *(g.code for g in groups_holding(m.code))} for m in offered}
    supported: dict[str, set[str]] = {}
    for entry in coverage({c for codes in holding.values() for c in codes}):
        supported.setdefault(entry["code"], set()).update(entry["supported"])
    kept = [
        m
        for m in offered
        if set(blocks) <= set().union(*(supported.get(c, set()) for c in holding[m.code]))
    ]
    return kept or offered


def _shown(term: Term) -> str:
    if isinstance(term, TumourGroup):
        return f"{term.term} (a tumour group)"
    return f"{term.term} (ICD-O-3 {term.code})"


def _names(term: Term) -> list[str]:
    """A tumour's preferred name first, then its other names (languages, synonyms)."""
    return list(dict.fromkeys([term.term, *term.names]))


def _same_document(sheet: EvidenceSheet, fact: Fact, candidates: list[CodeFact]) -> list[CodeFact]:
    document = sheet.chunk(fact.chunk_id).document_sha256
    return [c for c in candidates if sheet.chunk(c.chunk_id).document_sha256 == document]


def diagnosed_on(day: date, patient: Patient, age: int) -> Patient:
    """The same patient at another diagnosis (a second tumour)."""
    return Patient(sex=patient.sex, age=age, birth_date=patient.birth_date, diagnosis_date=day)

"""Block 1: the tumour and its site, as the guidelines name them; metastases.

Retrieved from the whole store. The guidelines name tumours and sites in their own words and
languages; the ICD-O-3 codes are the vocabulary's for those names (``knowledge/vocab``), so a
guideline need not print a code. The guideline that names the chosen tumour most (its
"anchor" document) is where the treatment blocks then look.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from knowledge import ages
from knowledge.evidence import CodeFact, EvidenceSheet, Fact, build_evidence_sheet, tumours_in
from knowledge.vocabulary import Term, TumourGroup, groups_holding, tumour_groups, tumour_records
from service.generation.blocks.base import WIDEN, Agent, GenerationError, Patient, unique_by
from service.generation.constraints import METASTASIS_SITES, EvidenceLabels, diagnosis_schema
from service.records import Diagnosis
from service.requests import RequestError
from service.requests.tumours import covers
from service.validation.bounds import Bounds


def diagnosis_block(
    agent: Agent,
    patient: Patient,
    *,
    wanted: Term | None,
    metastatic: bool | None,
    event: str = "diagnosis",
    exclude: Collection[str] = (),
    blocks: Sequence[str] = (),
    about: str | None = None,
    sites_first: frozenset[str] = frozenset(),
) -> tuple[Diagnosis, str]:
    """The diagnosis and the sha256 of the guideline that states its morphology code.

    ``exclude``: morphology codes not to offer where no tumour is asked for (the second
    tumour asked for, so that the first differs from it; drawn tumours whose evidence
    failed a block). ``blocks``: the treatment blocks asked for; tumours whose evidence
    (the fact index's coverage) supports all of them are offered first. ``about``: what
    the passages are retrieved for, the request's prompt by default (a second tumour's own
    name: the prompt describes the first, whose guideline would then outweigh the second
    tumour's own and become its anchor). ``sites_first``: topography categories ("C67")
    offered alone where a tumour may arise in one of them (a brachytherapy asked for is
    given at the sites its passages name)."""
    query = (
        f"{about or agent.request.prompt}. Diagnosis, tumour type and primary site, "
        "ICD-O-3 morphology and topography codes."
    )
    chunks = agent.retrieve(query)
    opened = _open_choice(agent, patient.age, blocks, exclude) if wanted is None else None
    drawn, documents = opened or (None, ())
    agent.drawn = drawn.members if drawn is not None else ()
    target = wanted or drawn
    if wanted is not None:  # sought in the documents the fact index finds naming it
        documents = agent.documents_naming(wanted)
    if target is not None:
        # A drawn group is sought in the documents that name its members, by the names
        # those documents use (the vocabulary's first names may be other members').
        where: dict[str, Any] | None = (
            {"document_id": {"$in": list(documents)}} if documents else None
        )
        about = f"{' / '.join(_names(target)[:6])}: diagnosis and treatment"
        chunks += agent.retrieve(about, where, widen=WIDEN if documents else 1)
    sheet = build_evidence_sheet(chunks)
    morphologies = _named_in(sheet, target)
    if drawn is not None and not morphologies:
        drawn = None  # the drawn tumours' passages were not retrieved: any tumour named
        agent.drawn = ()
        morphologies = _named_in(sheet, None)
    if wanted is not None and not morphologies:
        raise RequestError(
            f"no ingested guideline names {_shown(wanted)} under any of its names "
            f"({', '.join(_names(wanted)[1:4]) or wanted.term}); "
            "`clinsynth coverage` lists the tumours the guidelines treat; "
            "ingest a guideline for it first"
        )
    if wanted is None:
        morphologies = [m for m in morphologies if m.code not in exclude]
    if drawn is None:  # drawn tumours were chosen from the coverage already
        morphologies = _supporting(agent, morphologies, blocks)
    if drawn is None and (wanted is None or isinstance(wanted, TumourGroup)):
        morphologies = _usual_at(agent, morphologies, patient.age)
    if not morphologies:
        raise RequestError(
            "no retrieved passage names a tumour of the ICD-O-3 vocabulary; "
            "run `clinsynth ingest` on guideline PDFs first (`clinsynth coverage` shows "
            "which tumours the ingested guidelines treat)"
        )
    # A tumour whose retrieved passages give no site (or none of ``sites_first``): its
    # document's site passages are retrieved too.
    first = _possible(sites_first, patient.sex)
    uncoded = [
        m
        for m in morphologies
        if not _preferred(_sites_of(sheet, m, patient.sex), first, only=True)
    ]
    for m in unique_by(uncoded, lambda m: sheet.chunk(m.chunk_id).document_sha256):
        # The sites a guideline codes may sit in another passage than its tumour's code.
        where = {"document_sha256": sheet.chunk(m.chunk_id).document_sha256}
        query = f"{m.term}: primary sites, localisation, ICD-O-3 topography"
        chunks += agent.retrieve(query, where)
    if uncoded:
        sheet = build_evidence_sheet(chunks)
    options = [
        (m, agent.shuffled(_preferred(_sites_of(sheet, m, patient.sex), first)))
        for m in agent.shuffled(_in_best_document(agent, sheet, morphologies, blocks))
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
        morphology = next(
            m
            for m, _ in options
            if m.code == chosen["icdo3_morphology"]
            and labels(m.chunk_id) == chosen.get("source", labels(m.chunk_id))
        )
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


def _sites_of(sheet: EvidenceSheet, morphology: CodeFact, sex: str) -> list[CodeFact]:
    """The sites its document names that the tumour may arise in, in a patient of ``sex``
    (an ALL guideline's "testicular involvement" is no girl's primary site)."""
    named = _same_document(sheet, morphology, sheet.topographies)
    possible = _possible(frozenset(t.code[:3] for t in named), sex)
    return [t for t in named if _may_arise(morphology, t) and t.code[:3] in possible]


def _possible(categories: frozenset[str], sex: str) -> frozenset[str]:
    """The topography categories a patient of ``sex`` can have a tumour in (no vagina for a
    boy, no prostate for a girl: the validator's sex-specific categories)."""
    specific = Bounds.load().sex_specific
    other = specific.female if sex == "male" else specific.male
    return frozenset(c for c in categories if c not in other.topography_prefixes)


def _preferred(
    sites: list[CodeFact], first: frozenset[str], *, only: bool = False
) -> list[CodeFact]:
    """The sites in ``first`` where there are any (``only``: none else), else all."""
    preferred = [t for t in sites if t.code[:3] in first]
    return preferred if preferred or (first and only) else sites


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
    entries = agent.coverage()
    if entries is None or not blocks:
        return offered
    supported: dict[str, set[str]] = {}
    for entry in entries:
        supported.setdefault(entry["code"], set()).update(entry["supported"])
    kept = [
        m
        for m in offered
        if set(blocks) <= set().union(*(supported.get(c, set()) for c in _holding(m.code)))
    ]
    return kept or offered


def _holding(code: str) -> list[str]:
    """A morphology code and the tumour groups holding it: the keys its coverage is under."""
    return [code, *(g.code for g in groups_holding(code))]


def _in_best_document(
    agent: Agent, sheet: EvidenceSheet, offered: list[CodeFact], blocks: Sequence[str]
) -> list[CodeFact]:
    """Each offered tumour once, as the document that treats it best names it: the one
    whose pages about it (the fact index's coverage) state facts for the most requested
    blocks (every block when none is asked), then the most such facts, then the most
    retrieved passages naming it. That document is the record's anchor, where the
    treatment blocks look first: a transplant chapter that lists neuroblastoma among its
    indications is not the neuroblastoma guideline."""
    entries = {e["code"]: e for e in agent.coverage() or []}

    def document(m: CodeFact) -> str:
        return sheet.chunk(m.chunk_id).document_sha256[:16]

    mentions = Counter((m.code, document(m)) for m in offered)

    def score(m: CodeFact) -> tuple[int, int, int]:
        doc = document(m)
        per_block = Counter[str]()
        for code in _holding(m.code):
            for block, counted in entries.get(code, {}).get("blocks", {}).items():
                if not blocks or block in blocks:
                    per_block[block] += counted["documents"].get(doc, 0)
        return (sum(1 for n in per_block.values() if n), per_block.total(), mentions[m.code, doc])

    best: dict[str, CodeFact] = {}
    for m in offered:
        if m.code not in best or score(m) > score(best[m.code]):
            best[m.code] = m
    return list(best.values())


def _named_in(sheet: EvidenceSheet, target: Term | None) -> list[CodeFact]:
    """The tumours the passages name (all, or those ``target`` covers); a guideline naming
    only a group ("gliomas de baixo grau") names its morphologies."""
    named = [m for m in sheet.morphologies if target is None or covers(target, m.code)]
    if named:
        return named
    members = unique_by(sheet.group_members(), lambda m: m.code)
    return [m for m in members if target is None or covers(target, m.code)]


def _open_choice(
    agent: Agent, age: int, blocks: Sequence[str], exclude: Collection[str]
) -> tuple[TumourGroup, tuple[str, ...]] | None:
    """A request without a diagnosis: the tumours whose evidence in the ingested guidelines
    (the fact index's coverage) supports every requested block, then one ICCC-3 group or
    subgroup of them drawn with the seed by its incidence at ``age`` (``_draw_by_age``),
    with the ids of the documents that name them. Its names start with those the
    guidelines use. None where the store keeps no fact index or no tumour supports every
    block (the retrieved passages' tumours are offered instead, and a missing block is
    refused)."""
    entries = agent.coverage()
    if entries is None:
        return None
    groups = {g.code: g for g in tumour_groups()}
    supported: dict[str, set[str]] = {}
    sources: dict[str, list[dict[str, Any]]] = {}
    own = {e["code"] for e in entries}
    for entry in entries:
        group = groups.get(entry["code"])
        # A group's support stands for members the guidelines never name themselves.
        members = [c for c in group.members if c not in own] if group is not None else []
        for code in members if group is not None else (entry["code"],):
            supported.setdefault(code, set()).update(entry["supported"])
            sources.setdefault(code, []).append(entry)
    tumours = {t.code: t for t in tumour_records() if not t.unspecified}
    candidates = sorted(
        c
        for c, has in supported.items()
        if c in tumours and c not in exclude and set(blocks) <= has
    )
    if not candidates:
        return None
    drawn = _draw_by_age(agent, candidates, age) or candidates
    first = tumours[drawn[0]]
    row = ages.incidence(first.code, age)
    used = [e for c in drawn for e in sources[c]]
    named = [str(n) for e in used for n in e.get("names", [])]
    group = TumourGroup(
        code="drawn by age",
        term=row.name if row is not None and len(drawn) > 1 else first.term,
        aliases=tuple(dict.fromkeys([*named, *(n for c in drawn for n in tumours[c].names)])),
        members=tuple(drawn),
    )
    return group, tuple(dict.fromkeys(d for e in used for d in e.get("documents", [])))


def _usual_at(agent: Agent, offered: list[CodeFact], age: int) -> list[CodeFact]:
    """The offered tumours of the ICCC-3 group ``_draw_by_age`` draws among them (all
    where none has a published rate)."""
    drawn = _draw_by_age(agent, list(dict.fromkeys(m.code for m in offered)), age)
    return [m for m in offered if m.code in drawn] if drawn else offered


def _draw_by_age(agent: Agent, codes: list[str], age: int) -> list[str] | None:
    """The codes of one ICCC-3 main group drawn with the seed among those of ``codes``, in
    proportion to its published incidence at ``age`` (``knowledge.ages``), then of one of
    its subgroups the same way where each of its codes has a subgroup rate. The incidence
    of a group is that of its offered subgroups where each has a rate, else the group's
    own; below ``ages.USUAL`` per million a group or subgroup is not drawn. Groups without
    a published rate are drawn as often as the median rated group (the rates transcribed
    so far cover ICCC-3 groups I-VI only). None where no code has a rate, or none is usual."""
    groups: dict[str, list[str]] = {}
    for code in codes:
        group, _, _ = ages.rows_of(code)
        groups.setdefault(group or f"unclassified {code}", []).append(code)
    by_subgroup = {g: _subgroup_rates(members, age) for g, members in groups.items()}
    weights: dict[str, float | None] = {}
    for group, members in groups.items():
        if (subgroups := by_subgroup[group]) is not None:
            weights[group] = sum(subgroups.values())
        else:
            _, row, _ = ages.rows_of(members[0])
            weights[group] = row.rate(age) if row is not None else None
    drawn_group = _draw(agent, weights)
    if drawn_group is None:
        return None
    members, subgroups = groups[drawn_group], by_subgroup[drawn_group]
    if subgroups is None:
        return members
    drawn = _draw(agent, dict(subgroups))
    if drawn is None:
        return members
    return [c for c in members if (sub := ages.rows_of(c)[2]) is not None and sub.iccc == drawn]


def _subgroup_rates(codes: list[str], age: int) -> dict[str, float] | None:
    """Each subgroup row of ``codes`` with its rate at ``age``; None unless every code has one."""
    rates: dict[str, float] = {}
    for code in codes:
        _, _, subgroup = ages.rows_of(code)
        value = subgroup.rate(age) if subgroup is not None else None
        if subgroup is None or value is None:
            return None
        rates[subgroup.iccc] = value
    return rates


def _draw(agent: Agent, weights: dict[str, float | None]) -> str | None:
    """A key drawn with the seed by weight; unknown weights count as the median known one;
    those below ``ages.USUAL`` are never drawn; None where none is known or none is usual."""
    known = [w for w in weights.values() if w is not None]
    if not known:
        return None
    fallback = statistics.median(known)
    usual = {k: fallback if w is None else w for k, w in weights.items()}
    usual = {k: w for k, w in usual.items() if w >= ages.USUAL}
    if not usual:
        return None
    return agent.rng.choices(list(usual), weights=list(usual.values()))[0]


def _may_arise(morphology: CodeFact, site: CodeFact) -> bool:
    """Only a leukaemia (ICCC-3 group I) arises in the haematopoietic system (C42): a solid
    tumour's or a lymphoma's bone marrow is metastasis, named in a work-up sentence."""
    return not site.code.startswith("C42") or ages.rows_of(morphology.code)[0] in (None, "I")


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

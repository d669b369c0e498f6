"""Narrative text, and what a batch repeats or copies: duplicates and privacy findings.

Exact duplicates share their clinical content (the record without record_id, summary,
demographics, provenance and citations); near duplicates share a diagnosis and treatment
signature (dates aside) or have summary embeddings closer than ``NEAR_DUPLICATE_COSINE``
(found by ``service.quality.metrics``). Privacy findings: identifiers repeated across
records, narrative sharing ``VERBATIM_WORDS`` or more consecutive words with a corpus
passage or a prompt example, and record values equal to a prompt example's placeholders.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from service.quality.models import DuplicateGroup, Duplicates, Privacy, PrivacyFinding
from service.records import PatientRecord

NEAR_DUPLICATE_COSINE = 0.97
VERBATIM_WORDS = 12
DUPLICATES_DEFINITION = (
    "Exact: identical clinical content ignoring record_id, summary, demographics, provenance "
    f"and citations. Near: summary embeddings with cosine > {NEAR_DUPLICATE_COSINE}, or an "
    "identical diagnosis and treatment signature (dates aside)."
)
PRIVACY_DEFINITION = (
    f"Identifiers repeated across records; narrative sharing a run of {VERBATIM_WORDS} or more "
    "words with a corpus passage the records were built from or with a prompt example; a "
    "record value equal to a prompt example's placeholder."
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")


def narrative_fields(record: PatientRecord) -> list[tuple[str, str]]:
    """(field path, text) of every free-text field: the summary and surgery descriptions."""
    fields = [("summary", record.summary)]
    fields += [(f"surgery[{i}].description", s.description) for i, s in enumerate(record.surgery)]
    if record.second_tumour:
        fields += [
            (f"second_tumour.surgery[{i}].description", s.description)
            for i, s in enumerate(record.second_tumour.surgery)
        ]
    return [(path, text) for path, text in fields if text.strip()]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if len(_WORD.findall(s)) >= 2]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def structured_description(record: PatientRecord) -> str:
    """The structured blocks in plain English, the reference the summary should match."""
    d = record.diagnosis
    spread = f"metastatic to {', '.join(d.metastasis_sites)}" if d.metastatic else "localised"
    parts = [
        f"{d.age_at_diagnosis}-year-old {record.demographics.sex} patient with {d.tumour} "
        f"({d.icdo3_morphology}) of the {d.site}, {spread}."
    ]
    if record.chemotherapy:
        drug_names = ", ".join(dict.fromkeys(a.drug for a in record.chemotherapy))
        parts.append(f"Chemotherapy with {drug_names}.")
    if d.genetic_conditions:
        parts.append(f"Predisposition: {', '.join(d.genetic_conditions)}.")
    parts += [f"Radiotherapy to {r.site}: {r.given()}." for r in record.radiotherapy]
    parts += [f"Surgery: {s.description}." for s in record.surgery]
    parts += [f"{h.type.capitalize()} stem-cell transplant." for h in record.hsct]
    if record.relapse:
        parts.append(f"Relapse in the {record.relapse.site}.")
    if record.second_tumour:
        parts.append(f"Second tumour: {record.second_tumour.diagnosis.tumour}.")
    return " ".join(parts)


def clinical_content(record: PatientRecord) -> dict[str, Any]:
    """The record without identity, narrative, provenance and citations."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "citations"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    data = record.model_dump(
        mode="json", exclude={"record_id", "summary", "demographics", "provenance"}
    )
    content: dict[str, Any] = strip(data)
    return content


def treatment_signature(record: PatientRecord) -> str:
    """Diagnosis and treatments without dates: two records sharing it are near duplicates."""
    d = record.diagnosis
    signature = [
        d.icdo3_morphology,
        d.icdo3_topography,
        d.site.lower(),
        d.metastatic,
        sorted(s.lower() for s in d.metastasis_sites),
        sorted({a.drug.lower() for a in record.chemotherapy}),
        sorted([r.site.lower(), r.dose, r.fractions, r.technique] for r in record.radiotherapy),
        sorted(s.description.lower() for s in record.surgery),
        sorted(h.type for h in record.hsct),
        record.relapse.site.lower() if record.relapse else None,
        record.second_tumour.diagnosis.icdo3_morphology if record.second_tumour else None,
    ]
    return json.dumps(signature, sort_keys=True)


def _groups(keys: Sequence[str]) -> list[list[int]]:
    found: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        found.setdefault(key, []).append(i)
    return [members for members in found.values() if len(members) > 1]


def _linked(n: int, pairs: Iterable[tuple[int, int, float]]) -> list[tuple[list[int], float]]:
    """Connected groups of pairs (union-find) with the lowest similarity inside each."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lowest: dict[int, float] = {}
    links = list(pairs)
    for i, j, _ in links:
        parent[root(i)] = root(j)
    for i, _, sim in links:
        lowest[root(i)] = min(lowest.get(root(i), sim), sim)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(root(i), []).append(i)
    return [(m, lowest[r]) for r, m in members.items() if len(m) > 1]


def find_duplicates(
    records: Sequence[PatientRecord], near_pairs: list[tuple[int, int, float]], embedded: bool
) -> Duplicates:
    """Exact groups, and near groups (``near_pairs``: (i, j, cosine) of summary embeddings,
    and shared treatment signatures) that are not merely an exact group again."""
    ids = [r.record_id for r in records]
    content = [
        hashlib.sha256(json.dumps(clinical_content(r), sort_keys=True).encode()).hexdigest()
        for r in records
    ]
    exact_groups = _groups(content)
    exact_sets = [set(g) for g in exact_groups]

    def novel(group: list[int]) -> bool:  # not just an exact group seen again
        return not any(set(group) <= s for s in exact_sets)

    near = [
        DuplicateGroup(method="summary_embedding", record_ids=[ids[i] for i in g], similarity=s)
        for g, s in _linked(len(records), near_pairs)
        if novel(g)
    ]
    near += [
        DuplicateGroup(method="treatment_signature", record_ids=[ids[i] for i in g])
        for g in _groups([treatment_signature(r) for r in records])
        if novel(g)
    ]
    return Duplicates(
        definition=DUPLICATES_DEFINITION,
        exact=[
            DuplicateGroup(method="clinical_content", record_ids=[ids[i] for i in g])
            for g in exact_groups
        ],
        near=near,
        embedding_checked=embedded,
    )


_IDENTIFIERS = ("health_card_number", "medical_record_number", "phone", "email")


def _repeated_identifiers(records: Sequence[PatientRecord]) -> list[PrivacyFinding]:
    findings = []
    for field in (*_IDENTIFIERS, "full_name"):
        seen: dict[str, list[str]] = {}
        for r in records:
            demo = r.demographics
            value = (
                f"{demo.given_name} {demo.first_surname} {demo.second_surname}"
                if field == "full_name"
                else str(getattr(demo, field))
            )
            key = re.sub(r"[\s\-()]", "", value.lower())
            if key:
                seen.setdefault(key, []).append(r.record_id)
        findings += [
            PrivacyFinding(
                kind="repeated_identifier",
                record_ids=list(dict.fromkeys(owners)),
                field=f"demographics.{field}",
                detail=f"the same {field} appears in {len(set(owners))} records",
            )
            for owners in seen.values()
            if len(set(owners)) > 1
        ]
    return findings


def _ngrams(tokens: Sequence[str], n: int = VERBATIM_WORDS) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _gram_ending_at(tokens: Sequence[str], last: int) -> tuple[str, ...]:
    return tuple(tokens[last - VERBATIM_WORDS + 1 : last + 1])


def verbatim_run(text: str, source_grams: set[tuple[str, ...]]) -> str | None:
    """The longest run of ``VERBATIM_WORDS`` or more words of ``text`` found in the source."""
    tokens = words(text)
    best: tuple[int, int] | None = None
    i = 0
    while i <= len(tokens) - VERBATIM_WORDS:
        if tuple(tokens[i : i + VERBATIM_WORDS]) in source_grams:
            end = i + VERBATIM_WORDS
            while end < len(tokens) and _gram_ending_at(tokens, end) in source_grams:
                end += 1
            if best is None or end - i > best[1] - best[0]:
                best = (i, end)
            i = end
        else:
            i += 1
    return " ".join(tokens[best[0] : best[1]]) if best else None


def _string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_leaves(item)
    elif isinstance(value, str):
        yield value


def _example_values(examples: Sequence[str]) -> set[str]:
    """Placeholder values of the JSON examples (4 characters or more, lower case)."""
    found: set[str] = set()
    for example in examples:
        for line in [example, *example.splitlines()]:
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            found |= {v.strip().lower() for v in _string_leaves(parsed) if len(v.strip()) >= 4}
    return found


def _copied_text(
    records: Sequence[PatientRecord], passages: Sequence[str], kind: str
) -> list[PrivacyFinding]:
    grams: set[tuple[str, ...]] = set()
    for passage in passages:
        grams |= _ngrams(words(passage))
    findings = []
    for r in records:
        for path, text in narrative_fields(r):
            run = verbatim_run(text, grams) if grams else None
            if run:
                source = "a corpus passage" if kind == "corpus_passage" else "a prompt example"
                findings.append(
                    PrivacyFinding(
                        kind="corpus_passage" if kind == "corpus_passage" else "prompt_example",
                        record_ids=[r.record_id],
                        field=path,
                        detail=f"{len(run.split())} words copied from {source}: {run!r}",
                    )
                )
    return findings


def privacy_findings(
    records: Sequence[PatientRecord], passages: Sequence[str], examples: Sequence[str]
) -> Privacy:
    findings = _repeated_identifiers(records)
    findings += _copied_text(records, passages, "corpus_passage")
    findings += _copied_text(records, examples, "prompt_example")
    placeholders = _example_values(examples)
    for r in records:
        copied = sorted(
            {v for v in _string_leaves(clinical_content(r)) if v.strip().lower() in placeholders}
        )
        if copied:
            findings.append(
                PrivacyFinding(
                    kind="prompt_example",
                    record_ids=[r.record_id],
                    field="clinical content",
                    detail="values copied from a prompt example: " + ", ".join(map(repr, copied)),
                )
            )
    return Privacy(
        definition=PRIVACY_DEFINITION,
        corpus_passages_checked=len(passages),
        examples_checked=len(examples),
        findings=findings,
    )


def prompt_examples() -> list[str]:
    """The example answers written into ``prompts/templates`` (lines holding JSON objects)."""
    from prompts import available_prompts, load_prompt

    found = []
    for template_id in available_prompts():
        template = load_prompt(template_id)
        for line in f"{template.system}\n{template.user}".splitlines():
            if line.strip().startswith("{"):
                found.append(line.strip())
    return found

"""Radiotherapy to metastases only where the tumour has them.

A course treats metastases when its site names them ("bone metastases", "metástasis
pulmonares") or when the sentences of its cited quotes that give it (those stating its dose
in Gy, else those naming radiotherapy) all name metastases as what is irradiated:
"Radiotherapy to bone metastases that remain MIBG-positive after induction: 21.6 Gy",
"Whole-lung irradiation for pulmonary metastases: 15 Gy". A metastatic tumour ("for
high-risk or metastatic medulloblastoma: 36 Gy") is no target: high-risk disease without
metastases takes that dose too. Metastases said to be absent ("without metastases", "sin
metástasis") are no target either.

The words are general clinical vocabulary in English, Spanish and Portuguese (with the
Italian, French and German nouns), not one corpus's phrasing. Nothing here reuses the
generator's reading of the same passages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from service.records import Diagnosis, PatientRecord, RadiotherapyCourse
from service.validation.context import CheckContext, Offending, check, radiotherapy_label
from service.validation.verifier import fold, plain

# Folded (accents dropped, lower case): "metástasis" is "metastasis".
_METASTASES = re.compile(
    r"\b(?:"
    r"metastas[ie]s|metastase[sn]?|metastasi|micrometastas[ie]s|"
    r"metastatic (?:sites?|deposits?|lesions?|foci|nodules?)|"
    r"(?:sitios|focos|depositos|lesiones|nodulos) metastasicos?|lesiones metastasicas|"
    r"(?:locais|sitios|focos|depositos|nodulos) metastaticos|lesoes metastaticas"
    r")\b"
)
# Words shortly before the noun that say the metastases are absent.
_ABSENT = re.compile(
    r"\b(?:without|free of|absence of|excluding|sin|ausencia de|sem|ausencia|senza|sans|"
    r"ohne)\s+(?:\S+\s+){0,2}$"
    r"|\bno\s+(?:\S+\s+)?$"  # "no (bone) metastases"; Portuguese "no" is "in the"
)
_RADIATION = re.compile(
    r"\b(?:radiotherapy|radiation|irradiation|irradiated|boost|radioterapia|irradiacion|"
    r"irradiacao|irradiada|irradiado|sobreimpresion)\b|\d\s*gy\b"
)
_GY = re.compile(r"(\d+(?:[.,]\d+)?)\s*gy\b")
_SENTENCE_END = re.compile(r"(?<=[.;])\s+(?=\D)")


def metastases_named(text: str) -> str | None:
    """The words of ``text`` naming metastases as present ("bone metastases"), or None."""
    folded = fold(text)
    for match in _METASTASES.finditer(folded):
        if not _ABSENT.search(folded[max(0, match.start() - 40) : match.start()]):
            return match.group()
    return None


def _sentences(quote: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(plain(quote)) if s.strip()]


def _states_dose(sentence: str, dose: float | None) -> bool:
    return dose is not None and any(
        float(m.group(1).replace(",", ".")) == dose for m in _GY.finditer(fold(sentence))
    )


def metastases_treated(course: RadiotherapyCourse) -> str | None:
    """Where the course says it treats metastases (its site, or the sentence of its quote
    saying so), or None: its site names none and its quotes' sentences giving it do not
    all name them."""
    if metastases_named(course.site):
        return f"site '{course.site}'"
    sentences = [s for c in course.citations for s in _sentences(c.quote)]
    giving = [s for s in sentences if _states_dose(s, course.dose)]
    giving = giving or [s for s in sentences if _RADIATION.search(fold(s))]
    if giving and all(metastases_named(s) for s in giving):
        return f"'{_short(giving[0])}'"
    return None


def _short(text: str) -> str:
    return text if len(text) <= 100 else text[:97] + "..."


def _first_line(record: PatientRecord) -> Iterator[tuple[str, RadiotherapyCourse, Diagnosis]]:
    """(path, course, the diagnosis it treats) of each first-line course. A relapse's
    radiotherapy is not judged: a relapse may bring the metastases the diagnosis lacked."""
    for i, course in enumerate(record.radiotherapy):
        yield f"radiotherapy[{i}]", course, record.diagnosis
    if second := record.second_tumour:
        for i, course in enumerate(second.radiotherapy):
            yield f"second_tumour.radiotherapy[{i}]", course, second.diagnosis


@check()
def metastases_if_metastatic(ctx: CheckContext) -> Iterator[Offending]:
    """No first-line radiotherapy to metastases of a tumour diagnosed without them."""
    for path, course, diagnosis in _first_line(ctx.record):
        if diagnosis.metastatic:
            continue
        if (where := metastases_treated(course)) is not None:
            yield {
                "path": path,
                "item": radiotherapy_label(course),
                "where": where,
                "tumour": diagnosis.tumour,
            }

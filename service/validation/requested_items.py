"""The items a request asks for inside a block, checked against a stored record by the
rule request.honoured (``clinical.missing_from``): a shunt, triple intrathecal therapy,
brachytherapy and metabolic therapy (each asked for or refused), the predisposition
syndromes asked for, whatever language the record names them in, and the risk group."""

from __future__ import annotations

from collections.abc import Iterator

from knowledge.vocabulary import drug_by_name, syndrome_by_name
from service.records import PatientRecord
from service.requests.common import is_triple_intrathecal


def items_missing(record: PatientRecord) -> Iterator[tuple[str, str]]:
    """A shunt, triple intrathecal therapy, brachytherapy and metabolic therapy, asked for or
    refused; the predisposition syndromes and the risk group asked for."""
    asked = record.provenance.parsed_request
    if asked is None:
        return
    given_group = record.diagnosis.risk_group
    if asked.risk_group is not None and given_group != asked.risk_group:
        yield "risk group", f"{asked.risk_group} asked for, {given_group or 'none'} given"
    for technique, wanted in (
        ("brachytherapy", asked.brachytherapy),
        ("metabolic", asked.metabolic_therapy),
    ):
        given = [r.site for r in record.radiotherapy if r.technique == technique]
        what = "brachytherapy" if technique == "brachytherapy" else "metabolic therapy"
        if wanted and not given:
            yield what, "asked for, no radiotherapy course is one"
        if wanted is False and given:
            yield what, f"refused, the record gives it ({', '.join(given)})"
    held = {_syndrome(name) for name in record.diagnosis.genetic_conditions}
    if lacking := [name for name in asked.genetic_conditions if _syndrome(name) not in held]:
        shown = ", ".join(record.diagnosis.genetic_conditions) or "none"
        yield "genetic conditions", f"{', '.join(lacking)} asked for, the record gives {shown}"
    shunts = [s.shunt.type for s in record.surgery if s.shunt]
    if asked.shunt and not shunts:
        yield "shunt", "asked for, no surgery item has one"
    if asked.shunt is False and shunts:
        yield "shunt", f"refused, the record has {', '.join(shunts)}"
    if asked.triple_intrathecal is None:
        return
    given = record.intrathecal.drugs if record.intrathecal else []
    inns = [d.term if (d := drug_by_name(name)) else name for name in given]
    triple = is_triple_intrathecal(inns)
    if asked.triple_intrathecal and not triple:
        yield (
            "triple intrathecal",
            f"asked for, the record gives {' + '.join(given) if given else 'none'}",
        )
    if asked.triple_intrathecal is False and triple:
        yield "triple intrathecal", f"refused, the record gives {' + '.join(given)}"


def _syndrome(name: str) -> str:
    """A syndrome's English name, from any language's (a Spanish record's)."""
    found = syndrome_by_name(name)
    return found.term if found else name

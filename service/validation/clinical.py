"""Clinical consistency checks: dates, diagnosis, sex, relapse, second tumour, others.

Blocks a record leaves out (None or empty lists) pass every rule about them; sex-specific
sites and procedures come from bounds.toml. Treatment checks are in treatments.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from service.generation.identity import age_on
from service.records import ChemotherapyAdministration, PatientRecord
from service.validation.bounds import SexTerms, words_pattern
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_items,
    diagnoses,
    radiotherapy_items,
    surgery_items,
)
from service.validation.requested_items import items_missing


def _given(c: ChemotherapyAdministration) -> str:
    return f"{c.drug} {c.dose:g} {c.unit} cycle {c.cycle}"


# -- dates ----------------------------------------------------------------------------


def dated_events(record: PatientRecord) -> Iterator[tuple[str, date]]:
    """Every dated event of the record with a readable name."""
    for path, d in diagnoses(record):
        yield f"{path} of {d.tumour}", d.diagnosis_date
    for _, c in chemotherapy_items(record):
        yield f"chemotherapy {c.drug} cycle {c.cycle}", c.date
    if record.intrathecal:
        yield "intrathecal therapy", record.intrathecal.start_date
    for _, r in radiotherapy_items(record):
        yield f"radiotherapy to {r.site}", r.start_date
    for _, s in surgery_items(record):
        yield f"surgery ({s.description})", s.date
    for h in record.hsct:
        yield f"{h.type} HSCT", h.date
    if record.others:
        for x in record.others.intoxications:
            yield f"intoxication by {x.agent}", x.date
            if x.resolution_date:
                yield f"resolution of the intoxication by {x.agent}", x.resolution_date
        if record.others.central_venous_catheter:
            yield (
                "central venous catheter placement",
                record.others.central_venous_catheter.placed_date,
            )
    if record.relapse:
        yield "relapse", record.relapse.date


@check()
def after_birth(ctx: CheckContext) -> Iterator[Offending]:
    birth = ctx.record.demographics.birth_date
    for event, day in dated_events(ctx.record):
        if day < birth:
            yield {"event": event, "date": day, "birth": birth}


@check()
def not_future(ctx: CheckContext) -> Iterator[Offending]:
    """Not after the validation date, nor after the record's own reference date."""
    today = min(ctx.reference_date, ctx.record.provenance.reference_date)
    for event, day in dated_events(ctx.record):
        if day > today:
            yield {"event": event, "date": day, "today": today}


@check()
def age_consistent(ctx: CheckContext) -> Iterator[Offending]:
    birth = ctx.record.demographics.birth_date
    for path, d in diagnoses(ctx.record):
        actual = age_on(birth, d.diagnosis_date)
        if actual != d.age_at_diagnosis:
            yield {
                "path": path,
                "age": d.age_at_diagnosis,
                "birth": birth,
                "diagnosis": d.diagnosis_date,
                "actual": actual,
            }


def _before_diagnosis(
    record: PatientRecord, events: list[tuple[str, str, date]]
) -> Iterator[Offending]:
    """Events (path, name, date) dated before the diagnosis they treat."""
    first = record.diagnosis.diagnosis_date
    second = record.second_tumour.diagnosis.diagnosis_date if record.second_tumour else None
    for path, name, day in events:
        diagnosed = second if path.startswith("second_tumour") and second else first
        if day < diagnosed:
            yield {"item": name, "date": day, "diagnosis": diagnosed}


@check()
def chemotherapy_after_diagnosis(ctx: CheckContext) -> Iterator[Offending]:
    events = [(p, _given(c), c.date) for p, c in chemotherapy_items(ctx.record)]
    return _before_diagnosis(ctx.record, events)


@check()
def intrathecal_after_diagnosis(ctx: CheckContext) -> Iterator[Offending]:
    it = ctx.record.intrathecal
    events = [("intrathecal", ", ".join(it.drugs), it.start_date)] if it else []
    return _before_diagnosis(ctx.record, events)


@check()
def radiotherapy_after_diagnosis(ctx: CheckContext) -> Iterator[Offending]:
    events = [(p, r.site, r.start_date) for p, r in radiotherapy_items(ctx.record)]
    return _before_diagnosis(ctx.record, events)


@check()
def surgery_after_diagnosis(ctx: CheckContext) -> Iterator[Offending]:
    events = [(p, s.description, s.date) for p, s in surgery_items(ctx.record)]
    return _before_diagnosis(ctx.record, events)


@check()
def hsct_after_diagnosis(ctx: CheckContext) -> Iterator[Offending]:
    events = [("hsct", f"{h.type} HSCT", h.date) for h in ctx.record.hsct]
    return _before_diagnosis(ctx.record, events)


# -- diagnosis --------------------------------------------------------------------------


@check()
def metastatic_sites(ctx: CheckContext) -> Iterator[Offending]:
    for path, d in diagnoses(ctx.record):
        if d.metastatic != bool(d.metastasis_sites):
            sites = ", ".join(d.metastasis_sites) or "none"
            yield {"path": path, "metastatic": d.metastatic, "sites": sites}


@check()
def prosthesis_placed(ctx: CheckContext) -> Iterator[Offending]:
    for path, d in diagnoses(ctx.record):
        if d.prosthesis_still_present and not d.prosthesis_placed:
            yield {"path": path}


# -- sex-specific sites and procedures -------------------------------------------------


def _other_sex_terms(ctx: CheckContext) -> SexTerms:
    specific = ctx.bounds.sex_specific
    return specific.female if ctx.record.demographics.sex == "male" else specific.male


def _site_texts(record: PatientRecord) -> Iterator[tuple[str, str]]:
    for path, d in diagnoses(record):
        yield f"{path}.site", d.site
        for site in d.metastasis_sites:
            yield f"{path}.metastasis_sites", site
    for path, r in radiotherapy_items(record):
        yield f"{path}.site", r.site
        if r.boost:
            yield f"{path}.boost.site", r.boost.site
        if r.shielding_block_site:
            yield f"{path}.shielding_block_site", r.shielding_block_site
    for path, s in surgery_items(record):
        for organ in [*s.organs_affected, *s.organs_removed]:
            yield f"{path} organs", organ
    if record.relapse:
        yield "relapse.site", record.relapse.site


@check()
def sex_sites(ctx: CheckContext) -> Iterator[Offending]:
    terms = _other_sex_terms(ctx)
    pattern = words_pattern(terms.sites)
    sex = ctx.record.demographics.sex
    for where, text in _site_texts(ctx.record):
        if pattern.search(text):
            yield {"sex": sex, "where": where, "site": text}
    for path, d in diagnoses(ctx.record):
        code = d.icdo3_topography
        if code and any(code.startswith(p) for p in terms.topography_prefixes):
            yield {"sex": sex, "where": f"{path}.icdo3_topography", "site": code}


@check()
def sex_procedures(ctx: CheckContext) -> Iterator[Offending]:
    pattern = words_pattern(_other_sex_terms(ctx).procedures)
    texts = [(f"{p}.description", s.description) for p, s in surgery_items(ctx.record)]
    fertility = ctx.record.others.fertility_preservation if ctx.record.others else None
    if fertility:
        texts += [
            (f"others.fertility_preservation.{name}", value)
            for name, value in (
                ("method", fertility.method),
                ("storage_site", fertility.storage_site),
            )
            if value
        ]
    for where, text in texts:
        if pattern.search(text):
            yield {"sex": ctx.record.demographics.sex, "where": where, "procedure": text}


# -- course: relapse and second tumour -------------------------------------------------


@check()
def relapse_after_first_line(ctx: CheckContext) -> Iterator[Offending]:
    relapse = ctx.record.relapse
    if relapse is None:
        return
    record = ctx.record
    first_line = [("diagnosis", record.diagnosis.diagnosis_date)]
    first_line += [(_given(c), c.date) for c in record.chemotherapy]
    first_line += [(f"radiotherapy to {r.site}", r.start_date) for r in record.radiotherapy]
    if record.intrathecal:
        first_line.append(("intrathecal therapy", record.intrathecal.start_date))
    for treatment, day in first_line:
        if day >= relapse.date:
            yield {"relapse": relapse.date, "treatment": treatment, "date": day}


@check()
def second_line_after_relapse(ctx: CheckContext) -> Iterator[Offending]:
    relapse = ctx.record.relapse
    if relapse is None:
        return
    items = [(_given(c), c.date) for c in relapse.second_line]
    items += [(f"radiotherapy to {r.site}", r.start_date) for r in relapse.second_line_radiotherapy]
    for item, day in items:
        if day < relapse.date:
            yield {"item": item, "date": day, "relapse": relapse.date}


@check()
def second_tumour_different(ctx: CheckContext) -> Iterator[Offending]:
    second = ctx.record.second_tumour
    first = ctx.record.diagnosis
    if second is None:
        return
    same_code = second.diagnosis.icdo3_morphology == first.icdo3_morphology
    same_name = (
        " ".join(second.diagnosis.tumour.split()).casefold()
        == " ".join(first.tumour.split()).casefold()
    )
    if same_code or same_name:
        yield {
            "tumour": second.diagnosis.tumour,
            "code": second.diagnosis.icdo3_morphology,
            "first": f"{first.tumour} ({first.icdo3_morphology})",
        }


@check()
def second_tumour_after_first(ctx: CheckContext) -> Iterator[Offending]:
    second = ctx.record.second_tumour
    first = ctx.record.diagnosis.diagnosis_date
    if second and second.diagnosis.diagnosis_date <= first:
        yield {"date": second.diagnosis.diagnosis_date, "first": first}


# -- request ---------------------------------------------------------------------------


def missing_from(record: PatientRecord) -> Iterator[tuple[str, str]]:
    """What the parsed request in the record's provenance asked for and the record lacks:
    (what, detail)."""
    asked = record.provenance.parsed_request
    if asked is None:
        return
    present = {
        "chemotherapy": bool(record.chemotherapy),
        "radiotherapy": bool(record.radiotherapy),
        "surgery": bool(record.surgery),
        "hsct": bool(record.hsct),
        "others": record.others is not None,
    }
    for block in asked.blocks:
        if not present.get(block, False):
            yield block, "asked for, not in the record"
    d = record.diagnosis
    if asked.diagnosis_codes and d.icdo3_morphology not in asked.diagnosis_codes:
        yield "diagnosis", f"{asked.diagnosis} asked for, {d.tumour} ({d.icdo3_morphology}) given"
    if asked.age is not None and d.age_at_diagnosis != asked.age:
        yield "age", f"{asked.age} asked for, {d.age_at_diagnosis} at diagnosis"
    if asked.sex is not None and record.demographics.sex != asked.sex:
        yield "sex", f"{asked.sex} asked for, {record.demographics.sex} given"
    if asked.relapse and record.relapse is None:
        yield "relapse", "asked for, not in the record"
    if asked.second_tumour is not None:
        second = record.second_tumour
        if second is None:
            yield "second tumour", f"{asked.second_tumour} asked for, not in the record"
        elif (
            asked.second_tumour_codes
            and second.diagnosis.icdo3_morphology not in asked.second_tumour_codes
        ):
            yield (
                "second tumour",
                (f"{asked.second_tumour} asked for, {second.diagnosis.tumour} given"),
            )
        if second is not None:
            held = {
                "chemotherapy": second.chemotherapy,
                "radiotherapy": second.radiotherapy,
                "surgery": second.surgery,
            }
            for block in asked.second_tumour_blocks or []:
                if not held.get(block):
                    yield (
                        f"second tumour's {block}",
                        f"asked for, not in the record's second tumour ({second.diagnosis.tumour})",
                    )
    yield from items_missing(record)


@check()
def request_honoured(ctx: CheckContext) -> Iterator[Offending]:
    for what, detail in missing_from(ctx.record):
        yield {"what": what, "detail": detail}


# -- others ----------------------------------------------------------------------------


@check()
def intoxication_resolution(ctx: CheckContext) -> Iterator[Offending]:
    for x in ctx.record.others.intoxications if ctx.record.others else []:
        if x.resolution_date and (not x.resolved or x.resolution_date < x.date):
            yield {
                "agent": x.agent,
                "date": x.date,
                "resolved": x.resolved,
                "resolution": x.resolution_date,
            }


@check()
def transfusions_consistent(ctx: CheckContext) -> Iterator[Offending]:
    transfusions = ctx.record.others.transfusions if ctx.record.others else None
    if transfusions and transfusions.more_than_10 and not transfusions.any:
        yield {}


@check()
def fertility_preservation_consistent(ctx: CheckContext) -> Iterator[Offending]:
    fertility = ctx.record.others.fertility_preservation if ctx.record.others else None
    if fertility and not fertility.done and (fertility.method or fertility.storage_site):
        yield {"method": fertility.method or "-", "storage": fertility.storage_site or "-"}

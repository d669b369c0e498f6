"""Treatment checks: chemotherapy, intrathecal therapy, radiotherapy and stem-cell transplant.

Bounds come from bounds.toml; drug flags (intrathecal, anthracycline) from
knowledge/vocab/drugs.csv. Absent blocks pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from service.records import RadiotherapyCourse
from service.validation.bounds import SiteDose
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_items,
    radiotherapy_items,
    radiotherapy_label,
)

# -- chemotherapy -----------------------------------------------------------------------


@check()
def cycles_ordered(ctx: CheckContext) -> Iterator[Offending]:
    """Within each line of treatment, a later cycle starts after an earlier one."""
    lines: dict[str, dict[int, date]] = {}
    for path, c in chemotherapy_items(ctx.record):
        starts = lines.setdefault(path.rsplit("[", 1)[0], {})
        starts[c.cycle] = min(starts.get(c.cycle, c.date), c.date)
    for line, starts in lines.items():
        cycles = sorted(starts)
        for previous, cycle in zip(cycles, cycles[1:], strict=False):
            if starts[cycle] <= starts[previous]:
                yield {
                    "line": line,
                    "cycle": cycle,
                    "date": starts[cycle],
                    "previous": previous,
                    "previous_date": starts[previous],
                }


@check()
def anthracycline_cumulative(ctx: CheckContext) -> Iterator[Offending]:
    bounds = ctx.bounds.anthracyclines
    total = 0.0
    counted: list[str] = []
    for _, c in chemotherapy_items(ctx.record):
        term = ctx.vocabulary.drug(c.drug)
        if term is None or term.term not in ctx.vocabulary.anthracyclines:
            continue
        factor = {"mg/m2": 1.0, "g/m2": 1000.0}.get(c.unit)
        if factor is None:
            continue
        total += c.dose * factor * bounds.doxorubicin_equivalence[term.term]
        counted.append(term.term)
    if total > bounds.max_cumulative_mg_m2:
        yield {
            "total": f"{total:g}",
            "drugs": ", ".join(sorted(set(counted))),
            "bound": f"{bounds.max_cumulative_mg_m2:g}",
        }


@check()
def intrathecal_drugs(ctx: CheckContext) -> Iterator[Offending]:
    it = ctx.record.intrathecal
    allowed = ctx.vocabulary.intrathecal
    for drug in it.drugs if it else []:
        term = ctx.vocabulary.drug(drug)
        if term is None or term.term not in allowed:
            yield {"drug": drug, "allowed": ", ".join(sorted(allowed))}


# -- radiotherapy -----------------------------------------------------------------------


def _site_dose(ctx: CheckContext, course: RadiotherapyCourse) -> tuple[str, SiteDose]:
    bounds = ctx.bounds.radiotherapy
    if course.technique == "tbi":
        return bounds.tbi_site, bounds.sites[bounds.tbi_site]
    term = ctx.vocabulary.radiotherapy_site(course.site)
    if term is not None and term.term in bounds.sites:
        return term.term, bounds.sites[term.term]
    return "any site", bounds.default


def _dosed_courses(
    ctx: CheckContext,
) -> Iterator[tuple[RadiotherapyCourse, float, str, SiteDose]]:
    """Courses dosed in Gy (not brachytherapy or metabolic therapy), with their dose."""
    for _, course in radiotherapy_items(ctx.record):
        exempt = course.technique in ctx.bounds.radiotherapy.exempt_techniques
        if not exempt and course.dose is not None:
            yield course, course.dose, *_site_dose(ctx, course)


@check()
def radiotherapy_total_dose(ctx: CheckContext) -> Iterator[Offending]:
    for course, dose, bound_site, bounds in _dosed_courses(ctx):
        if dose not in bounds.total_gy:
            yield {
                "course": radiotherapy_label(course),
                "dose": dose,
                "bound_site": bound_site,
                "range": bounds.total_gy,
            }


@check()
def radiotherapy_fraction_dose(ctx: CheckContext) -> Iterator[Offending]:
    for course, dose, bound_site, bounds in _dosed_courses(ctx):
        per_fraction = round(dose / course.fractions, 3)
        if per_fraction not in bounds.fraction_gy:
            yield {
                "course": radiotherapy_label(course),
                "per_fraction": f"{per_fraction:g}",
                "bound_site": bound_site,
                "range": bounds.fraction_gy,
            }


@check()
def radiotherapy_boost(ctx: CheckContext) -> Iterator[Offending]:
    bounds = ctx.bounds.radiotherapy
    for _, course in radiotherapy_items(ctx.record):
        boost = course.boost
        if boost is None or course.dose is None:
            continue
        total = course.dose + boost.dose
        if boost.dose not in bounds.boost_gy or total > bounds.max_total_with_boost_gy:
            yield {
                "course": radiotherapy_label(course),
                "boost": boost.dose,
                "boost_site": boost.site,
                "range": bounds.boost_gy,
                "total": f"{total:g}",
                "max_total": f"{bounds.max_total_with_boost_gy:g}",
            }


@check()
def tbi_with_hsct(ctx: CheckContext) -> Iterator[Offending]:
    window = ctx.bounds.radiotherapy.tbi_to_hsct_max_days
    tbi_site = ctx.bounds.radiotherapy.tbi_site
    for _, course in radiotherapy_items(ctx.record):
        term = ctx.vocabulary.radiotherapy_site(course.site)
        if course.technique != "tbi" and not (term and term.term == tbi_site):
            continue
        if not any(0 <= (h.date - course.start_date).days <= window for h in ctx.record.hsct):
            yield {"start": course.start_date, "days": window}


# -- haematopoietic stem-cell transplant -----------------------------------------------


@check()
def allogeneic_donor(ctx: CheckContext) -> Iterator[Offending]:
    for h in ctx.record.hsct:
        if h.type == "allogeneic" and h.donor is None:
            yield {"date": h.date}


@check()
def autologous_no_donor(ctx: CheckContext) -> Iterator[Offending]:
    for h in ctx.record.hsct:
        if h.type == "autologous" and (h.donor is not None or h.donor_blood_group is not None):
            donor = h.donor.type if h.donor else f"blood group {h.donor_blood_group}"
            yield {"date": h.date, "donor": donor}


@check()
def autologous_gvhd(ctx: CheckContext) -> Iterator[Offending]:
    for h in ctx.record.hsct:
        if h.type == "autologous" and h.gvhd:
            yield {"date": h.date, "gvhd": ", ".join(f"{g.form} grade {g.grade}" for g in h.gvhd)}


@check()
def donor_relationship(ctx: CheckContext) -> Iterator[Offending]:
    donors = ctx.bounds.donors
    expected = {
        "matched_sibling": donors.siblings,
        "haploidentical": donors.relatives,
        "matched_unrelated": donors.unrelated,
        "mismatched_unrelated": donors.unrelated,
    }
    for h in ctx.record.hsct:
        if h.donor is None or h.donor.relationship is None:
            continue
        allowed = expected[h.donor.type]
        if h.donor.relationship.strip().casefold() not in (a.casefold() for a in allowed):
            yield {
                "donor_type": h.donor.type,
                "relationship": h.donor.relationship,
                "allowed": ", ".join(allowed),
            }


@check()
def blood_group_allogeneic(ctx: CheckContext) -> Iterator[Offending]:
    for h in ctx.record.hsct:
        after, donor = h.blood_group_after, h.donor_blood_group
        if h.type == "allogeneic" and after and donor and after != donor:
            yield {"date": h.date, "after": after, "donor": donor}


@check()
def blood_group_autologous(ctx: CheckContext) -> Iterator[Offending]:
    for h in ctx.record.hsct:
        before, after = h.blood_group_before, h.blood_group_after
        if h.type == "autologous" and before and after and before != after:
            yield {"date": h.date, "before": before, "after": after}

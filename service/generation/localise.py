"""A record's clinical words in the record's language, from the vocabularies' names.

The blocks write English vocabulary terms (the names the facts, the validator and the
exports key on); a record asked for in Spanish gets each of them under the vocabulary's
Spanish name once it is complete: tumours and sites, drugs (and so the second-line regimen
and the immunosuppression), radiotherapy sites, procedures and the organs they remove,
supportive care, conditioning regimens, metastasis and relapse sites, GvHD organs,
predisposition syndromes, a brachytherapy's applicator, a donor's relationship. The names
are whole phrases as the vocabulary gives them ("metástasis óseas", "ganglios afectos"), so
an adjective agrees with its noun. Codes, dates, doses, citations
(quotes are the guideline's own words) and the summary are left as they are; a word the
vocabulary has no name for in the language stays English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.vocabulary import name_in
from service.records import (
    ChemotherapyAdministration,
    Diagnosis,
    IntrathecalTherapy,
    Others,
    PatientRecord,
    RadiotherapyCourse,
    Relapse,
    SecondTumour,
    StemCellTransplant,
    Surgery,
)

# The relationships the transplant block draws (service.generation.blocks.hsct.RELATIVES).
RELATIVES = {
    "es": {"brother": "hermano", "sister": "hermana", "mother": "madre", "father": "padre"},
}
REGIMEN_JOIN = " + "  # how a second-line regimen joins its drugs


@dataclass(frozen=True)
class Words:
    """The vocabulary's names in one language, looked up by what kind of word a field holds."""

    language: str

    def named(self, kinds: Sequence[str], text: str) -> str:
        """The first kind's name for ``text``; the text itself where no kind has one."""
        for kind in kinds:
            name = name_in(self.language, kind, text, "")
            if name:
                return name
        return text

    def site(self, text: str) -> str:
        return self.named(("body_site", "site", "radiotherapy_site"), text)

    def sites(self, texts: list[str]) -> list[str]:
        return [self.site(t) for t in texts]

    def rt_site(self, text: str | None) -> str | None:
        if text is None:
            return None
        return self.named(("radiotherapy_site", "body_site", "site"), text)

    def drug(self, text: str) -> str:
        return self.named(("drug",), text)


def in_language(record: PatientRecord, language: str) -> PatientRecord:
    """``record`` with its clinical words in ``language`` (the same record for English)."""
    if language == "en":
        return record
    w = Words(language)
    update: dict[str, object] = {
        "diagnosis": _diagnosis(w, record.diagnosis),
        "chemotherapy": _chemotherapy(w, record.chemotherapy),
        "intrathecal": _intrathecal(w, record.intrathecal),
        "radiotherapy": _radiotherapy(w, record.radiotherapy),
        "surgery": _surgery(w, record.surgery),
        "hsct": [_transplant(w, h) for h in record.hsct],
        "others": _others(w, record.others),
        "relapse": _relapse(w, record.relapse),
        "second_tumour": _second_tumour(w, record.second_tumour),
    }
    return record.model_copy(update=update)


def _diagnosis(w: Words, d: Diagnosis) -> Diagnosis:
    tumour = name_in(w.language, "tumour", d.icdo3_morphology, d.tumour)
    site = name_in(w.language, "site", d.icdo3_topography or "", "") or w.site(d.site)
    return d.model_copy(
        update={
            "tumour": tumour,
            "site": site,
            "metastasis_sites": w.sites(d.metastasis_sites),
            "genetic_conditions": [w.named(("syndrome",), g) for g in d.genetic_conditions],
        }
    )


def _chemotherapy(
    w: Words, items: list[ChemotherapyAdministration]
) -> list[ChemotherapyAdministration]:
    return [c.model_copy(update={"drug": w.drug(c.drug)}) for c in items]


def _intrathecal(w: Words, it: IntrathecalTherapy | None) -> IntrathecalTherapy | None:
    if it is None:
        return None
    return it.model_copy(update={"drugs": [w.drug(d) for d in it.drugs]})


def _radiotherapy(w: Words, courses: list[RadiotherapyCourse]) -> list[RadiotherapyCourse]:
    done = []
    for r in courses:
        boost = r.boost.model_copy(update={"site": w.rt_site(r.boost.site)}) if r.boost else None
        update = {
            "site": w.rt_site(r.site),
            "boost": boost,
            "shielding_block_site": w.rt_site(r.shielding_block_site),
            "brachytherapy": r.brachytherapy.model_copy(
                update={"applicator": w.named(("radiation",), r.brachytherapy.applicator)}
            )
            if r.brachytherapy and r.brachytherapy.applicator
            else r.brachytherapy,
        }
        done.append(r.model_copy(update=update))
    return done


def _surgery(w: Words, items: list[Surgery]) -> list[Surgery]:
    return [
        s.model_copy(
            update={
                "description": w.named(("procedure",), s.description),
                "organs_affected": w.sites(s.organs_affected),
                "organs_removed": [
                    w.named(("removed", "body_site", "site"), o) for o in s.organs_removed
                ],
                "shunt": s.shunt.model_copy(update={"type": w.named(("procedure",), s.shunt.type)})
                if s.shunt
                else None,
            }
        )
        for s in items
    ]


def _transplant(w: Words, h: StemCellTransplant) -> StemCellTransplant:
    donor = h.donor
    if donor is not None and donor.relationship:
        relatives = RELATIVES.get(w.language, {})
        relationship = relatives.get(donor.relationship, donor.relationship)
        donor = donor.model_copy(update={"relationship": relationship})
    gvhd = [g.model_copy(update={"organs": w.sites(g.organs)}) for g in h.gvhd]
    conditioning = w.named(("conditioning",), h.conditioning) if h.conditioning else None
    return h.model_copy(
        update={
            "donor": donor,
            "gvhd": gvhd,
            "immunosuppression": [w.drug(d) for d in h.immunosuppression],
            "conditioning": conditioning,
        }
    )


def _others(w: Words, others: Others | None) -> Others | None:
    if others is None:
        return None
    update: dict[str, object] = {
        "intoxications": [
            i.model_copy(update={"agent": w.drug(i.agent)}) for i in others.intoxications
        ]
    }
    if cvc := others.central_venous_catheter:
        update["central_venous_catheter"] = cvc.model_copy(
            update={
                "type": w.named(("supportive",), cvc.type),
                "complications": [w.named(("supportive",), c) for c in cvc.complications],
            }
        )
    if (fertility := others.fertility_preservation) and fertility.method:
        update["fertility_preservation"] = fertility.model_copy(
            update={"method": w.named(("supportive",), fertility.method)}
        )
    return others.model_copy(update=update)


def _relapse(w: Words, relapse: Relapse | None) -> Relapse | None:
    if relapse is None:
        return None
    regimen = relapse.second_line_regimen
    if regimen:
        regimen = REGIMEN_JOIN.join(w.drug(d.strip()) for d in regimen.split(REGIMEN_JOIN))
    return relapse.model_copy(
        update={
            "site": w.site(relapse.site),
            "second_line_regimen": regimen,
            "second_line": _chemotherapy(w, relapse.second_line),
            "second_line_radiotherapy": _radiotherapy(w, relapse.second_line_radiotherapy),
        }
    )


def _second_tumour(w: Words, second: SecondTumour | None) -> SecondTumour | None:
    if second is None:
        return None
    return second.model_copy(
        update={
            "diagnosis": _diagnosis(w, second.diagnosis),
            "chemotherapy": _chemotherapy(w, second.chemotherapy),
            "radiotherapy": _radiotherapy(w, second.radiotherapy),
            "surgery": _surgery(w, second.surgery),
        }
    )

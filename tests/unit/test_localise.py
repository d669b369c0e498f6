"""Spanish records speak the vocabulary's Spanish (service.generation.localise), and the
independent language check (service.validation.language) finds the English it leaves."""

from __future__ import annotations

import csv

import pytest

from knowledge.vocabulary import VOCAB_DIR
from service.generation.localise import in_language
from service.records import PatientRecord
from service.validation.language import clinical_texts, translations
from tests.records import full_record_data


def record(**changes: object) -> PatientRecord:
    data = full_record_data()
    data["relapse"]["second_line_regimen"] = "irinotecan + temozolomide"
    data["radiotherapy"][0]["site"] = "whole lung"
    data["surgery"][0]["description"] = "limb-salvage surgery with expandable endoprosthesis"
    data["surgery"][0]["organs_removed"] = ["pulmonary metastases", "lower limb"]
    data["hsct"] = [
        {
            **data["hsct"][0],
            "type": "allogeneic",
            "donor": {"type": "matched_sibling", "relationship": "sister"},
            "conditioning": "fludarabine, thiotepa and busulfan",
            "immunosuppression": ["ciclosporin", "methotrexate"],
            "gvhd": [{"form": "acute", "grade": 2, "organs": ["skin", "liver"]}],
        }
    ]
    data["others"]["central_venous_catheter"]["complications"] = ["thrombosis"]
    data["others"]["intoxications"] = [
        {"date": "2020-06-01", "agent": "methotrexate", "resolved": True}
    ]
    data.update(changes)
    return PatientRecord.model_validate(data)


def test_every_clinical_word_the_vocabulary_can_translate_is_spanish():
    english = record()
    spanish = in_language(english, "es")
    d = spanish.diagnosis
    assert (d.tumour, d.metastasis_sites) == ("sarcoma de Ewing", ["pulmón"])
    assert d.site.startswith("huesos de la pelvis")  # by its topography code
    assert [c.drug for c in spanish.chemotherapy][:3] == [
        "vincristina",
        "ifosfamida",
        "doxorrubicina",
    ]
    rt = spanish.radiotherapy[0]
    assert (rt.site, rt.boost and rt.boost.site) == ("ambos pulmones", "lecho tumoral")
    assert rt.shielding_block_site == "testículos"
    s = spanish.surgery[0]
    assert s.description == "cirugía de salvamento de extremidad con endoprótesis expandible"
    assert s.organs_removed == ["metástasis pulmonares", "miembro inferior"]  # agreement
    h = spanish.hsct[0]
    assert h.conditioning == "fludarabina, tiotepa y busulfano"
    assert h.immunosuppression == ["ciclosporina", "metotrexato"]
    assert h.donor and h.donor.relationship == "hermana"
    assert h.gvhd[0].organs == ["piel", "hígado"]
    others = spanish.others
    assert others and others.central_venous_catheter
    assert others.central_venous_catheter.type == "reservorio subcutáneo"
    assert others.central_venous_catheter.complications == ["trombosis"]
    assert others.fertility_preservation and others.fertility_preservation.method == (
        "criopreservación de semen"
    )
    assert others.intoxications[0].agent == "metotrexato"
    relapse = spanish.relapse
    assert relapse and relapse.site == "pulmón"
    assert relapse.second_line_regimen == "irinotecán + temozolomida"
    assert relapse.second_line[0].drug == "irinotecán"


def test_codes_citations_and_words_without_a_spanish_name_stay():
    english = record()
    spanish = in_language(english, "es")
    assert spanish.citations() == english.citations()  # quotes are the guideline's words
    assert [c.atc for c in spanish.chemotherapy] == [c.atc for c in english.chemotherapy]
    assert spanish.diagnosis.icdo3_morphology == english.diagnosis.icdo3_morphology
    # not in any vocabulary: kept as written
    assert spanish.surgery[0].organs_affected == english.surgery[0].organs_affected
    assert in_language(english, "en") is english


def test_the_check_finds_english_left_in_a_spanish_record_and_nothing_once_translated():
    names = translations()
    english = record()
    found = {
        (path, en) for path, text in clinical_texts(english) for en, _ in names.english_in(text)
    }
    assert ("chemotherapy[0].drug", "vincristine") in found
    assert ("hsct[0].conditioning", "fludarabine, thiotepa and busulfan") in found
    assert ("surgery[0].organs", "pulmonary metastases") not in found  # no vocabulary row
    assert ("others.central_venous_catheter.type", "implanted port") in found
    spanish = in_language(english, "es")
    left = [(p, t, names.english_in(t)) for p, t in clinical_texts(spanish) if p != "summary"]
    assert [x for x in left if x[2]] == []


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("metástasis en lung", [("lung", "pulmón")]),
        ("pleura", []),  # the same word in both languages
        ("osteosarcoma, SAI", []),
        ("BEAM", []),
        ("catéter de Hickman", []),  # "Hickman" is not "Hickman line"
        (
            "long bones of lower limb and associated joints",
            [
                (
                    "long bones of lower limb and associated joints",
                    "huesos largos del miembro inferior y articulaciones asociadas",
                ),
            ],
        ),
    ],
)
def test_the_check_flags_only_english_names_with_another_spanish_name(text, flagged):
    assert translations().english_in(text) == flagged


@pytest.mark.parametrize(
    "file",
    [
        "body_sites.csv",
        "supportive_care.csv",
        "surgical_procedures.csv",
        "conditioning_regimens.csv",
    ],
)
def test_spanish_names_are_aliases_so_extractors_and_the_verifier_know_them(file):
    with open(VOCAB_DIR / file, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    first = next(iter(rows[0]))
    for row in rows:
        names = {row[first].lower(), *row["aliases"].split("|")}
        assert row["es"].strip(), row[first]
        assert row["es"].lower() in names, row[first]


def test_a_spanish_radiotherapy_site_keeps_its_pcsp_code():
    from service.exports.pcsp_codes import radiotherapy_site

    assert radiotherapy_site("cuerpo entero")["coding"][0]["code"] == "50.50"
    assert radiotherapy_site("ambos pulmones")["coding"][0]["code"] == "7.11.1"
    assert radiotherapy_site("ambos pulmones")["text"] == "ambos pulmones"

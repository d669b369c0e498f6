"""The fact extractor on literal sentences (pt, es, en) and table rows: each fact quotes
its page exactly, and a dose goes to the drug it belongs to."""

import pytest

from knowledge.chunks import TableCell
from knowledge.facts import extract_page
from knowledge.facts.doses import normalise_unit, parse_days
from knowledge.facts.numbers import parse_number


def facts_of(text, kind, language="pt", rows=()):
    found = extract_page(3, text, language=language, rows=rows)
    for fact in found:
        assert fact.quote == text[fact.start : fact.end]
        assert fact.page == 3
    return [f for f in found if f.kind == kind]


def dose(text, language="pt"):
    [fact] = facts_of(text, "drug_dose", language)
    return fact.fields


@pytest.mark.parametrize(
    ("text", "value"),
    [("1, 5", 1.5), ("1,8", 1.8), ("1.8", 1.8), ("1,500", 1500), ("1000", 1000), ("0, 01", 0.01)],
)
def test_numbers_as_guidelines_write_them(text, value):
    assert parse_number(text) == value


def test_a_dot_before_three_digits_depends_on_the_language():
    assert parse_number("1.500", decimal_comma=True) == 1500
    assert parse_number("1.500", decimal_comma=False) == 1.5


def test_units_are_one_ascii_spelling():
    assert normalise_unit("mg/m²") == "mg/m2"
    assert normalise_unit("µg/kg") == "mcg/kg"
    assert normalise_unit("UI/m2") == "IU/m2"
    assert normalise_unit("mg / kg") == "mg/kg"


def test_days_lists_and_ranges():
    assert parse_days("D1, D8 e D15") == "1,8,15"
    assert parse_days("dias 1 a 5") == "1,2,3,4,5"
    assert parse_days("days 1-3") == "1,2,3"


def test_portuguese_dose_with_route_and_day():
    fields = dose("Vincristina 1,5 mg/m2 IV D1")
    assert fields["drug"] == "vincristine" and fields["dose"] == 1.5
    assert (fields["unit"], fields["route"], fields["days"]) == ("mg/m2", "iv", "1")


def test_spanish_dose_per_day_with_unicode_square():
    fields = dose("Ciclofosfamida 1000 mg/m²/dia durante 2 días.", language="es")
    assert (fields["drug"], fields["dose"], fields["unit"], fields["per"]) == (
        "cyclophosphamide",
        1000,
        "mg/m2",
        "day",
    )


def test_latex_artefact_and_maximum_dose():
    fields = dose("D1 Vincristina 1, 5mg/m2 EV em bolo (máx. 2 mg)")
    assert (fields["dose"], fields["route"], fields["max_dose"], fields["max_unit"]) == (
        1.5,
        "iv",
        2,
        "mg",
    )


def test_english_dose_every_four_weeks_is_per_cycle():
    fields = dose("Etoposide 100 mg/m2 every 4 weeks.", language="en")
    assert (fields["dose"], fields["per"], fields["every"]) == (100, "cycle", "4 weeks")


def test_weight_based_dose_every_twelve_hours():
    fields = dose("Give ifosfamide 10 mg/kg every 12 hours by mouth.", language="en")
    assert (fields["unit"], fields["per"], fields["route"]) == ("mg/kg", "dose", "oral")


def test_a_dose_goes_to_the_nearest_drug_before_it_only():
    [fact] = facts_of("Cyclophosphamide and vincristine 1.5 mg/m2 weekly.", "drug_dose", "en")
    assert fact.fields["drug"] == "vincristine" and fact.fields["per"] == "week"
    assert fact.quote == "vincristine 1.5 mg/m2 weekly"


def test_several_drugs_each_with_its_dose():
    found = facts_of(
        "Esquema ICE (ifosfamida 1,8 g/m2 e etoposido 100 mg/m2 por cinco dias).", "drug_dose"
    )
    assert [(f.fields["drug"], f.fields["dose"], f.fields["unit"]) for f in found] == [
        ("ifosfamide", 1.8, "g/m2"),
        ("etoposide", 100, "mg/m2"),
    ]


def test_a_dose_right_after_names_its_drug():
    fields = dose("Se administran 1,5 mg/m2 de vincristina.", language="es")
    assert fields["drug"] == "vincristine"


def test_a_dose_without_a_drug_is_no_fact():
    assert facts_of("Xilomina 25 mg/kg e foborol 15 mg/kg.", "drug_dose") == []
    assert facts_of("Neut (> 7, 5 × 102): Plaq (> 7, 5 × 104)", "drug_dose") == []


def test_portuguese_radiotherapy_course():
    [fact] = facts_of("Radioterapia: 54 Gy em 30 frações de 1,8 Gy.", "radiotherapy")
    assert fact.fields == {
        "site": None,
        "total_gy": 54,
        "fractions": 30,
        "per_fraction_gy": 1.8,
        "boost": False,
        "source": "patterns",
    }
    assert fact.quote == "54 Gy em 30 frações de 1,8 Gy"


def test_total_dose_alone_and_per_fraction_alone():
    [total] = facts_of("Irradiação craniana com dose total de 23,4 Gy.", "radiotherapy")
    assert total.fields["total_gy"] == 23.4
    [fraction] = facts_of("Treatment is given at 1.8 Gy/fraction.", "radiotherapy", "en")
    assert fraction.fields["per_fraction_gy"] == 1.8 and fraction.fields["total_gy"] is None


def test_english_course_with_fractions_derived_and_centigray():
    [fact] = facts_of("A boost of 5400 cGy with 1.8 Gy per fraction.", "radiotherapy", "en")
    assert fact.fields["total_gy"] == 54 and fact.fields["per_fraction_gy"] == 1.8
    assert fact.fields["fractions"] == 30 and fact.fields["boost"] is True


def test_a_boost_named_at_the_head_of_its_clause_is_a_boost():
    sentence = (
        "Involved-node radiotherapy: 19.8 Gy in 11 fractions; an additional boost is used in "
        "some protocols, for example a boost to the residual mass that remains PET-positive "
        "at late response assessment: 10.8 Gy in 6 fractions of 1.8 Gy."
    )
    course, boost = facts_of(sentence, "radiotherapy", "en")
    assert (course.fields["total_gy"], course.fields["boost"]) == (19.8, False)
    assert (boost.fields["total_gy"], boost.fields["boost"]) == (10.8, True)


def test_two_totals_in_one_sentence_are_two_facts():
    found = facts_of(
        "Radioterapia: 54 Gy para 3-5 anos e 59,4 Gy a partir de 6 anos.", "radiotherapy"
    )
    assert [f.fields["total_gy"] for f in found] == [54, 59.4]


def test_tumour_mentions_in_any_language_once_per_page():
    text = "El sarcoma de Ewing y el osteosarcoma. Sarcoma de Ewing otra vez."
    found = facts_of(text, "tumour_mention", "es")
    assert [f.fields["code"] for f in found] == ["9364/3", "9180/3"]


def test_regimens_named_and_combined_with_their_phase():
    found = facts_of("Indução com vincristina e carboplatina; depois esquema PCV.", "regimen")
    names = {f.fields["name"]: f.fields["phase"] for f in found}
    assert "PCV" in names
    found = facts_of("Induction: vincristine/cyclophosphamide.", "regimen", "en")
    assert found[0].fields == {
        "name": "vincristine + cyclophosphamide",
        "phase": "induction",
        "source": "patterns",
    }


def test_surgery_transplant_and_supportive_items():
    text = "Ressecção cirúrgica completa. Transplante autólogo de células-tronco. G-CSF diário."
    assert facts_of(text, "surgery")[0].fields["item"] == "resection"
    assert {f.fields["item"] for f in facts_of(text, "transplant")} >= {"autologous transplant"}
    assert facts_of(text, "supportive")[0].fields["item"] == "G-CSF"


def cell(text, page_text, header=None):
    start = page_text.index(text)
    return TableCell(header=header, text=text, page=3, start=start, end=start + len(text))


def test_table_row_with_the_drug_and_its_dose_in_separate_cells():
    page = "Droga Dose Via\nTemozolomida 150 mg/m2/dia VO\nEtoposido 50 mg/m2 EV"
    rows = [
        (
            cell("Temozolomida", page, "Droga"),
            cell("150 mg/m2/dia", page, "Dose"),
            cell("VO", page),
        ),
        (cell("Etoposido", page, "Droga"), cell("50 mg/m2", page, "Dose"), cell("EV", page)),
    ]
    found = facts_of(page, "drug_dose", rows=rows)
    got = [(f.fields["drug"], f.fields["dose"], f.fields["per"], f.fields["route"]) for f in found]
    assert got == [("temozolomide", 150, "day", "oral"), ("etoposide", 50, None, "iv")]


def test_table_row_read_from_cells_when_the_page_text_splits_them():
    page = "Temozolomida\nDia 1 a 5\nDose: 200 mg/m2"
    row = (cell("Temozolomida", page), cell("Dia 1 a 5", page), cell("200 mg/m2", page))
    [fact] = facts_of(page, "drug_dose", rows=[row])
    assert fact.fields["dose"] == 200 and fact.fields["days"] == "1,2,3,4,5"
    assert fact.quote == page


def test_a_dose_goes_to_the_drug_written_right_after_it():
    text = "Triple therapy: 1 gram amoxicillin, 500 mg clarithromycin, and 30 mg lansoprazole."
    found = [
        (f.fields["drug"], f.fields["dose"], f.fields["unit"]) for f in facts_of(text, "drug_dose")
    ]
    assert found == [
        ("amoxicillin", 1, "g"),
        ("clarithromycin", 500, "mg"),
        ("lansoprazole", 30, "mg"),
    ]


def test_strengths_and_volumes_are_not_doses():
    assert facts_of("vinorelbine Capsule: 20 mg; 30 mg; 80 mg", "drug_dose") == []
    assert facts_of("TEMOZOLOMIDA NO HIAS: cápsulas de 100mg e 250mg", "drug_dose") == []
    assert facts_of("vincristine Injection: 1 mg/mL (sulfate); 2 mg/2 mL", "drug_dose") == []


def test_ranges_in_words_and_units_per_millilitre():
    [vpa] = facts_of("VPA e a dose ser modificada, entre 10 e 20 mg/kg/dia", "drug_dose")
    assert (vpa.fields["dose"], vpa.fields["dose_high"], vpa.fields["unit"]) == (10, 20, "mg/kg")
    [gcsf] = facts_of("G-CSF 5µg/ml", "drug_dose")
    assert (gcsf.fields["drug"], gcsf.fields["unit"]) == ("filgrastim", "mcg/ml")


def test_risk_thresholds_are_not_doses_or_courses():
    assert facts_of("(doxorubicin isotoxic equivalents) >= 250 mg/m2 ECG", "drug_dose") == []
    assert (
        facts_of("Cardiomyopathy -RT >= 15 Gy to a volume exposing the heart", "radiotherapy") == []
    )


def test_an_exposure_criterion_is_no_course_even_with_its_sign_cut_off_by_ocr():
    """A two-column follow-up table OCRed line by line: the "<" of "HP region < 30 Gy" ends
    one line, another column's words come between, and "30Gy" starts a later line."""
    ocr = (
        "Growth hormone deficiency-Radiotherapytoavol\nIn the post-pubertal period:\n"
        "(GHD) exposing the HPregion< -Performa clinical check-upeveryyear and inwomen "
        "alsochecktheregularity of the\nTSH deficiency(TSHD) 30Gy\nLH/FSH deficiency"
    )
    assert facts_of(ocr, "radiotherapy", language="en") == []
    after = "Cardiomyopathy: 15 Gy or more to a volume exposing the heart"
    assert facts_of(after, "radiotherapy", language="en") == []
    course = "Site (1) Thoracic spine Dose 45 Gy. Patient exposed to anthracyclines."
    assert [f.fields["total_gy"] for f in facts_of(course, "radiotherapy", "en")] == [45]


def test_passport_lines_and_gray_spelled_out():
    [dose] = facts_of("Cyclophosphamide 5438.77 (Dose given) mg/m2", "drug_dose")
    assert (dose.fields["drug"], dose.fields["dose"], dose.fields["unit"]) == (
        "cyclophosphamide",
        5438.77,
        "mg/m2",
    )
    [course] = facts_of("Site (1) Illiac area/nodes (left) Dose 41.4 Gray", "radiotherapy")
    assert course.fields["total_gy"] == 41.4
    [dutch] = facts_of("tot een totale dosis van 41,4 Gy in 23 fracties van 1,8 Gy", "radiotherapy")
    assert (dutch.fields["fractions"], dutch.fields["per_fraction_gy"]) == (23, 1.8)


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("1 Tumores do SNC recorrentes\nRacional", "Tumores do SNC recorrentes"),
        ("Pacientes com meduloblastoma recidivado recebem", "meduloblastoma recidivado"),
        ("Tratamento da recidiva de ependimoma.", "recidiva de ependimoma"),
        ("for recurrent medulloblastoma", "recurrent medulloblastoma"),
        ("Tumores cerebrales en recaída", "Tumores cerebrales en recaída"),
    ],
)
def test_relapsed_cns_tumours_by_name_or_by_a_relapse_word_next_to_a_cns_tumour(text, quote):
    found = [
        f for f in facts_of(text, "tumour_mention") if f.fields["term"] == "relapsed CNS tumours"
    ]
    assert [f.quote for f in found] == [quote]


def test_a_relapse_word_next_to_a_tumour_outside_the_cns_is_no_relapsed_cns_tumour():
    found = facts_of("Wilms tumor recidivado", "tumour_mention")
    assert [f.fields["term"] for f in found] == ["nephroblastoma, NOS"]


def test_days_joined_by_and_are_a_list_not_a_range():
    assert parse_days("days 1, 8 and 15") == "1,8,15"
    assert parse_days("days 1 and 8") == "1,8"
    assert parse_days("días 1 a 5") == "1,2,3,4,5"


def test_the_cap_after_a_dose_in_a_table_cell_is_not_a_dose():
    page = "vincristina 1,5 mg/m² IV (máx. 2 mg) día 1"
    row = (cell("vincristina", page), cell("1,5 mg/m² IV (máx. 2 mg)", page), cell("día 1", page))
    found = facts_of(page, "drug_dose", language="es", rows=[row])
    assert [(f.fields["dose"], f.fields["unit"]) for f in found] == [(1.5, "mg/m2")]
    assert found[0].fields["max_dose"] == 2

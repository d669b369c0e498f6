"""The shipped vocabularies (knowledge/vocab/): coverage, well-formed codes, unambiguous
names, and find_terms' matching rules."""

from __future__ import annotations

import csv
import re
from collections import defaultdict

import pytest

from knowledge.vocabulary import (
    DRUG_ROLES,
    ICCC_GROUPS,
    VOCAB_DIR,
    drug_by_name,
    drug_records,
    drugs,
    find_terms,
    iccc_group,
    match_morphology,
    morphologies,
    topographies,
    tumour_by_name,
    tumour_group_by_name,
    tumour_groups,
    tumour_records,
)

ATC = re.compile(r"^[A-Z]\d\d[A-Z]{2}\d\d$")
MORPHOLOGY = re.compile(r"^\d{4}/[0-3]$")
# ICD-O-3 topography categories (C00-C80 without the numbers the classification skips).
CATEGORIES = [
    f"C{n:02d}" for n in range(81) if n not in {27, 28, 29, 35, 36, 43, 45, 46, 59, 78, 79}
]
# Ordinary words of the six languages that must never be a name: they would turn prose
# ("all patients", "la dose", "para", "mesa") into drug or tumour mentions.
COMMON_WORDS = frozenset(
    re.findall(
        r"\w+",
        """
        all and are but can for had has her his its may not one our out per the was who with
        from that this will been dose doses mass cell cells high low tumor tumour cancer
        sarcoma carcinoma leukaemia leukemia lymphoma glioma ara con del las los para por que
        sin una uno mesa dia mas ver ven ida gem sen dos das dem den der die und oder ein eine
        mit von zur les des une avec pour sur come con per sono nel alla della mais pelo pela
        uma como epi cap arm leg via
        """,
    )
)


def _owners(records, key) -> dict[str, set[str]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for record in records:
        for name in record.names:
            owners[name].add(key(record))
    return owners


def test_drugs_cover_paediatric_protocols_with_valid_atc_codes_and_roles():
    records = drug_records()
    assert len(records) >= 250
    assert len({d.term for d in records}) == len(records)
    for drug in records:
        assert ATC.match(drug.code), drug
        assert drug.roles and set(drug.roles) <= DRUG_ROLES, drug
        assert drug.names_by_language["es"], drug
    intrathecal = {d.term for d in records if "intrathecal" in d.roles}
    assert {"methotrexate", "cytarabine", "hydrocortisone"} <= intrathecal
    assert {d.term for d in records if d.intrathecal} <= intrathecal


def test_existing_drug_rows_keep_their_values():
    """Other code reads the flags and the ATC codes of the original rows."""
    by_name = {d.term: d for d in drug_records()}
    assert by_name["methotrexate"].code == "L01BA01" and by_name["methotrexate"].intrathecal
    assert {d.term for d in drug_records() if d.anthracycline} == {"doxorubicin", "daunorubicin"}
    assert "vincristina" in by_name["vincristine"].aliases


@pytest.mark.parametrize(
    ("name", "drug"),
    [
        ("VCR", "vincristine"),
        ("VP-16", "etoposide"),
        ("vp16", "etoposide"),
        ("Ara-C", "cytarabine"),
        ("MTX", "methotrexate"),
        ("6-MP", "mercaptopurine"),
        ("DOX", "doxorubicin"),
        ("ADR", "doxorubicin"),
        ("CPM", "cyclophosphamide"),
        ("CTX", "cyclophosphamide"),
        ("IFO", "ifosfamide"),
        ("ACT-D", "dactinomycin"),
        ("AMD", "dactinomycin"),
        ("CBDCA", "carboplatin"),
        ("CDDP", "cisplatin"),
        ("CCNU", "lomustine"),
        ("BCNU", "carmustine"),
        ("TMZ", "temozolomide"),
        ("ATRA", "tretinoin"),
        ("6-TG", "tioguanine"),
        ("Qarziba", "dinutuximab beta"),
        ("etopósido", "etoposide"),
        ("etoposido", "etoposide"),
        ("Methotrexat", "methotrexate"),
        ("méthotrexate", "methotrexate"),
        ("ciclofosfamide", "cyclophosphamide"),
        ("imatinibe", "imatinib"),
        ("leucovorin", "calcium folinate"),
        ("Kymriah", "tisagenlecleucel"),
    ],
)
def test_abbreviations_brands_and_language_names_resolve(name, drug):
    found = drug_by_name(name)
    assert found is not None and found.term == drug
    assert any(t.term == drug for t in drugs() if name.lower() in t.aliases or name == drug)


def test_no_name_denotes_two_drugs_or_two_tumours():
    for records, key in (
        (drug_records(), lambda d: d.term),
        (tumour_records(), lambda t: t.code),
        (topographies(), lambda t: t.code),
        (tumour_groups(), lambda g: g.code),
    ):
        shared = {name: who for name, who in _owners(records, key).items() if len(who) > 1}
        assert not shared
    drug_names = {n for d in drug_records() for n in d.names}
    tumour_names = {n for t in tumour_records() for n in t.names}
    assert not drug_names & tumour_names


def test_no_name_is_an_ordinary_word():
    names = {
        n
        for vocab in (drug_records(), tumour_records(), topographies())
        for t in vocab
        for n in t.names
    }
    # "all" stays: names of up to four characters only match in capitals, and ALL is the
    # leukaemia (test_short_names_only_in_capitals).
    assert not (names - {"all"}) & COMMON_WORDS


def test_every_iccc_group_has_codes_and_every_code_is_well_formed():
    records = tumour_records()
    assert len(records) >= 150
    assert len({t.code for t in records}) == len(records)
    groups: dict[str, int] = defaultdict(int)
    for tumour in records:
        assert MORPHOLOGY.match(tumour.code), tumour
        assert tumour.iccc, tumour
        assert tumour.es_gender in {"m", "f"}, tumour
        assert tumour.names_by_language["es"], tumour
        for group in tumour.iccc_groups:
            groups[group] += 1
    assert set(groups) == set(ICCC_GROUPS)


# ICCC-3 main groups and their last subgroup letter (V has no subgroups).
ICCC_SUBGROUPS = {"I": "e", "II": "e", "III": "f", "IV": "b", "V": "", "VI": "c", "VII": "c"}
ICCC_SUBGROUPS |= {"VIII": "e", "IX": "e", "X": "e", "XI": "f", "XII": "b"}


def test_every_iccc_subgroup_has_codes():
    present = {re.match(r"^[IVX]+[a-f]?", s).group(0) for t in tumour_records() for s in t.iccc}
    for group, last in ICCC_SUBGROUPS.items():
        letters = "abcdef"[: "abcdef".index(last) + 1] if last else ""
        wanted = {group + c for c in letters} or {group}
        assert wanted <= present, group


@pytest.mark.parametrize(
    "code",
    ["9470/3", "9500/3", "9510/3", "8960/3", "8970/3", "9687/3", "9650/3", "9663/3", "9659/3",
     "9811/3", "9835/3", "9837/3", "9861/3", "9400/3", "9401/3", "9421/1", "9440/3", "9391/3",
     "9508/3", "9064/3", "9071/3", "8900/3", "8910/3", "8920/3", "9180/3", "9364/3", "8933/3",
     "8010/3", "8720/3", "8260/3"],
)  # fmt: skip
def test_common_paediatric_morphologies_are_present(code):
    assert tumour_by_name(code) is not None


def test_iccc_subgroups_name_their_group():
    assert (
        iccc_group("IIIc1") == "III" and iccc_group("VIa1") == "VI" and iccc_group("XIIb") == "XII"
    )
    assert iccc_group("V") == "V" and iccc_group("IXd10") == "IX"
    with pytest.raises(ValueError):
        iccc_group("XIII")


@pytest.mark.parametrize(
    "name", ["nephroblastoma", "Wilms tumour", "tumor de Wilms", "nefroblastoma"]
)
def test_nephroblastoma_by_any_name(name):
    tumour = tumour_by_name(name)
    # ICD-O-3 codes nephroblastoma 8960/3 (9960/3 is a myeloproliferative neoplasm).
    assert tumour is not None and tumour.code == "8960/3" and tumour.es_gender == "m"
    assert "VIa1" in tumour.iccc


def test_language_names_without_accents_and_spanish_gender():
    assert tumour_by_name("meduloblastoma").code == "9470/3"
    assert tumour_by_name("Medulloblastom").code == "9470/3"
    leukaemia = tumour_by_name("leucemia linfoblastica aguda")
    assert leukaemia.code == "9835/3" and leukaemia.es_gender == "f"
    assert match_morphology("niña con osteossarcoma").code == "9180/3"


def test_unspecified_codes_classify_but_name_no_patient_tumour():
    unspecified = {t.code for t in tumour_records() if t.unspecified}
    assert {"9800/3", "8010/3", "8800/3"} <= unspecified
    assert not unspecified & {t.code for t in morphologies()}


def test_grade_groups_map_to_their_morphologies():
    low = tumour_group_by_name("glioma de baixo grau")
    assert low is not None and low.code == "low-grade glioma"
    assert {"9421/1", "9400/3"} <= set(low.members)
    high = tumour_group_by_name("glioma de alto grado")
    assert high is not None and {"9440/3", "9385/3"} <= set(high.members)
    relapsed = tumour_group_by_name("tumores do SNC recidivados")
    assert relapsed is not None and "9470/3" in relapsed.members
    codes = {t.code for t in tumour_records()}
    for group in tumour_groups():
        assert group.members and set(group.members) <= codes, group.code


def test_group_file_names_its_sources():
    with open(VOCAB_DIR / "tumour_groups.csv", encoding="utf-8", newline="") as handle:
        assert all(row["source"].strip() for row in csv.DictReader(handle))


def test_topography_covers_every_category():
    codes = {t.code for t in topographies()}
    assert {c.split(".")[0] for c in codes} >= set(CATEGORIES)
    assert all(re.match(r"^C\d\d\.\d$", c) for c in codes)


def test_find_terms_sees_language_names_and_abbreviations_as_written():
    text = "Vincristina 1,5 mg/m2 día 1; VP-16 100 mg/m2; all patients receive Ara-C and 6-MP"
    found = [(t.term, m.group(0)) for t, m in find_terms(text, drugs())]
    assert found == [
        ("vincristine", "Vincristina"),
        ("etoposide", "VP-16"),
        ("cytarabine", "Ara-C"),
        ("mercaptopurine", "6-MP"),
    ]


def test_short_names_only_in_capitals():
    assert [t.code for t, _ in find_terms("all children with ALL", morphologies())] == ["9835/3"]
    assert not find_terms("la dosis total de ara y mesa", drugs())
    assert not find_terms("6-mp", drugs())  # four characters: an acronym, written in capitals


def test_overlapping_names_are_all_found_longest_first_at_a_position():
    found = find_terms("nodular sclerosis Hodgkin lymphoma", morphologies())
    assert [(t.code, m.group(0)) for t, m in found] == [
        ("9663/3", "nodular sclerosis Hodgkin lymphoma"),
        ("9650/3", "Hodgkin lymphoma"),
        ("9650/3", "Hodgkin"),
    ]
    assert match_morphology("nodular sclerosis Hodgkin lymphoma").code == "9663/3"

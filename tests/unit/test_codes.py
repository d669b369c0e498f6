"""Code checks against the bundled vocabularies (knowledge/vocab/*.csv)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.validation.codes import Vocabulary, names_code

VOCABULARY = Vocabulary.bundled()
CORPUS_SRC = Path(__file__).resolve().parents[2] / "knowledge" / "corpus" / "src"


def test_drug_flags_come_from_the_drug_list():
    assert VOCABULARY.intrathecal == {
        "methotrexate",
        "cytarabine",
        "hydrocortisone",
        "prednisolone",
    }
    assert VOCABULARY.anthracyclines == {"doxorubicin", "daunorubicin"}
    assert "ICD-O-3" in VOCABULARY.source and "ATC" in VOCABULARY.source


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("vincristine", "vincristine"),
        ("Vincristina", "vincristine"),
        ("  ARA-C ", "cytarabine"),
        ("adriamycin", "doxorubicin"),
        ("vincristine sulfate", "vincristine"),
        ("vincristine 2 mg", None),  # a name, not a phrase that contains one
        ("unobtainium", None),
    ],
)
def test_drugs_are_found_by_whole_name_or_alias(name, generic):
    term = VOCABULARY.drug(name)
    assert (term.term if term else None) == generic


@pytest.mark.parametrize(
    ("tumour", "code", "consistent"),
    [
        ("Ewing sarcoma", "9364/3", True),
        ("Ewing sarcoma", "9260/3", True),  # the older code of the same tumour
        ("sarcoma de Ewing", "9364/3", True),
        ("osteosarcoma", "9180/3", True),  # the term's head, without ", NOS"
        ("nodular sclerosis Hodgkin lymphoma", "9663/3", True),
        ("nodular sclerosis Hodgkin lymphoma", "9650/3", True),  # less specific, not wrong
        ("Ewing sarcoma", "9180/3", False),
        ("T-ALL", "9811/3", False),
        ("CIC-rearranged sarcoma", "9364/3", False),  # its own code, 9367/3
        ("pilomatrixoma", "9364/3", None),  # names no code: cannot be judged
    ],
)
def test_tumour_names_and_morphology_codes(tumour, code, consistent):
    term = VOCABULARY.morphology(code)
    assert term is not None
    assert names_code(tumour, term, VOCABULARY.morphologies) is consistent


@pytest.mark.parametrize(
    ("site", "code", "consistent"),
    [
        ("pelvic bones", "C41.4", True),
        ("distal femur", "C40.2", True),
        ("Fémur distal", "C40.2", True),
        ("distal femur", "C41.4", False),
        ("left iliac wing", "C41.4", None),
    ],
)
def test_sites_and_topography_codes(site, code, consistent):
    term = VOCABULARY.topography(code)
    assert term is not None
    assert names_code(site, term, VOCABULARY.topographies) is consistent


def test_unknown_codes_are_not_found():
    assert VOCABULARY.morphology("9999/3") is None
    assert VOCABULARY.topography("C99.9") is None


def test_every_vocabulary_name_denotes_its_own_code():
    for terms in (VOCABULARY.morphologies, VOCABULARY.topographies):
        for term in terms:
            for name in term.names:
                assert names_code(name, term, terms), (term.code, name)


@pytest.mark.parametrize(
    ("kind", "terms"),
    [("morphology", VOCABULARY.morphologies), ("topography", VOCABULARY.topographies)],
)
def test_every_code_the_corpus_states_is_in_the_vocabulary_with_its_term(kind, terms):
    """Generation writes the corpus term and code: those records must pass the code rules."""
    stated = re.compile(rf"ICD-O-3 {kind} (\S+) \(([^)]+)\)")
    found = 0
    for source in CORPUS_SRC.glob("*.txt"):
        for code, name in stated.findall(source.read_text(encoding="utf-8")):
            term = next((t for t in terms if t.code == code), None)
            assert term is not None, f"{source.name}: {code} not in the vocabulary"
            assert names_code(name, term, terms), f"{source.name}: {name} vs {term.term}"
            found += 1
    assert found > 10

"""Surgical procedures of knowledge/vocab/surgical_procedures.csv found in passages:
neurosurgery and CSF diversion in English, Spanish and Portuguese, and names whose accented
letters a PDF's text layer lost ("resseco cirrgica" for "ressecção cirúrgica")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from knowledge.care_facts import care_facts
from knowledge.vocabulary import letters_dropped
from service.validation.verifier import names_procedure
from tests.fakes import StaticIndex, chunk

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "real"


def procedures(text: str) -> dict[str, str]:
    """procedure -> its shunt kind ("" for none)."""
    found = care_facts(StaticIndex([chunk(text, document="neuro.pdf")]).query("x", k=1))
    return {f.procedure: f.shunt for f in found.procedures}


VP = "ventriculoperitoneal shunt"


@pytest.mark.parametrize(
    ("text", "procedure", "shunt"),
    [
        ("Hydrocephalus is treated with a VP shunt.", VP, "implanted"),
        (
            "Se colocó una derivación ventriculoperitoneal.",
            "ventriculoperitoneal shunt",
            "implanted",
        ),
        (
            "Foi feita derivação ventrículo-peritoneal (DVP).",
            "ventriculoperitoneal shunt",
            "implanted",
        ),
        ("An ETV avoids a shunt.", "endoscopic third ventriculostomy", "endoscopic"),
        ("An external ventricular drain was placed.", "external ventricular drain", "temporary"),
        ("Gross total resection is the aim.", "maximal safe resection", ""),
        ("La resección subtotal deja tumor residual.", "subtotal resection", ""),
        ("A stereotactic biopsy confirmed the diagnosis.", "stereotactic biopsy", ""),
        ("A ressecção máxima possível deve ser tentada.", "maximal safe resection", ""),
    ],
)
def test_neurosurgery_and_csf_diversion_in_three_languages(text, procedure, shunt):
    assert procedures(text).get(procedure) == shunt


def test_a_name_with_its_accented_letters_dropped_is_found_and_verified():
    quote = "Tumores de baixo grau tłm bom prognstico associado resseco cirrgica completa."
    assert "maximal safe resection" in procedures(quote)
    assert names_procedure(quote, "maximal safe resection")  # the verifier agrees


def test_letters_are_dropped_only_where_safe():
    assert letters_dropped("ressecção cirúrgica completa") == "resseco cirrgica completa"
    assert letters_dropped("gross total resection") is None  # nothing to drop
    assert letters_dropped("válvula") is None  # "vlvula": under 8 characters
    assert letters_dropped("vía óptica") is None  # "va ptica": a word under 4 letters


def test_csf_diversion_fits_only_the_central_nervous_system():
    found = care_facts(
        StaticIndex([chunk("A VP shunt was needed.", document="n.pdf")]).query("x", k=1)
    ).procedures
    assert [f.topography for f in found] == [["C71", "C72"]]


def test_the_portuguese_glioma_manual_names_a_resection_for_a_brain_tumour():
    """The real chapter (../shared/corpus/real, not in the repository): its text layer
    writes "resseco cirrgica" for "ressecção cirúrgica"."""
    path = REAL / "cpc-neuro" / "cap2_glioma.pdf"
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} is missing (the real test PDFs of ../shared/corpus/real)")
    text = PdfReader(path).pages[2].extract_text()  # page 3
    assert "resseco cirrgica" in text and "ressecção" not in text
    found = care_facts(StaticIndex([chunk(text, document=path.name)]).query("x", k=1))
    named = {f.procedure: f for f in found.procedures}
    assert "maximal safe resection" in named
    quote = named["maximal safe resection"].quote
    assert quote in text and names_procedure(quote, "maximal safe resection")

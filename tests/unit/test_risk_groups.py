"""The risk-group rules' own reader (service/validation/risk_groups.py): the groups a text
names, the heading a passage stands under on its page, and the groups a cited passage is
for. The pages are real corpus text with its headings on lines of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.validation.risk_groups import groups_named, heading_above, scope_of
from service.validation.sections import is_heading
from tests.unit.test_grounding import cite_in, stored

CORPUS_SRC = Path(__file__).resolve().parents[2] / "knowledge" / "corpus" / "src"


def section(source: str, first: str, last: str) -> str:
    """The corpus text of ``source`` from the line starting ``first`` to the one before the
    line starting ``last``, headings on lines of their own as on a page."""
    text = (CORPUS_SRC / f"{source}.txt").read_text(encoding="utf-8")
    start = text.index("\n" + first) + 1
    return text[start : text.index("\n" + last, start)].strip()


NB_DOC = "neuroblastoma.pdf"
MB_DOC = "medulloblastoma.pdf"
NB_PAGE = section("neuroblastoma", "4. Chemotherapy", "6. Surgery")
MB_PAGE = section("medulloblastoma", "5. Radiotherapy", "During radiotherapy")
# Chunks the rule tests (test_rules.py) add to the fake store: their pages are their text.
RISK_CHUNKS = [stored("nb-p3-c1", NB_DOC, 3, NB_PAGE), stored("mb-p2-c1", MB_DOC, 2, MB_PAGE)]

CADO = "CADO: cyclophosphamide 300 mg/m² per day on days 1-5, vincristine 1.5 mg/m² on days 1 and 5"
TVD = "vincristine 1.5 mg/m² on day 1 and doxorubicin 45 mg/m² on day 1"
CSI_STANDARD = "Craniospinal irradiation for standard-risk medulloblastoma: 23.4 Gy in 13 fractions"
CSI_HIGH = (
    "Craniospinal irradiation for high-risk or metastatic medulloblastoma: 36 Gy in 20 fractions"
)


def nb(quote: str) -> dict[str, Any]:
    return cite_in(NB_DOC, "nb-p3-c1", 3, quote)


def mb(quote: str) -> dict[str, Any]:
    return cite_in(MB_DOC, "mb-p2-c1", 2, quote)


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("children with high-risk neuroblastoma", {"high"}),
        ("4. Chemotherapy for low and intermediate risk", {"low", "intermediate"}),
        ("standard-risk, medium-risk or high-risk groups", {"standard", "intermediate", "high"}),
        ("low- and high-risk disease", {"low", "high"}),
        ("average-risk medulloblastoma", {"standard"}),
        ("very high risk leukaemia", {"high"}),
        ("pacientes de riesgo estándar y alto", {"standard", "high"}),
        ("tumores de bajo riesgo", {"low"}),
        ("doentes de alto risco", {"high"}),
        ("risco intermediário", {"intermediate"}),
        ("Female survivors have a high risk of breast cancer", set()),  # a hazard
        ("riesgo de infección", set()),
        ("Risk-adapted treatment", set()),
        ("EuroNet-PHL-C2 used two risk factors", set()),
        ("| Risk group | Typical patients |", set()),
    ],
)
def test_groups_named(text, groups):
    assert groups_named(text) == groups


def test_a_heading_is_a_short_line_of_its_own_without_sentence_punctuation():
    assert is_heading("5. High-risk induction")
    assert is_heading("High-risk induction")
    assert not is_heading("Consolidation for standard-risk patients was given as cycles of VAI.")
    assert not is_heading("| A | vincristine | 1.5 mg/m² (max 2 mg) IV | day 1 |")
    assert not is_heading("High-risk protocols add carboplatin 35 mg/m2")  # a dose: no heading
    assert not is_heading("continued on the next line,")


def test_the_heading_above_a_passage_is_its_sections():
    assert heading_above(NB_PAGE, NB_PAGE.index("CADO")) == (
        "4. Chemotherapy for low and intermediate risk"
    )
    assert heading_above(NB_PAGE, NB_PAGE.index("| C | etoposide")) == "5. High-risk induction"
    # an unnumbered heading-like line naming no group (a table's header row in a PDF's text)
    # is looked past, up to the numbered heading of the section
    page = NB_PAGE.replace("| Course | Drug | Dose | Days |", "Course Drug Dose Days")
    assert heading_above(page, page.index("| A | carboplatin")) == "5. High-risk induction"
    assert heading_above("Induction gives vincristine", 10) is None


@pytest.mark.parametrize(
    ("quote", "page", "groups", "heading"),
    [
        (CADO, NB_PAGE, {"low", "intermediate"}, "4. Chemotherapy for low and intermediate risk"),
        (TVD, NB_PAGE, {"high"}, "5. High-risk induction"),  # its sentence names none
        ("| A | carboplatin | 750 mg/m² IV | day 1 |", NB_PAGE, {"high"}, "5. High-risk induction"),
        ("23.4 Gy in 13 fractions of 1.8 Gy", MB_PAGE, {"standard"}, None),  # its sentence
        (CSI_HIGH, MB_PAGE, {"high"}, None),
        (TVD, None, set(), None),  # no page text: the quote alone, naming none
        ("not on this page", NB_PAGE, set(), None),
    ],
)
def test_a_passage_is_for_the_groups_of_its_sentence_else_of_its_heading(
    quote, page, groups, heading
):
    scope = scope_of(quote, page)
    assert (set(scope.groups), scope.heading) == (groups, heading)


def test_a_passage_under_a_heading_naming_no_group_is_for_every_group():
    page = section("neuroblastoma", "6. Surgery", "7. High-dose")
    assert scope_of("The aim is a gross total resection of the primary tumour", page).groups == (
        frozenset()
    )

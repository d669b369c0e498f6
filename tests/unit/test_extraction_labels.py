"""The hand-labelled extraction set (bench/labels/extraction) is well-formed and scoreable.

The labels are the yardstick for the fact extractor, so a malformed line, a dose on a page that
is not listed as exhaustively labelled, or a quote that is not on its page would silently skew
precision and recall.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

LABELS_DIR = Path(__file__).resolve().parents[2] / "bench" / "labels" / "extraction"
REAL_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "real"

COMMON = {"document", "page", "kind", "language", "quote"}
FIELDS = {
    "drug_dose": {
        "drug",
        "dose",
        "dose_high",
        "unit",
        "per",
        "days",
        "route",
        "max_dose",
        "max_unit",
        "cumulative",
    },
    "radiotherapy": {"site", "total_gy", "fractions", "per_fraction_gy", "boost"},
    "tumour_mention": {"tumour", "icdo3"},
    "regimen": {"name", "phase"},
    "surgery": {"item"},
    "transplant": {"item"},
    "supportive": {"item"},
}
EXHAUSTIVE = {"drug_dose", "radiotherapy"}
UNITS = {
    "mg/m2",
    "g/m2",
    "mg/kg",
    "g/kg",
    "mg",
    "g",
    "mcg/kg",
    "mcg/ml",
    "IU/m2",
    "IU/kg",
    "mg/m2/day",
    "g/m2/day",
    "mg/kg/day",
    "mg/day",
}
PER = {"dose", "day", "week", "cycle", None}
ROUTES = {"iv", "oral", "it", "im", "sc", None}
DAYS = re.compile(r"^\d+(,\d+)*$")


def _labels() -> list[dict]:
    lines = (LABELS_DIR / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _pages() -> dict[str, list[int]]:
    return json.loads((LABELS_DIR / "pages.json").read_text(encoding="utf-8"))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def test_every_label_has_the_fields_of_its_kind():
    for label in _labels():
        assert label["kind"] in FIELDS, label
        assert set(label) == COMMON | FIELDS[label["kind"]], label
        assert isinstance(label["page"], int) and label["page"] >= 1, label
        assert label["quote"].strip(), label
        assert re.fullmatch(r"[a-z]{2}", label["language"]), label


def test_drug_doses_are_normalised():
    for label in (x for x in _labels() if x["kind"] == "drug_dose"):
        assert label["drug"] == label["drug"].lower().strip() and label["drug"], label
        assert _is_number(label["dose"]) and label["dose"] > 0, label
        assert label["dose_high"] is None or label["dose_high"] > label["dose"], label
        assert label["unit"] in UNITS, label
        assert label["per"] in PER and label["route"] in ROUTES, label
        assert label["days"] is None or DAYS.match(label["days"]), label
        assert (label["max_dose"] is None) == (label["max_unit"] is None), label
        assert label["max_dose"] is None or _is_number(label["max_dose"]), label
        assert isinstance(label["cumulative"], bool), label


def test_radiotherapy_doses_are_numbers():
    for label in (x for x in _labels() if x["kind"] == "radiotherapy"):
        assert _is_number(label["total_gy"]) and label["total_gy"] > 0, label
        assert label["fractions"] is None or isinstance(label["fractions"], int), label
        assert label["per_fraction_gy"] is None or _is_number(label["per_fraction_gy"]), label
        assert isinstance(label["boost"], bool), label


def test_one_label_per_match_key_on_a_page():
    """The bench matches on (document, page, drug, dose, base unit): labels must not collide."""
    keys = Counter()
    for label in _labels():
        if label["kind"] == "drug_dose":
            unit = re.sub(r"/(day|dose)$", "", label["unit"])
            keys[(label["document"], label["page"], label["drug"], label["dose"], unit)] += 1
        elif label["kind"] == "radiotherapy":
            keys[(label["document"], label["page"], label["total_gy"], label["fractions"])] += 1
    assert [key for key, n in keys.items() if n > 1] == []


def test_exhaustive_kinds_are_on_listed_pages():
    pages = _pages()
    assert pages and all(ps == sorted(set(ps)) and ps for ps in pages.values())
    for label in (x for x in _labels() if x["kind"] in EXHAUSTIVE):
        assert label["page"] in pages.get(label["document"], []), label


def test_the_set_is_big_and_varied_enough():
    labels = _labels()
    assert len(labels) >= 200
    assert sum(x["kind"] == "drug_dose" for x in labels) >= 150
    assert len({x["document"] for x in labels}) >= 3
    assert len({x["language"] for x in labels}) >= 2
    documents = {x["document"] for x in labels}
    assert any(d.startswith("cpc-neuro/") for d in documents), "a Portuguese table document"
    assert any(d.startswith("pcsp-surpass/") and "Austria" not in d for d in documents), "a scan"


def test_documents_exist_in_the_real_corpus():
    if not REAL_CORPUS.is_dir():
        pytest.skip(f"real corpus not present at {REAL_CORPUS} (shared/ lives beside the repo)")
    for document in {x["document"] for x in _labels()} | set(_pages()):
        assert (REAL_CORPUS / document).is_file(), document


def test_quotes_are_on_their_page():
    """Text-layer pages: the quote is in the page text (whitespace collapsed). Scans are read
    from the image, so there is nothing to compare them with here."""
    if not REAL_CORPUS.is_dir():
        pytest.skip(f"real corpus not present at {REAL_CORPUS} (shared/ lives beside the repo)")
    from pypdf import PdfReader

    readers: dict[str, PdfReader] = {}
    texts: dict[tuple[str, int], str] = {}
    missing = []
    for label in _labels():
        document, page = label["document"], label["page"]
        if (document, page) not in texts:
            if document not in readers:
                readers[document] = PdfReader(REAL_CORPUS / document)
            reader = readers[document]
            texts[document, page] = " ".join((reader.pages[page - 1].extract_text() or "").split())
        page_text = texts[document, page]
        if page_text and " ".join(label["quote"].split()) not in page_text:
            missing.append((document, label["page"], label["quote"]))
    assert missing == []

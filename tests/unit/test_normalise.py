"""Page normalisation: clean text for retrieval, and every span mapped back to the exact
page text. The expected verbatim strings are written out here, not recomputed."""

from __future__ import annotations

import pytest

from ingest.normalise import normalise_page, running_lines

PAGE = (
    "Manual de tratamento 12\n"
    "Vincristina 1, 5 mg/m² D1, D8 e 15; a so-\n"
    "brevida e a ﬁbrose; Carboplatina 1,25 g/m2 e 1,500 mg no to\u00adtal.\n"
    "   Página 12 de 40\n"
)


def verbatim(text: str, clean: str) -> str:
    """The exact page text that the first occurrence of ``clean`` was made from."""
    page = normalise_page(text)
    start = page.flat.index(clean)
    begin, end = page.source.source_span(start, start + len(clean))
    return text[begin:end]


@pytest.mark.parametrize(
    ("clean", "on_the_page"),
    [
        ("Vincristina 1.5 mg/m2", "Vincristina 1, 5 mg/m²"),  # artefact and NFKC
        ("D1, D8 e 15", "D1, D8 e 15"),  # a list, not a decimal
        ("sobrevida", "so-\nbrevida"),  # word split across lines
        ("fibrose", "ﬁbrose"),  # ligature
        ("1.25 g/m2", "1,25 g/m2"),  # decimal comma
        ("1,500 mg", "1,500 mg"),  # thousands: left alone
        ("no total.", "no to\u00adtal."),  # soft hyphen
        ("Carboplatina 1.25 g/m2 e 1,500 mg", "Carboplatina 1,25 g/m2 e 1,500 mg"),
    ],
)
def test_clean_text_maps_back_to_the_words_on_the_page(clean, on_the_page):
    assert verbatim(PAGE, clean) == on_the_page
    assert on_the_page in PAGE


def test_line_breaks_survive_as_single_newlines_and_offsets_match_the_flat_text():
    page = normalise_page("Title\n\n  3. Chemotherapy \t\nInduction  starts.")
    assert page.text == "Title\n3. Chemotherapy\nInduction starts."
    assert page.flat == page.text.replace("\n", " ")


def test_running_headers_footers_and_page_numbers_are_dropped():
    drugs = ("Vincristina", "Carboplatina", "Temozolomida", "Cisplatina")
    body = [f"{drug} é dada na indução.\nSegue a manutenção com {drug}." for drug in drugs]
    pages = [
        f"Quimioterapia alternativa (substituídos) {n}\n{text}\nPage {n}\n"
        for n, text in zip((3, 4, 5, 6), body, strict=True)
    ]
    drops = running_lines(pages)
    cleaned = [normalise_page(text, drop).text for text, drop in zip(pages, drops, strict=True)]
    assert cleaned == body


def test_a_page_that_is_one_line_keeps_it_even_when_every_page_repeats_it():
    pages = ["Cisplatin 120 mg/m2 in week 1."] * 5
    assert running_lines(pages) == [[]] * 5


def test_spans_over_replacements_cover_the_whole_replaced_text():
    text = "Dose 1,5 mg/m²  total"
    page = normalise_page(text)
    assert page.flat == "Dose 1.5 mg/m2 total"
    start = page.flat.index("m2")
    begin, end = page.source.source_span(start, start + 2)
    assert text[begin:end] == "m²"
    with pytest.raises(ValueError):
        page.source.source_span(3, 3)

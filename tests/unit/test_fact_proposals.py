"""The model pass of the fact index at its seam (a scripted fake model): a proposal is kept
only if its quote is on the page and names its drug, number and unit; the windows it reads
are bounded; an answer that is not JSON is recorded, not fatal."""

from __future__ import annotations

from knowledge.chunks import TableCell
from knowledge.facts import extract_page
from knowledge.facts.proposals import (
    MAX_WINDOWS,
    Proposal,
    candidate_windows,
    model_pass,
    schema,
    verify,
)
from models.fake import FakeModel

PAGE = (
    "Esquema de resgate.\n"
    "Vincristina 1,5 mg/m2 EV D1 e D8 (máximo 2 mg).\n"
    "A carboplatina é dada na dose de 560\nmg/m2 no dia 1, por via endovenosa.\n"
    "A carboplatina, conforme a função renal e a contagem de plaquetas do paciente, "
    "é dada na dose de 450 mg/m2 no dia 1.\n"
    "Radioterapia: 54 Gy em 30 frações.\n"
    "Hemoglobina acima de 10 mg/dl antes de cada ciclo.\n"
)


def proposal(drug, dose, unit, quote, kind="drug_dose"):
    return {"kind": kind, "drug": drug, "dose": dose, "unit": unit, "quote": quote}


def window_of(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


def test_a_proposal_with_its_drug_number_and_unit_in_a_quote_on_the_page_is_kept():
    near = window_of(PAGE, "Vincristina 1,5 mg/m2 EV D1 e D8")
    fact, why = verify(
        Proposal("drug_dose", "Vincristina", 1.5, "mg/m2", "Vincristina 1,5 mg/m2"), 2, PAGE, near
    )
    assert why == "" and fact is not None
    assert fact.quote == PAGE[fact.start : fact.end] == "Vincristina 1,5 mg/m2"
    assert fact.fields["drug"] == "vincristine" and fact.fields["dose"] == 1.5
    assert fact.fields["unit"] == "mg/m2" and fact.fields["source"] == "model"


def test_a_wrapped_line_quoted_on_one_line_is_found_and_quoted_as_the_page_has_it():
    near = (0, len(PAGE))
    quote = "carboplatina é dada na dose de 560 mg/m2"
    fact, _ = verify(Proposal("drug_dose", "carboplatina", 560, "mg/m2", quote), 2, PAGE, near)
    assert fact is not None and fact.quote == "carboplatina é dada na dose de 560\nmg/m2"
    assert fact.fields["drug"] == "carboplatin"


def test_an_abbreviation_or_brand_names_the_drug():
    text = "VCR 1,5 mg/m2 no dia 1."
    fact, _ = verify(Proposal("drug_dose", "vincristine", 1.5, "mg/m2", text), 1, text, (0, 22))
    assert fact is not None and fact.fields["drug"] == "vincristine"


def test_a_quote_without_the_number_or_the_unit_is_dropped():
    near = (0, len(PAGE))
    wrong_number = Proposal("drug_dose", "Vincristina", 2.5, "mg/m2", "Vincristina 1,5 mg/m2")
    wrong_unit = Proposal("drug_dose", "Vincristina", 1.5, "mg/kg", "Vincristina 1,5 mg/m2")
    no_number = Proposal("drug_dose", "Vincristina", 1.5, "mg/m2", "Vincristina")
    for bad in (wrong_number, wrong_unit, no_number):
        fact, why = verify(bad, 2, PAGE, near)
        assert fact is None and why == "number or unit not in the quote"


def test_a_quote_without_the_drug_is_dropped():
    near = (0, len(PAGE))
    fact, why = verify(Proposal("drug_dose", "etoposido", 1.5, "mg/m2", "1,5 mg/m2"), 2, PAGE, near)
    assert fact is None and why == "drug not in the quote"
    # a drug the quote names, but not the one proposed
    other = Proposal("drug_dose", "carboplatina", 1.5, "mg/m2", "Vincristina 1,5 mg/m2")
    assert verify(other, 2, PAGE, near)[1] == "drug not in the quote"


def test_a_quote_not_on_the_page_is_dropped():
    invented = Proposal("drug_dose", "Vincristina", 1.5, "mg/m2", "Vincristina 1,5 mg/m2 IV")
    fact, why = verify(invented, 2, PAGE, (0, len(PAGE)))
    assert fact is None and why == "quote not on the page"


def test_a_threshold_is_not_a_radiotherapy_course():
    text = "Radiotherapy to a vol exposing the HP region < 30 Gy: yearly check."
    fact, why = verify(Proposal("radiotherapy", None, 30, "Gy", "< 30 Gy"), 1, text, (0, len(text)))
    assert fact is None and why == "a strength or a threshold"
    course = "Radioterapia: 54 Gy em 30 frações."
    kept, _ = verify(Proposal("radiotherapy", None, 54, "Gy", "54 Gy"), 1, course, (0, 34))
    assert kept is not None and kept.fields["total_gy"] == 54


def test_candidate_windows_are_bounded_and_only_where_a_figure_was_not_read():
    lines = [f"Vincristina {n},5 mg/m2 no dia {n}." for n in range(1, 10)]
    text = " ".join(lines)
    windows = candidate_windows(text, covered=[window_of(text, lines[0])], limit=4)
    assert len(windows) == 4
    assert window_of(text, lines[0]) not in windows  # the patterns read that one already
    assert windows[0] == window_of(text, lines[1])  # then page order
    assert candidate_windows("Sem doses nesta página.") == []
    assert candidate_windows("Hemoglobina acima de 10 mg/dl.") == []  # a figure, no drug
    found = extract_page(2, PAGE, language="pt")
    covered = [(f.start, f.end) for f in found if f.kind in ("drug_dose", "radiotherapy")]
    windows = [PAGE[start:end] for start, end in candidate_windows(PAGE, covered=covered)]
    assert windows == [  # "máximo 2 mg" and the 450 mg/m2 were not read as doses
        "Vincristina 1,5 mg/m2 EV D1 e D8 (máximo 2 mg).",
        "A carboplatina, conforme a função renal e a contagem de plaquetas do paciente, "
        "é dada na dose de 450 mg/m2 no dia 1.",
    ]


def test_a_table_row_is_a_window():
    text = "Droga   Dose\nCarboplatina   560 mg/m2\n"
    start = text.index("Carboplatina")
    dose_at = text.index("560")
    cells = [
        TableCell(text="Carboplatina", page=1, start=start, end=start + 12),
        TableCell(text="560 mg/m2", page=1, start=dose_at, end=dose_at + 9),
    ]
    assert (start, dose_at + 9) in candidate_windows(text, [cells], page=1)


def test_the_schema_allows_only_the_drugs_and_the_pieces_the_passage_has():
    item = schema("Vincristina 1,5 mg/m2 e VP-16 100 mg/m2")["properties"]["facts"]["items"]
    assert set(item["properties"]["drug"]["enum"]) == {"Vincristina", "VP-16", None}
    assert item["properties"]["quote"]["enum"] == [  # the shortest first
        "VP-16 100 mg/m2",
        "Vincristina 1,5 mg/m2",
        "Vincristina 1,5 mg/m2 e VP-16 100 mg/m2",
    ]
    after = schema("Dar 1,5 mg/m2 de vincristina")["properties"]["facts"]["items"]
    assert after["properties"]["quote"]["enum"] == ["1,5 mg/m2 de vincristina"]
    gray = schema("Radioterapia: 54 Gy em 30 frações")["properties"]["facts"]["items"]
    assert gray["properties"]["quote"]["enum"] == ["54 Gy"]


def test_the_model_pass_keeps_what_checks_out_and_counts_the_rest():
    long_quote = (
        "carboplatina, conforme a função renal e a contagem de plaquetas do paciente, "
        "é dada na dose de 450 mg/m2"
    )
    model = FakeModel().enqueue(
        {"facts": []},  # the vincristine line ("máximo 2 mg")
        {
            "facts": [
                proposal("carboplatina", 450, "mg/m2", long_quote),  # the patterns missed it
                proposal("carboplatina", 450, "mg/m2", "carboplatina 450 mg/m2"),  # not there
                proposal("carboplatina", 560, "mg/m2", long_quote),  # not its number
            ]
        },
    )
    found = extract_page(2, PAGE, language="pt")
    assert not any(f.fields.get("dose") == 450 for f in found)
    new, stats = model_pass(model, 2, PAGE, found=found, language="pt")
    assert stats.windows == 2 and stats.proposed == 3 and stats.kept == stats.new == 1
    assert stats.dropped == {"quote not on the page": 1, "number or unit not in the quote": 1}
    [fact] = new
    assert fact.quote == PAGE[fact.start : fact.end] and fact.fields["source"] == "model"
    assert (fact.fields["drug"], fact.fields["dose"], fact.fields["unit"]) == (
        "carboplatin",
        450,
        "mg/m2",
    )
    assert all(call.schema is not None for call in model.calls)
    assert all(fact.fields["source"] == "patterns" for fact in found)


def test_an_answer_that_is_not_json_is_kept_as_an_error_and_the_pass_goes_on():
    model = FakeModel().enqueue("not json")
    new, stats = model_pass(model, 2, PAGE, found=[], language="pt", limit=1)
    assert new == [] and stats.windows == 1 and stats.proposed == 0
    assert len(stats.errors) == 1 and "not json" in stats.errors[0]


def test_with_no_pattern_facts_the_model_reads_the_page_in_order_up_to_the_limit():
    model = FakeModel().enqueue({"facts": []}, {"facts": []})
    model_pass(model, 2, PAGE, found=[], language="pt")
    assert len(model.calls) == MAX_WINDOWS
    assert "Vincristina 1,5 mg/m2" in model.calls[0].messages[1]["content"]


def test_a_passage_with_no_piece_to_quote_is_not_sent():
    text = "Dar 450 mg/m2 no dia 1, conforme a tabela, de carboplatina."
    model = FakeModel()
    new, stats = model_pass(model, 1, text, found=[], language="pt")
    assert candidate_windows(text) and model.calls == [] and stats.windows == 0

from models.fake import FakeModel
from service.cli.render import render_record
from tests.unit.test_generation import TREATMENT, diagnosis_answer, make


def test_text_shows_items_with_their_citations():
    record = (
        make(FakeModel().enqueue(diagnosis_answer(), TREATMENT))
        .generate("boy with Ewing sarcoma", seed=2)[0]
        .record
    )
    text = render_record(record)
    assert "Ewing sarcoma (ICD-O-3 9364/3)" in text
    assert "vincristine 1.5 mg/m2 x 2 cycle(s)" in text
    assert "54 Gy in 30 fractions" in text
    assert '[ewing.pdf, p. 2] "VIDE: vincristine 1.5 mg/m2' in text
    assert record.demographics.health_card_number in text

"""Items asked for inside a block: a shunt (surgery) and triple intrathecal therapy
(chemotherapy). Each is in the record or the request fails with the reason, and the rule
request.honoured checks stored records against the parsed request.

The model is SchemaModel (a seeded choice among what each schema allows); the guidelines
are the bundled corpus plus a short medulloblastoma passage set written here."""

from __future__ import annotations

import pytest

from service.records import IntrathecalTherapy, RequestedRecord, Shunt
from service.requests import RequestError, parse_request, request_from
from service.validation.clinical import missing_from
from tests.fakes import StaticIndex, chunk
from tests.unit.test_blocks import corpus, errors, generator  # noqa: F401 (fixture)

MEDULLOBLASTOMA = [
    "Medulloblastoma is an embryonal tumour of the cerebellum, the commonest malignant "
    "brain tumour of childhood.",
    "Surgery: maximal safe resection of the medulloblastoma is the first step. Hydrocephalus "
    "at presentation is relieved by an endoscopic third ventriculostomy or an external "
    "ventricular drain; children with persistent hydrocephalus after resection need a "
    "ventriculoperitoneal shunt.",
    "Maintenance chemotherapy for medulloblastoma gives cisplatin 75 mg/m2, lomustine "
    "75 mg/m2 and vincristine 1.5 mg/m2 every 6 weeks for 8 cycles.",
    "Radiotherapy for medulloblastoma: craniospinal radiotherapy of 23.4 Gy in 13 fractions.",
]


@pytest.fixture(scope="module")
def neuro():
    extra = [
        chunk(text, document="medulloblastoma.pdf", page=1, index=i)
        for i, text in enumerate(MEDULLOBLASTOMA)
    ]
    return StaticIndex(extra)


# -- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "shunt"),
    [
        ("11-year-old with medulloblastoma, I would like a shunt to have been performed", True),
        ("niño de 6 años con meduloblastoma y válvula de derivación", True),
        ("menino de 5 anos com meduloblastoma e derivação ventrículo-peritoneal", True),
        ("6-year-old with medulloblastoma with a VP shunt", True),
        ("6-year-old with medulloblastoma, without a VP shunt", False),
        ("niña de 4 años con meduloblastoma, sin derivación", False),
        ("6-year-old with medulloblastoma", None),
    ],
)
def test_a_shunt_is_read_in_english_spanish_and_portuguese(prompt, shunt):
    request = parse_request(prompt)
    assert request.shunt is shunt
    assert ("surgery" in request.blocks) is bool(shunt)  # a shunt is a surgery item
    assert request.understood().shunt is shunt


@pytest.mark.parametrize(
    "prompt",
    [
        "5-year-old with ALL and triple intrathecal",
        "niño de 5 años con LLA y triple intratecal",
        "niña de 5 años con LLA, quimioterapia con intratecal triple",
        "5-year-old with ALL, chemotherapy with TIT",
    ],
)
def test_triple_intrathecal_is_read_and_brings_chemotherapy(prompt):
    request = parse_request(prompt)
    assert request.triple_intrathecal is True
    assert "chemotherapy" in request.blocks
    assert request.understood().triple_intrathecal is True


def test_fields_ask_for_them_and_contradicting_blocks_are_refused():
    request = request_from(diagnosis="medulloblastoma", shunt=True, triple_intrathecal=False)
    assert request.shunt is True and request.triple_intrathecal is False
    assert set(request.from_fields) >= {"shunt", "triple_intrathecal"}
    with pytest.raises(RequestError, match="a shunt is a surgery item"):
        request_from(diagnosis="medulloblastoma", blocks=["chemotherapy"], shunt=True)
    with pytest.raises(RequestError, match="given with chemotherapy"):
        request_from(diagnosis="ALL", blocks=["radiotherapy"], triple_intrathecal=True)


# -- generation --------------------------------------------------------------------------


def test_a_shunt_asked_for_is_a_cited_surgery_item_before_the_resection(neuro):
    request = parse_request("11-year-old with medulloblastoma, I would like a shunt")
    for seed in range(4):
        record = generator(neuro).generate_one(request, seed=seed).record
        shunts = [s for s in record.surgery if s.shunt]
        assert len(shunts) == 1, record.surgery
        (item,) = shunts
        assert item.shunt.type == item.description
        assert item.citations and item.citations[0].document == "medulloblastoma.pdf"
        resections = [s for s in record.surgery if not s.shunt]
        assert all(item.date < r.date for r in resections)
        if item.description == "external ventricular drain":
            assert item.shunt.still_present is False
        assert list(missing_from(record)) == []
        assert errors(neuro, record) == []


def test_a_shunt_is_refused_naming_the_tumour_when_no_passage_names_one(corpus):  # noqa: F811
    with pytest.raises(RequestError, match=r"a shunt was asked for.*osteosarcoma.*coverage"):
        generator(corpus).generate_one(
            request_from(diagnosis="osteosarcoma", blocks=["chemotherapy", "surgery"], shunt=True),
            seed=1,
        )


def test_not_asked_a_shunt_appears_in_some_records_where_the_guideline_names_one(neuro):
    request = parse_request("11-year-old with medulloblastoma, chemotherapy and surgery")
    assert request.shunt is None
    with_shunt = [
        any(s.shunt for s in generator(neuro).generate_one(request, seed=seed).record.surgery)
        for seed in range(12)
    ]
    assert any(with_shunt) and not all(with_shunt)


def test_a_refused_shunt_never_appears(neuro):
    request = parse_request("11-year-old with medulloblastoma, surgery without a shunt")
    for seed in range(4):
        record = generator(neuro).generate_one(request, seed=seed).record
        assert not any(s.shunt for s in record.surgery)


def test_a_spanish_record_names_its_shunt_in_spanish(neuro):
    request = parse_request("niño de 11 años con meduloblastoma y una derivación")
    record = generator(neuro).generate_one(request, seed=2).record
    (item,) = [s for s in record.surgery if s.shunt]
    assert item.shunt.type in {
        "derivación ventriculoperitoneal",
        "ventriculostomía endoscópica del tercer ventrículo",
        "drenaje ventricular externo",
    }
    assert list(missing_from(record)) == []


def test_triple_intrathecal_asked_for_is_the_three_drug_combination(corpus):  # noqa: F811
    request = parse_request("5-year-old with acute lymphoblastic leukaemia and triple intrathecal")
    for seed in range(3):
        record = generator(corpus).generate_one(request, seed=seed).record
        assert record.intrathecal is not None
        drugs = record.intrathecal.drugs
        assert len(drugs) == 3 and {"methotrexate", "cytarabine"} <= set(drugs)
        assert set(drugs) & {"hydrocortisone", "prednisolone"}
        assert list(missing_from(record)) == []


def test_triple_intrathecal_is_refused_where_no_passage_gives_it(corpus):  # noqa: F811
    with pytest.raises(
        RequestError, match="triple intrathecal therapy was asked for.*osteosarcoma"
    ):
        generator(corpus).generate_one(
            request_from(diagnosis="osteosarcoma", triple_intrathecal=True), seed=1
        )


def test_request_honoured_names_a_missing_shunt_or_triple_intrathecal(corpus):  # noqa: F811
    record = generator(corpus).generate_one(request_from(diagnosis="osteosarcoma"), seed=3).record
    asked = RequestedRecord(blocks=[], shunt=True, triple_intrathecal=True)
    stored = record.model_copy(
        update={"provenance": record.provenance.model_copy(update={"parsed_request": asked})}
    )
    assert dict(missing_from(stored)) == {
        "shunt": "asked for, no surgery item has one",
        "triple intrathecal": "asked for, the record gives none",
    }
    citations = record.diagnosis.citations
    single = IntrathecalTherapy(
        start_date=record.diagnosis.diagnosis_date,
        injections=1,
        drugs=["metotrexato", "citarabina", "hidrocortisona"],  # a Spanish record's names
        citations=citations,
    )
    assert "triple intrathecal" not in dict(
        missing_from(stored.model_copy(update={"intrathecal": single}))
    )
    assert Shunt(type="x", still_present=True)  # the model a surgery item carries

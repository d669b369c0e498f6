from knowledge.care_facts import care_facts, same_tumour
from tests.fakes import StaticIndex, chunk

HSCT = (
    "Allogeneic HSCT is indicated for high-risk or relapsed acute lymphoblastic leukaemia. "
    "Autologous HSCT supports high-dose chemotherapy in selected Ewing sarcoma and relapsed "
    "Hodgkin lymphoma. Stem cell sources are bone marrow and umbilical cord blood."
)


def facts(text: str):
    index = StaticIndex([chunk(text, document="hsct.pdf")])
    return care_facts(index.query("x", k=1))


def test_or_relapsed_is_an_alternative_but_relapsed_alone_is_relapse_only():
    found = facts(HSCT)
    allogeneic = next(f for f in found.transplant_types if f.type == "allogeneic")
    assert allogeneic.relapsed_tumours == []  # "high-risk or relapsed": both
    autologous = next(f for f in found.transplant_types if f.type == "autologous")
    assert autologous.relapsed_tumours and all(
        same_tumour("9650/3", code) for code in autologous.relapsed_tumours
    )


def test_each_fact_quotes_the_sentence_that_states_it():
    found = facts(HSCT)
    sources = {o.value: o.quote for o in found.options("cell_source")}
    assert set(sources) == {"bone_marrow", "cord_blood"}
    assert all(
        q == "Stem cell sources are bone marrow and umbilical cord blood." for q in sources.values()
    )
    for fact in found.transplant_types:
        assert fact.quote in HSCT and fact.quote.endswith(".")

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


def test_a_nos_code_speaks_of_its_iccc_group_and_a_subtype_not_of_a_sibling():
    assert same_tumour("9811/3", "9835/3")  # a passage on ALL, NOS: B-ALL
    assert same_tumour("9837/3", "9835/3")  # ... and T-ALL
    assert same_tumour("9835/3", "9811/3")  # a patient with ALL, NOS: B-ALL guidance fits
    assert not same_tumour("9663/3", "9659/3")  # NLPHL guidance is not classic HL guidance
    assert same_tumour("9663/3", "9650/3")  # classic HL, NOS covers nodular sclerosis
    assert same_tumour("9181/3", "9180/3")  # osteosarcoma, NOS covers chondroblastic
    assert same_tumour("9260/3", "9364/3")  # Ewing sarcoma under its old and new code
    assert not same_tumour("9180/3", "9364/3")
    assert not same_tumour("9470/3", "9999/9")  # a code the vocabulary does not know


def test_relapse_sites_and_second_line_read_in_portuguese_and_spanish():
    # Sentences as the Portuguese manual (cpc-neuro) and Spanish guidelines write them; the
    # accents a real PDF's extraction loses ("recada") are still a relapse.
    found = facts(
        "A recidiva ocorre no leito tumoral ou com disseminação leptomeníngea. "
        "Pacientes com tumores embrionários na primeira recidiva. "
        "Recada precoz en médula ósea. "
        "Tumores recorrentes tratados com ciclos mensais de temozolomida."
    )
    named = {(s.site, s.quote[:12]) for s in found.sites if s.named}
    assert ("primary site", "A recidiva o") in named
    assert ("central nervous system", "A recidiva o") in named
    assert ("bone marrow", "Recada preco") in named
    assert all(s.relapse for s in found.sites)
    local = [s for s in found.sites if not s.named]
    assert [(s.site, s.quote) for s in local] == [
        ("primary site", "Pacientes com tumores embrionários na primeira recidiva."),
        ("primary site", "Tumores recorrentes tratados com ciclos mensais de temozolomida."),
    ]
    assert [f.options for f in found.second_line] == [[["temozolomide"]]]


def test_metastasis_without_relapse_names_sites_but_no_local_relapse():
    found = facts("Metastases occur in the lungs. The primary tumour is resected.")
    assert [(s.site, s.relapse, s.named) for s in found.sites] == [("lung", False, True)]


def test_a_relapse_sentence_about_another_tumour_is_no_evidence_for_this_one():
    from service.generation.blocks.relapse import _about

    sentence = "Já os meduloblastomas são tumores com propensão à disseminação e recidiva."
    assert _about(sentence, "9470/3")  # medulloblastoma
    assert not _about(sentence, "9530/3")  # a meningioma's relapse is not there
    assert _about("Pacientes na primeira recidiva.", "9530/3")  # names no tumour
    assert _about("Relapsed CNS tumours are treated with temozolomide.", "9421/1")  # a group

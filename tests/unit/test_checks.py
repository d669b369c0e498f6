from datetime import timedelta

from models.fake import FakeModel
from service.checks import BASIC_CHECKS, run_basic_checks
from tests.unit.test_generation import TREATMENT, diagnosis_answer, make


def record():
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    return make(model).generate("8-year-old boy with Ewing sarcoma", seed=5)[0].record


def failed(rec):
    return {r.check: r.problems for r in run_basic_checks(rec) if not r.passed}


def test_a_generated_record_passes_every_basic_check():
    results = run_basic_checks(record())
    assert [r.check for r in results] == list(BASIC_CHECKS)
    assert all(r.passed for r in results)


def test_events_before_birth_or_after_the_reference_date_fail():
    rec = record()
    early = rec.demographics.birth_date - timedelta(days=1)
    late = rec.provenance.reference_date + timedelta(days=1)
    chemo = [rec.chemotherapy[0].model_copy(update={"date": early})]
    radio = [rec.radiotherapy[0].model_copy(update={"start_date": late})]
    problems = failed(rec.model_copy(update={"chemotherapy": chemo, "radiotherapy": radio}))
    assert "is before birth" in problems["events after birth"][0]
    assert "after the reference date" in problems["events not after the reference date"][0]
    assert "before the diagnosis" in problems["treatment after diagnosis"][0]


def test_metastasis_flag_and_sites_must_agree():
    rec = record()
    no_sites = rec.diagnosis.model_copy(update={"metastatic": True, "metastasis_sites": []})
    stray = rec.diagnosis.model_copy(update={"metastatic": False, "metastasis_sites": ["lung"]})
    assert failed(rec.model_copy(update={"diagnosis": no_sites})) == {
        "metastatic implies sites": ["metastatic but no metastasis site"]
    }
    assert "metastatic implies sites" in failed(rec.model_copy(update={"diagnosis": stray}))


def test_age_must_match_birth_date_and_cycles_must_be_in_order():
    rec = record()
    older = rec.diagnosis.model_copy(
        update={"age_at_diagnosis": rec.diagnosis.age_at_diagnosis + 2}
    )
    swapped = [
        c.model_copy(update={"date": rec.chemotherapy[0].date}) if c.cycle == 2 else c
        for c in rec.chemotherapy
    ]
    problems = failed(rec.model_copy(update={"diagnosis": older, "chemotherapy": swapped}))
    assert set(problems) == {
        "age at diagnosis matches birth date",
        "chemotherapy cycles in date order",
    }

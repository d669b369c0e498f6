from datetime import date

from service.generation.identity import age_on, invent_demographics, years_before


def test_same_seed_same_person_and_other_seed_other_person():
    a = invent_demographics(
        seed=3, sex=None, age=8, diagnosis_date=date(2025, 5, 1), locale="es_ES"
    )
    b = invent_demographics(
        seed=3, sex=None, age=8, diagnosis_date=date(2025, 5, 1), locale="es_ES"
    )
    c = invent_demographics(
        seed=4, sex=None, age=8, diagnosis_date=date(2025, 5, 1), locale="es_ES"
    )
    assert a == b
    assert a.medical_record_number != c.medical_record_number


def test_age_at_diagnosis_holds_for_many_seeds():
    for seed in range(200):
        d = invent_demographics(
            seed=seed, sex="female", age=seed % 18, diagnosis_date=date(2024, 2, 29), locale="es_ES"
        )
        assert age_on(d.birth_date, date(2024, 2, 29)) == seed % 18
        assert d.sex == "female"


def test_sip_style_card_encodes_surnames_sex_and_birth():
    d = invent_demographics(
        seed=1, sex="male", age=10, diagnosis_date=date(2025, 1, 10), locale="es_ES"
    )
    card = d.health_card_number
    assert len(card) == 17 and card[:4].isalpha() and card[4] == "0"
    assert card[5:11] == d.birth_date.strftime("%y%m%d")


def test_years_before_handles_leap_day():
    assert years_before(date(2024, 2, 29), 1) == date(2023, 2, 28)


def test_a_person_can_be_invented_in_every_accepted_locale():
    from service.generation.locales import LOCALES

    for locale in LOCALES:
        d = invent_demographics(
            seed=2, sex=None, age=7, diagnosis_date=date(2025, 3, 1), locale=locale
        )
        assert d.phone and d.email and d.health_card_number

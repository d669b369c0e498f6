"""Invented identities from a seeded Faker: never written by the LLM, never real people."""

from __future__ import annotations

import random
from datetime import date, timedelta

from faker import Faker

from service.records import Demographics, Sex


def _ascii_letters(text: str) -> str:
    table = str.maketrans("ÁÉÍÓÚÜÑáéíóúüñ", "AEIOUUNaeiouun")
    return "".join(ch for ch in text.translate(table).upper() if ch.isalpha())


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def health_card_number(
    first_surname: str, second_surname: str, sex: Sex, birth: date, rng: random.Random
) -> str:
    """SIP/CIP-style code: surname letters, sex digit, birth date, serial (invented)."""
    letters = (_ascii_letters(first_surname)[:2] + _ascii_letters(second_surname)[:2]).ljust(4, "X")
    sex_digit = "1" if sex == "female" else "0"
    return f"{letters}{sex_digit}{birth:%y%m%d}{rng.randrange(10**6):06d}"


def invent_demographics(
    *, seed: int, sex: Sex | None, age: int, diagnosis_date: date, locale: str
) -> Demographics:
    """A patient who is ``age`` years old on ``diagnosis_date``; same seed, same person."""
    rng = random.Random(seed)
    fake = Faker(locale)
    fake.seed_instance(seed)
    chosen: Sex = sex if sex is not None else rng.choice(("female", "male"))
    given = fake.first_name_female() if chosen == "female" else fake.first_name_male()
    first_surname, second_surname = fake.last_name(), fake.last_name()
    latest_birth = years_before(diagnosis_date, age)
    birth = latest_birth - timedelta(days=rng.randrange(0, 365))
    owner = "patient" if age >= 16 and rng.random() < 0.7 else "parent"
    email_name = given if owner == "patient" else fake.first_name()
    user = f"{_ascii_letters(email_name).lower()}.{_ascii_letters(first_surname).lower()}"
    return Demographics(
        given_name=given,
        first_surname=first_surname,
        second_surname=second_surname,
        birth_date=birth,
        sex=chosen,
        phone=fake.phone_number(),
        email=f"{user}{rng.randrange(100)}@{fake.free_email_domain()}",
        email_owner=owner,
        health_card_number=health_card_number(first_surname, second_surname, chosen, birth, rng),
        medical_record_number=f"HC{rng.randrange(10**8):08d}",
    )

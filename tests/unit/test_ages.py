"""Published age-specific incidence (knowledge/ages.py) and how a request without a
diagnosis draws its tumour group from it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from knowledge import ages
from knowledge.evidence import CodeFact
from service.generation.blocks.diagnosis import _usual_at


def test_age_bands_and_the_table_rows():
    assert [ages.band_of(a) for a in (0, 4, 5, 14, 15, 19, 23)] == [0, 0, 1, 2, 3, 3, 3]
    with pytest.raises(ValueError, match="negative"):
        ages.band_of(-1)
    table = ages.age_table()
    assert table["IIb"] is table["IId"]  # one source row for several subgroups
    assert table["IVa"].source == "nyscr_2005_2009"


def test_a_tumour_takes_its_first_subgroups_row_else_its_main_groups():
    assert ages.rate("9500/3", 2) == 30.0  # neuroblastoma: IV(a), 0-4 years
    assert ages.rate("9500/3", 16) == 0.7
    assert ages.rate("9650/3", 3) == 0.5  # Hodgkin: II(a)
    assert ages.rate("9960/3", 3) is None or ages.rate("9960/3", 3) >= 0  # any code: no error
    assert ages.rate("9180/3", 12) is None  # osteosarcoma: group VIII not transcribed
    assert ages.rate("0000/0", 5) is None  # not in the vocabulary


@dataclass
class Stub:
    rng: random.Random = field(default_factory=lambda: random.Random(1))


def fact(code: str) -> CodeFact:
    return CodeFact(chunk_id="c", quote="q", code=code, term=code)


def test_unusual_groups_are_never_drawn_and_unrated_ones_stay_possible():
    offered = [fact("9500/3"), fact("9650/3"), fact("9180/3"), fact("9835/3")]
    drawn = {
        tuple(m.code for m in _usual_at(Stub(random.Random(s)), offered, 17)) for s in range(60)
    }
    assert ("9500/3",) not in drawn  # neuroblastoma, 0.7 per million at 15-19
    assert {("9650/3",), ("9180/3",), ("9835/3",)} <= drawn
    infants = [m.code for s in range(60) for m in _usual_at(Stub(random.Random(s)), offered, 2)]
    assert "9650/3" not in infants and infants.count("9835/3") > infants.count("9500/3") > 0


def test_nothing_is_drawn_when_no_offered_tumour_has_a_rate():
    offered = [fact("9180/3"), fact("9364/3")]
    assert _usual_at(Stub(), offered, 10) == offered

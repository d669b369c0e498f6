"""First-line regimens in protocol order, whatever order the model lists them in."""

from __future__ import annotations

from knowledge.evidence import DrugDoseFact, Regimen
from service.generation.blocks.chemotherapy import ChosenRegimen, first_line, in_protocol_order


def regimen(name: str, phase: str | None) -> Regimen:
    dose = DrugDoseFact(
        chunk_id=name, quote=name, drug="vincristine", atc="L01CA02", dose=1.5, unit="mg/m2"
    )
    return Regimen(chunk_id=name, quote=name, drugs=[dose], phase=phase)


def names(chosen: list[ChosenRegimen]) -> list[str]:
    return [c.regimen.chunk_id for c in chosen]


def test_phases_are_sorted_and_unknown_phases_keep_their_place():
    chosen = [
        ChosenRegimen(regimen("maintenance", "maintenance"), 1),
        ChosenRegimen(regimen("other", None), 2),
        ChosenRegimen(regimen("VAI", "consolidation"), 3),
        ChosenRegimen(regimen("VIDE", "induction"), 6),
    ]
    ordered = in_protocol_order(chosen)
    assert names(ordered) == ["VIDE", "other", "VAI", "maintenance"]
    assert [c.cycles for c in ordered] == [6, 2, 3, 1]


def test_a_relapse_regimen_is_no_first_line_option():
    offered = [regimen("VIDE", "induction"), regimen("rEECur", "relapse"), regimen("x", None)]
    assert [r.chunk_id for r in first_line(offered)] == ["VIDE", "x"]

"""First-line regimens in protocol order, whatever order the model lists them in; a first
line that opens with induction; cycles that fit the time a record has."""

from __future__ import annotations

from knowledge.evidence import DrugDoseFact, Regimen
from service.generation.blocks.chemotherapy import (
    ChosenRegimen,
    cycle_length,
    first_line,
    in_protocol_order,
    maintenance_may_open,
    opening_regimens,
    within_days,
)
from service.generation.blocks.timeline import CYCLE_DAYS, INTERVAL_SLACK


def regimen(
    name: str,
    phase: str | None,
    *,
    cycles: tuple[int, int] | None = None,
    interval: int | None = None,
) -> Regimen:
    dose = DrugDoseFact(
        chunk_id=name, quote=name, drug="vincristine", atc="L01CA02", dose=1.5, unit="mg/m2"
    )
    return Regimen(
        chunk_id=name,
        quote=name,
        drugs=[dose],
        phase=phase,
        cycles=cycles,
        interval_days=interval,
    )


def names(chosen: list[ChosenRegimen] | list[Regimen]) -> list[str]:
    return [c.regimen.chunk_id if isinstance(c, ChosenRegimen) else c.chunk_id for c in chosen]


def test_induction_first_then_unphased_then_later_phases():
    chosen = [
        ChosenRegimen(regimen("maintenance", "maintenance"), 1),
        ChosenRegimen(regimen("VAI", "consolidation"), 3),
        ChosenRegimen(regimen("other", None), 2),
        ChosenRegimen(regimen("VIDE", "induction"), 6),
    ]
    ordered = in_protocol_order(chosen)
    # a regimen whose passage names no phase is no later phase: before consolidation
    assert names(ordered) == ["VIDE", "other", "VAI", "maintenance"]
    assert [c.cycles for c in ordered] == [6, 2, 3, 1]


def test_a_line_opens_with_induction_where_one_is_offered():
    vide, vai, vdc = (
        regimen("VIDE", "induction"),
        regimen("VAI", "consolidation"),
        regimen("VDC", None),
    )
    assert names(opening_regimens([vai, vdc, vide])) == ["VIDE"]
    # without induction on offer: anything but a later phase
    assert names(opening_regimens([vai, vdc, regimen("m", "maintenance")])) == ["VDC"]
    assert opening_regimens([vai]) == []


RHABDOMYOSARCOMA, MEDULLOBLASTOMA = "8900/3", "9470/3"


def test_maintenance_opens_a_line_only_in_a_cns_tumour_that_offers_nothing_else():
    """Rhabdomyosarcoma's vinorelbine and oral cyclophosphamide maintenance follows IVA; a
    CNS protocol (medulloblastoma) gives maintenance after radiotherapy, with no induction."""
    maintenance, vai = regimen("VNB-CPM", "maintenance"), regimen("VAI", "consolidation")
    iva = regimen("IVA", None)
    assert not maintenance_may_open(RHABDOMYOSARCOMA)
    assert maintenance_may_open(MEDULLOBLASTOMA)
    # a tumour whose protocols open with something else never opens with maintenance
    assert opening_regimens([maintenance, vai]) == []
    assert opening_regimens([maintenance, vai], maintenance_opens=False) == []
    # a CNS tumour whose passages give only maintenance (and a later consolidation) opens
    # with it; one that gives an unphased or induction regimen opens with that
    assert names(opening_regimens([vai, maintenance], maintenance_opens=True)) == ["VNB-CPM"]
    assert names(opening_regimens([maintenance, iva], maintenance_opens=True)) == ["IVA"]


def test_the_regimen_chosen_to_open_the_line_stays_first():
    maintenance, vai = regimen("m", "maintenance"), regimen("VAI", "consolidation")
    chosen = [ChosenRegimen(maintenance, 6), ChosenRegimen(vai, 3)]
    assert names(in_protocol_order(chosen, maintenance)) == ["m", "VAI"]
    assert names(in_protocol_order(chosen)) == ["VAI", "m"]


def test_a_relapse_regimen_is_no_first_line_option():
    offered = [regimen("VIDE", "induction"), regimen("rEECur", "relapse"), regimen("x", None)]
    assert [r.chunk_id for r in first_line(offered)] == ["VIDE", "x"]


def test_a_cycle_lasts_its_stated_interval_with_a_few_days_delay_else_three_weeks():
    assert cycle_length(regimen("VIDE", None, interval=21)) == (21, 21 + INTERVAL_SLACK)
    assert cycle_length(regimen("x", None)) == (CYCLE_DAYS, CYCLE_DAYS)


def test_cycles_are_cut_to_the_time_the_record_has_later_regimens_first():
    chosen = [
        ChosenRegimen(regimen("IVA", None, cycles=(9, 9), interval=21), 9),
        ChosenRegimen(regimen("maintenance", "maintenance", interval=28), 6),
    ]
    days = 9 * (21 + INTERVAL_SLACK) + 2 * (28 + INTERVAL_SLACK)
    kept = within_days(chosen, days)
    assert [(names([c])[0], c.cycles) for c in kept] == [("IVA", 9), ("maintenance", 2)]
    # the first regimen keeps one cycle, whatever its length
    assert [c.cycles for c in within_days(chosen, 10)] == [1]

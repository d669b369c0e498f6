"""A record laid out for reading: its blocks, each clinical item's values and citations.

Citations are numbered as ``PatientRecord.citations()`` lists them, which is how the
citation page finds one again (``/ui/patients/{id}/citations/{n}``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from service.records import Citation, PatientRecord


@dataclass
class ItemView:
    title: str
    fields: list[tuple[str, str]]
    citations: list[tuple[int, Citation]] = field(default_factory=list)


@dataclass
class BlockView:
    key: str
    title: str
    items: list[ItemView]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(
            f"{k.replace('_', ' ')}: {_shown(v)}"
            for k, v in value.items()
            if v not in (None, [], "")
        )
    return str(value)


def _fields(item: BaseModel, skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    data = item.model_dump(mode="json", exclude={"citations", *skip})
    return [
        (name.replace("_", " "), _shown(value))
        for name, value in data.items()
        if value not in (None, [], "", {})
    ]


def record_blocks(record: PatientRecord) -> list[BlockView]:
    numbers = {id(c): n for n, c in enumerate(record.citations())}

    def item(title: str, model: BaseModel, skip: frozenset[str] = frozenset()) -> ItemView:
        cited: list[Citation] = getattr(model, "citations", [])  # ClinicalItem, Others
        return ItemView(title, _fields(model, skip), [(numbers[id(c)], c) for c in cited])

    blocks = [
        BlockView("demographics", "Demographics", [ItemView("", _fields(record.demographics))]),
        BlockView("diagnosis", "Diagnosis", [item(record.diagnosis.tumour, record.diagnosis)]),
    ]
    if record.measures_at_diagnosis is not None:
        blocks[0].items.append(ItemView("", _fields(record.measures_at_diagnosis)))
    if record.chemotherapy or record.intrathecal or record.corticosteroids_over_4_weeks is not None:
        items = [item(f"{c.drug} · {c.date}", c) for c in record.chemotherapy]
        if record.intrathecal:
            items.append(item("Intrathecal therapy", record.intrathecal))
        if record.corticosteroids_over_4_weeks is not None:
            shown = _shown(record.corticosteroids_over_4_weeks)
            items.append(ItemView("", [("corticosteroids over 4 weeks", shown)]))
        blocks.append(BlockView("chemotherapy", "Chemotherapy", items))
    if record.radiotherapy:
        items = [item(f"{r.site} · {r.start_date}", r) for r in record.radiotherapy]
        blocks.append(BlockView("radiotherapy", "Radiotherapy", items))
    if record.surgery:
        items = [item(f"{s.description} · {s.date}", s) for s in record.surgery]
        blocks.append(BlockView("surgery", "Surgery", items))
    if record.hsct:
        items = [item(f"{h.type} · {h.date}", h) for h in record.hsct]
        blocks.append(BlockView("hsct", "Stem-cell transplant", items))
    if record.others is not None:
        blocks.append(BlockView("others", "Others", [item("", record.others)]))
    if record.relapse is not None:
        relapse = record.relapse
        skip = frozenset({"second_line", "second_line_radiotherapy"})
        items = [item(f"{relapse.site} · {relapse.date}", relapse, skip)]
        items += [item(f"{c.drug} · {c.date}", c) for c in relapse.second_line]
        items += [item(f"{r.site} · {r.start_date}", r) for r in relapse.second_line_radiotherapy]
        blocks.append(BlockView("relapse", "Relapse", items))
    if record.second_tumour is not None:
        second = record.second_tumour
        items = [item(second.diagnosis.tumour, second.diagnosis)]
        items += [item(f"{c.drug} · {c.date}", c) for c in second.chemotherapy]
        items += [item(f"{r.site} · {r.start_date}", r) for r in second.radiotherapy]
        items += [item(f"{s.description} · {s.date}", s) for s in second.surgery]
        blocks.append(BlockView("second_tumour", "Second tumour", items))
    return blocks

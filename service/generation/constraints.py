"""JSON schemas derived from the evidence sheet: the model can only write grounded values.

Each allowed value is an ``anyOf`` branch whose fields are constants taken from one fact,
including ``source`` (the evidence label of the chunk that states it), so a drug cannot be
paired with another drug's dose and a citation cannot point outside the retrieved chunks.
"""

from __future__ import annotations

from typing import Any

from knowledge.evidence import CodeFact, EvidenceSheet, IntrathecalFact, RadiotherapyFact, Regimen
from knowledge.vocabulary import usual_site

METASTASIS_SITES = ("lung", "bone", "bone marrow", "lymph nodes", "liver", "pleura", "brain")
MAX_CYCLES = 6
MAX_REGIMENS = 3
NO_BOOST = "none"


def object_schema(properties: dict[str, Any]) -> dict[str, Any]:
    """An object whose every property is required (the model writes them all, in order)."""
    return {"type": "object", "properties": properties, "required": list(properties)}


def const(value: Any) -> dict[str, Any]:
    return {"const": value}


_object, _const = object_schema, const


class EvidenceLabels:
    """Short labels (E1, E2...) for retrieved chunks: what the model sees and cites."""

    def __init__(self, sheet: EvidenceSheet):
        self.by_chunk = {c.chunk_id: f"E{i}" for i, c in enumerate(sheet.chunks, start=1)}
        self.by_label = {label: chunk for chunk, label in self.by_chunk.items()}

    def __call__(self, chunk_id: str) -> str:
        return self.by_chunk[chunk_id]


def diagnosis_schema(
    options: list[tuple[CodeFact, list[CodeFact]]],
    labels: EvidenceLabels,
    *,
    metastatic: bool | None = None,
) -> dict[str, Any]:
    """One branch per tumour, each with the sites its own guideline names."""
    if not options:
        raise ValueError("no ICD-O-3 morphology in the evidence: nothing to diagnose from")
    diagnosis = {
        "anyOf": [
            _object(
                {
                    "tumour": _const(morphology.term),
                    "icdo3_morphology": _const(morphology.code),
                    "source": _const(labels(morphology.chunk_id)),
                    "site": _site_schema(sites, labels, usual_site(morphology.code)),
                }
            )
            for morphology, sites in options
        ]
    }
    branches = [
        _object({"metastatic": _const(False)}),
        _object(
            {
                "metastatic": _const(True),
                "sites": {
                    "type": "array",
                    "items": {"enum": list(METASTASIS_SITES)},
                    "minItems": 1,
                    "maxItems": 3,
                },
            }
        ),
    ]
    if metastatic is not None:  # the request decided it
        branches = [branches[1] if metastatic else branches[0]]
    return _object(
        {
            "diagnosis": diagnosis,
            "metastasis": {"anyOf": branches},
        }
    )


def _site_schema(
    sites: list[CodeFact], labels: EvidenceLabels, usual: str | None = None
) -> dict[str, Any]:
    """The sites the guideline names; where it names none, the tumour group's usual site
    (uncoded: no passage states it), else free text."""
    if not sites and usual:
        return _object({"site": _const(usual)})
    if not sites:
        return _object({"site": {"type": "string", "minLength": 3, "maxLength": 60}})
    return {
        "anyOf": [
            _object(
                {
                    "site": _const(t.term),
                    "icdo3_topography": _const(t.code),
                    "source": _const(labels(t.chunk_id)),
                }
            )
            for t in sites
        ]
    }


def regimen_label(index: int) -> str:
    return f"R{index}"


def cycle_options(regimen: Regimen) -> list[int]:
    """The cycle counts a record may give a regimen: those its passage states ("six
    cycles", "4-6 cycles"), else 1 to ``MAX_CYCLES``."""
    low, high = regimen.cycles or (1, MAX_CYCLES)
    return list(range(low, high + 1))


def treatment_schema(
    regimens: list[Regimen],
    radiotherapy: list[RadiotherapyFact],
    labels: EvidenceLabels,
    *,
    want_chemotherapy: bool,
    want_radiotherapy: bool,
    techniques: list[str] | None = None,
    boosts: list[RadiotherapyFact] | None = None,
    intrathecal: list[IntrathecalFact] | None = None,
    openers: list[Regimen] | None = None,
) -> dict[str, Any]:
    """Chemotherapy as whole regimens (R1, R2...) with a cycle count; radiotherapy courses.

    Where only some regimens may open the first line (``openers``: the induction regimens
    on offer), the answer names one of them as ``first_regimen`` and ``chemotherapy``
    lists the regimens that follow it. A regimen's cycle count is the one its passage
    states, where it states one. A course offers a technique only when the evidence names
    one besides external beam, and a boost only when a passage states one; intrathecal
    therapy is offered when the passages give more than one intrathecal drug combination.
    """
    properties: dict[str, Any] = {}
    if want_chemotherapy and regimens:
        branches = [
            _object(
                {
                    "regimen": _const(regimen_label(i)),
                    "source": _const(labels(r.chunk_id)),
                    "cycles": {"enum": cycle_options(r)},
                }
            )
            for i, r in enumerate(regimens, start=1)
        ]
        first = [branches[regimens.index(r)] for r in openers or [] if r in regimens]
        opens = bool(first) and len(first) < len(regimens)
        if opens:
            properties["first_regimen"] = choice(first)
        properties["chemotherapy"] = {
            "type": "array",
            "minItems": 0 if opens else 1,
            "maxItems": min(MAX_REGIMENS, len(regimens)) - opens,
            "items": {"anyOf": branches},
        }
    if want_chemotherapy and regimens and intrathecal and len(intrathecal) > 1:
        properties["intrathecal"] = {
            "anyOf": [
                _object({"drugs": _const(", ".join(f.drugs)), "source": _const(labels(f.chunk_id))})
                for f in intrathecal
            ]
        }
    if want_radiotherapy and radiotherapy:
        extra: dict[str, Any] = {}
        if techniques and len(techniques) > 1:
            extra["technique"] = {"enum": list(techniques)}
        if boosts:
            extra["boost"] = {
                "anyOf": [_const(NO_BOOST)]
                + [
                    _object(
                        {
                            "site": _const(b.site),
                            "dose": _const(b.dose),
                            "source": _const(labels(b.chunk_id)),
                        }
                    )
                    for b in boosts
                ]
            }
        properties["radiotherapy"] = {
            "type": "array",
            "minItems": 1,
            "maxItems": min(2, len(radiotherapy)),
            "items": {
                "anyOf": [
                    _object(
                        {
                            "site": _const(r.site),
                            "dose": _const(r.dose),
                            "fractions": _const(r.fractions),
                            "source": _const(labels(r.chunk_id)),
                            **extra,
                        }
                    )
                    for r in radiotherapy
                ]
            },
        }
    return _object(properties)


def choice(options: list[dict[str, Any]]) -> dict[str, Any]:
    """One of ``options`` (each an object schema, or a constant)."""
    return {"anyOf": options} if len(options) > 1 else options[0]


def subset(values: list[str], *, max_items: int, min_items: int = 0) -> dict[str, Any]:
    """A list of distinct-looking values from ``values`` (repeats are dropped by the reader)."""
    return {
        "type": "array",
        "items": {"enum": list(values)},
        "minItems": min_items,
        "maxItems": max(min_items, min(max_items, len(values))),
    }

"""The builder of the PCSP document: entries without requests, each filed under the
Composition section it belongs to (``service.exports.pcsp_composition`` makes the sections).

Section keys are paths: ``primary`` (the cancer diagnosis and front-line treatment section of
the first tumour), ``primary/chemotherapy``, ``primary/relapseAfterEOT/radiotherapy``,
``second/majorSurgery``... The last part is the section slice name in CompositionSurpassPcsp.
"""

from __future__ import annotations

from typing import Any

from service.body_measures import body_measures
from service.exports.fhir_common import Json, ResourceBuilder
from service.records import BodyMeasures, PatientRecord


class PassportBuilder(ResourceBuilder):
    """Adds profiled resources and remembers, per section, the references to list in it."""

    transaction = False

    def __init__(self, record: PatientRecord):
        super().__init__(record)
        self.sections: dict[str, list[Json]] = {}
        self.measures: BodyMeasures = body_measures(record)

    def put(self, section: str | None, key: str, rtype: str, profile: str | None, **fields: Any):
        """Add a resource declaring ``profile`` (if any), listed in ``section`` (if any)."""
        meta = {"profile": [profile]} if profile else None
        ref = self.add(key, rtype, meta=meta, **fields)
        if section:
            self.sections.setdefault(section, []).append(ref)
        return ref

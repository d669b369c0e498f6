"""Age-plausible weight and height at diagnosis, seeded, and the body surface area they give.

Doses given per kg or as a flat amount must also be stated per m² (the PanCareSurPass
passport reports cumulative chemotherapy in mg/m², g/m² or [iU]/m² only), so every record
needs a weight and a height. They are drawn around the median for age and sex (rounded from
the WHO/CDC growth-chart 50th centiles) with a spread seeded by a key (the record id), so
the same record always gets the same measures, and a record stored before they existed gets
exactly the values it would have been generated with.
"""

from __future__ import annotations

import hashlib
import random

from service.records import BodyMeasures, PatientRecord, Sex

# Median (weight kg, height cm) at ages 0..18 (age 0: at six months); adults keep age 18.
_MEDIANS: dict[str, list[tuple[float, float]]] = {
    "male": [
        (7.5, 67), (10.0, 76), (12.5, 87), (14.5, 95), (16.5, 103), (18.5, 110),
        (21.0, 116), (23.0, 122), (25.5, 128), (28.5, 133), (32.0, 138), (36.0, 143),
        (40.0, 149), (45.0, 156), (51.0, 164), (56.0, 170), (61.0, 174), (64.0, 176),
        (66.0, 177),
    ],
    "female": [
        (7.0, 65), (9.5, 74), (12.0, 86), (14.0, 95), (16.0, 102), (18.0, 109),
        (20.5, 115), (23.0, 121), (25.5, 127), (28.5, 133), (32.0, 138), (36.5, 144),
        (41.0, 151), (46.0, 157), (49.5, 160), (52.0, 162), (54.0, 162), (55.5, 163),
        (56.5, 163),
    ],
}  # fmt: skip
_HEIGHT_SD = 0.04  # relative spread of height around the median
_WEIGHT_SD = 0.10  # relative spread of weight for a given height


def estimate_body_measures(*, key: str, age: int, sex: Sex) -> BodyMeasures:
    """Measures for a patient of ``age`` years and ``sex``, the same for the same ``key``."""
    weight, height = _MEDIANS[sex][min(max(age, 0), 18)]
    rng = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    height_factor = min(max(rng.gauss(1.0, _HEIGHT_SD), 0.92), 1.08)  # within 2 SD
    weight_factor = min(max(rng.gauss(1.0, _WEIGHT_SD), 0.8), 1.2)
    return BodyMeasures(
        weight_kg=round(weight * height_factor**2 * weight_factor, 1),
        height_cm=round(height * height_factor, 1),
    )


def body_measures(record: PatientRecord) -> BodyMeasures:
    """The record's measures at diagnosis, or those it would have been generated with."""
    if record.measures_at_diagnosis is not None:
        return record.measures_at_diagnosis
    return estimate_body_measures(
        key=record.record_id,
        age=record.diagnosis.age_at_diagnosis,
        sex=record.demographics.sex,
    )

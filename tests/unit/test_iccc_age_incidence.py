"""knowledge/vocab/iccc_age_incidence.csv: cited rows, unique codes, non-negative rates."""

from __future__ import annotations

import csv
import re
from pathlib import Path

VOCAB = Path(__file__).resolve().parents[2] / "knowledge" / "vocab"
BANDS = ("rate_0_4", "rate_5_9", "rate_10_14", "rate_15_19")
CODE = re.compile(r"^(XII|XI|IX|X|VIII|VII|VI|IV|V|III|II|I)[a-f]?$")


def _rows() -> list[dict[str, str]]:
    with open(VOCAB / "iccc_age_incidence.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _source_ids() -> set[str]:
    text = (VOCAB / "README.md").read_text(encoding="utf-8")
    section = text.split("## iccc_age_incidence.csv", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\* `([a-z0-9_]+)`:", section, flags=re.MULTILINE))


def test_rows_are_cited_unique_and_non_negative() -> None:
    rows, sources = _rows(), _source_ids()
    assert rows and sources
    codes = [row["iccc_code"] for row in rows]
    assert len(codes) == len(set(codes))
    for row in rows:
        assert row["source_id"] in sources, row
        assert all(CODE.match(part) for part in row["iccc_code"].split("|")), row
        assert row["unit"] == "per_million_person_years", row
        for band in BANDS:
            assert row[band] == "" or float(row[band]) >= 0, row

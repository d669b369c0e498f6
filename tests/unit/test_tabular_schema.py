"""Tabular specs, reference data, rules and the rule-compiled row schema."""

import json
import re

import jsonschema
import numpy as np
import pandas as pd
import pytest

from service.tabular.constrain import compile_rules
from service.tabular.reference import ReferenceError, load_reference, normalise, split_rows
from service.tabular.rules import TableRuleBook
from service.tabular.schema import RowError, parse_row, range_pattern, row_schema
from service.tabular.spec import ColumnSpec, SpecError, TableSpec, infer_spec
from service.validation.rules import RuleFileError


@pytest.mark.parametrize(
    ("low", "high", "decimals"),
    [(0, 20, 0), (40, 250, 0), (0.1, 30, 1), (1.5, 5.5, 2), (0.05, 2.5, 3), (9.95, 10.05, 2)],
)
def test_range_pattern_admits_exactly_the_range_at_its_precision(low, high, decimals):
    pattern = re.compile(range_pattern(low, high, decimals))
    scale = 10**decimals
    for scaled in range(0, int(high * scale) * 2 + 20):
        text = f"{scaled / scale:.{decimals}f}"
        inside = low - 1e-9 <= scaled / scale <= high + 1e-9
        assert bool(pattern.fullmatch(text)) == inside, text
    assert not pattern.fullmatch("0" + f"{high:.{decimals}f}")  # no leading zeros


def tiny_spec(**changes) -> TableSpec:
    columns = [
        ColumnSpec(name="age", kind="integer", minimum=18, maximum=90),
        ColumnSpec(
            name="bmi",
            kind="number",
            minimum=15,
            maximum=60,
            decimals=1,
            missing_codes=[0],
            nullable=True,
        ),  # fmt: skip
        ColumnSpec(name="sex", kind="category", categories=["f", "m"]),
        ColumnSpec(name="preg", kind="integer", minimum=0, maximum=15, nullable=True),
        ColumnSpec(name="dm", kind="category", categories=[0, 1]),
    ]
    return TableSpec(name="tiny", columns=columns, target="dm", positive=1, **changes)


RULES = """
[[rule]]
id = "tiny.male_not_pregnant"
description = "A man has no pregnancies."
fields = ["sex", "preg"]
message = "sex {sex} with {preg} pregnancies"
when = "sex == 'm'"
require = "preg == 0"

[[rule]]
id = "tiny.obese_diabetic"
description = "BMI of 40 or more means diabetes."
fields = ["bmi", "dm"]
message = "bmi {bmi}, dm {dm}"
when = "bmi >= 40"
require = "dm == 1"

[[rule]]
id = "tiny.adult_pregnancies"
description = "At most one pregnancy per year after 13."
fields = ["preg", "age"]
message = "{preg} pregnancies at {age}"
require = "preg <= age - 13"
"""


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "tiny.rules.toml"
    path.write_text(RULES)
    return TableRuleBook.load(path, tiny_spec())


def test_rules_apply_only_when_their_values_are_present(book):
    ok = {"age": 30, "bmi": 25.0, "sex": "m", "preg": 0, "dm": 0}
    assert book.check(ok).passed and book.check(ok).applicable == 2
    bad = book.check({**ok, "preg": 3, "bmi": 41.0})
    assert sorted(f.rule_id for f in bad.failures) == [
        "tiny.male_not_pregnant",
        "tiny.obese_diabetic",
    ]
    assert "sex m with 3 pregnancies" in [f.message for f in bad.failures]
    # bmi missing: the obesity rule does not apply; preg missing: the age rule does not either.
    gone = book.check({**ok, "bmi": None, "preg": None})
    assert gone.passed and gone.applicable == 0
    assert not book.check({**ok, "sex": "f", "preg": 20, "age": 30}).passed


@pytest.mark.parametrize(
    ("require", "problem"),
    [
        ("__import__('os')", "only missing"),
        ("age.real > 1", "Attribute"),
        ("weight > 3", "unknown"),
    ],
)
def test_rule_files_refuse_code_and_unknown_columns(tmp_path, require, problem):
    path = tmp_path / "r.toml"
    path.write_text(
        f'[[rule]]\nid = "a.b"\ndescription = "d"\nfields = ["age"]\nmessage = "m"\n'
        f"require = {json.dumps(require)}\n"
    )
    with pytest.raises(RuleFileError, match=problem):
        TableRuleBook.load(path, tiny_spec())


def test_compiled_schema_admits_no_violation_and_most_legal_rows(book):
    spec = book.spec
    compiled = compile_rules(book, spec)
    assert compiled.compiled == [r.id for r in book] and compiled.prompt_only == []
    validator = jsonschema.Draft202012Validator(row_schema(spec, branches=compiled.branches))
    rng = np.random.default_rng(0)
    legal = admitted = 0
    for _ in range(600):
        row = {
            "age": int(rng.integers(18, 30)),
            "bmi": None if rng.random() < 0.2 else round(float(rng.uniform(15, 60)), 1),
            "sex": str(rng.choice(["f", "m"])),
            "preg": None if rng.random() < 0.2 else int(rng.integers(0, 16)),
            "dm": int(rng.integers(0, 2)),
        }
        passed = not book.check(row).failures
        written = {
            "age": str(row["age"]),
            "bmi": None if row["bmi"] is None else f"{row['bmi']:.1f}",
            "sex": row["sex"],
            "preg": None if row["preg"] is None else str(row["preg"]),
            "dm": row["dm"],
        }
        valid = validator.is_valid(written)
        assert passed or not valid, row  # sound: the schema admits no violating row
        legal += passed
        admitted += valid
        if valid:
            assert parse_row(spec, json.dumps(written)) == row
    # The single-column rules compile exactly; the two-column one is binned, so a few legal
    # rows near a bin edge are refused (pregnancies 9 at age 22 in the bin 8..11: age >= 24).
    assert admitted >= 0.8 * legal


def test_a_two_column_rule_is_binned_conservatively(book):
    spec = book.spec
    compiled = compile_rules(book, spec)
    validator = jsonschema.Draft202012Validator(row_schema(spec, branches=compiled.branches))
    row = {"age": "18", "bmi": None, "sex": "f", "preg": "5", "dm": 0}
    assert validator.is_valid(row)  # 5 <= 18 - 13
    assert not validator.is_valid({**row, "preg": "6"})
    # 6..15 bind; the bin 6..7 holds age to 20 or more, refusing the legal (6, 19).
    assert not validator.is_valid({**row, "age": "19", "preg": "6"})
    assert validator.is_valid({**row, "age": "20", "preg": "7"})
    assert validator.is_valid({**row, "preg": "0"}) and validator.is_valid({**row, "preg": None})
    assert validator.is_valid({**row, "age": "28", "preg": "15"})


def test_steering_pins_categories_and_leaves_missing_columns_out(book):
    schema = row_schema(
        book.spec,
        fixed={"sex": "m", "dm": 0},
        absent=frozenset({"preg"}),
        branches=compile_rules(book, book.spec).branches,
    )
    validator = jsonschema.Draft202012Validator(schema)
    row = {"age": "30", "bmi": "22.0", "sex": "m", "dm": 0}
    assert validator.is_valid(row)
    assert not validator.is_valid({**row, "sex": "f"})
    assert not validator.is_valid({**row, "bmi": "45.0"})  # dm 0 pinned: bmi must stay < 40
    assert not validator.is_valid({**row, "bmi": None})  # present in the drawn training row


def test_parse_row_names_every_problem():
    with pytest.raises(RowError) as caught:
        parse_row(tiny_spec(), '{"age": "12", "bmi": "x", "sex": "q", "dm": 1, "extra": 1}')
    message = str(caught.value)
    for part in (
        "age: 12 outside",
        "bmi: 'x' is not a number",
        "sex: 'q'",
        "preg: missing",
        "extra",
    ):
        assert part in message


def test_normalise_codes_missing_values_and_refuses_unknown_categories():
    spec = tiny_spec()
    raw = pd.DataFrame(
        {"age": [30, 40], "bmi": [0, 31.26], "sex": ["f", "m"], "preg": [2, None], "dm": [1.0, 0.0]}
    )
    frame = normalise(raw, spec)
    assert np.isnan(frame["bmi"][0]) and frame["bmi"][1] == 31.3
    assert frame["preg"].isna().tolist() == [False, True]
    assert frame["dm"].tolist() == [1, 0]
    with pytest.raises(ReferenceError, match="'x' is not among"):
        normalise(raw.assign(sex=["f", "x"]), spec)
    with pytest.raises(ReferenceError, match="outside"):
        normalise(raw.assign(age=[30, 120]), spec)


def test_infer_spec_reads_types_ranges_categories_and_missing():
    frame = pd.DataFrame(
        {
            "id_text": ["a", "b", "a", "b"] * 10,
            "dose": [None if i % 7 == 0 else 1.25 * i for i in range(1, 41)],
            "count": list(range(40)),
            "flag": [0, 1, 1, 0] * 10,
        }
    )
    spec = infer_spec(frame, "t")
    dose, count, flag = spec.column("dose"), spec.column("count"), spec.column("flag")
    assert (dose.kind, dose.decimals, dose.minimum, dose.maximum, dose.nullable) == (
        "number", 2, 1.25, 50.0, True,
    )  # fmt: skip
    assert (count.kind, count.minimum, count.maximum) == ("integer", 0, 39)
    assert flag.kind == "category" and flag.categories == [0, 1]
    assert spec.column("id_text").categories == ["a", "b"]


def test_spec_refuses_a_numeric_target():
    with pytest.raises(ValueError, match="target must be a category"):
        tiny_spec().model_copy(update={}).model_validate(
            {**tiny_spec().model_dump(), "target": "age", "positive": 1}
        )
    with pytest.raises(SpecError):
        TableSpec.load(__import__("pathlib").Path("/nonexistent.json"))


def test_split_is_seeded_disjoint_and_complete():
    a, b, c = split_rows(100, 3), split_rows(100, 3), split_rows(100, 4)
    assert a == b and a != c
    assert set(a.train).isdisjoint(a.holdout) and len(a.train) + len(a.holdout) == 100
    assert len(a.holdout) == 30 and "seed 3" in a.describe()


@pytest.mark.parametrize(("name", "shape"), [("pbc", (418, 19)), ("pima", (768, 9))])
def test_bundled_references_load_offline_with_their_rules(name, shape):
    from service.tabular.runs import open_reference

    reference, book, inferred = open_reference(name)
    assert reference.frame.shape == shape and not inferred and len(book) >= 5
    if name == "pima":  # the source's zeros are missing values
        assert reference.frame["Insulin"].isna().sum() == 374
    else:
        assert reference.frame["trt"].isna().sum() == 106


def test_user_csv_gets_an_inferred_spec_written_for_editing(tmp_path):
    csv = tmp_path / "cohort.csv"
    pd.DataFrame({"x": [1.5, 2.5, 3.0] * 5, "y": ["a", "b", "c"] * 5}).to_csv(csv, index=False)
    written = tmp_path / "cohort.spec.json"
    reference, inferred = load_reference(str(csv), write_inferred=written)
    assert inferred and TableSpec.load(written) == reference.spec

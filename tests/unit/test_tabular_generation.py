"""Rows from a scripted model: prompts per type, repair and drop, steering, seeds, the CLI."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from models.fake import FakeModel
from service.generation.repair import REPAIR_SEED_STEP
from service.tabular.generate import GenerationOptions, TabularGenerator
from service.tabular.prompting import render_prompt
from service.tabular.runs import open_reference
from service.tabular.schema import format_value

runner = CliRunner()


@pytest.fixture(scope="module")
def pima():
    reference, book, _ = open_reference("pima")
    return reference, book


def pima_row(**changes):
    row = {
        "Pregnancies": "2", "Glucose": "120", "BloodPressure": "70", "SkinThickness": "30",
        "Insulin": "90", "BMI": "31.5", "DiabetesPedigreeFunction": "0.450", "Age": "35",
        "Outcome": 0,
    }  # fmt: skip
    return json.dumps({**row, **changes})


def test_each_prompt_type_shows_what_it_should_and_nothing_more(pima):
    reference, book = pima
    holdout = {json.dumps(r) for r in reference.holdout.to_dict("records")}
    example = render_prompt("example", reference, book, seed=3)
    assert len(example.example_rows) == 5
    shown = [reference.train.iloc[i] for i in example.example_rows]
    for row in shown:  # the rows come from the training split, at the spec's precision
        assert f'"Age": "{int(row["Age"])}"' in example.user
    assert not any(h in example.user for h in holdout)
    description = render_prompt("description", reference, book, seed=3)
    statistics = render_prompt("statistics", reference, book, seed=3)
    rules = render_prompt("rules", reference, book, seed=3)
    assert "2-hour serum insulin" in description.user and ", SD " not in description.user
    train_mean = reference.train["Glucose"].mean()
    assert f"mean {train_mean:.1f}" in statistics.user and "r = " in statistics.user
    assert all(rule.description in rules.user for rule in book)
    for prompt in (description, statistics, rules):  # no rows in these prompts
        assert '"Pregnancies": "' not in prompt.user.split("## Variables")[1]
    assert (rules.template_id, rules.template_version) == ("tabular_rules", 1)


def test_rows_are_kept_repaired_or_dropped_with_seeds_and_feedback(pima):
    reference, book = pima
    model = FakeModel().enqueue(
        pima_row(),  # row 0: fine
        pima_row(Pregnancies="15", Age="22"),  # row 1: breaks pima.pregnancies_age ...
        pima_row(Pregnancies="1", Age="22"),  # ... and is repaired
        "{not json",  # row 2: three bad answers, dropped
        pima_row(Glucose="500"),
        pima_row(Pregnancies="12", Age="21"),
    )
    run = TabularGenerator(model, reference, book).generate(
        "rules", GenerationOptions(rows=3, seed=10, repair_rounds=2)
    )
    assert [s.fate for s in run.slots] == ["kept", "repaired", "dropped"]
    assert [c.seed for c in model.calls] == [
        10, 11, 11 + REPAIR_SEED_STEP, 12, 12 + REPAIR_SEED_STEP, 12 + 2 * REPAIR_SEED_STEP,
    ]  # fmt: skip
    assert "15 pregnancies at age 22" in model.calls[2].messages[1]["content"]
    assert "15 pregnancies" not in model.calls[1].messages[1]["content"]
    summary = run.summary()
    assert (summary["kept"], summary["repaired"], summary["dropped"]) == (2, 1, 1)
    assert summary["schema_valid_first"] == 2  # row 2's first answer was not JSON
    assert summary["rule_violation_rate_first"] == pytest.approx(0.5)
    frame = run.frame(reference.spec)
    assert frame["Pregnancies"].tolist() == [2.0, 1.0] and frame["Outcome"].tolist() == [0, 0]
    dropped = run.slots[2]
    assert len(dropped.raw) == 3 and "not JSON" in dropped.errors[0]
    assert "outside" in dropped.errors[1] and "12 pregnancies" in dropped.errors[2]


def test_statistics_steering_pins_each_rows_categories_from_a_training_row(pima):
    reference, book = pima
    model = FakeModel().enqueue(*[pima_row()] * 4)
    generator = TabularGenerator(model, reference, book)
    generator.generate("statistics", GenerationOptions(rows=4, seed=5, steer=True, repair_rounds=0))
    for call in model.calls:
        schemas = call.schema.get("anyOf", [call.schema]) if call.schema else []
        outcomes = {json.dumps(s["properties"]["Outcome"]) for s in schemas}
        assert len(outcomes) == 1 and json.loads(outcomes.pop())["enum"] in ([0], [1])
    unsteered = FakeModel().enqueue(pima_row())
    TabularGenerator(unsteered, reference, book).generate(
        "statistics", GenerationOptions(rows=1, seed=5, repair_rounds=0)
    )
    schema = unsteered.calls[0].schema or {}
    assert {0, 1} <= {v for s in schema["anyOf"] for v in s["properties"]["Outcome"]["enum"]}


def test_cli_writes_rows_and_run_and_the_report_reads_them(clinsynth_env, tmp_path, monkeypatch):
    from service import components
    from service.cli import app

    model = FakeModel().enqueue(pima_row(), pima_row(Age="50", Outcome=1), pima_row(BMI="0"))
    monkeypatch.setattr(components, "build_language_model", lambda settings: model)
    out = tmp_path / "rows.csv"
    result = runner.invoke(
        app,
        ["tabular", "--reference", "pima", "--prompt-type", "description", "--rows", "3",
         "--seed", "7", "--repair-rounds", "0", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert len(rows) == 2 and rows["Age"].tolist() == [35, 50]
    run = json.loads((tmp_path / "rows.csv.run.json").read_text())
    assert run["summary"]["dropped"] == 1 and run["dropped"][0]["raw"] == [pima_row(BMI="0")]
    assert "seed 0" in run["split"] and run["provenance"]["prompt_type"] == "description"
    assert model.closed
    report = runner.invoke(
        app, ["tabular-report", "--reference", "pima", "--synthetic", str(out), "--format", "json"]
    )
    assert report.exit_code == 0, report.output
    data = json.loads(report.stdout)
    assert [s["name"] for s in data["sources"]] == ["rows", "independent", "gaussian_copula"]
    assert data["sources"][0]["rows"] == 2 and data["sources"][0]["generation"]["summary"]
    assert "seed 0" in data["split"] and data["reference_rule_violations"]["rows_violating"] == 5
    html = runner.invoke(
        app, ["tabular-report", "--reference", "pima", "--synthetic", str(out), "--format", "html"]
    )
    assert html.exit_code == 0 and "<svg" in html.stdout and "gaussian_copula" in html.stdout
    assert "http" not in html.stdout.split("<body>")[1]


def test_cli_refuses_an_unknown_reference_before_loading_a_model(clinsynth_env, tmp_path):
    from service.cli import app

    result = runner.invoke(
        app,
        ["tabular", "--reference", str(tmp_path / "none.csv"), "--prompt-type", "rules",
         "-o", str(tmp_path / "x.csv")],
    )  # fmt: skip
    assert result.exit_code == 2 and "no reference" in result.output


def test_an_answer_copying_a_training_row_is_refused(pima):
    reference, book = pima
    real = reference.train.iloc[0].to_dict()
    copy = {c.name: format_value(c, real[c.name]) for c in reference.spec.columns}
    model = FakeModel().enqueue(json.dumps(copy), pima_row())
    run = TabularGenerator(model, reference, book).generate(
        "example", GenerationOptions(rows=1, seed=2, rule_schema=False)
    )
    slot = run.slots[0]
    assert slot.fate == "repaired" and slot.copies == 1 and "copies a row" in slot.errors[0]
    assert run.summary()["training_copies_refused"] == 1
    assert "copies a row of the real training data" in model.calls[1].messages[1]["content"]


def test_a_run_with_missing_categories_measures_like_the_reference():
    reference, book, _ = open_reference("pbc")
    row = {c.name: None for c in reference.spec.columns}
    fixed = {
        "time": "1000", "status": 0, "age": "50.0", "sex": "f", "edema": 0, "bili": "1.0",
        "albumin": "3.50", "protime": "10.0", "platelet": "250", "stage": 3, "chol": "300",
        "alk.phos": "1200.0", "ast": "100.00", "copper": "50", "trig": "100",
    }  # fmt: skip
    answer = json.dumps({**row, **fixed})  # trt and the examination missing, as outside the trial
    treated = json.dumps({**row, **fixed, "trt": 1, "ascites": 0, "hepato": 1, "spiders": 0})
    model = FakeModel().enqueue(answer, treated)
    run = TabularGenerator(model, reference, book).generate(
        "description", GenerationOptions(rows=2, seed=1, repair_rounds=0)
    )
    frame = run.frame(reference.spec)
    # pandas alone would make [None, 1] a float column with NaN, which categories must not be.
    assert frame["trt"].tolist() == [None, 1] and frame["time"].dtype == float
    from service.tabular.report import build_report

    report, _ = build_report(reference, book, {"run": (frame, None)}, seed=1)
    assert report.sources[0].rows == 2 and report.sources[0].rule_violations.rows_violating == 0

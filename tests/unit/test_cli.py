"""CLI error paths that need no model: each is one clear line and a usage exit status."""

from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_missing_model_file_is_a_clear_error(clinsynth_env, tmp_path, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_LLM_MODEL_PATH", str(tmp_path / "missing.gguf"))
    result = runner.invoke(app, ["generate", "--prompt", "boy with Ewing sarcoma"])
    assert result.exit_code == 2
    assert "GGUF model file not found" in result.stderr
    assert "Traceback" not in result.output


def test_invalid_setting_is_named(clinsynth_env, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_LLM_BACKEND", "gpt")
    result = runner.invoke(app, ["generate", "--prompt", "x"])
    assert result.exit_code == 2
    assert "CLINSYNTH_LLM_BACKEND" in result.stderr


def test_ingest_of_a_folder_without_pdfs(clinsynth_env, tmp_path):
    (tmp_path / "notes.txt").write_text("no pdf here")
    result = runner.invoke(app, ["ingest", str(tmp_path)])
    assert result.exit_code == 2
    assert "no PDF files found" in result.stderr


def test_generate_refuses_a_seed_the_store_cannot_hold(clinsynth_env):
    for seed, bound in (("-1", "greater than or equal to 0"), (str(2**31), "2147483647")):
        result = runner.invoke(app, ["generate", "--prompt", "Ewing sarcoma", "--seed", seed])
        assert result.exit_code == 2
        assert "Invalid value for '--seed'" in result.stderr and bound in result.stderr


def test_help_lists_the_commands_in_the_order_a_user_meets_them():
    from service.cli.app import COMMAND_ORDER

    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = [
        line.split()[1]
        for line in result.stdout.splitlines()
        if line.startswith("│ ") and len(line.split()) > 2 and line.split()[1] in COMMAND_ORDER
    ]
    assert listed == list(COMMAND_ORDER)
    assert COMMAND_ORDER[:6] == ("ingest", "documents", "search", "facts", "coverage", "generate")


def test_every_command_summary_is_one_whole_sentence():
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        first = (command.help or "").strip().split("\n\n")[0]
        assert "\n" not in first, f"{name}: the summary breaks mid-sentence: {first!r}"
        assert first.endswith("."), f"{name}: {first!r}"


def test_a_shunt_outside_the_blocks_asked_for_fails_before_any_model_loads(clinsynth_env):
    result = runner.invoke(
        app, ["generate", "--diagnosis", "medulloblastoma", "--block", "chemotherapy", "--shunt"]
    )
    assert result.exit_code == 2
    assert "a shunt is a surgery item" in result.stderr
    result = runner.invoke(
        app,
        ["generate", "--diagnosis", "ALL", "--block", "radiotherapy", "--triple-intrathecal"],
    )
    assert result.exit_code == 2
    assert "triple intrathecal therapy is given with chemotherapy" in result.stderr


def test_metabolic_therapy_and_syndromes_are_checked_before_any_model_loads(clinsynth_env):
    args = ["generate", "--diagnosis", "neuroblastoma", "--block", "chemotherapy"]
    result = runner.invoke(app, [*args, "--metabolic-therapy"])
    assert result.exit_code == 2
    assert "metabolic therapy is a radiotherapy course" in result.stderr
    result = runner.invoke(app, [*args, "--genetic-condition", "Fanconi syndrome"])
    assert result.exit_code == 2
    assert "'Fanconi syndrome' is not a predisposition syndrome" in result.stderr

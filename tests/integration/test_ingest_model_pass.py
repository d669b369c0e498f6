"""``clinsynth ingest --extract model`` in process, with a scripted fake backend at the
model seam (the embedder and stores are real): the model pass's counts are printed per
document, and its verified proposals are indexed with source ``model``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import service.components as components
from models.fake import FakeModel
from service.cli import app
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration


def test_ingest_with_the_model_pass_prints_proposed_and_kept(clinsynth_env, monkeypatch):
    model = FakeModel().enqueue(*[{"facts": []}] * 6)  # 2 passages a page at most, 3 pages
    monkeypatch.setattr(components, "build_language_model", lambda settings: model)
    pdf = CORPUS_PDF_DIR / "hodgkin_lymphoma.pdf"
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--extract", "model", str(pdf)])
    assert result.exit_code == 0, result.output
    assert "model pass: 0 proposed in" in result.output and "0 kept" in result.output
    assert model.calls
    again = runner.invoke(app, ["ingest", "--extract", "model", str(pdf)])
    assert "model pass: not run" in again.output
    listed = runner.invoke(app, ["facts", "list", "--format", "json"])
    assert {f["fields"]["source"] for f in json.loads(listed.output)} == {"patterns"}
    refused = runner.invoke(app, ["ingest", "--extract", "llm", str(pdf)])
    assert refused.exit_code == 2

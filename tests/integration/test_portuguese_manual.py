"""Records from a real guideline only: the Brazilian paediatric neuro-oncology manual
(Portuguese, CC BY 4.0, ../shared/corpus/real/cpc-neuro) ingested alone, then low-grade
glioma, high-grade glioma and relapsed brain tumour requests through the installed
``clinsynth`` with the embedded model (issue 14). Every treatment item must cite the manual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.records import PatientRecord
from tests.integration.test_real_pdfs import real

pytestmark = pytest.mark.integration

CLINSYNTH = str(Path(sys.executable).with_name("clinsynth"))
MANUAL = {"ap2_resgate.pdf", "ap4_alt.pdf", "cap1_intro.pdf", "cap2_glioma.pdf"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLINSYNTH_")}
    environment["CLINSYNTH_HOME"] = str(tmp_path_factory.mktemp("pt-home"))
    environment["CLINSYNTH_REFERENCE_DATE"] = "2026-06-01"
    environment["CLINSYNTH_LLM_N_THREADS"] = "2"
    folder = real("cpc-neuro/cap2_glioma.pdf").parent
    done = subprocess.run(
        [CLINSYNTH, "ingest", str(folder)], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return environment


def generate(prompt: str, env: dict[str, str]) -> PatientRecord:
    done = subprocess.run(
        [CLINSYNTH, "generate", "--prompt", prompt, "--seed", "3", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "1 passing every rule" in done.stderr, done.stderr
    (item,) = json.loads(done.stdout)
    return PatientRecord.model_validate(item)


@pytest.mark.parametrize(
    ("prompt", "group"),
    [
        ("5-year-old girl with low-grade glioma, chemotherapy", "low-grade glioma"),
        ("12-year-old with high-grade glioma, chemotherapy", "high-grade glioma"),
        ("10-year-old with a relapsed brain tumour, chemotherapy", "relapsed CNS tumours"),
    ],
)
def test_brain_tumour_records_come_from_the_portuguese_manual(prompt, group, env):
    record = generate(prompt, env)
    assert record.provenance.parsed_request is not None
    assert record.provenance.parsed_request.diagnosis == group
    assert record.chemotherapy
    cited = {c.document for item in record.chemotherapy for c in item.citations}
    assert cited and cited <= MANUAL, cited
    if "relapsed" in prompt:
        assert record.relapse is not None
        assert {c.document for c in record.relapse.citations} <= MANUAL

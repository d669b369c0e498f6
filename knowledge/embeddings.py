"""Sentence embeddings from a local sentence-transformers folder (never a hub id)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder:
    """Loads the model on first use; safe to share between threads."""

    def __init__(self, model_dir: Path, *, device: str | None = None, batch_size: int = 32):
        if (
            not (Path(model_dir) / "modules.json").is_file()
            and not (Path(model_dir) / "config.json").is_file()
        ):
            raise FileNotFoundError(
                f"{model_dir} is not a sentence-transformers model folder "
                "(no modules.json or config.json); set CLINSYNTH_EMBEDDING_MODEL_PATH"
            )
        self.model_dir = Path(model_dir)
        self.device = device
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(
                    str(self.model_dir), device=self.device, local_files_only=True
                )
            return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-normalised embeddings, so cosine distance and dot product agree."""
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [v.tolist() for v in vectors]

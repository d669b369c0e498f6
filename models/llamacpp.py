"""llama.cpp backend (the default) through llama-cpp-python, for any GGUF file."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from models.base import ChatMessage, Completion, LanguageModel


def gguf_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class LlamaCppModel(LanguageModel):
    """One loaded GGUF, shared by every request; a lock serialises calls into it."""

    backend = "llamacpp"

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        chat_format: str | None = None,
    ):
        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"GGUF model file not found: {model_path}")
        from llama_cpp import Llama

        self.name = model_path.name
        self.path = model_path
        self.sha256 = gguf_sha256(model_path)
        self._lock = threading.Lock()
        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            chat_format=chat_format,
            verbose=False,
        )

    def complete_json(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        with self._lock:
            started = time.perf_counter()
            response: Any = self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                response_format={"type": "json_object", "schema": schema},
                temperature=temperature,
                max_tokens=max_tokens,
                seed=seed,
            )
            seconds = time.perf_counter() - started
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            text=choice["message"]["content"] or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
            finish_reason=choice.get("finish_reason"),
        )

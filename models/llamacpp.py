"""llama.cpp backend (the default) through llama-cpp-python, for any GGUF file.

One loaded model serves every request; a lock serialises calls into it, because a
llama.cpp context holds one KV cache. Two speed-ups sit on top of llama-cpp-python:
lazy grammar sampling (``models.lazy_grammar``) and a prompt-state cache
(``models.prompt_cache``) so batches evaluate their shared instructions once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import llama_cpp
import numpy as np

from models.base import ChatMessage, Completion, LanguageModel, TextScore
from models.lazy_grammar import LazyGrammarLlama
from models.prompt_cache import PromptStateCache

ExtraBuffers = Literal["auto", "on", "off"]

_LOAD_LOCK = threading.Lock()


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU reports Intel AMX (Sapphire Rapids and later; Linux only)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    return any(
        line.startswith("flags") and "amx_int8" in line.split() for line in text.splitlines()
    )


def use_extra_buffers(setting: ExtraBuffers, *, amx: bool | None = None) -> bool:
    """llama.cpp's CPU "extra buffer types" (weight repacking, the AMX kernels): on, off,
    or ``auto``: off where the CPU has AMX. With llama-cpp-python 0.3.36 the AMX matmul
    crashes the process (SIGSEGV in ggml_backend_amx_mul_mat) on the packaged Q4_1 model;
    without extra buffers the same weights run through the AVX-512 kernels."""
    if setting == "on":
        return True
    if setting == "off":
        return False
    return not (cpu_has_amx() if amx is None else amx)


@contextmanager
def model_params(**fields: Any) -> Iterator[None]:
    """Set ``llama_model_params`` fields that ``llama_cpp.Llama`` takes no argument for.

    ``Llama.__init__`` builds its parameters from ``llama_model_default_params()``; for
    the duration of one load that function returns them with ``fields`` set."""
    bindings = llama_cpp.llama_cpp
    original = bindings.llama_model_default_params

    def with_fields() -> Any:
        params = original()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    with _LOAD_LOCK:
        bindings.llama_model_default_params = with_fields
        try:
            yield
        finally:
            bindings.llama_model_default_params = original


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
        prompt_cache_states: int = 4,
        lazy_grammar: bool = True,
        extra_buffers: ExtraBuffers = "auto",
    ):
        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"GGUF model file not found: {model_path}")
        self.name = model_path.name
        self.path = model_path
        self.sha256 = gguf_sha256(model_path)
        self._lock = threading.Lock()
        with model_params(use_extra_bufts=use_extra_buffers(extra_buffers)):
            self._llm = LazyGrammarLlama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_gpu_layers=n_gpu_layers,
                chat_format=chat_format,
                verbose=False,
            )
        self._llm.lazy_grammar = lazy_grammar
        self.prompt_cache = PromptStateCache(prompt_cache_states) if prompt_cache_states else None
        self._llm.set_cache(self.prompt_cache)

    @property
    def llama(self) -> LazyGrammarLlama:
        """The underlying ``llama_cpp.Llama`` (for benchmarks; take ``lock`` around use)."""
        return self._llm

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def complete_json(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        return self._complete(
            messages,
            seed=seed,
            max_tokens=max_tokens,
            temperature=temperature,
            response_format={"type": "json_object", "schema": schema},
        )

    def complete_text(
        self,
        messages: list[ChatMessage],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        return self._complete(messages, seed=seed, max_tokens=max_tokens, temperature=temperature)

    def _complete(self, messages: list[ChatMessage], **options: Any) -> Completion:
        with self._lock:
            context = self._llm._ctx.ctx
            llama_cpp.llama_perf_context_reset(context)
            started = time.perf_counter()
            response: Any = self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                **options,
            )
            seconds = time.perf_counter() - started
            perf = llama_cpp.llama_perf_context(context)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        prompt_seconds = min(perf.t_p_eval_ms / 1000.0, seconds)
        return Completion(
            text=choice["message"]["content"] or "",
            prompt_tokens=prompt_tokens,
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
            finish_reason=choice.get("finish_reason"),
            prompt_seconds=prompt_seconds,
            decode_seconds=seconds - prompt_seconds,
            cached_prompt_tokens=max(prompt_tokens - int(perf.n_p_eval), 0),
        )

    def score(self, text: str) -> TextScore:
        """Log-probabilities from the logits of one pass over ``text`` (no sampling).

        The shared context is created without per-token logits (they would cost
        n_ctx x n_vocab floats), so this decodes its own batches asking for every row,
        then forgets the evaluated tokens so the next completion starts clean.
        """
        llm = self._llm
        with self._lock:
            tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
            if len(tokens) < 2:
                raise ValueError("scoring needs a text of at least two tokens")
            if len(tokens) > llm.n_ctx():
                raise ValueError(
                    f"text of {len(tokens)} tokens exceeds the context of {llm.n_ctx()}"
                )
            logprobs: list[float] = []
            llm.reset()
            llm._ctx.kv_cache_clear()
            try:
                for start in range(0, len(tokens), llm.n_batch):
                    chunk = tokens[start : start + llm.n_batch]
                    llm._batch.set_batch(batch=chunk, n_past=start, logits_all=True)
                    llm._ctx.decode(llm._batch)
                    targets = np.array(tokens[start + 1 : start + len(chunk) + 1])
                    rows = np.ctypeslib.as_array(
                        llm._ctx.get_logits(), shape=(len(chunk), llm.n_vocab())
                    )[: len(targets)].astype(np.float64)
                    peak = rows.max(axis=1)
                    log_norm = peak + np.log(np.exp(rows - peak[:, None]).sum(axis=1))
                    logprobs.extend(rows[np.arange(len(targets)), targets] - log_norm)
            finally:
                llm.reset()
                llm._ctx.kv_cache_clear()
            pieces = [
                llm.detokenize([t], prev_tokens=tokens[:i]).decode("utf-8", errors="replace")
                for i, t in enumerate(tokens[1:], start=1)
            ]
        return TextScore(tokens=pieces, logprobs=[float(x) for x in logprobs])

    def close(self) -> None:
        with self._lock:
            self._llm.close()

"""Grammar-constrained sampling that asks the grammar about a few tokens, not the vocabulary.

llama-cpp-python puts the grammar first in its sampler chain, so every decoded token runs
the grammar over all ~49k vocabulary entries; with SmolLM2 on a CPU that costs about
25 ms per token, more than the model's own forward pass, and halves the decode speed.

This sampler follows llama.cpp's own tools (``common_sampler_sample``): draw from the
ordinary chain (top-k, top-p, min-p, temperature) and ask the grammar whether that one
token is allowed. About four tokens in five are. When the token is rejected, it keeps the
valid tokens among the chain's top-k and draws again from them, and only when none of
those is valid does it run the grammar over the whole vocabulary. The output is still
forced by the grammar and deterministic for a seed; the distribution differs from
grammar-first sampling only in which low-ranked valid tokens a truncating sampler keeps.
"""

from __future__ import annotations

import ctypes
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama, LlamaGrammar
from llama_cpp import _internals as internals

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class LazyGrammarSampler:
    """Stands in for ``_internals.LlamaSampler`` inside ``Llama.generate`` (same ``sample``)."""

    def __init__(
        self, llm: Llama, chain: internals.LlamaSampler, grammar: LlamaGrammar, *, top_k: int
    ):
        self.chain = chain
        self.n_vocab = llm.n_vocab()
        self.grammar = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self.grammar:
            raise ValueError("llama.cpp rejected the grammar built from the JSON schema")
        self.top_k = llama_cpp.llama_sampler_init_top_k(top_k if top_k > 0 else 40)
        self._buffer = (llama_cpp.llama_token_data * self.n_vocab)()
        self._view = np.frombuffer(memoryview(self._buffer), dtype=_TOKEN_DATA)
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self._array = llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._buffer, llama_cpp.llama_token_data_p),
            size=self.n_vocab,
            selected=-1,
            sorted=False,
        )
        self._one = llama_cpp.llama_token_data(0, 1.0, 0.0)
        self._one_array = llama_cpp.llama_token_data_array(
            data=ctypes.pointer(self._one), size=1, selected=-1, sorted=False
        )
        # Counters for bench/llm.py: tokens drawn, first draws rejected, full-vocabulary passes.
        self.tokens = 0
        self.rejected = 0
        self.full_passes = 0

    def sample(self, ctx: Any, idx: int = -1) -> int:
        self._load_logits(ctx, idx)
        token = self._draw()
        self.tokens += 1
        if not self._allowed(token):
            self.rejected += 1
            token = self._redraw(ctx, idx)
        llama_cpp.llama_sampler_accept(self.grammar, token)
        llama_cpp.llama_sampler_accept(self.chain.sampler, token)
        return token

    def _load_logits(self, ctx: Any, idx: int) -> None:
        logits = llama_cpp.llama_get_logits_ith(ctx.ctx, idx)
        self._view["id"] = self._ids
        self._view["logit"] = np.ctypeslib.as_array(logits, shape=(self.n_vocab,))
        self._view["p"] = 0.0
        self._array.size = self.n_vocab
        self._array.selected = -1
        self._array.sorted = False

    def _apply(self, sampler: Any) -> None:
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(self._array))

    def _draw(self) -> int:
        self._apply(self.chain.sampler)
        return int(self._array.data[self._array.selected].id)

    def _allowed(self, token: int) -> bool:
        self._one.id = token  # type: ignore[assignment]
        self._one.logit, self._one.p = 1.0, 0.0
        self._one_array.size, self._one_array.selected = 1, -1
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self._one_array))
        return bool(np.isfinite(self._one.logit))

    def _redraw(self, ctx: Any, idx: int) -> int:
        self._load_logits(ctx, idx)
        self._apply(self.top_k)
        self._apply(self.grammar)
        self._array.sorted = False  # the grammar masked entries of top-k's sorted list
        data = self._array.data
        if any(np.isfinite(data[i].logit) for i in range(self._array.size)):
            return self._draw()
        self.full_passes += 1
        self._load_logits(ctx, idx)
        self._apply(self.grammar)
        return self._draw()

    def close(self) -> None:
        for name in ("grammar", "top_k"):
            sampler = getattr(self, name, None)
            if sampler:
                llama_cpp.llama_sampler_free(sampler)
                setattr(self, name, None)
        self.chain.close()

    def __del__(self) -> None:
        self.close()


class LazyGrammarLlama(Llama):
    """``Llama`` with lazy grammar sampling and history-independent prompt evaluation.

    ``lazy_grammar = False`` restores llama-cpp-python's grammar-first chain (the bench
    compares both); ``last_sampler`` keeps the latest lazy sampler for its counters.

    Prompts are evaluated in pages of ``page`` tokens at fixed positions, and a prefix
    kept from an earlier call (llama.cpp's own reuse or a restored cached state) is
    reused only up to a page boundary. Every prompt row is then computed in the same
    batch whatever ran before, so the logits, and the sampled record for a seed, do not
    depend on the cache: a one-token batch, for instance, takes another matmul path than
    the same row inside a longer batch and its logits differ in the last bits.
    """

    lazy_grammar = True
    last_sampler: LazyGrammarSampler | None = None
    page = 64

    def _init_sampler(self, **kwargs: Any) -> Any:  # type: ignore[override]
        grammar: LlamaGrammar | None = kwargs.pop("grammar", None)
        if grammar is None or not self.lazy_grammar:
            return super()._init_sampler(grammar=grammar, **kwargs)
        chain = super()._init_sampler(grammar=None, **kwargs)
        self.last_sampler = LazyGrammarSampler(
            self, chain, grammar, top_k=int(kwargs.get("top_k", 40))
        )
        return self.last_sampler

    def save_state(self) -> Any:
        """Without per-token logits nothing reads a state's scores: copy one row, not the
        whole n_batch x n_vocab buffer (~100 MB for SmolLM2) after every completion."""
        if self._logits_all:
            return super().save_state()
        full = self.scores
        self.scores = full[:1]
        try:
            return super().save_state()
        finally:
            self.scores = full

    def generate(self, tokens: Any, *args: Any, **kwargs: Any) -> Any:
        """Trim the reusable prefix to a page boundary before llama-cpp-python matches it."""
        tokens = list(tokens)
        if kwargs.get("reset", True) and self.n_tokens > 0:
            kept = self.longest_token_prefix(self._input_ids.tolist(), tokens)
            kept = min(kept, len(tokens) - 1) // self.page * self.page
            self.n_tokens = kept
            self._ctx.kv_cache_seq_rm(-1, kept, -1)
        return super().generate(tokens, *args, **kwargs)

    def eval(self, tokens: Any) -> None:
        """Evaluate in batches that end on page boundaries (decode steps are one token)."""
        tokens = list(tokens)
        while tokens:
            room = self.page - self.n_tokens % self.page
            super().eval(tokens[:room])
            tokens = tokens[room:]

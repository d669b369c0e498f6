"""Keep llama.cpp states of recent prompts so a shared prefix is evaluated once per batch.

Generation alternates two prompts per record (diagnosis, then treatment). llama.cpp only
reuses the prefix it shares with the *last* prompt, so without this the second record's
diagnosis prompt re-evaluates the instructions it shares with the first record's. Before
each completion llama-cpp-python asks the cache for the stored state with the longest
common token prefix, restores it and evaluates only the rest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import llama_cpp.llama
from llama_cpp.llama_cache import BaseLlamaCache


class PromptStateCache(BaseLlamaCache):
    """An LRU of at most ``max_states`` model states, keyed by their token sequences.

    llama-cpp-python's ``LlamaRAMCache`` bounds only the KV bytes, while each state also
    carries a copy of the logits buffer (~100 MB for a 49k vocabulary); here the count is
    bounded and that copy shrunk to one row: with ``logits_all=False`` nothing reads it,
    because after a restore llama.cpp re-evaluates at least the last prompt token.
    """

    def __init__(self, max_states: int = 4):
        super().__init__(capacity_bytes=0)
        self.max_states = max_states
        self.states: OrderedDict[tuple[int, ...], llama_cpp.llama.LlamaState] = OrderedDict()

    @property
    def cache_size(self) -> int:
        return sum(state.llama_state_size for state in self.states.values())

    def _find_longest_prefix_key(self, key: tuple[int, ...]) -> tuple[int, ...] | None:
        best, best_length = None, 0
        for stored in self.states:
            length = llama_cpp.llama.Llama.longest_token_prefix(stored, key)
            if length > best_length:
                best, best_length = stored, length
        return best

    def __getitem__(self, key: Sequence[int]) -> llama_cpp.llama.LlamaState:
        found = self._find_longest_prefix_key(tuple(key))
        if found is None:
            raise KeyError("no cached state shares a prefix with this prompt")
        self.states.move_to_end(found)
        return self.states[found]

    def __contains__(self, key: Sequence[int]) -> bool:
        return self._find_longest_prefix_key(tuple(key)) is not None

    def __setitem__(self, key: Sequence[int], value: llama_cpp.llama.LlamaState) -> None:
        value.scores = value.scores[-1:].copy()
        key = tuple(key)
        self.states.pop(key, None)
        self.states[key] = value
        while len(self.states) > self.max_states:
            self.states.popitem(last=False)

"""What every block step shares: retrieval into the record's evidence, one constrained
model call at a time, citations built from the retrieved chunks, and seeded choices."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from knowledge.chunks import RetrievedChunk
from knowledge.evidence import EvidenceSheet, Fact, build_evidence_sheet
from knowledge.sections import Heading
from knowledge.store import PassageIndex
from knowledge.vocabulary import Term
from models.base import ChatMessage, LanguageModel
from prompts import PromptTemplate, load_prompt
from service.generation.options import GenerationOptions
from service.provenance import BlockTiming, ChunkRef, PromptRef, Provenance
from service.records import Citation, Sex
from service.requests import ParsedRequest
from service.requests.tumours import covers

T = TypeVar("T")
RETRY_SEED_STEP = 7919
WIDEN = 4  # how much wider a second retrieval looks


class GenerationError(RuntimeError):
    """The model's output could not be turned into a record; ``raw`` keeps what it wrote."""

    def __init__(self, message: str, raw: str | None = None):
        super().__init__(message)
        self.raw = raw


@dataclass(frozen=True)
class Patient:
    """Who the record is about, as the prompts describe them."""

    sex: Sex
    age: int
    birth_date: date
    diagnosis_date: date

    def describe(self, event: str = "diagnosis") -> str:
        child = "girl" if self.sex == "female" else "boy"
        return f"{child}, {self.age} years old at {event} on {self.diagnosis_date.isoformat()}"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    calls: int = 0


@dataclass
class Agent:
    """One record's generation state and the tools its block steps use."""

    store: PassageIndex
    model: LanguageModel
    options: GenerationOptions
    request: ParsedRequest
    seed: int
    rng: random.Random
    retrieved: dict[str, RetrievedChunk] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    prompts: dict[str, PromptTemplate] = field(default_factory=dict)
    block_seconds: dict[str, float] = field(default_factory=dict)
    feedback: tuple[str, ...] = ()  # validation messages of a previous attempt
    # A tumour's protocol may span documents (a chapter and its regimen appendices): the
    # anchor document -> every document naming the tumour, the anchor first.
    protocols: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _coverage: list[dict[str, Any]] | None = field(default=None, repr=False)
    # A request without a diagnosis: the morphology codes its tumour was drawn among
    # (they share the evidence that made them candidates).
    drawn: tuple[str, ...] = ()

    def coverage(self) -> list[dict[str, Any]] | None:
        """``clinsynth coverage``'s entries for every tumour the active guidelines name,
        read from the fact index once per record; None where the store keeps no index."""
        if self._coverage is None:
            read = getattr(self.store, "tumour_coverage", None)
            if read is None:
                return None
            self._coverage = list(read(None))
        return self._coverage

    def documents_naming(self, wanted: Term) -> tuple[str, ...]:
        """The ids of the documents whose facts name a tumour (none without a fact index):
        a Spanish guideline ranks low for an English request's words."""
        named = [e for e in self.coverage() or [] if covers(wanted, e["code"])]
        return tuple(dict.fromkeys(d for e in named for d in e.get("documents", [])))

    def protocol(self, anchor: str, *, wide: bool = False) -> dict[str, Any]:
        """The ``where`` filter for passages of the anchor document, or (``wide``) of every
        document naming the anchor's tumour."""
        documents = self.protocols.get(anchor, (anchor,)) if wide else (anchor,)
        if len(documents) == 1:
            return {"document_sha256": documents[0]}
        return {"document_sha256": {"$in": list(documents)}}

    def retrieve(
        self, query: str, where: dict[str, Any] | None = None, *, widen: int = 1
    ) -> list[RetrievedChunk]:
        """The passages nearest ``query``: ``retrieval_k`` of them, times ``widen``."""
        chunks = self.store.query(query, k=self.options.retrieval_k * widen, where=where)
        for chunk in chunks:
            self.retrieved.setdefault(chunk.chunk_id, chunk)
        return chunks

    def fact_scopes(
        self, codes: set[str], kinds: Sequence[str], limit: int
    ) -> list[dict[str, Any]]:
        """``where`` filters for the pages the fact index says name a tumour of ``codes`` and
        state facts of ``kinds`` (most first); none where the store keeps no fact index."""
        pages_about = getattr(self.store, "pages_about", None)
        if pages_about is None:
            return []
        pages: list[tuple[str, int]] = pages_about(codes, kinds)
        return [{"$and": [{"document_id": d}, {"page": p}]} for d, p in pages[:limit]]

    def retrieve_until(
        self,
        queries: Sequence[str],
        found: Callable[[list[RetrievedChunk]], bool],
        where: dict[str, Any] | None = None,
    ) -> list[RetrievedChunk]:
        """Passages for ``queries``; when ``found`` sees nothing usable in them, the same
        queries again with a wider net (a guideline states some facts in one passage only)."""
        chunks = [c for q in queries for c in self.retrieve(q, where)]
        if not found(chunks):
            chunks += [c for q in queries for c in self.retrieve(q, where, widen=WIDEN)]
        return list({c.chunk_id: c for c in chunks}.values())

    def evidence(self, *queries: str, where: dict[str, Any] | None = None) -> EvidenceSheet:
        """The facts of the passages retrieved for ``queries`` (in one sheet)."""
        chunks = [c for q in queries for c in self.retrieve(q, where)]
        return build_evidence_sheet(chunks)

    def ask(self, template_id: str, schema: dict[str, Any], **values: str) -> dict[str, Any]:
        """One constrained call, retried once with another seed if the JSON is unusable."""
        template = load_prompt(template_id)
        self.prompts.setdefault(template.id, template)
        system, user = template.render(
            request=self.request.prompt, feedback=feedback_line(self.feedback), **values
        )
        messages: list[ChatMessage] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        raw = ""
        for attempt in range(2):
            completion = self.model.complete_json(
                messages,
                schema,
                seed=self.seed + attempt * RETRY_SEED_STEP,
                max_tokens=self.options.max_tokens,
                temperature=self.options.temperature,
            )
            self.usage.prompt_tokens += completion.prompt_tokens
            self.usage.completion_tokens += completion.completion_tokens
            self.usage.seconds += completion.seconds
            self.usage.calls += 1
            raw = completion.text
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                continue
            # A backend that could not constrain decoding reports what it found wrong.
            if isinstance(parsed, dict) and not completion.schema_errors:
                return parsed
        raise GenerationError(
            f"{template.id} block: the model did not return a JSON object after 2 attempts",
            raw=raw,
        )

    def cite(self, fact: Fact) -> Citation:
        """A citation of the sentence a fact was read from, on its chunk's page."""
        chunk = self.retrieved[fact.chunk_id]
        return Citation(
            chunk_id=chunk.chunk_id, document=chunk.document, page=chunk.page, quote=fact.quote
        )

    def cite_heading(self, heading: Heading) -> Citation:
        """A citation of a heading, verbatim in the chunk it stands in (fetched from the
        store when no query retrieved it)."""
        chunk = self.retrieved.get(heading.chunk_id)
        get = getattr(self.store, "get", None)
        if chunk is None and get is not None:
            for stored in get([heading.chunk_id]):
                chunk = self.retrieved.setdefault(
                    stored.chunk_id, RetrievedChunk(**stored.model_dump(), score=0.0)
                )
        if chunk is None:
            raise GenerationError(f"the heading {heading.text!r} stands in no stored passage")
        return Citation(
            chunk_id=chunk.chunk_id, document=chunk.document, page=chunk.page, quote=heading.text
        )

    def cite_all(self, facts: Sequence[Fact]) -> list[Citation]:
        unique = {(f.chunk_id, f.quote): f for f in facts}
        return [self.cite(f) for f in unique.values()]

    def provenance(self, generator: str, today: date, locale: str) -> Provenance:
        """What the record was made from and how: the model, prompts and passages used, the
        seed, the request as understood, tokens and timings."""
        return Provenance(
            generator=generator,
            backend=self.model.backend,
            model=self.model.name,
            model_sha256=self.model.sha256,
            prompts=[PromptRef(id=p.id, version=p.version) for p in self.prompts.values()],
            chunks=[
                ChunkRef(
                    chunk_id=c.chunk_id, document=c.document, document_sha256=c.document_sha256
                )
                for c in self.retrieved.values()
            ],
            seed=self.seed,
            request=self.request.prompt,
            reference_date=today,
            language=self.request.language,
            locale=locale,
            prompt_tokens=self.usage.prompt_tokens,
            completion_tokens=self.usage.completion_tokens,
            model_seconds=round(self.usage.seconds, 3),
            block_timings=[
                BlockTiming(block=block, seconds=round(seconds, 3))
                for block, seconds in self.block_seconds.items()
            ],
            parsed_request=self.request.understood(),
        )

    def shuffled(self, items: Sequence[T]) -> list[T]:
        """Options in a seeded order: small models favour the first one offered."""
        copy = list(items)
        self.rng.shuffle(copy)
        return copy

    @contextmanager
    def timed(self, block: str) -> Iterator[None]:
        """Wall-clock seconds of a block (retrieval, model calls and building)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.block_seconds[block] = self.block_seconds.get(block, 0.0) + spent


MAX_FEEDBACK = 6  # messages shown: a small model's context is short


def feedback_line(messages: Sequence[str]) -> str:
    """The "Fix these problems:" line of a retry's prompts (empty on a first attempt)."""
    shown = list(dict.fromkeys(m.strip() for m in messages if m.strip()))[:MAX_FEEDBACK]
    if not shown:
        return ""
    return "Fix these problems: " + "; ".join(shown)


def answer_field(answer: dict[str, Any], key: str, block: str) -> Any:
    """A field the schema required; its absence means the backend ignored the schema."""
    try:
        return answer[key]
    except (KeyError, TypeError) as exc:
        raise GenerationError(f"{block} block does not fit its schema (no {key!r})") from exc


def as_object(value: Any) -> dict[str, Any]:
    """An answer's sub-object, or an empty one where the backend wrote something else."""
    return value if isinstance(value, dict) else {}


def unique_by(items: Sequence[T], key: Any) -> list[T]:
    """The first item of each ``key(item)``, in order."""
    seen: dict[Any, T] = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())

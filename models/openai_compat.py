"""OpenAI-compatible backend: the OpenAI API or any server that speaks it (vLLM, llama.cpp
server, Ollama), for comparison with the local model and for scaling out to GPU hosts.

Only built when ``CLINSYNTH_LLM_BACKEND=openai``; the ``openai`` package is imported
here, so a missing extra is one clear error. Structured outputs (``json_schema``) are
used where the server accepts them; otherwise JSON mode (``json_object``, with the schema
passed along for servers such as llama-cpp-python's that honour it). Either way the
answer is validated against the schema here, because what a remote server enforces
cannot be checked from outside.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Literal

from models.base import (
    BackendError,
    ChatMessage,
    Completion,
    LanguageModel,
    ScoringUnsupported,
    TextScore,
)

StructuredMode = Literal["auto", "json_schema", "json_object"]
OPENAI_API = "https://api.openai.com/v1"
# Statuses with which servers refuse a response_format they do not implement.
_UNSUPPORTED = {400, 422, 500, 501}


def strict_schema(schema: Any) -> Any:
    """A copy with ``additionalProperties: false`` on every object (OpenAI's strict mode)."""
    if isinstance(schema, list):
        return [strict_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: strict_schema(value) for key, value in schema.items()}
    if copy.get("type") == "object":
        copy.setdefault("additionalProperties", False)
    return copy


def schema_errors(text: str, schema: dict[str, Any]) -> tuple[str, ...]:
    """What is wrong with ``text`` as an instance of ``schema`` (empty when it conforms)."""
    import jsonschema  # installed with chromadb, a core dependency

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return (f"not JSON: {exc}",)
    validator = jsonschema.Draft202012Validator(schema)
    return tuple(
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:200]}"
        for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    )


class OpenAICompatModel(LanguageModel):
    """A model behind an OpenAI-compatible HTTP API; ``name`` is the server's model id."""

    backend = "openai"
    sha256 = None

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        model: str | None,
        structured: StructuredMode = "auto",
        timeout: float = 300.0,
    ):
        if base_url is None and api_key is None:
            raise ValueError(
                "CLINSYNTH_LLM_BACKEND=openai needs CLINSYNTH_OPENAI_BASE_URL (a local server, "
                "e.g. http://127.0.0.1:8080/v1) or CLINSYNTH_OPENAI_API_KEY (the OpenAI API)"
            )
        try:
            import openai
        except ImportError as exc:
            raise RuntimeError(
                "the OpenAI backend needs its extra: pip install 'clinsynth[openai]'"
            ) from exc
        self._openai = openai
        self.base_url = base_url or OPENAI_API
        self.structured: StructuredMode = structured
        # Local servers ignore the key, but the client insists on having one.
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=api_key or "none", timeout=timeout, max_retries=1
        )
        try:
            self.name = self._resolve_model(model)
        except BaseException:
            self._client.close()
            raise

    def _resolve_model(self, model: str | None) -> str:
        """Check the server answers and serves ``model``; a clear error otherwise."""
        openai = self._openai
        try:
            served = [m.id for m in self._client.models.list()]
        except openai.AuthenticationError as exc:
            raise RuntimeError(
                f"the server at {self.base_url} rejected the API key (CLINSYNTH_OPENAI_API_KEY)"
            ) from exc
        except openai.APIConnectionError as exc:
            raise RuntimeError(
                f"cannot reach the OpenAI-compatible server at {self.base_url} "
                f"(CLINSYNTH_OPENAI_BASE_URL): {exc}"
            ) from exc
        except openai.APIStatusError:
            served = []  # a server without /models: trust the configured name
        if model is None:
            listing = ", ".join(served[:10]) or "none listed"
            raise ValueError(
                f"CLINSYNTH_OPENAI_MODEL is not set: name the model to use "
                f"(the server at {self.base_url} serves: {listing})"
            )
        if served and model not in served:
            raise ValueError(
                f"the server at {self.base_url} does not serve model {model!r} "
                f"(it serves: {', '.join(served[:10])})"
            )
        return model

    def complete_json(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        options = {"seed": seed, "max_tokens": max_tokens, "temperature": temperature}
        if self.structured in ("auto", "json_schema"):
            try:
                completion = self._chat(
                    messages,
                    response_format={
                        "type": "json_schema",
                        "json_schema": {
                            "name": "record_block",
                            "schema": strict_schema(schema),
                            "strict": True,
                        },
                    },
                    **options,
                )
                self.structured = "json_schema"
                return self._validated(completion, schema)
            except BackendError as exc:
                # llama-cpp-python's server answers 500 to a response_format it lacks.
                if self.structured == "json_schema" or exc.status not in _UNSUPPORTED:
                    raise
                self.structured = "json_object"
        completion = self._chat(
            messages, response_format={"type": "json_object", "schema": schema}, **options
        )
        return self._validated(completion, schema)

    def complete_text(
        self,
        messages: list[ChatMessage],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        return self._chat(messages, seed=seed, max_tokens=max_tokens, temperature=temperature)

    def _chat(self, messages: list[ChatMessage], **options: Any) -> Completion:
        """One chat call; any failure (unreachable, timeout, error status) is ``BackendError``."""
        openai = self._openai
        started = time.perf_counter()
        try:
            response = self._client.chat.completions.create(
                model=self.name,
                messages=messages,  # type: ignore[arg-type]
                **options,
            )
        except openai.APIStatusError as exc:
            raise BackendError(self._failure(exc), status=exc.status_code) from exc
        except openai.OpenAIError as exc:
            raise BackendError(self._failure(exc)) from exc
        seconds = time.perf_counter() - started
        choice = response.choices[0]
        usage = response.usage
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None)
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            seconds=seconds,
            finish_reason=choice.finish_reason,
            cached_prompt_tokens=int(cached) if cached is not None else None,
        )

    def _failure(self, exc: Exception) -> str:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        return f"the server at {self.base_url} failed: {type(exc).__name__}: {first_line}"[:300]

    @staticmethod
    def _validated(completion: Completion, schema: dict[str, Any]) -> Completion:
        errors = schema_errors(completion.text, schema)
        if not errors:
            return completion
        return dataclasses.replace(completion, schema_errors=errors)

    def score(self, text: str) -> TextScore:
        """Prompt log-probabilities via the completions API (``echo`` with ``logprobs``).

        Few servers still support it (vLLM does; the OpenAI chat models do not): a refusal
        is ``ScoringUnsupported``. llama-cpp-python's server answers, but its figures are
        meaningless (near-uniform) unless it was started with ``--logits_all true``.
        """
        openai = self._openai
        try:
            response = self._client.with_options(max_retries=0).completions.create(
                model=self.name, prompt=text, max_tokens=1, echo=True, logprobs=0, temperature=0
            )
            logprobs = response.choices[0].logprobs
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            raise ScoringUnsupported(
                f"the server at {self.base_url} cannot score text (completions with echo and "
                f"logprobs): {type(exc).__name__}"
            ) from exc
        if logprobs is None or not logprobs.token_logprobs or logprobs.text_offset is None:
            raise ScoringUnsupported(
                f"the server at {self.base_url} returned no prompt log-probabilities"
            )
        pairs = [
            (token, value)
            for token, value, offset in zip(
                logprobs.tokens or [], logprobs.token_logprobs, logprobs.text_offset, strict=False
            )
            if value is not None and offset < len(text)
        ]
        return TextScore(tokens=[t for t, _ in pairs], logprobs=[float(v) for _, v in pairs])

    def close(self) -> None:
        self._client.close()

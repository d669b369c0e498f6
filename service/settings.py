"""One Settings object for the whole service, read from ``CLINSYNTH_*`` variables.

Settings are grouped per component (language model, OpenAI-compatible server, embeddings,
knowledge store, ingestion, database, records, batch jobs, HTTP API); every value has one
name, ``settings.<group>.<field>``, and one flat environment variable,
``CLINSYNTH_<GROUP PREFIX><FIELD>`` (``settings.llm.backend`` is ``CLINSYNTH_LLM_BACKEND``).
The object is built once at an entry point (the CLI or the app factory) and passed down;
deeper modules never read the environment, and modules below ``service`` (ingest/, models/,
knowledge/) take plain option values from their caller.

``python -m service.settings`` prints the README's settings table, generated from the
field descriptions (a test fails when the README differs).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.options import IngestOptions, PdfLimits
from knowledge.embedded import packaged_embedder_path
from models.embedded import packaged_gguf_path
from service.generation.locales import locale_problem, normalised_locale
from service.generation.options import DEFAULT_REPAIR_ROUNDS, GenerationOptions

ENV_PREFIX = "CLINSYNTH_"
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?|[0-9a-f:.]+")


class _Group(BaseSettings):
    """A component's settings; its fields read ``CLINSYNTH_<prefix><FIELD>``."""

    prefix: ClassVar[str] = ""
    title: ClassVar[str] = ""

    @classmethod
    def env_name(cls, field: str) -> str:
        return f"{ENV_PREFIX}{cls.prefix}{field}".upper()


def _group_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=ENV_PREFIX + prefix, extra="ignore")


class ModelSettings(_Group):
    prefix = "LLM_"
    title = "Language model"
    model_config = _group_config(prefix)

    backend: Literal["llamacpp", "openai", "fake"] = Field(
        "llamacpp", description="llamacpp (local GGUF), openai (OpenAI-compatible server) or fake"
    )
    model_path: Path = Field(
        default_factory=packaged_gguf_path, description="GGUF file; default: packaged SmolLM2"
    )
    n_ctx: int = Field(4096, ge=512, description="Context window in tokens")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: llama.cpp's")
    n_gpu_layers: int = Field(-1, description="-1 offloads every layer where a GPU build runs")
    chat_format: str | None = Field(None, description="default: the GGUF's own template")
    max_tokens: int = Field(
        GenerationOptions.max_tokens, ge=16, description="Tokens the model may write per block"
    )
    # Every value the model writes is constrained to evidence, so a high temperature buys
    # variety between patients without risking invalid content.
    temperature: float = Field(
        GenerationOptions.temperature, ge=0.0, le=2.0, description="Sampling temperature"
    )
    prompt_cache_states: int = Field(
        4, ge=0, description="llama.cpp prompt states kept for prefix reuse; 0 switches it off"
    )
    lazy_grammar: bool = Field(
        True, description="Check the sampled token against the grammar instead of the vocabulary"
    )
    extra_buffers: Literal["auto", "on", "off"] = Field(
        "auto",
        description="llama.cpp CPU weight repacking and AMX kernels: on, off or auto (off on "
        "CPUs with AMX, where llama-cpp-python 0.3.36's AMX matmul crashes)",
    )


class OpenAISettings(_Group):
    """The OpenAI-compatible backend (CLINSYNTH_LLM_BACKEND=openai): never contacted otherwise."""

    prefix = "OPENAI_"
    title = "OpenAI-compatible server (only with CLINSYNTH_LLM_BACKEND=openai)"
    model_config = _group_config(prefix)

    base_url: str | None = Field(
        None, description="e.g. http://gpu-host:8000/v1 (vLLM, llama.cpp server, Ollama)"
    )
    api_key: SecretStr | None = Field(None, description="Bearer key; none for local servers")
    model: str | None = Field(None, description="Model id as the server lists it")
    structured: Literal["auto", "json_schema", "json_object"] = Field(
        "auto", description="json_schema: structured outputs; json_object: JSON mode + validation"
    )
    timeout: float = Field(300.0, gt=0, description="Seconds per request")
    prompt_price_per_1k: float | None = Field(
        None, ge=0, description="Price per 1,000 prompt tokens, for `clinsynth compare`"
    )
    completion_price_per_1k: float | None = Field(
        None, ge=0, description="Price per 1,000 completion tokens, for `clinsynth compare`"
    )


class EmbeddingSettings(_Group):
    prefix = "EMBEDDING_"
    title = "Embeddings"
    model_config = _group_config(prefix)

    model_path: Path = Field(
        default_factory=packaged_embedder_path,
        description="sentence-transformers model folder; default: the packaged MiniLM",
    )
    device: str | None = Field(None, description="cpu, cuda, ...; default: autodetect")
    batch_size: int = Field(32, ge=1, description="Chunks per encode call")


class KnowledgeSettings(_Group):
    prefix = ""
    title = "Knowledge store and retrieval"
    model_config = _group_config(prefix)

    # Filled from ``home`` by Settings when unset (None only with a Chroma server).
    chroma_path: Path | None = Field(
        None, description="Embedded Chroma folder; default <home>/chroma"
    )
    chroma_collection: str = Field("guidelines", description="Chroma collection of the passages")
    chroma_host: str | None = Field(
        None, description="Chroma server host; when set, the server is used instead of a folder"
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port")
    retrieval_k: int = Field(
        GenerationOptions.retrieval_k,
        ge=1,
        le=50,
        description="Passages retrieved per record block",
    )


class IngestSettings(_Group):
    prefix = ""
    title = "Ingestion"
    model_config = _group_config(prefix)

    max_pdf_pages: int = Field(
        PdfLimits.max_pages, ge=1, description="Pages allowed in one PDF (ingest, uploads)"
    )
    max_pdf_bytes: int = Field(
        PdfLimits.max_bytes, ge=1024, description="Bytes allowed per PDF (ingest, uploads)"
    )
    chunk_size: int = Field(
        IngestOptions.chunk_size, ge=100, description="Characters per chunk (within one page)"
    )
    chunk_overlap: int = Field(
        IngestOptions.chunk_overlap, ge=0, description="Characters shared by neighbouring chunks"
    )
    ocr_engine: Literal["auto", "tesseract", "rapidocr", "off"] = Field(
        IngestOptions.ocr_engine,
        description="OCR of pages without a text layer: tesseract, rapidocr, off (refuse them); "
        "auto: tesseract if installed, else rapidocr",
    )


class DatabaseSettings(_Group):
    prefix = "DATABASE_"
    title = "Database"
    model_config = _group_config(prefix)

    url: str = Field(
        "",
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; "
        "default sqlite:///<home>/clinsynth.db",
    )


class RecordSettings(_Group):
    prefix = ""
    title = "Records"
    model_config = _group_config(prefix)

    locale: str = Field(
        GenerationOptions.locale,
        description="Faker locale for invented names and identifiers, whatever the record's "
        "language (a request's locale overrides it)",
    )
    reference_date: date | None = Field(
        None,
        description="'Today' for invented dates (pin it to reproduce); default: the current date",
    )
    repair_rounds: int = Field(
        DEFAULT_REPAIR_ROUNDS,
        ge=0,
        le=5,
        description="Regenerations allowed for a record that fails an error-severity rule "
        "(the validation messages go to the model; the best attempt is kept)",
    )

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if problem := locale_problem(value):
            raise ValueError(problem)
        return normalised_locale(value)


class JobSettings(_Group):
    prefix = ""
    title = "Batch jobs"
    model_config = _group_config(prefix)

    jobs: Literal["auto", "inprocess", "procrastinate"] = Field(
        "auto", description="Batch runner; auto: procrastinate on PostgreSQL, in-process on SQLite"
    )
    serve_worker: bool = Field(
        True, description="`clinsynth serve` runs batch items too; false where workers do"
    )
    jobs_stalled_seconds: float = Field(
        30.0, ge=3, description="A worker silent this long is dead; its items run again"
    )
    batch_attempts: int = Field(2, ge=1, le=10, description="Tries per batch item")


class ApiSettings(_Group):
    prefix = ""
    title = "HTTP API"
    model_config = _group_config(prefix)

    host: str = Field("127.0.0.1", description="Bind address of `clinsynth serve`")
    port: int = Field(8000, ge=1, le=65535, description="Port of `clinsynth serve`")
    api_auth: Literal["auto", "required", "disabled"] = Field(
        "auto",
        description="API keys: required = always; auto = always, except on a loopback address "
        "while no key exists yet (open, with a warning at start); disabled = never, refused "
        "on a non-loopback address",
    )
    api_trusted_hosts: str = Field(
        "",
        description="Comma-separated extra names the Host header may carry (400 otherwise), "
        "besides the bind address, localhost, 127.0.0.1 and ::1 (and the machine's hostname "
        "when bound to 0.0.0.0 or ::)",
    )
    max_request_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest JSON request body accepted (413 above); uploads have their own limit",
    )

    @field_validator("api_trusted_hosts")
    @classmethod
    def _host_names(cls, value: str) -> str:
        names = [name.strip().lower().rstrip(".") for name in value.split(",") if name.strip()]
        for name in names:
            if not _HOST_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a host name or IP address")
        return ",".join(names)

    def trusted_host_names(self) -> list[str]:
        return [name for name in self.api_trusted_hosts.split(",") if name]


GROUPS: dict[str, type[_Group]] = {
    "llm": ModelSettings,
    "openai": OpenAISettings,
    "embedding": EmbeddingSettings,
    "knowledge": KnowledgeSettings,
    "ingest": IngestSettings,
    "database": DatabaseSettings,
    "records": RecordSettings,
    "batches": JobSettings,
    "api": ApiSettings,
}


def _flat_names() -> dict[str, tuple[str, str]]:
    """``llm_backend`` -> ("llm", "backend"): each variable's name without the prefix."""
    return {
        (group.prefix + field).lower(): (name, field)
        for name, group in GROUPS.items()
        for field in group.model_fields
    }


def _by_group(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Values given by flat name (``llm_backend``) sorted into their groups; the rest as is."""
    flat = _flat_names()
    rest: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if key in flat:
            group, field = flat[key]
            groups.setdefault(group, {})[field] = value
        else:
            rest[key] = value
    return rest, groups


class Settings(BaseSettings):
    """Everything a deployment can change, with embedded defaults that run offline.

    ``Settings(llm_backend="fake", home=...)`` takes the flat names too (as the variables
    spell them, without ``CLINSYNTH_``), so a caller can set one value of a group."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    home: Path = Field(
        Path("var"),
        description="Data directory: SQLite file, Chroma store, original PDFs (originals/), "
        "uploads in progress, failed generations' raw output",
    )
    llm: ModelSettings = Field(default_factory=ModelSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    records: RecordSettings = Field(default_factory=RecordSettings)
    batches: JobSettings = Field(default_factory=JobSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @model_validator(mode="before")
    @classmethod
    def _route_flat_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        rest, overrides = _by_group(data)
        for group, values in overrides.items():
            given = rest.get(group)
            if isinstance(given, _Group):
                rest[group] = given.model_copy(update=values)
            else:  # the group's other values still come from the environment
                rest[group] = GROUPS[group](**{**(given or {}), **values})
        return rest

    @model_validator(mode="after")
    def _fill_home_paths(self) -> Settings:
        if not self.database.url:
            self.database.url = f"sqlite:///{self.home / 'clinsynth.db'}"
        if self.knowledge.chroma_path is None:
            self.knowledge.chroma_path = self.home / "chroma"
        return self

    def with_values(self, **values: Any) -> Settings:
        """A copy with some values changed, by their flat names (``port=8080``)."""
        top, groups = _by_group(values)
        for group, update in groups.items():
            top[group] = getattr(self, group).model_copy(update=update)
        return self.model_copy(update=top)


def configuration_problem(exc: ValidationError) -> str:
    """A settings error as the variables spell it: ``CLINSYNTH_LLM_BACKEND: Input should be...``."""
    groups = {group.__name__: group for group in GROUPS.values()}
    group = groups.get(exc.title)
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        name = group.env_name(field) if group is not None else f"{ENV_PREFIX}{field}".upper()
        problems.append(f"{name}={error.get('input')!r}: {error['msg']}")
    return "; ".join(problems)


def settings_table() -> str:
    """The README's settings reference: one table per group, every variable with its default
    and description, generated from the fields (``python -m service.settings``)."""
    home = Settings.model_fields["home"]
    parts = [
        "General:",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
        f"| `{ENV_PREFIX}HOME` | `{home.default}` | {home.description} |",
    ]
    for group in GROUPS.values():
        parts += ["", f"{group.title}:", "", "| variable | default | meaning |", "|---|---|---|"]
        for name, field in group.model_fields.items():
            if field.default_factory is not None:
                default = "packaged"
            elif field.default is None or field.default == "":
                default = "unset"
            elif isinstance(field.default, bool):
                default = f"`{str(field.default).lower()}`"
            else:
                default = f"`{field.default}`"
            description = (field.description or "").replace("|", "\\|")
            parts.append(f"| `{group.env_name(name)}` | {default} | {description} |")
    return "\n".join(parts)


if __name__ == "__main__":
    print(settings_table())

"""One Settings object for the whole service, read from ``CLINSYNTH_*`` variables.

It is built once at an entry point (the CLI or the app factory) and passed down; deeper
modules never read the environment themselves.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.embedded import packaged_embedder_path
from models.embedded import packaged_gguf_path


class Settings(BaseSettings):
    """Everything a deployment can change, with embedded defaults that run offline."""

    model_config = SettingsConfigDict(env_prefix="CLINSYNTH_", extra="ignore")

    home: Path = Field(Path("var"), description="Data directory: SQLite file, Chroma store.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<home>/clinsynth.db"
    )

    # Knowledge store and retrieval
    chroma_path: Path | None = Field(
        None, description="Embedded Chroma folder; default <home>/chroma"
    )
    chroma_collection: str = "guidelines"
    chroma_host: str | None = Field(
        None, description="Chroma server host; when set, the server is used instead of a folder"
    )
    chroma_port: int = Field(8000, ge=1, le=65535)
    max_pdf_pages: int = Field(5000, ge=1, description="Pages allowed in one PDF")
    max_pdf_bytes: int = Field(200 * 1024 * 1024, ge=1024, description="Bytes allowed per PDF")
    embedding_model_path: Path | None = Field(
        None, description="sentence-transformers model folder; default: the packaged MiniLM"
    )
    embedding_device: str | None = Field(None, description="cpu, cuda, ...; default: autodetect")
    embedding_batch_size: int = Field(32, ge=1)
    chunk_size: int = Field(700, ge=100, description="Characters per chunk (within one page)")
    chunk_overlap: int = Field(80, ge=0)
    ocr_engine: Literal["auto", "tesseract", "rapidocr", "off"] = Field(
        "auto", description="OCR of pages without a text layer; auto: tesseract if installed"
    )
    retrieval_k: int = Field(4, ge=1, le=50, description="Passages retrieved per record block")

    # Language model
    llm_backend: Literal["llamacpp", "openai", "fake"] = "llamacpp"
    llm_model_path: Path | None = Field(None, description="GGUF file; default: packaged SmolLM2")
    llm_n_ctx: int = Field(4096, ge=512)
    llm_n_threads: int | None = Field(None, ge=1, description="default: llama.cpp's choice")
    llm_n_gpu_layers: int = Field(-1, description="-1 offloads every layer where a GPU build runs")
    llm_chat_format: str | None = Field(None, description="default: the GGUF's own template")
    llm_max_tokens: int = Field(512, ge=16)
    # Every value the model writes is constrained to evidence, so a high temperature buys
    # variety between patients without risking invalid content.
    llm_temperature: float = Field(1.0, ge=0.0, le=2.0)
    llm_prompt_cache_states: int = Field(
        4, ge=0, description="llama.cpp prompt states kept for prefix reuse; 0 switches it off"
    )
    llm_lazy_grammar: bool = Field(
        True, description="Check the sampled token against the grammar instead of the vocabulary"
    )
    llm_extra_buffers: Literal["auto", "on", "off"] = Field(
        "auto",
        description="llama.cpp CPU weight repacking and AMX kernels; auto: off on AMX CPUs",
    )
    # OpenAI-compatible backend (CLINSYNTH_LLM_BACKEND=openai): never contacted otherwise.
    openai_base_url: str | None = Field(
        None, description="e.g. http://gpu-host:8000/v1 (vLLM, llama.cpp server, Ollama)"
    )
    openai_api_key: SecretStr | None = Field(None, description="Bearer key; none for local servers")
    openai_model: str | None = Field(None, description="Model id as the server lists it")
    openai_structured: Literal["auto", "json_schema", "json_object"] = Field(
        "auto", description="json_schema: structured outputs; json_object: JSON mode + validation"
    )
    openai_timeout: float = Field(300.0, gt=0, description="Seconds per request")
    openai_prompt_price_per_1k: float | None = Field(
        None, ge=0, description="Price per 1,000 prompt tokens, for `clinsynth compare`"
    )
    openai_completion_price_per_1k: float | None = Field(
        None, ge=0, description="Price per 1,000 completion tokens, for `clinsynth compare`"
    )

    # Records
    locale: str = Field("es_ES", description="Faker locale for invented names and identifiers")
    reference_date: date | None = Field(
        None, description="'Today' for invented dates; default: the current date"
    )

    # HTTP API
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_auth: Literal["auto", "required", "disabled"] = Field(
        "auto",
        description="API keys: auto = required unless bound to a loopback address; "
        "disabled is refused on a non-loopback address",
    )
    max_request_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest JSON request body accepted (413 above); uploads have their own limit",
    )

    repair_rounds: int = Field(
        2,
        ge=0,
        le=5,
        description="Regenerations allowed for a record that fails an error-severity rule "
        "(the validation messages go to the model; the best attempt is kept)",
    )

    # Batch jobs (service.jobs)
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

    @model_validator(mode="after")
    def _fill_derived_paths(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.home / 'clinsynth.db'}"
        if self.chroma_path is None:
            self.chroma_path = self.home / "chroma"
        if self.embedding_model_path is None:
            self.embedding_model_path = packaged_embedder_path()
        if self.llm_model_path is None:
            self.llm_model_path = packaged_gguf_path()
        return self

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    @property
    def chroma_dir(self) -> Path:
        assert self.chroma_path is not None
        return self.chroma_path

    @property
    def embedder_dir(self) -> Path:
        assert self.embedding_model_path is not None
        return self.embedding_model_path

    @property
    def gguf_path(self) -> Path:
        assert self.llm_model_path is not None
        return self.llm_model_path

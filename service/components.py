"""Build the backends a Settings object asks for; each is imported only in its branch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from ingest.pdf import PdfLimits
from ingest.pipeline import IngestOptions
from knowledge.embeddings import Embedder
from knowledge.registry import DocumentRegistry
from knowledge.store import KnowledgeStore, chroma_client
from models.base import LanguageModel
from service.database import open_database
from service.generation import GenerationOptions, PatientGenerator
from service.settings import Settings
from service.storage import RecordStore


def build_knowledge_store(settings: Settings, engine: Engine | None = None) -> KnowledgeStore:
    """Chroma (embedded folder, or a server when CLINSYNTH_CHROMA_HOST is set) with the
    document registry in the SQL database."""
    embedder = Embedder(
        settings.embedder_dir,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
    )
    client = chroma_client(
        settings.chroma_dir, host=settings.chroma_host, port=settings.chroma_port
    )
    registry = DocumentRegistry(engine or open_database(settings.db_url))
    return KnowledgeStore(
        embedder,
        registry,
        client=client,
        collection=settings.chroma_collection,
        originals=settings.home / "originals",
    )


def ingest_options(
    settings: Settings, tags: Sequence[str] = (), *, ocr: bool = True
) -> IngestOptions:
    return IngestOptions(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        limits=PdfLimits(max_pages=settings.max_pdf_pages, max_bytes=settings.max_pdf_bytes),
        tags=tuple(tags),
        ocr=ocr and settings.ocr_engine != "off",
        ocr_engine="auto" if settings.ocr_engine == "off" else settings.ocr_engine,
    )


def build_language_model(settings: Settings, backend: str | None = None) -> LanguageModel:
    """The configured backend, or ``backend`` (``clinsynth compare`` builds several)."""
    backend = backend or settings.llm_backend
    if backend == "llamacpp":
        from models.llamacpp import LlamaCppModel

        return LlamaCppModel(
            settings.gguf_path,
            n_ctx=settings.llm_n_ctx,
            n_threads=settings.llm_n_threads,
            n_gpu_layers=settings.llm_n_gpu_layers,
            chat_format=settings.llm_chat_format,
            prompt_cache_states=settings.llm_prompt_cache_states,
            lazy_grammar=settings.llm_lazy_grammar,
            extra_buffers=settings.llm_extra_buffers,
        )
    if backend == "openai":
        from models.openai_compat import OpenAICompatModel

        return OpenAICompatModel(
            base_url=settings.openai_base_url,
            api_key=key.get_secret_value() if (key := settings.openai_api_key) else None,
            model=settings.openai_model,
            structured=settings.openai_structured,
            timeout=settings.openai_timeout,
        )
    if backend == "fake":
        from models.fake import FakeModel

        return FakeModel()
    raise ValueError(f"unknown CLINSYNTH_LLM_BACKEND {backend!r}")


def build_generator(
    settings: Settings, store: KnowledgeStore, model: LanguageModel
) -> PatientGenerator:
    return PatientGenerator(
        store,
        model,
        GenerationOptions(
            retrieval_k=settings.retrieval_k,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            locale=settings.locale,
            reference_date=settings.reference_date,
        ),
    )


def build_record_store(settings: Settings, engine: Engine | None = None) -> RecordStore:
    return RecordStore(engine or open_database(settings.db_url))

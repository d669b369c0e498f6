"""Build the backends a Settings object asks for; each is imported only in its branch."""

from __future__ import annotations

from knowledge.embeddings import Embedder
from knowledge.store import KnowledgeStore
from models.base import LanguageModel
from service.generation import GenerationOptions, PatientGenerator
from service.settings import Settings
from service.storage import RecordStore


def build_knowledge_store(settings: Settings) -> KnowledgeStore:
    embedder = Embedder(
        settings.embedder_dir,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
    )
    return KnowledgeStore(embedder, path=settings.chroma_dir, collection=settings.chroma_collection)


def build_language_model(settings: Settings) -> LanguageModel:
    if settings.llm_backend == "llamacpp":
        from models.llamacpp import LlamaCppModel

        return LlamaCppModel(
            settings.gguf_path,
            n_ctx=settings.llm_n_ctx,
            n_threads=settings.llm_n_threads,
            n_gpu_layers=settings.llm_n_gpu_layers,
            chat_format=settings.llm_chat_format,
        )
    if settings.llm_backend == "fake":
        from models.fake import FakeModel

        return FakeModel()
    raise ValueError(f"unknown CLINSYNTH_LLM_BACKEND {settings.llm_backend!r}")


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


def build_record_store(settings: Settings) -> RecordStore:
    return RecordStore.from_url(settings.db_url)

"""The one builder of clinsynth's parts: ``build_services(settings)``.

The API, every CLI command, the batch worker and eval get their database, knowledge
store, model, generator, validator, patient flow and batch runner here. Each part is
built on first use (listing documents loads no model) and once (one database engine per
process and command), and each optional backend is imported only in its branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from sqlalchemy.engine import Engine

from ingest.pdf import PdfLimits
from ingest.pipeline import IngestOptions
from knowledge.embeddings import Embedder
from knowledge.registry import DocumentRegistry
from knowledge.store import KnowledgeStore, chroma_client
from models.base import LanguageModel
from service.auth import ApiKeys
from service.batches.executor import BatchExecutor
from service.batches.runners import BatchRunner, build_runner
from service.batches.store import BatchStore
from service.generation.blocks.base import GenerationOptions
from service.generation.flow import FailureLog, PatientFlow
from service.generation.generator import PatientGenerator
from service.quality.report import report_builder
from service.settings import Settings
from service.storage.database import open_database
from service.storage.documents import IngestJobs
from service.storage.patients import RecordStore
from service.validation import Validator, build_validator


def build_language_model(settings: Settings, backend: str | None = None) -> LanguageModel:
    """The configured backend, or ``backend`` (``clinsynth compare`` builds several)."""
    backend = backend or settings.llm.backend
    if backend == "llamacpp":
        from models.llamacpp import LlamaCppModel

        llm = settings.llm
        return LlamaCppModel(
            llm.model_path,
            n_ctx=llm.n_ctx,
            n_threads=llm.n_threads,
            n_gpu_layers=llm.n_gpu_layers,
            chat_format=llm.chat_format,
            prompt_cache_states=llm.prompt_cache_states,
            lazy_grammar=llm.lazy_grammar,
            extra_buffers=llm.extra_buffers,
        )
    if backend == "openai":
        from models.openai_compat import OpenAICompatModel

        openai = settings.openai
        return OpenAICompatModel(
            base_url=openai.base_url,
            api_key=key.get_secret_value() if (key := openai.api_key) else None,
            model=openai.model,
            structured=openai.structured,
            timeout=openai.timeout,
        )
    if backend == "fake":
        from models.fake import FakeModel

        return FakeModel()
    raise ValueError(f"unknown CLINSYNTH_LLM_BACKEND {backend!r}")


def build_knowledge_store(settings: Settings, engine: Engine | None = None) -> KnowledgeStore:
    """Chroma (embedded folder, or a server when CLINSYNTH_CHROMA_HOST is set) with the
    document registry in the SQL database (``engine``, or one opened for it)."""
    embedder = Embedder(
        settings.embedding.model_path,
        device=settings.embedding.device,
        batch_size=settings.embedding.batch_size,
    )
    store = settings.knowledge
    client = chroma_client(store.chroma_path, host=store.chroma_host, port=store.chroma_port)
    registry = DocumentRegistry(engine or open_database(settings.database.url))
    return KnowledgeStore(
        embedder,
        registry,
        client=client,
        collection=store.chroma_collection,
        originals=settings.home / "originals",
    )


def build_generator(
    settings: Settings, store: KnowledgeStore, model: LanguageModel
) -> PatientGenerator:
    options = GenerationOptions(
        retrieval_k=settings.knowledge.retrieval_k,
        max_tokens=settings.llm.max_tokens,
        temperature=settings.llm.temperature,
        locale=settings.records.locale,
        reference_date=settings.records.reference_date,
    )
    return PatientGenerator(store, model, options)


def ingest_options(
    settings: Settings, tags: Sequence[str] = (), *, ocr: bool = True
) -> IngestOptions:
    ingest = settings.ingest
    return IngestOptions(
        chunk_size=ingest.chunk_size,
        chunk_overlap=ingest.chunk_overlap,
        limits=PdfLimits(max_pages=ingest.max_pdf_pages, max_bytes=ingest.max_pdf_bytes),
        tags=tuple(tags),
        ocr=ocr and ingest.ocr_engine != "off",
        ocr_engine="auto" if ingest.ocr_engine == "off" else ingest.ocr_engine,
    )


def build_executor(
    settings: Settings,
    generator: PatientGenerator,
    batches: BatchStore,
    records: RecordStore,
    *,
    validator: Validator | None,
    knowledge: KnowledgeStore | None,
) -> BatchExecutor:
    """The batch item executor of ``clinsynth serve`` and ``clinsynth worker`` alike: items
    are validated and repaired as they are stored, and a finished batch gets its report."""
    return BatchExecutor(
        generator,
        batches,
        records,
        attempts=settings.batches.batch_attempts,
        validator=validator,
        repair_rounds=settings.records.repair_rounds,
        on_finished=report_builder(batches.engine, generator.model, knowledge),
    )


class Components:
    """Every part of a running clinsynth, built from one Settings, each on first use."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def engine(self) -> Engine:
        return open_database(self.settings.database.url)

    @cached_property
    def knowledge(self) -> KnowledgeStore:
        return build_knowledge_store(self.settings, self.engine)

    @cached_property
    def model(self) -> LanguageModel:
        return build_language_model(self.settings)

    @cached_property
    def generator(self) -> PatientGenerator:
        return build_generator(self.settings, self.knowledge, self.model)

    @cached_property
    def records(self) -> RecordStore:
        return RecordStore(self.engine)

    @cached_property
    def batches(self) -> BatchStore:
        return BatchStore(self.engine)

    @cached_property
    def validator(self) -> Validator:
        return build_validator(self.settings, self.knowledge)

    @cached_property
    def failures(self) -> FailureLog:
        return FailureLog(self.settings.home / "failures")

    @cached_property
    def flow(self) -> PatientFlow:
        """generate -> validate -> repair -> store, failures kept under <home>/failures."""
        return PatientFlow(
            self.generator,
            self.records,
            validator=self.validator,
            repair_rounds=self.settings.records.repair_rounds,
            failures=self.failures,
        )

    @cached_property
    def ingest_jobs(self) -> IngestJobs:
        return IngestJobs(self.knowledge, self.engine, self.settings.home / "uploads")

    @cached_property
    def api_keys(self) -> ApiKeys:
        return ApiKeys(self.engine)

    def ingest_options(self, tags: Sequence[str] = (), *, ocr: bool = True) -> IngestOptions:
        return ingest_options(self.settings, tags, ocr=ocr)

    def executor(self) -> BatchExecutor:
        return build_executor(
            self.settings,
            self.generator,
            self.batches,
            self.records,
            validator=self.validator,
            knowledge=self.knowledge,
        )

    def runner(self, executor: BatchExecutor | None, *, concurrency: int = 1) -> BatchRunner:
        """The runner the settings ask for; ``executor`` None: this process only submits."""
        return build_runner(self.settings, self.batches, executor, concurrency=concurrency)

    def close(self) -> None:
        """Release what was built: the model if one was loaded, the database's pooled connections.

        Safe to call twice; parts never built are not built to be closed."""
        jobs = self.__dict__.get("ingest_jobs")
        if jobs is not None:
            jobs.close()  # its heartbeat thread writes through the engine disposed below
        model = self.__dict__.pop("model", None)
        if model is not None:
            model.close()
        engine = self.__dict__.get("engine")
        if engine is not None:
            engine.dispose()


def build_services(settings: Settings) -> Components:
    return Components(settings)

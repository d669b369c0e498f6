"""Alembic environment: runs on the connection handed over by ``service.storage.database``."""

from __future__ import annotations

from alembic import context

from knowledge.registry import RegistryBase
from service.auth import ApiKeyRow  # noqa: F401  (registers its table)
from service.batches.store import BatchRow  # noqa: F401  (registers its table)
from service.storage.base import Base
from service.storage.documents import IngestJobRow  # noqa: F401  (registers its table)
from service.tabular.jobs import TabularJobRow  # noqa: F401  (registers its table)

target_metadata = [Base.metadata, RegistryBase.metadata]
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

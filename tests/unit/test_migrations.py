"""The Alembic migrations build exactly the schema the models map, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from knowledge.registry import RegistryBase
from service.auth import ApiKeyRow  # noqa: F401  (registers its table)
from service.batches.store import BatchRow  # noqa: F401  (registers its table)
from service.storage.base import Base
from service.storage.documents import IngestJobRow  # noqa: F401  (registers its table)
from service.tabular.jobs import TabularJobRow  # noqa: F401  (registers its table)
from tests.conftest import fresh_database, postgres_or_skip


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_head_matches_the_models(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else postgres_or_skip()
    engine = fresh_database(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, [Base.metadata, RegistryBase.metadata])
    engine.dispose()
    assert diff == []

import pytest

from knowledge.registry import DocumentRegistry
from tests.conftest import fresh_database, postgres_or_skip


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else postgres_or_skip()
    engine = fresh_database(url)
    yield DocumentRegistry(engine)
    engine.dispose()


def begin(registry, sha, name="a.pdf", tags=()):
    return registry.begin(sha256=sha, file_name=name, title="T", pages=2, size_bytes=10, tags=tags)


def test_a_version_is_invisible_until_activated(registry):
    doc = begin(registry, "a" * 64)
    assert doc.status == "ingesting" and registry.active_ids() == []
    assert registry.documents() == []
    assert registry.activate(doc.document_id, chunks=7) == []
    [listed] = registry.documents()
    assert (listed.document_id, listed.chunks, listed.status) == (doc.document_id, 7, "active")


def test_activating_a_new_version_supersedes_the_old_one(registry):
    old = begin(registry, "a" * 64)
    registry.activate(old.document_id, chunks=3)
    other = begin(registry, "c" * 64, name="other.pdf")
    registry.activate(other.document_id, chunks=1)
    new = begin(registry, "b" * 64)
    assert registry.activate(new.document_id, chunks=4) == [old.document_id]
    assert set(registry.active_ids()) == {new.document_id, other.document_id}
    superseded = registry.get(old.document_id)
    assert superseded.status == "superseded" and superseded.superseded_by == new.document_id


def test_filters_by_tags_and_names(registry):
    for sha, name, tags in (
        ("a", "x.pdf", ["bone"]),
        ("b", "y.pdf", ["bone", "child"]),
        ("c", "z.pdf", []),
    ):
        doc = begin(registry, sha * 64, name=name, tags=tags)
        registry.activate(doc.document_id, chunks=1)
    assert sorted(registry.active_ids(tags=["bone"])) == ["a" * 16, "b" * 16]
    assert registry.active_ids(tags=["bone", "child"]) == ["b" * 16]
    assert registry.active_ids(documents=["z.pdf"]) == ["c" * 16]
    assert registry.active_ids(documents=["a" * 16], tags=["child"]) == []


def test_remove(registry):
    doc = begin(registry, "d" * 64)
    registry.activate(doc.document_id, chunks=1)
    registry.remove(doc.document_id)
    assert registry.get(doc.document_id) is None

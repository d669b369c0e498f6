import pytest

from models.fake import FakeModel
from service.storage import RecordStore
from tests.conftest import fresh_database, postgres_or_skip
from tests.unit.test_generation import TREATMENT, diagnosis_answer, make


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nested' / 'clinsynth.db'}"
    else:
        url = postgres_or_skip()
    engine = fresh_database(url)
    yield RecordStore(engine)
    engine.dispose()


def record(seed):
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    return make(model).generate("boy with Ewing sarcoma", seed=seed)[0].record


def test_round_trip_keeps_the_whole_record(records):
    original = record(1)
    records.save(original, seconds=1.5)
    assert records.get(original.record_id) == original
    assert records.get("00000000-0000-0000-0000-000000000000") is None


def test_the_same_reproducible_record_is_stored_once(records):
    records.save(record(1))
    records.save(record(1))
    records.save(record(2))
    assert records.count() == 2
    assert len(records.list(limit=1)) == 1


def test_a_failing_batch_stores_nothing(records):
    good = record(3)
    with pytest.raises(AttributeError):
        records.save_all([(good, None), (None, None)])  # type: ignore[list-item]
    assert records.count() == 0

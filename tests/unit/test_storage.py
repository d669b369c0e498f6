import pytest

from models.fake import FakeModel
from service.storage.patients import RecordStore
from service.validation.rules import RuleFailure
from tests.conftest import fresh_database, postgres_or_skip
from tests.fakes import validation_result
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


def test_every_block_of_a_full_record_survives_storage(records):
    from tests.records import full_record

    complete = full_record()
    records.save(complete)
    assert records.get(complete.record_id) == complete
    assert complete.relapse and complete.hsct and complete.surgery  # the factory fills them


def test_a_batch_item_is_stored_exactly_once(records):
    first, second = record(11), record(12)
    passing = validation_result(first, [])
    assert records.save_batch_item(first, batch_id="b1", batch_index=0, validation=passing)
    # The same item again, even as a different record (a restarted worker), is refused.
    assert not records.save_batch_item(second, batch_id="b1", batch_index=0)
    assert records.save_batch_item(second, batch_id="b1", batch_index=1)
    assert records.batch_indexes("b1") == {0, 1}
    assert [r.record_id for r in records.list(batch_id="b1")] == [
        first.record_id,
        second.record_id,
    ]
    assert records.count(batch_id="b1") == 2 and records.count(batch_id="other") == 0
    assert records.get_validation(first.record_id) == passing
    failing = validation_result(second, [RuleFailure(rule_id="a.b", severity="error", message="x")])
    records.set_validation(second.record_id, failing)
    assert records.get_validation(second.record_id) == failing
    with pytest.raises(KeyError):
        records.get_validation("missing")

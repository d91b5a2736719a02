"""Events a store decodes from its rows (built without a second validation) behave
exactly as validated RecordedEvents: equal, frozen, copyable, dumpable."""

from __future__ import annotations

import pydantic
import pytest

from core.events import Metadata, RecordedEvent
from core.ports import EventStore
from tests.store_contract import collect, new_event


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "memory"], indirect=True)
async def test_decoded_events_behave_as_validated_ones(stores: tuple[EventStore, object]) -> None:
    store, _ = stores
    written = [new_event(data={"n": n}, metadata=Metadata(user_id=f"u{n}")) for n in range(3)]
    await store.append("thing-1", "Thing", written, 0)
    read = await collect(store.read_all())
    assert len(read) == 3
    for event in read:
        validated = RecordedEvent.model_validate(event.model_dump())
        assert event == validated and event.model_dump() == validated.model_dump()
        assert event.model_fields_set == set(RecordedEvent.model_fields)
        with pytest.raises(pydantic.ValidationError):
            event.version = 99  # type: ignore[misc]
    first, second = read[0], read[1]
    copied = first.model_copy(update={"schema_version": 7, "data": {"n": 70}})
    assert (copied.schema_version, copied.data) == (7, {"n": 70})
    # the copy changed nothing of the original or of any other decoded event
    assert (first.schema_version, first.data) == (1, {"n": 0})
    assert second.model_fields_set == set(RecordedEvent.model_fields)
    assert [event.metadata.user_id for event in read] == ["u0", "u1", "u2"]

"""A rebuild's switch to its new read model and the operator event recording it
(ProjectionRebuilt) are one atomic unit: whatever moment the process dies, either the
rebuilt generation is live and recorded, or the old one still serves and nothing says
it was replaced (the switch appends the operator event in its own transaction).

In memory, on SQLite and on PostgreSQL: a switch failing after it wrote the operator
event leaves neither; an operator stream of another type refuses the switch whole; a
process SIGKILLed the moment the switch returned (where the operator event used to be
appended, as a second step) leaves both.
"""

from __future__ import annotations

import asyncio
import textwrap
from typing import Any

import pytest

from core.errors import StoreError
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.ports import EventStore
from core.projection_store import ProjectionStore
from stores import SqlProjectionStore, open_stores
from tests.fault_helpers import run_until_killed
from tests.projection_fixtures import (
    Boom,
    CounterProjection,
    documents,
    fail_after_memory_append,
    make_engine,
    new_counted,
    write_round_robin,
)


async def _seed(events: EventStore, store: ProjectionStore) -> None:
    await write_round_robin(events, 30, streams=3)
    await make_engine([CounterProjection()], events, store).catch_up()


async def _picture(events: EventStore, store: ProjectionStore) -> dict[str, Any]:
    """The live generation, its read model and the rebuild's operator trail."""
    active = await store.checkpoint("counter")
    assert active is not None
    return {
        "active": (active.generation, active.position, active.status.value),
        "counter": await documents(store, "counter"),
        "rebuilt": [
            (e.version, e.data["generation"], e.data["position"], e.metadata.user_id)
            for e in await events.read_stream("projection-counter")
            if e.type == "ProjectionRebuilt"
        ],
    }


def _fail_after_the_operator_event(
    monkeypatch: pytest.MonkeyPatch, store: ProjectionStore, events: EventStore
) -> None:
    """Make the switch fail right after it wrote the operator event, before it finishes."""
    if isinstance(store, InMemoryProjectionStore):
        assert isinstance(events, InMemoryEventStore)
        fail_after_memory_append(monkeypatch, events)
        return
    import stores.audit_append
    import stores.projection_store as module

    real_append = stores.audit_append.append_audit

    async def sql_append_then_fail(*args: Any, **kwargs: Any) -> int:
        await real_append(*args, **kwargs)
        raise Boom("died after the operator event")

    monkeypatch.setattr(module, "append_audit", sql_append_then_fail)


async def test_a_switch_failing_after_the_operator_event_leaves_neither(
    stores: tuple[EventStore, ProjectionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    events, store = stores
    await _seed(events, store)
    engine = make_engine([CounterProjection()], events, store)
    before = await _picture(events, store)

    with monkeypatch.context() as patch:
        _fail_after_the_operator_event(patch, store, events)
        with pytest.raises(Boom):
            await engine.rebuild(["counter"], user="ops")
        if isinstance(store, InMemoryProjectionStore):
            # in memory the append is the step that failed; a real crash loses both
            return

    # the old read model still serves and no ProjectionRebuilt claims otherwise
    assert await _picture(events, store) == before
    assert [c.generation for c in await store.checkpoints()] == [1]  # the new one dropped
    # and done again it does both, once
    [summary] = await engine.rebuild(["counter"], user="ops")
    after = await _picture(events, store)
    assert after["active"][0] == summary.generation
    assert after["counter"] == before["counter"]
    assert [r[1:] for r in after["rebuilt"]] == [(summary.generation, summary.position, "ops")]


async def test_an_operator_event_that_cannot_be_written_refuses_the_switch_whole(
    stores: tuple[EventStore, ProjectionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ProjectionRebuilt event is sent to a stream of another type (its own stream
    is checked the same way, but is already an operator stream by then): the switch it
    records is not made either, and the half-built generation is dropped."""
    events, store = stores
    await _seed(events, store)
    engine = make_engine([CounterProjection()], events, store)
    await events.append("taken-stream", "Counter", [new_counted(0)], 0)
    before = await _picture(events, store)
    real_prepare = engine.operator_log.prepare

    def prepare_elsewhere(projection: str, event: Any, *, user: str) -> Any:
        audit = real_prepare(projection, event, user=user)
        return type(audit)("taken-stream", audit.stream_type, audit.event)

    monkeypatch.setattr(engine.operator_log, "prepare", prepare_elsewhere)

    with pytest.raises(StoreError, match="not an Operator stream"):
        await engine.rebuild(["counter"], user="ops")

    assert await _picture(events, store) == before
    assert [c.generation for c in await store.checkpoints()] == [1]
    assert len(await events.read_stream("taken-stream")) == 1


_KILLED_AFTER_SWITCH = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from stores import SqlProjectionStore, open_stores
    from tests.projection_fixtures import CounterProjection, make_engine

    class DiesAfterSwitch(SqlProjectionStore):
        async def switch_generation(self, *args, **kwargs):
            result = await super().switch_generation(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)  # where the operator event was appended
            return result

    async def main(url):
        events, _ = await open_stores(url)
        engine = make_engine([CounterProjection()], events, DiesAfterSwitch(events.engine))
        await engine.rebuild(["counter"], user="ops")

    asyncio.run(main(sys.argv[1]))
    """
)


# a killed process keeps nothing in memory: the files and the database only
@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_a_process_killed_right_after_the_switch_has_stored_both(backend: str) -> None:
    url = backend

    async def seed() -> dict[str, Any]:
        events, _ = await open_stores(url)
        try:
            store = SqlProjectionStore(events.engine)
            await _seed(events, store)
            return await _picture(events, store)
        finally:
            await events.close()

    async def picture() -> dict[str, Any]:
        events, _ = await open_stores(url)
        try:
            return await _picture(events, SqlProjectionStore(events.engine))
        finally:
            await events.close()

    before = asyncio.run(seed())
    run_until_killed(_KILLED_AFTER_SWITCH, url)

    after = asyncio.run(picture())
    generation, position, _ = after["active"]
    # the rebuilt generation went up to the ProjectionRebuildStarted event, the head then
    assert generation == 2 and position == before["active"][1] + 1
    assert after["counter"] == before["counter"]
    assert after["rebuilt"] == [(2, 2, position, "ops")]  # after ProjectionRebuildStarted

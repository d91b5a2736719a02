"""A dead-letter retry or skip and its operator event (DeadLetterRetried / DeadLetterSkipped)
are one atomic unit: whatever moment the process dies, either both are stored or
neither is (the resolution's commit appends the operator event in its own transaction).

In memory, on SQLite and on PostgreSQL: a failure inside the commit after the operator
event was written leaves neither; a process SIGKILLed the moment the commit returned
(where the operator event used to be appended, as a second step) leaves both.
"""

from __future__ import annotations

import asyncio
import textwrap
from typing import Any

import pytest

from core.dead_letters import DeadLetterStatus
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
    EchoProjection,
    documents,
    fail_after_memory_append,
    make_engine,
    new_counted,
    write_round_robin,
)

POISON = [("s0", 2), ("s2", 5)]


async def _seed(events: EventStore, store: ProjectionStore) -> None:
    await write_round_robin(events, 30, streams=3, poison=POISON)
    await make_engine([CounterProjection(), EchoProjection()], events, store).catch_up()


async def _picture(events: EventStore, store: ProjectionStore) -> dict[str, Any]:
    """The dead letters, the read models and the operator trail."""
    return {
        "dead": [(d.id, d.status.value, d.attempts, d.parked) for d in await store.dead_letters()],
        "counter": await documents(store, "counter"),
        "echo": await documents(store, "echo"),
        "audit": [
            (e.type, e.version, e.data.get("dead_letter_id"), e.metadata.user_id)
            for e in await events.read_stream("projection-counter")
        ],
        "head": await events.head_position(),
        "operator_stream": await events.stream_info("projection-counter"),
    }


def _fail_after_the_operator_event(
    monkeypatch: pytest.MonkeyPatch, store: ProjectionStore, events: EventStore
) -> None:
    """Make the next commit fail after it wrote the operator event, before it finishes."""
    if isinstance(store, InMemoryProjectionStore):
        assert isinstance(events, InMemoryEventStore)
        fail_after_memory_append(monkeypatch, events)
        return
    import stores.projection_store as module

    async def fail(*args: Any, **kwargs: Any) -> None:
        raise Boom("died after the operator event")

    monkeypatch.setattr(module, "update_dead_letters", fail)


@pytest.mark.parametrize("action", ["retry", "skip"])
async def test_a_commit_failing_after_the_operator_event_leaves_neither(
    stores: tuple[EventStore, ProjectionStore], monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    events, store = stores
    await _seed(events, store)
    counter = CounterProjection()
    counter.poisoned = False
    desk = make_engine([counter, EchoProjection()], events, store).dead_letters
    before = await _picture(events, store)
    letter = (await desk.list(projection="counter"))[0]

    with monkeypatch.context() as patch:
        _fail_after_the_operator_event(patch, store, events)
        with pytest.raises(Boom):
            await getattr(desk, action)(letter.id, user="ops")
        if isinstance(store, InMemoryProjectionStore):
            # in memory the append is the step that failed; a real crash loses both
            return

    assert await _picture(events, store) == before
    # and done again it does both, once
    await getattr(desk, action)(letter.id, user="ops")
    after = await _picture(events, store)
    kind = "DeadLetterRetried" if action == "retry" else "DeadLetterSkipped"
    assert after["audit"] == [(kind, 1, letter.id, "ops")]
    assert after["dead"][0][1] == ("retried" if action == "retry" else "skipped")


async def test_an_operator_stream_taken_by_another_type_refuses_the_retry_whole(
    stores: tuple[EventStore, ProjectionStore],
) -> None:
    """The operator event cannot be written, so the retry it records is not either."""
    events, store = stores
    await _seed(events, store)
    await events.append("projection-counter", "Counter", [new_counted(0)], 0)
    counter = CounterProjection()
    counter.poisoned = False
    desk = make_engine([counter, EchoProjection()], events, store).dead_letters
    letter = (await desk.list(projection="counter"))[0]
    before = await _picture(events, store)

    with pytest.raises(StoreError, match="not an Operator stream"):
        await desk.retry(letter.id, user="ops")

    assert await _picture(events, store) == before
    assert (await store.dead_letter(letter.id)).status is DeadLetterStatus.OPEN  # type: ignore[union-attr]


_KILLED_AFTER_COMMIT = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from stores import SqlProjectionStore, open_stores
    from tests.projection_fixtures import CounterProjection, EchoProjection, make_engine

    class DiesAfterCommit(SqlProjectionStore):
        async def commit(self, batch):
            result = await super().commit(batch)
            os.kill(os.getpid(), signal.SIGKILL)  # where the operator event was appended
            return result

    async def main(url):
        events, _ = await open_stores(url)
        counter = CounterProjection()
        counter.poisoned = False
        engine = make_engine([counter, EchoProjection()], events, DiesAfterCommit(events.engine))
        await engine.dead_letters.ACTION_all(user="ops", projection="counter")

    asyncio.run(main(sys.argv[1]))
    """
)


@pytest.mark.parametrize("action", ["retry", "skip"])
# a killed process keeps nothing in memory: the files and the database only
@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_a_process_killed_right_after_the_commit_has_stored_both(backend: str, action: str) -> None:
    url = backend

    async def seed() -> None:
        events, _ = await open_stores(url)
        try:
            await _seed(events, SqlProjectionStore(events.engine))
        finally:
            await events.close()

    async def picture() -> dict[str, Any]:
        events, _ = await open_stores(url)
        try:
            return await _picture(events, SqlProjectionStore(events.engine))
        finally:
            await events.close()

    asyncio.run(seed())
    script = _KILLED_AFTER_COMMIT.replace("ACTION", action)
    run_until_killed(script, url)

    after = asyncio.run(picture())
    resolved = [d for d in after["dead"] if d[1] != "open"]
    assert len(resolved) == 1, after["dead"]
    kind = "DeadLetterRetried" if action == "retry" else "DeadLetterSkipped"
    assert after["audit"] == [(kind, 1, resolved[0][0], "ops")]

"""The projection store contract: one suite every ProjectionStore must pass.

Subclass `ProjectionStoreContract` and override the `stores` fixture to yield
`(event_store, projection_store)` on an empty store (tests/test_projection_store_*.py).
The last tests drive the whole engine through the store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.checkpoints import ProjectionStatus
from core.dead_letters import DeadLetterStatus, DeadLetterUpdate, NewDeadLetter, ParkedEvent
from core.errors import RebuildInProgress, StaleCheckpoint, StoreError, UnknownProjection
from core.ports import EventStore
from core.projection_store import BatchCommit, ProjectionStore
from tests.projection_fixtures import (
    T0,
    CounterProjection,
    EchoProjection,
    documents,
    make_engine,
    write_round_robin,
)
from tests.projection_store_search_contract import DeadLetterSearchContract

LEASE = timedelta(seconds=5)


def dead(position: int, stream: str = "s1", at: datetime = T0) -> NewDeadLetter:
    return NewDeadLetter(
        position=position,
        event_id=f"e{position}",
        stream_id=stream,
        event_type="Counted",
        error="ProjectionError: boom",
        traceback="Traceback (most recent call last):\n  ...\nProjectionError: boom\n",
        attempts=3,
        failed_at=at,
    )


def parked(position: int, stream: str = "s1") -> ParkedEvent:
    return ParkedEvent(
        position=position,
        event_id=f"e{position}",
        stream_id=stream,
        event_type="Counted",
        parked_at=T0,
    )


def docs(**values: Any) -> dict[str, str]:
    return {key: json.dumps(value) for key, value in values.items()}


class ProjectionStoreContract(DeadLetterSearchContract):
    """Semantics of core.projection_store.ProjectionStore (the memory store is the reference)."""

    @pytest.fixture
    async def stores(self) -> AsyncIterator[tuple[EventStore, ProjectionStore]]:
        raise NotImplementedError("subclasses yield (event_store, projection_store)")
        yield  # pragma: no cover

    @pytest.fixture
    def ps(self, stores: tuple[EventStore, ProjectionStore]) -> ProjectionStore:
        return stores[1]

    @pytest.fixture
    def es(self, stores: tuple[EventStore, ProjectionStore]) -> EventStore:
        return stores[0]

    async def commit(self, ps: ProjectionStore, name: str = "p", **changes: Any) -> Any:
        generation = changes.pop("generation", None)
        cursor = await ps.cursor(name, generation or (await ps.checkpoint(name)).generation)  # type: ignore[union-attr]
        checkpoint = cursor.checkpoint
        values: dict[str, Any] = {
            "name": name,
            "generation": checkpoint.generation,
            "expected_position": checkpoint.position,
            "expected_revision": checkpoint.revision,
            "position": checkpoint.position + 10,
            "now": T0,
        }
        values.update(changes)
        return await ps.commit(BatchCommit(**values))

    # -- checkpoints ----------------------------------------------------------------------

    async def test_ensure_checkpoints_creates_generation_one_once(
        self, ps: ProjectionStore
    ) -> None:
        assert await ps.checkpoint("p") is None
        await ps.ensure_checkpoints({"p": 3, "q": 1}, T0)
        await self.commit(ps, position=5)
        await ps.ensure_checkpoints({"p": 4}, T0 + timedelta(hours=1))
        checkpoint = await ps.checkpoint("p")
        assert checkpoint is not None
        assert (checkpoint.generation, checkpoint.position, checkpoint.status) == (
            1,
            5,
            ProjectionStatus.RUNNING,
        )
        assert (checkpoint.projection_version, checkpoint.revision) == (3, 1)
        assert checkpoint.updated_at == T0
        assert [c.name for c in await ps.checkpoints()] == ["p", "q"]

    async def test_commit_writes_documents_dead_letters_parked_and_checkpoint(
        self, ps: ProjectionStore
    ) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        after = await self.commit(
            ps,
            position=12,
            last_event_at=T0 + timedelta(seconds=3),
            events_per_second=123.5,
            upserts=docs(a={"n": 1, "text": "naïve ☃"}, b={"n": 2}),
            new_dead_letters=[dead(4)],
            parked=[parked(7), parked(9)],
        )
        assert (after.position, after.revision, after.events_per_second) == (12, 1, 123.5)
        assert after.last_event_at == T0 + timedelta(seconds=3)
        assert await ps.get_document("p", "a") == {"n": 1, "text": "naïve ☃"}
        [letter] = await ps.dead_letters()
        assert (letter.projection, letter.position, letter.parked, letter.attempts) == (
            "p",
            4,
            2,
            3,
        )
        assert letter.status is DeadLetterStatus.OPEN and letter.first_failed_at == T0
        assert letter.traceback.startswith("Traceback")
        cursor = await ps.cursor("p", 1)
        assert cursor.blocked_streams == {"s1"}

        await self.commit(
            ps,
            upserts=docs(a={"n": 3}),
            deletes=["b"],
            dead_letter_updates=[
                DeadLetterUpdate(
                    id=letter.id,
                    status=DeadLetterStatus.RETRIED,
                    attempts=4,
                    last_failed_at=T0 + timedelta(days=1),
                )
            ],
            unparked=[7, 9],
        )
        assert dict(await ps.list_documents("p")) == {"a": {"n": 3}}
        retried = await ps.dead_letter(letter.id)
        assert retried is not None
        assert (retried.status, retried.attempts, retried.parked) == (
            DeadLetterStatus.RETRIED,
            4,
            0,
        )
        assert retried.error == "ProjectionError: boom"  # kept when not given
        assert (await ps.cursor("p", 1)).blocked_streams == frozenset()
        assert await ps.parked_events("p", 1) == []

    async def test_a_cursor_is_the_checkpoint_and_its_blocked_streams(
        self, ps: ProjectionStore
    ) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        odd = 's"1 ☃'
        await self.commit(
            ps,
            last_event_at=T0 + timedelta(microseconds=3),
            events_per_second=2.5,
            new_dead_letters=[dead(4, odd), dead(6, odd), dead(8, "s2")],
        )
        await ps.acquire_lease("p", 1, "w", now=T0, expires_at=T0 + LEASE)
        cursor = await ps.cursor("p", 1)
        assert cursor.checkpoint == await ps.checkpoint("p", 1)
        assert cursor.checkpoint.lease_expires_at == T0 + LEASE
        assert cursor.checkpoint.last_event_at == T0 + timedelta(microseconds=3)
        assert cursor.blocked_streams == {odd, "s2"}
        with pytest.raises(StaleCheckpoint):
            await ps.cursor("p", 2)

    async def test_documents_of_any_keys_in_bulk(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        keys = ['q"uote', "back\\slash", "naïve ☃", "%_", "a,b", "[1]", "", " "]
        await self.commit(ps, upserts={key: json.dumps({"k": key}) for key in keys})
        found = await ps.get_documents("p", 1, [*keys, "missing", 'q"uote'])
        assert found == {key: {"k": key} for key in keys}

    async def test_a_stale_commit_writes_nothing(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        first = await self.commit(ps, upserts=docs(a=1 and {"v": 1}))
        for stale in (
            {"expected_position": 0},
            {"expected_revision": 0},
            {"generation": 2},
        ):
            values: dict[str, Any] = {
                "name": "p",
                "generation": 1,
                "expected_position": first.position,
                "expected_revision": first.revision,
                "position": 99,
                "now": T0,
                "upserts": docs(a={"v": 2}, z={"v": 0}),
                "new_dead_letters": [dead(50)],
            }
            values.update(stale)
            with pytest.raises(StaleCheckpoint):
                await ps.commit(BatchCommit(**values))
        assert dict(await ps.list_documents("p")) == {"a": {"v": 1}}
        assert await ps.dead_letters() == []
        assert (await ps.checkpoint("p")) == first

    async def test_a_commit_failing_half_way_writes_nothing(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        await self.commit(ps, new_dead_letters=[dead(4)])
        before = await ps.checkpoint("p")
        with pytest.raises(StoreError):
            await self.commit(ps, upserts=docs(a={"v": 1}), new_dead_letters=[dead(4)])
        assert await ps.list_documents("p") == []
        assert await ps.checkpoint("p") == before

    # -- leases -------------------------------------------------------------------------

    async def test_leases_are_exclusive_until_they_expire(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        mine = await ps.acquire_lease("p", 1, "w1", now=T0, expires_at=T0 + LEASE)
        assert mine is not None and (mine.owner, mine.lease_expires_at) == ("w1", T0 + LEASE)
        assert (
            await ps.acquire_lease("p", 1, "w2", now=T0 + timedelta(seconds=4), expires_at=T0)
            is None
        )
        renewed = await ps.acquire_lease(
            "p", 1, "w1", now=T0 + timedelta(seconds=4), expires_at=T0 + 2 * LEASE
        )
        assert renewed is not None and renewed.lease_expires_at == T0 + 2 * LEASE
        later = T0 + 2 * LEASE + timedelta(milliseconds=1)
        taken = await ps.acquire_lease("p", 1, "w2", now=later, expires_at=later + LEASE)
        assert taken is not None and taken.owner == "w2"
        # the old owner's commit is refused: it lost the lease
        with pytest.raises(StaleCheckpoint):
            await self.commit(ps, owner="w1", upserts=docs(a={"v": 1}))
        after = await self.commit(ps, owner="w2", lease_expires_at=later + 2 * LEASE)
        assert after.lease_expires_at == later + 2 * LEASE
        await ps.release_lease("p", 1, "w1")  # not the owner: nothing happens
        assert (await ps.checkpoint("p")).owner == "w2"  # type: ignore[union-attr]
        await ps.release_lease("p", 1, "w2")
        free = await ps.checkpoint("p")
        assert free is not None and (free.owner, free.lease_expires_at) == (None, None)
        assert await ps.acquire_lease("p", 7, "w1", now=T0, expires_at=T0) is None

    async def test_status_changes_keep_progress(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        await self.commit(ps, position=8)
        paused = await ps.set_status("p", ProjectionStatus.PAUSED, T0 + timedelta(seconds=1))
        assert (paused.status, paused.position) == (ProjectionStatus.PAUSED, 8)
        assert not paused.is_runnable
        with pytest.raises(UnknownProjection):
            await ps.set_status("nope", ProjectionStatus.PAUSED, T0)

    # -- documents ------------------------------------------------------------------------

    async def test_documents_by_key_in_pages_and_in_bulk(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1, "q": 1}, T0)
        many = {f"k{i:05d}": {"i": i} for i in range(2500)}
        await self.commit(ps, upserts={k: json.dumps(v) for k, v in many.items()})
        await self.commit(ps, "q", upserts=docs(k00001={"other": True}))
        found = await ps.get_documents("p", 1, [*many, "missing"])
        assert found == many
        assert await ps.get_documents("p", 1, []) == {}
        page = await ps.list_documents("p", limit=3, offset=10)
        assert page == [(f"k{i:05d}", {"i": i}) for i in (10, 11, 12)]
        assert len(await ps.list_documents("p")) == 2500
        assert await ps.count_documents("p") == 2500
        assert await ps.get_document("q", "k00001") == {"other": True}
        assert await ps.get_document("p", "missing") is None
        assert await ps.get_document("nope", "k00001") is None
        assert await ps.list_documents("nope") == []

    async def test_document_keys_sort_bytewise(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        keys = ["b", "B", "a", "_x", "a-1", "a_1", "Z"]
        await self.commit(ps, upserts={k: "{}" for k in keys})
        assert [k for k, _ in await ps.list_documents("p")] == sorted(keys)

    # -- dead letters ---------------------------------------------------------------------

    async def test_dead_letters_filter_and_count(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1, "q": 1}, T0)
        await self.commit(ps, new_dead_letters=[dead(9, "s2"), dead(3, "s1")], parked=[parked(5)])
        await self.commit(ps, "q", new_dead_letters=[dead(4)])
        letters = await ps.dead_letters()
        assert [(d.projection, d.position, d.parked) for d in letters] == [
            ("p", 3, 1),
            ("p", 9, 0),
            ("q", 4, 0),
        ]
        assert [d.position for d in await ps.dead_letters(projection="p", limit=1, offset=1)] == [9]
        assert await ps.dead_letters(status=DeadLetterStatus.SKIPPED) == []
        assert await ps.dead_letter_counts() == {"p": 2, "q": 1}
        assert await ps.dead_letter(letters[0].id) == letters[0]
        assert await ps.dead_letter(10_000) is None
        assert [p.position for p in await ps.parked_events("p", 1, "s1")] == [5]
        assert await ps.parked_events("p", 1, "s2") == []

    async def test_dead_letters_at_positions(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1, "q": 1}, T0)
        await self.commit(ps, new_dead_letters=[dead(9, "s2"), dead(3, "s1"), dead(5, "s3")])
        await self.commit(ps, "q", new_dead_letters=[dead(3)])
        found = await ps.dead_letters_at([3, 9, 42])
        assert [(d.position, d.projection) for d in found] == [(3, "p"), (3, "q"), (9, "p")]
        assert found[0] == await ps.dead_letter(found[0].id)
        assert await ps.dead_letters_at([]) == []
        # letters of a generation being rebuilt stay out until it is switched in
        await ps.start_generation(
            "p", owner="r1", now=T0, expires_at=T0 + LEASE, projection_version=2
        )
        await self.commit(ps, generation=2, owner="r1", new_dead_letters=[dead(42)])
        assert [d.position for d in await ps.dead_letters_at([42])] == []

    # -- generations ----------------------------------------------------------------------

    async def test_a_new_generation_is_invisible_until_switched(self, ps: ProjectionStore) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        await self.commit(ps, upserts=docs(old={"v": 1}), new_dead_letters=[dead(3)])
        await ps.set_status("p", ProjectionStatus.PAUSED, T0)
        new = await ps.start_generation(
            "p", owner="r1", now=T0, expires_at=T0 + LEASE, projection_version=2
        )
        assert (new.generation, new.position, new.status) == (2, 0, ProjectionStatus.REBUILDING)
        assert (await ps.checkpoint("p")).generation == 1  # type: ignore[union-attr]
        await self.commit(ps, generation=2, owner="r1", upserts=docs(new={"v": 2}), position=20)
        assert dict(await ps.list_documents("p")) == {"old": {"v": 1}}
        assert await ps.count_documents("p", 2) == 1
        assert [d.generation for d in await ps.dead_letters()] == [1]

        with pytest.raises(StaleCheckpoint):
            await ps.switch_generation("p", 2, owner="someone-else", now=T0)
        switched = await ps.switch_generation("p", 2, owner="r1", now=T0 + timedelta(seconds=1))

        assert (switched.generation, switched.position, switched.status) == (
            2,
            20,
            ProjectionStatus.PAUSED,
        )
        assert (switched.owner, switched.projection_version) == (None, 2)
        assert dict(await ps.list_documents("p")) == {"new": {"v": 2}}
        assert await ps.count_documents("p", 1) == 0
        assert await ps.dead_letters() == []
        assert [c.generation for c in await ps.checkpoints()] == [2]
        with pytest.raises(StaleCheckpoint):
            await ps.cursor("p", 1)

    async def test_a_half_built_generation_is_dropped_by_the_next_rebuild(
        self, ps: ProjectionStore
    ) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        first = await ps.start_generation(
            "p", owner="r1", now=T0, expires_at=T0 + LEASE, projection_version=1
        )
        await self.commit(ps, generation=first.generation, owner="r1", upserts=docs(x={}))
        with pytest.raises(RebuildInProgress):
            await ps.start_generation(
                "p", owner="r2", now=T0, expires_at=T0 + LEASE, projection_version=1
            )
        later = T0 + LEASE
        second = await ps.start_generation(
            "p", owner="r2", now=later, expires_at=later + LEASE, projection_version=1
        )
        assert second.generation == 3
        assert [c.generation for c in await ps.checkpoints()] == [1, 3]
        assert await ps.count_documents("p", first.generation) == 0
        await ps.drop_generation("p", 3)
        assert [c.generation for c in await ps.checkpoints()] == [1]

    async def test_a_generation_from_a_time_copies_the_active_one(
        self, ps: ProjectionStore
    ) -> None:
        await ps.ensure_checkpoints({"p": 1}, T0)
        await self.commit(
            ps,
            position=30,
            upserts=docs(a={"v": 1}, b={"v": 2}),
            new_dead_letters=[dead(5), dead(25, "s9")],
            parked=[parked(6), parked(26, "s9")],
        )
        new = await ps.start_generation(
            "p",
            owner="r1",
            now=T0,
            expires_at=T0 + LEASE,
            projection_version=1,
            position=20,
            copy_active=True,
        )
        assert new.position == 20
        assert await ps.get_documents("p", new.generation, ["a", "b"]) == {
            "a": {"v": 1},
            "b": {"v": 2},
        }
        copied = await ps.dead_letters(projection="p", generation=new.generation)
        assert [(d.position, d.parked) for d in copied] == [(5, 1)]
        clamped = await ps.start_generation(
            "p",
            owner="r1",
            now=T0,
            expires_at=T0 + LEASE,
            projection_version=1,
            position=500,
            copy_active=True,
        )
        assert clamped.position == 30  # never past the active checkpoint

    # -- the engine through this store ----------------------------------------------------

    async def test_engine_catch_up_dead_letters_retry_and_rebuild(
        self, stores: tuple[EventStore, ProjectionStore]
    ) -> None:
        es, ps = stores
        await write_round_robin(es, 60, streams=4, poison=[("s2", 3)], noted_every=7)
        counter = CounterProjection()
        engine = make_engine([counter, EchoProjection()], es, ps)
        summaries = {s.name: s for s in await engine.catch_up()}
        assert (summaries["counter"].dead_letters, summaries["counter"].parked) == (1, 12)
        assert len(await documents(ps, "echo")) == await es.head_position()
        incremental = await documents(ps, "counter")

        [summary] = await engine.rebuild(["counter"], user="ops")
        assert summary.dead_letters == 1
        assert await documents(ps, "counter") == incremental

        counter.poisoned = False
        [letter] = await engine.dead_letters.list()
        outcome = await engine.dead_letters.retry(letter.id, user="ops")
        assert (outcome.succeeded, outcome.released) == (True, 12)
        counted = [e.version for e in await es.read_stream("s2") if e.type == "Counted"]
        assert (await documents(ps, "counter"))["s2"]["seen"] == counted
        await engine.catch_up()
        states = {s.name: s for s in await engine.status()}
        assert states["counter"].lag_events == 0 and states["counter"].dead_letters == 0

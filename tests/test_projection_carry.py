"""Between batches: a batch keeps the documents the one before it committed, reads
the ones it needs beyond them while that one commits, and never keeps documents
that someone else has committed over since."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from core import batch_processor
from core.checkpoints import Checkpoint
from core.projection_store import BatchCommit, ProjectionStore
from tests.projection_fixtures import CounterProjection, documents, make_engine, write_round_robin

BACKENDS = ["memory", "sqlite", "postgres"]


class Watched:
    """The projection store's document reads, and whether a commit was under way."""

    def __init__(self, store: ProjectionStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[str] = []
        self.while_committing: list[bool] = []
        self.committing = False
        get_documents, commit = store.get_documents, store.commit

        async def reading(name: str, generation: int, keys: Any) -> Any:
            self.asked.extend(keys)
            self.while_committing.append(self.committing)
            return await get_documents(name, generation, keys)

        async def slow_commit(batch: BatchCommit) -> Checkpoint:
            self.committing = True
            try:
                await asyncio.sleep(0.02)  # time for the next batch's read ahead to run
                return await commit(batch)
            finally:
                self.committing = False

        monkeypatch.setattr(store, "get_documents", reading)
        monkeypatch.setattr(store, "commit", slow_commit)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_each_document_is_read_once_and_later_ones_while_a_batch_commits(
    stores: tuple[Any, ProjectionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    events, store = stores
    # batches of 7 over s0..s9 in turn: the second batch needs s7..s9 beyond the first's
    await write_round_robin(events, 40, streams=10)
    watched = Watched(store, monkeypatch)
    summary = (await make_engine([CounterProjection()], events, store).catch_up())[0]

    assert (summary.applied, summary.status) == (40, "caught-up")
    assert len(watched.asked) == len(set(watched.asked)) == 11  # s0..s9 and _totals, once
    # only the first batch read for itself; every later read was done during a commit
    assert watched.while_committing.count(False) == 1 and len(watched.while_committing) > 1
    counted = await documents(store, "counter")
    assert [counted[f"s{n}"]["count"] for n in range(10)] == [4] * 10
    assert counted["_totals"]["events"] == 40


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_commit_from_elsewhere_between_two_batches_is_not_overwritten(
    stores: tuple[Any, ProjectionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    events, store = stores
    await write_round_robin(events, 21, streams=3)  # batches of 7: s0 has 3 events in the first
    commit = store.commit
    operator_wrote: list[Checkpoint] = []

    async def then_an_operator(batch: BatchCommit) -> Checkpoint:
        done = await commit(batch)
        if not operator_wrote:
            # as a dead-letter retry does: its own commit on the checkpoint, after the first batch
            rewritten = {"count": 1000, "total": 0, "seen": []}
            operator_wrote.append(
                await commit(
                    BatchCommit(
                        name=done.name,
                        generation=done.generation,
                        expected_position=done.position,
                        expected_revision=done.revision,
                        position=done.position,
                        now=done.updated_at,
                        last_event_at=done.last_event_at,
                        upserts={"s0": json.dumps(rewritten)},
                    )
                )
            )
        return done

    monkeypatch.setattr(store, "commit", then_an_operator)
    summary = (await make_engine([CounterProjection()], events, store).catch_up())[0]

    assert operator_wrote and summary.status == "caught-up"
    counted = await documents(store, "counter")
    # the operator's 1000, then s0's four events after the first batch: not 3 + 4
    assert counted["s0"]["count"] == 1004
    assert (counted["s1"]["count"], counted["s2"]["count"]) == (7, 7)


@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
async def test_beyond_the_carry_limit_a_batch_starts_afresh(
    stores: tuple[Any, ProjectionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    events, store = stores
    await write_round_robin(events, 40, streams=10)
    monkeypatch.setattr(batch_processor, "CARRY_LIMIT", 5)  # fewer than one batch touches
    watched = Watched(store, monkeypatch)
    summary = (await make_engine([CounterProjection()], events, store).catch_up())[0]

    assert (summary.applied, summary.status) == (40, "caught-up")
    assert watched.asked.count("_totals") == 6  # by each of the 6 batches of 7, not once
    counted = await documents(store, "counter")
    assert [counted[f"s{n}"]["count"] for n in range(10)] == [4] * 10
    assert counted["_totals"]["events"] == 40

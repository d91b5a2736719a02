"""A live runner whose store goes away (a server restart) waits with backoff and
resumes: no traceback, one line when it goes, one when it is back, nothing lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from core.errors import StoreError
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projection_store import Cursor
from core.retry_policy import RetryPolicy
from tests.projection_fixtures import (
    CounterProjection,
    EchoProjection,
    documents,
    fast_config,
    make_engine,
    new_counted,
    write_round_robin,
)

DOWN = StoreError("cannot use PostgreSQL at db: connection refused")


class Unreachable:
    """The switch both stores look at: while `down`, every read and write fails."""

    def __init__(self) -> None:
        self.down = False
        self.failed_calls = 0

    def check(self) -> None:
        if self.down:
            self.failed_calls += 1
            raise DOWN


class GoneEvents(InMemoryEventStore):
    def __init__(self, switch: Unreachable) -> None:
        super().__init__()
        self.switch = switch

    async def head_position(self) -> int:
        self.switch.check()
        return await super().head_position()


class GoneStore(InMemoryProjectionStore):
    def __init__(self, switch: Unreachable) -> None:
        super().__init__()
        self.switch = switch

    async def cursor(self, name: str, generation: int) -> Cursor:
        self.switch.check()
        return await super().cursor(name, generation)

    async def commit(self, batch: Any) -> Any:
        self.switch.check()
        return await super().commit(batch)


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if await predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in time")


async def test_a_live_runner_waits_out_an_outage_and_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    switch = Unreachable()
    events, store = GoneEvents(switch), GoneStore(switch)
    await write_round_robin(events, 30)
    config = fast_config(
        transient=RetryPolicy(attempts=3, first_delay=0.01, factor=2.0, max_delay=0.16)
    )
    engine = make_engine([CounterProjection(), EchoProjection()], events, store, config=config)
    errors: list[tuple[str, str]] = []
    stop = asyncio.Event()
    caplog.set_level(logging.WARNING)
    task = asyncio.create_task(
        engine.run_live(stop=stop, on_error=lambda name, exc: errors.append((name, str(exc))))
    )
    try:

        async def caught_up() -> bool:
            return all(s.lag_events == 0 for s in await engine.status())

        await wait_for(caught_up)
        switch.down = True
        await asyncio.sleep(1.5)
        calls_while_down = switch.failed_calls
        switch.down = False
        for n in range(10):
            await events.append(f"late-{n}", "Counter", [new_counted(n)], 0)
        await wait_for(caught_up)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)

    # each projection reported its outage once, and nobody printed a traceback
    assert sorted(name for name, _ in errors) == ["counter", "echo"]
    assert all("connection refused" in error for _, error in errors)
    assert not [r for r in caplog.records if r.exc_info]
    went = [r for r in caplog.records if "cannot use the store" in r.getMessage()]
    back = [r for r in caplog.records if "the store answers again" in r.getMessage()]
    assert len(went) == len(back) == 1
    # backoff: tries 0.01, 0.02, ... up to 0.16 s apart, not a busy loop (and not one per
    # 0.16 s either): two projections and the head watcher in 1.5 s
    assert 6 <= calls_while_down <= 60, calls_while_down
    docs = await documents(store, "counter")
    assert docs["_totals"] == {"events": 40}
    assert len(await documents(store, "echo")) == 40


def test_the_live_backoff_doubles_up_to_its_cap_and_never_overflows() -> None:
    policy = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=5.0)
    assert [policy.delay_after(n) for n in range(1, 9)] == [
        0.05,
        0.1,
        0.2,
        0.4,
        0.8,
        1.6,
        3.2,
        5.0,
    ]
    assert policy.delay_after(10**6) == 5.0

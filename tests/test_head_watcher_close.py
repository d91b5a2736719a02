"""Closing the head watcher never cuts a head read short (a query cancelled halfway makes
the SQL driver throw its connection away, leaving a task that closes it)."""

from __future__ import annotations

import asyncio

from core.head_watcher import HeadWatcher
from core.memory_store import InMemoryEventStore


class SlowHead(InMemoryEventStore):
    """A store whose head reads can be held open by the test."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = asyncio.Event()
        self.release = asyncio.Event()
        self.reads = 0
        self.cancelled = 0
        self.hold = False

    async def head_position(self) -> int:
        if not self.hold:
            return 7
        self.reading.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.reads += 1
        return 8


async def test_close_lets_a_head_read_in_flight_finish() -> None:
    store = SlowHead()
    watcher = HeadWatcher(store, poll_interval=0.01)
    await watcher.start()
    store.hold = True
    await asyncio.wait_for(store.reading.wait(), 2)
    closing = asyncio.create_task(watcher.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waiting for the read, not cancelling it
    store.release.set()
    await asyncio.wait_for(closing, 2)
    assert (store.reads, store.cancelled) == (1, 0)
    assert watcher.head == 8


async def test_close_between_reads_stops_at_once() -> None:
    store = SlowHead()
    watcher = HeadWatcher(store, poll_interval=30)
    await watcher.start()
    await asyncio.wait_for(watcher.close(), 1)  # the 30 s sleep is cancelled
    assert await watcher.wait_beyond(100, timeout=5) == 7  # closed: waiters return at once

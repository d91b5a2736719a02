"""Knowing when new events arrive: one shared poll of the head position per process.

On SQLite the head is polled cheaply (`SELECT max(position)`, every 200 ms by
default). On PostgreSQL a `WakeupSource` (LISTEN/NOTIFY, stores/notifications.py)
wakes the poller as soon as an append commits, and polling every few seconds
stays as the fallback if notifications are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from .errors import StoreError
from .ports import EventStore

log = logging.getLogger(__name__)

#: Seconds between head reads at most while the store cannot be reached.
MAX_RETRY_INTERVAL = 5.0


class WakeupSource(Protocol):
    """Tells that events were probably appended (no payload is trusted)."""

    async def wait(self, timeout: float) -> bool:
        """Return True when woken, False after `timeout` seconds."""
        ...

    async def close(self) -> None: ...


class HeadWatcher:
    """Tracks the head position; live runners wait on it for new events."""

    def __init__(
        self,
        events: EventStore,
        *,
        poll_interval: float = 0.2,
        wakeups: WakeupSource | None = None,
        notified_poll_interval: float = 2.0,
    ) -> None:
        self._events = events
        self._poll_interval = poll_interval
        self._interval = notified_poll_interval if wakeups is not None else poll_interval
        self._wakeups = wakeups
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        #: True while the poller reads the head: `close` lets that read finish.
        self._reading = False
        self.head = 0

    async def start(self) -> None:
        self.head = await self._events.head_position()
        self._task = asyncio.create_task(self._poll(), name="eventdeck-head-watcher")

    async def _poll(self) -> None:
        failing_since: float | None = None  # the head could not be read since then
        delay = self._poll_interval
        while not self._closed:
            if failing_since is not None:  # back off while the store is unreachable
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_INTERVAL)
            elif self._wakeups is not None:
                try:
                    await self._wakeups.wait(self._interval)
                except Exception as exc:  # noqa: BLE001 - notifications failing: keep polling
                    log.warning("event notifications failed (%s); polling instead", exc)
                    with contextlib.suppress(Exception):
                        await self._wakeups.close()
                    self._wakeups = None
                    self._interval = self._poll_interval
            else:
                await asyncio.sleep(self._interval)
            self._reading = True
            try:
                head = await self._events.head_position()
            except StoreError as exc:
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning("cannot read the head position (%s); retrying with backoff", exc)
                continue
            finally:
                self._reading = False
            if failing_since is not None:
                log.info(
                    "reading the head position again after %.1f s", time.monotonic() - failing_since
                )
                failing_since, delay = None, self._poll_interval
            if head != self.head:
                self.head = head
                async with self._changed:
                    self._changed.notify_all()

    async def wait_beyond(self, position: int, timeout: float) -> int:
        """Wait until the head passes `position` (or `timeout`, or close); the head."""
        if self.head > position or self._closed:
            return self.head
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.head > position or self._closed),
                    timeout,
                )
        return self.head

    async def close(self) -> None:
        """Stop polling and wake every waiter."""
        self._closed = True
        async with self._changed:
            self._changed.notify_all()
        if self._task is not None:
            # A query cancelled halfway makes the driver throw its connection away (and
            # leaves a task closing it): a head read in flight ends, then the loop stops.
            if not self._reading:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._wakeups is not None:
            with contextlib.suppress(Exception):
                await self._wakeups.close()

"""PostgreSQL LISTEN/NOTIFY wake-ups for live runners.

Every append on PostgreSQL runs `pg_notify('eventdeck_events', <last position>)`
in its transaction, so the notification is delivered when (and only if) the
events commit. `PgEventNotifications` listens on a dedicated connection and
wakes the runner's head watcher (core/head_watcher.py), which then reads the
head itself: the payload is only a hint. If the listening connection is lost,
it listens again on a new one with backoff, the watcher polling meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .engine import profile_of

if TYPE_CHECKING:
    from core.head_watcher import WakeupSource

#: The channel appends notify on.
NOTIFY_CHANNEL = "eventdeck_events"
#: Seconds between attempts to LISTEN again, at most, while that fails.
MAX_RELISTEN_INTERVAL = 5.0

log = logging.getLogger(__name__)


class PgEventNotifications:
    """A `core.head_watcher.WakeupSource` fed by LISTEN on its own connection.

    If that connection is lost (PostgreSQL restarted, a network cut), `wait` listens
    again on a new one, at most once per backoff interval (doubling up to
    `MAX_RELISTEN_INTERVAL`); until it succeeds each `wait` only sleeps, so the head
    watcher polls meanwhile. A successful re-LISTEN counts as a wake-up: what was
    appended while nobody listened is read at once.
    """

    def __init__(self, engine: AsyncEngine, *, first_retry: float = 0.5) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._driver: Any = None
        self._woken = asyncio.Event()
        self._lost = False
        self._first_retry = first_retry
        self._retry_delay = first_retry
        self._retry_at = 0.0
        #: When the listener was lost (None while listening); logged once per outage.
        self._lost_since: float | None = None

    async def start(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        conn = await self._engine.connect()
        try:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.add_listener(NOTIFY_CHANNEL, self._on_notify)
            driver.add_termination_listener(self._on_terminated)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._conn, self._driver, self._lost = conn, driver, False

    def _on_notify(self, *_args: Any) -> None:
        self._woken.set()

    def _on_terminated(self, connection: Any, *_args: Any) -> None:
        if connection is self._driver:  # not an earlier, already dropped listener
            self._lost = True
            self._woken.set()

    async def wait(self, timeout: float) -> bool:
        if self._lost or self._conn is None:
            return await self._relisten(timeout)
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except TimeoutError:
            return False
        self._woken.clear()
        if self._lost:
            log.info("the connection listening for new events was lost; listening again")
            self._lost_since = time.monotonic()
            self._retry_delay, self._retry_at = self._first_retry, 0.0
            await self._drop()
        return True  # woken (or lost: read the head now either way)

    async def _relisten(self, timeout: float) -> bool:
        """Listen again if the backoff allows; True once listening (read the head)."""
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(min(wait, timeout))
            return False
        await self._drop()
        try:
            await asyncio.wait_for(self._listen(), max(timeout, 1.0))
        except Exception as exc:  # noqa: BLE001 - polling goes on; try again later
            if self._lost_since is None:
                self._lost_since = time.monotonic()
            log.debug("cannot LISTEN for new events yet (%s)", exc)
            self._retry_at = time.monotonic() + self._retry_delay
            self._retry_delay = min(self._retry_delay * 2, MAX_RELISTEN_INTERVAL)
            return False
        if self._lost_since is not None:
            log.info(
                "listening for new events again after %.1f s", time.monotonic() - self._lost_since
            )
        self._lost_since = None
        self._retry_delay, self._retry_at = self._first_retry, 0.0
        return True

    async def _drop(self) -> None:
        """Let the current listening connection go (never back to the pool)."""
        conn, driver, self._conn, self._driver = self._conn, self._driver, None, None
        self._woken.clear()
        if conn is None:
            return
        with contextlib.suppress(Exception):
            if not self._lost:
                await driver.remove_listener(NOTIFY_CHANNEL, self._on_notify)
        with contextlib.suppress(Exception):
            # Never hand a connection that has been LISTENing back to the pool.
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    async def close(self) -> None:
        await self._drop()


async def open_wakeups(engine: AsyncEngine) -> WakeupSource | None:
    """Notifications for live runners on PostgreSQL; None on SQLite (it polls) or if
    listening fails (the runner then polls too)."""
    if profile_of(engine).is_sqlite:
        return None
    notifications = PgEventNotifications(engine)
    try:
        await notifications.start()
    except Exception as exc:  # noqa: BLE001 - polling still works without notifications
        log.warning("cannot LISTEN for new events (%s); polling instead", exc)
        await notifications.close()
        return None
    return notifications

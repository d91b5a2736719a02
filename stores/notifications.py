"""PostgreSQL LISTEN/NOTIFY wake-ups for live runners.

Every append on PostgreSQL runs `pg_notify('eventdeck_events', <last position>)`
in its transaction, so the notification is delivered when (and only if) the
events commit. `PgEventNotifications` listens on a dedicated connection and
wakes the runner's head watcher (core/head_watcher.py), which then reads the
head itself: the payload is only a hint. If the listening connection is lost,
`wait` raises and the watcher falls back to polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import StoreError

from .engine import profile_of

if TYPE_CHECKING:
    from core.head_watcher import WakeupSource

#: The channel appends notify on.
NOTIFY_CHANNEL = "eventdeck_events"

log = logging.getLogger(__name__)


class PgEventNotifications:
    """A `core.head_watcher.WakeupSource` fed by LISTEN on its own connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._driver: Any = None
        self._woken = asyncio.Event()
        self._lost = False

    async def start(self) -> None:
        self._conn = await self._engine.connect()
        raw = await self._conn.get_raw_connection()
        self._driver = raw.driver_connection
        await self._driver.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._driver.add_termination_listener(self._on_terminated)

    def _on_notify(self, *_args: Any) -> None:
        self._woken.set()

    def _on_terminated(self, *_args: Any) -> None:
        self._lost = True
        self._woken.set()

    async def wait(self, timeout: float) -> bool:
        if self._lost:
            raise StoreError("the PostgreSQL connection listening for new events was lost")
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except TimeoutError:
            return False
        self._woken.clear()
        if self._lost:
            raise StoreError("the PostgreSQL connection listening for new events was lost")
        return True

    async def close(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(Exception):
            if not self._lost:
                await self._driver.remove_listener(NOTIFY_CHANNEL, self._on_notify)
        with contextlib.suppress(Exception):
            # Never hand a connection that has been LISTENing back to the pool.
            await self._conn.invalidate()
        with contextlib.suppress(Exception):
            await self._conn.close()
        self._conn = None


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

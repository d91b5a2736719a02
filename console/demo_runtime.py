"""The living demo behind `eventdeck demo`: traffic and workers beside the console.

`DemoRuntime` is the console's background work (see `EventdeckApp(background=...)`):
the projection workers and the fulfilment saga run live, as `eventdeck worker`
does, and demo traffic (core/domain/demo_traffic.py) sends a few commands a
second through the command bus. Both stop cleanly when the stop event is set:
the traffic after its current command, the workers after their current batch,
with their checkpoints saved and leases released.

With `prepare` (an empty store: `eventdeck demo` seeds its history), that work
runs first, while the console already shows the store filling up; the traffic
and the workers start when it is done, and not at all if it fails (the console
says why).

Nothing here may crash the console: a failure is reported through `report`
(the console shows it as a notification, at most once per `QUIET_SECONDS` for
the same source), then the part that failed pauses and carries on. Refused
commands are normal traffic and are not reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.domain.demo_traffic import DemoTraffic

from .bootstrap import System

log = logging.getLogger(__name__)

Report = Callable[[str], None]

#: Demo commands per second unless `--rate` says otherwise.
DEFAULT_RATE = 3.0
#: How long a failed part (traffic, workers) waits before it tries again.
RETRY_SECONDS = 5.0
#: The same source is reported at most once in this many seconds.
QUIET_SECONDS = 30.0


class QuietReport:
    """Passes a message on unless the same source spoke within `QUIET_SECONDS`."""

    def __init__(self, report: Report, quiet: float = QUIET_SECONDS) -> None:
        self._report = report
        self._quiet = quiet
        self._last: dict[str, float] = {}

    def __call__(self, source: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(source, -self._quiet) < self._quiet:
            return
        self._last[source] = now
        self._report(message)


@dataclass
class DemoRuntime:
    """Demo traffic and live projection workers for one console session."""

    #: Send demo commands (False: only the workers and the saga run).
    traffic: bool = True
    #: Demo commands per second, on average.
    rate: float = DEFAULT_RATE
    seed: int = 42
    #: Work to finish before the traffic and the workers start (seeding the store).
    prepare: Callable[[], Awaitable[None]] | None = None
    #: Commands sent and refused so far (for the curious, and the tests).
    sent: int = field(default=0, init=False)
    refused: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"the demo's rate must be above 0 commands/s, not {self.rate}")

    @property
    def label(self) -> str:
        """What the header says while it runs."""
        if not self.traffic:
            return "projection workers on"
        return f"demo traffic on ({self.rate:g}/s)"

    async def __call__(self, system: System, stop: asyncio.Event, report: Report) -> None:
        if self.prepare is not None:
            # not cut short by `stop`: a seed stopped part-way leaves half a history
            await self.prepare()
            if stop.is_set():
                return
        quiet = QuietReport(report)
        parts = [self._workers(system, stop, quiet)]
        if self.traffic:
            parts.append(self._traffic(system, stop, quiet))
        await asyncio.gather(*parts)

    async def _workers(self, system: System, stop: asyncio.Event, report: QuietReport) -> None:
        def on_error(name: str, error: BaseException) -> None:
            report(name, f"projection {name} failed, retrying: {error}")

        while not stop.is_set():
            try:
                await system.projections.run_live(None, stop, on_error=on_error)
            except Exception as exc:  # reported; the workers start again
                log.exception("the demo's projection workers stopped")
                report("workers", f"projection workers stopped, restarting: {exc}")
                await wait(stop, RETRY_SECONDS)

    async def _traffic(self, system: System, stop: asyncio.Event, report: QuietReport) -> None:
        traffic = DemoTraffic(system.bus, seed=self.seed)
        pace = random.Random(f"eventdeck-pace:{self.seed}")
        started = False
        while not stop.is_set():
            began = time.monotonic()
            try:
                if not started:
                    await traffic.start()
                    started = True
                outcome = await traffic.step()
            except Exception as exc:  # reported; traffic pauses, then goes on
                log.exception("demo traffic failed")
                report("traffic", f"demo traffic failed, pausing {RETRY_SECONDS:g} s: {exc}")
                await wait(stop, RETRY_SECONDS)
                continue
            if outcome.refused is None:
                self.sent += 1
            else:
                self.refused += 1
            # about `rate` moves a second, jittered so the event rate looks alive
            gap = pace.uniform(0.4, 1.6) / self.rate
            await wait(stop, max(gap - (time.monotonic() - began), 0.0))


async def wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

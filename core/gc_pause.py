"""Pausing Python's cyclic garbage collector while a batch works.

A projection batch holds thousands of short-lived objects (the events it read
and decoded, the documents it changes) for a few milliseconds. While they are
alive, every collection of the young generations walks them and promotes the
survivors, and each promotion brings the next full collection closer: one full
collection walks every object of the process. Catching up 40,000 events paid a
quarter of its time that way. Paused, the batch's objects are freed by
reference counting when it ends, and the collector never sees them; cyclic
garbage made meanwhile waits for the next collection after the batch.

Pauses nest and overlap (several runners in one process): the collector comes
back when the last one ends, and only if a pause switched it off.

A `CollectorHold` keeps the pause from one batch to the next while a processor
still has events to catch up on. Ending the pause after every batch cost a
collection each time that walked what was alive then: the next batch, read and
decoded ahead, and the documents carried over (about 4 ms a batch, 4% of an
order-summary catch-up). A hold lets the collector run once a second at most,
and ends when the processor has caught up, fails or closes.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator

#: How long a hold keeps the collector from running, at most, before letting it
#: collect the young objects once (cyclic garbage made meanwhile included).
HOLD_SECONDS = 1.0

_depth = 0
_switched_off = False


def _pause() -> None:
    global _depth, _switched_off
    if _depth == 0:
        _switched_off = gc.isenabled()
        if _switched_off:
            gc.disable()
    _depth += 1


def _resume() -> None:
    global _depth, _switched_off
    _depth -= 1
    if _depth == 0 and _switched_off:
        _switched_off = False
        gc.enable()


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """No automatic cyclic collection inside the block (reference counting goes on)."""
    _pause()
    try:
        yield
    finally:
        _resume()


class CollectorHold:
    """A pause that lasts from one `hold` to the `release`, across awaits and batches."""

    def __init__(
        self, longest: float = HOLD_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._longest = longest
        self._clock = clock
        #: When this hold last paused the collector (None: it holds no pause).
        self._since: float | None = None

    @property
    def held(self) -> bool:
        return self._since is not None

    def hold(self) -> None:
        """Pause the collector, or keep it paused; if it has been paused for longer than
        `longest`, let it collect the young generation first."""
        now = self._clock()
        if self._since is None:
            _pause()
        elif now - self._since > self._longest:
            _resume()
            if gc.isenabled():  # no other pause is on
                gc.collect(0)
            _pause()
        else:
            return
        self._since = now

    def release(self) -> None:
        """End this hold's pause (nothing if it holds none)."""
        if self._since is not None:
            self._since = None
            _resume()

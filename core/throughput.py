"""Throughput over a recent window, and the time to catch up it implies."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateMeter:
    """Positions per second over the last `window` seconds of observations."""

    def __init__(self, window: float = 10.0, now: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._now = now
        self._samples: deque[tuple[float, int]] = deque()

    def reset(self, position: int) -> None:
        """Start measuring from `position`, now."""
        self._samples.clear()
        self._samples.append((self._now(), position))

    def observe(self, position: int) -> float:
        """Record reaching `position` now; the rate over the window."""
        now = self._now()
        if not self._samples:
            self._samples.append((now, position))
            return 0.0
        self._samples.append((now, position))
        # Keep one sample at or before the window's start, so the window is full.
        while len(self._samples) > 2 and self._samples[1][0] <= now - self._window:
            self._samples.popleft()
        first_time, first_position = self._samples[0]
        elapsed = now - first_time
        return (position - first_position) / elapsed if elapsed > 0 else 0.0


def eta_seconds(behind: int, rate: float) -> float | None:
    """Seconds to process `behind` positions at `rate` (0 when caught up, None if unknown)."""
    if behind <= 0:
        return 0.0
    if rate <= 0:
        return None
    return behind / rate

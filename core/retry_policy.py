"""Bounded exponential backoff for transient store errors (busy, locked, connection lost)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from .errors import StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all, waiting `first_delay * factor**n` (at most `max_delay`)."""

    attempts: int = 8
    first_delay: float = 0.05
    factor: float = 2.0
    max_delay: float = 5.0

    def delay_after(self, failures: int) -> float:
        """The wait after `failures` failures in a row (for retrying without end)."""
        return min(self.first_delay * self.factor ** min(max(failures - 1, 0), 64), self.max_delay)

    def delays(self) -> Iterator[float]:
        """The waits between attempts (`attempts - 1` of them)."""
        delay = self.first_delay
        for _ in range(max(self.attempts - 1, 0)):
            yield min(delay, self.max_delay)
            delay *= self.factor


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later may succeed: the store was busy or unreachable."""
    return isinstance(exc, StoreError)


async def retry_transient(
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    what: str = "operation",
) -> T:
    """Run `operation`, retrying it on StoreError with backoff; the last error propagates.

    Retries are logged at info level (the first) and debug level (the later ones): a
    caller that gives up reports the error itself, in one line, and a live runner says
    once that the store cannot be used (core/projection_runner.py)."""
    delays = policy.delays()
    tries = 0
    while True:
        try:
            return await operation()
        except StoreError as exc:
            delay = next(delays, None)
            if delay is None:
                raise
            tries += 1
            if tries == 1:
                log.info(
                    "%s failed (%s); retrying with backoff, %d more tries at most",
                    what,
                    exc,
                    policy.attempts - 1,
                )
            else:
                log.debug("%s failed again (%s); retrying in %.2f s", what, exc, delay)
            await sleep(delay)

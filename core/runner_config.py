"""The knobs of projection runners, rebuilds and dead-letter retries, with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from .retry_policy import RetryPolicy


@dataclass(frozen=True)
class RunnerConfig:
    """How projection runners batch, retry, lease and wait."""

    #: Events read, applied and committed together by a projection.
    batch_size: int = 2000
    #: Events a saga reads (and commits) together at most; it also commits right after
    #: each event that sent a command, so its state and checkpoint follow each command.
    saga_batch_size: int = 100
    #: Positions one batch reads across at most, in batch sizes: bounds each read's cost
    #: whatever the database's plan for a type filter (SQLite without statistics would
    #: otherwise scan every later event of the handled types for each batch).
    read_window: int = 4
    #: Tries of a failing handler before its event becomes a dead letter.
    handler_attempts: int = 3
    #: Backoff of a batch that hit a busy, locked or unreachable store.
    transient: RetryPolicy = field(default_factory=RetryPolicy)
    #: How long a worker's lease on a projection lasts without renewal.
    lease_seconds: float = 5.0
    #: How often an idle worker renews its leases and looks for free projections.
    renew_interval: float = 1.0
    #: How often live runners poll the head (SQLite, or PostgreSQL without notifications).
    poll_interval: float = 0.2
    #: With notifications (PostgreSQL LISTEN/NOTIFY), the fallback poll interval.
    notified_poll_interval: float = 2.0
    #: The window throughput is measured over.
    rate_window: float = 10.0
    #: How long catch-up waits for a projection leased to another live worker.
    lease_wait: float = 15.0

    def batch_size_for(self, is_saga: bool) -> int:
        return self.saga_batch_size if is_saga else self.batch_size

    @property
    def window(self) -> int:
        """Positions one batch spans at most (for sagas too)."""
        return self.batch_size * self.read_window

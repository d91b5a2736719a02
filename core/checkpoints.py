"""Checkpoints: how far a projection's read model (one generation of it) has got.

A projection has one *active* checkpoint (status running, paused or stopped)
whose generation is the read model queries see; while it is rebuilt it also
has a *rebuilding* one, a new generation being filled beside the active one.
Every commit moves `position` and bumps `revision`; a writer names the
position, generation and revision it read (compare-and-set), so a worker that
lost its lease, or raced an operator's dead-letter retry, cannot overwrite.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ProjectionStatus(StrEnum):
    """What runners do with a checkpoint."""

    #: Processed by runners.
    RUNNING = "running"
    #: Skipped by runners until resumed; queries still served.
    PAUSED = "paused"
    #: A new generation being built by `rebuild` (never the one queries see).
    REBUILDING = "rebuilding"
    #: Skipped like paused (e.g. a projection no longer in the code).
    STOPPED = "stopped"


class Checkpoint(BaseModel):
    """One generation's progress through the event log, and who is processing it."""

    model_config = ConfigDict(frozen=True)

    name: str
    generation: int = 1
    #: The last position applied (0: nothing yet); the next batch starts after it.
    position: int = 0
    status: ProjectionStatus = ProjectionStatus.RUNNING
    #: Bumped by every commit; part of the compare-and-set.
    revision: int = 0
    #: `Projection.version` the read model was built with.
    projection_version: int = 1
    #: Recorded time of the last event processed (None before the first).
    last_event_at: datetime | None = None
    updated_at: datetime
    #: The worker holding the lease, if any, until `lease_expires_at`.
    owner: str | None = None
    lease_expires_at: datetime | None = None
    #: Positions per second over the owner's recent window, written at each commit.
    events_per_second: float = 0.0

    @property
    def is_rebuild(self) -> bool:
        return self.status is ProjectionStatus.REBUILDING

    @property
    def is_runnable(self) -> bool:
        """Whether runners process it (running, or a generation being rebuilt)."""
        return self.status in (ProjectionStatus.RUNNING, ProjectionStatus.REBUILDING)

    def leased_to_other(self, owner: str | None, now: datetime) -> bool:
        """Whether another worker holds a lease that has not expired at `now`."""
        return (
            self.owner is not None
            and self.owner != owner
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )

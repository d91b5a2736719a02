"""Projection status and lag (`eventdeck projections`), pause and resume.

Lag of a projection: `lag_events` is the head position minus its checkpoint;
`lag_seconds` the recorded time of the head event minus that of the last event
it processed (0 when caught up); `events_per_second` the positions per second
its worker measured over its recent window (0 when no worker has committed
lately); `eta_seconds` the time to catch up at that rate (None if unknown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from .checkpoints import Checkpoint, ProjectionStatus
from .clock import Clock
from .errors import StoredRecordError, UnknownProjection
from .events import RecordedEvent
from .operator_events import OperatorLog, ProjectionPaused, ProjectionResumed
from .ports import EventStore
from .projection_store import ProjectionStore
from .projections import Projection, Saga
from .throughput import eta_seconds

#: A worker's last measured rate counts as current for this many seconds.
RATE_FRESH_SECONDS = 30.0


class RebuildState(BaseModel):
    """A generation being rebuilt beside the active one."""

    generation: int
    position: int
    owner: str | None
    #: False when its lease expired: the rebuild died (the next one starts clean).
    alive: bool


class ProjectionState(BaseModel):
    """One row of `eventdeck projections`."""

    name: str
    kind: Literal["projection", "saga"]
    status: str
    checkpoint: int
    head: int
    lag_events: int
    lag_seconds: float
    events_per_second: float
    eta_seconds: float | None
    dead_letters: int
    generation: int
    owner: str | None = None
    lease_expires_at: datetime | None = None
    last_event_at: datetime | None = None
    updated_at: datetime | None = None
    #: The read model was built by another `version` of the projection: rebuild it.
    needs_rebuild: bool = False
    rebuild: RebuildState | None = None
    description: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        """The stable `projections --json` shape (DESIGN.md) first, then the extras."""
        data = self.model_dump(mode="json")
        stable = (
            "name",
            "status",
            "checkpoint",
            "head",
            "lag_events",
            "lag_seconds",
            "events_per_second",
            "dead_letters",
        )
        return {key: data[key] for key in stable} | {
            key: value for key, value in data.items() if key not in stable
        }


class ProjectionMonitor:
    """Reads status and lag; pauses and resumes (recorded as operator events)."""

    def __init__(
        self,
        processors: Mapping[str, Projection],
        *,
        events: EventStore,
        store: ProjectionStore,
        clock: Clock,
        operator_log: OperatorLog,
    ) -> None:
        self._processors = processors
        self._events = events
        self._store = store
        self._clock = clock
        self._log = operator_log

    async def status(self, names: Sequence[str] | None = None) -> list[ProjectionState]:
        """Every processor's state (of `names` if given), in registration order."""
        chosen = self._choose(names)
        head = await self._events.head_position()
        head_at = await self._recorded_at(head)
        by_name: dict[str, list[Checkpoint]] = {}
        for checkpoint in await self._store.checkpoints():
            by_name.setdefault(checkpoint.name, []).append(checkpoint)
        dead = await self._store.dead_letter_counts()
        now = self._clock.now()
        states = []
        for name in chosen:
            processor = self._processors[name]
            rows = by_name.get(name, [])
            active = next((c for c in rows if not c.is_rebuild), None)
            shadow = next((c for c in rows if c.is_rebuild), None)
            states.append(
                await self._state(processor, active, shadow, head, head_at, dead.get(name, 0), now)
            )
        return states

    async def _state(
        self,
        processor: Projection,
        active: Checkpoint | None,
        shadow: Checkpoint | None,
        head: int,
        head_at: datetime | None,
        dead_letters: int,
        now: datetime,
    ) -> ProjectionState:
        position = active.position if active else 0
        behind = max(head - position, 0)
        seconds = 0.0
        if behind and head_at is not None:
            since = active.last_event_at if active else None
            if since is None:
                since = await self._recorded_at(1)
            if since is not None:
                seconds = max((head_at - since).total_seconds(), 0.0)
        rate = 0.0
        if active is not None and (now - active.updated_at).total_seconds() <= RATE_FRESH_SECONDS:
            rate = round(active.events_per_second, 1)
        rebuild = None
        status = active.status.value if active else ProjectionStatus.RUNNING.value
        if shadow is not None:
            alive = shadow.lease_expires_at is not None and shadow.lease_expires_at > now
            rebuild = RebuildState(
                generation=shadow.generation,
                position=shadow.position,
                owner=shadow.owner,
                alive=alive,
            )
            if alive:
                status = ProjectionStatus.REBUILDING.value
        return ProjectionState(
            name=processor.name,
            kind="saga" if isinstance(processor, Saga) else "projection",
            status=status,
            checkpoint=position,
            head=head,
            lag_events=behind,
            lag_seconds=round(seconds, 3),
            events_per_second=rate,
            eta_seconds=eta_seconds(behind, rate),
            dead_letters=dead_letters,
            generation=active.generation if active else 1,
            owner=active.owner if active else None,
            lease_expires_at=active.lease_expires_at if active else None,
            last_event_at=active.last_event_at if active else None,
            updated_at=active.updated_at if active else None,
            needs_rebuild=active is not None and active.projection_version != processor.version,
            rebuild=rebuild,
            description=processor.description,
        )

    async def pause(self, name: str, *, user: str) -> Checkpoint:
        """Stop runners processing `name` (after their current batch); queries still work."""
        return await self._set(name, ProjectionStatus.PAUSED, user)

    async def resume(self, name: str, *, user: str) -> Checkpoint:
        """Let runners process `name` again."""
        return await self._set(name, ProjectionStatus.RUNNING, user)

    async def _set(self, name: str, status: ProjectionStatus, user: str) -> Checkpoint:
        processor = self._processors.get(name)
        if processor is None:
            raise UnknownProjection(name, list(self._processors))
        await self._store.ensure_checkpoints({name: processor.version}, self._clock.now())
        event = (
            ProjectionPaused(projection=name)
            if status is ProjectionStatus.PAUSED
            else ProjectionResumed(projection=name)
        )
        # The status and the operator event recording it commit together.
        audit = self._log.prepare(name, event, user=user)
        return await self._store.set_status(name, status, self._clock.now(), audit=audit)

    def _choose(self, names: Sequence[str] | None) -> list[str]:
        if not names:
            return list(self._processors)
        for name in names:
            if name not in self._processors:
                raise UnknownProjection(name, list(self._processors))
        return list(dict.fromkeys(names))

    async def _recorded_at(self, position: int) -> datetime | None:
        if position < 1:
            return None
        """The recorded time of the first event at or after `position`."""
        record: RecordedEvent | None = None
        try:
            async for record in self._events.read_all(from_position=position, page_size=1):
                break
        except StoredRecordError:
            return None
        return record.recorded_at if record is not None else None

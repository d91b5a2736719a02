"""Loads aggregates (from the newest usable snapshot, then the events after it) and saves them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from pydantic import ValidationError

from .aggregate import Aggregate
from .clock import Clock, IdFactory
from .errors import InvalidInput, StreamNotFound
from .events import Metadata, RecordedEvent
from .operator_streams import is_operator_stream, reserved_stream_refusal
from .ports import EventStore, SnapshotStore
from .registry import EventRegistry
from .snapshots import Snapshot, SnapshotPolicy

A = TypeVar("A", bound=Aggregate)
log = logging.getLogger(__name__)


class Repository:
    """The one way aggregates are read from and written to the store."""

    def __init__(
        self,
        store: EventStore,
        registry: EventRegistry,
        aggregates: Mapping[str, type[Aggregate]],
        clock: Clock,
        ids: IdFactory,
        snapshots: SnapshotStore | None = None,
        policy: SnapshotPolicy | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.aggregates = dict(aggregates)
        self.clock = clock
        self.ids = ids
        self.snapshots = snapshots
        self.policy = policy or SnapshotPolicy()

    def aggregate_class(self, stream_type: str) -> type[Aggregate]:
        try:
            return self.aggregates[stream_type]
        except KeyError:
            raise InvalidInput(f"unknown stream type {stream_type!r}") from None

    async def load(
        self,
        cls: type[A],
        stream_id: str,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> A:
        """Load `stream_id` as `cls`, optionally as it was at a version or a time."""
        if version is None and at is None:
            return await self._load_latest(cls, stream_id)
        info = await self.store.stream_info(stream_id)
        if info is None:
            raise StreamNotFound(stream_id)
        if info.stream_type != cls.stream_type:
            raise InvalidInput(
                f"stream {stream_id!r} is an {info.stream_type}, not an {cls.stream_type}"
            )
        aggregate = await self._load(cls, stream_id, info.version, version=version, at=at)
        return aggregate

    async def _load_latest(self, cls: type[A], stream_id: str) -> A:
        """The current state in two reads: the newest snapshot, then the events after it."""
        snapshot = await self._usable_snapshot(cls, stream_id, None)
        start = snapshot.version if snapshot is not None else 0
        payloads = await self.store.read_payloads(stream_id, from_version=start + 1)
        stream_type = payloads[0].stream_type if payloads else None
        if snapshot is not None:
            stream_type = snapshot.stream_type
        if stream_type is None:
            raise StreamNotFound(stream_id)
        if stream_type != cls.stream_type:
            raise InvalidInput(
                f"stream {stream_id!r} is an {stream_type}, not an {cls.stream_type}"
            )
        if snapshot is not None:
            aggregate = cls.from_snapshot(stream_id, snapshot.version, snapshot.state, self.clock)
        else:
            aggregate = cls(stream_id, self.clock)
        aggregate.replay(payloads, self.registry.decode_payload)
        return aggregate  # type: ignore[return-value]

    async def load_any(
        self, stream_id: str, *, version: int | None = None, at: datetime | None = None
    ) -> Aggregate:
        """Load a stream whatever its type."""
        info = await self.store.stream_info(stream_id)
        if info is None:
            raise StreamNotFound(stream_id)
        cls = self.aggregate_class(info.stream_type)
        return await self._load(cls, stream_id, info.version, version=version, at=at)

    async def _load(
        self,
        cls: type[A],
        stream_id: str,
        current: int,
        *,
        version: int | None,
        at: datetime | None,
    ) -> A:
        target = current
        if version is not None:
            if version < 1 or version > current:
                raise InvalidInput(
                    f"stream {stream_id!r} has versions 1 to {current}; version {version} does not exist"
                )
            target = version
        if at is not None:
            target = min(target, await self.store.stream_version_at(stream_id, at))
            if target == 0:
                raise InvalidInput(f"stream {stream_id!r} did not exist yet at {at.isoformat()}")
        aggregate: A | None = None
        snapshot = await self._usable_snapshot(cls, stream_id, target)
        if snapshot is not None:
            aggregate = cls.from_snapshot(stream_id, snapshot.version, snapshot.state, self.clock)  # type: ignore[assignment]
        if aggregate is None:
            aggregate = cls(stream_id, self.clock)
        if aggregate.version < target:
            payloads = await self.store.read_payloads(
                stream_id, from_version=aggregate.version + 1, to_version=target
            )
            aggregate.replay(payloads, self.registry.decode_payload)
        return aggregate

    async def _usable_snapshot(
        self, cls: type[Aggregate], stream_id: str, target: int | None
    ) -> Snapshot | None:
        if self.snapshots is None:
            return None
        snapshot = await self.snapshots.latest(stream_id, at_or_below=target)
        if snapshot is None or snapshot.state_schema != cls.state_schema:
            return None  # a stale snapshot is ignored, never trusted
        try:
            cls.state_class.model_validate(snapshot.state)
        except ValidationError:
            log.warning("ignoring unreadable snapshot of %s at v%s", stream_id, snapshot.version)
            return None
        return snapshot

    async def exists(self, stream_id: str) -> bool:
        return await self.store.stream_info(stream_id) is not None

    async def save(self, aggregate: Aggregate, metadata: Metadata) -> list[RecordedEvent]:
        """Append the aggregate's pending events with its loaded version as expected version."""
        pending = aggregate.pending
        if not pending:
            return []
        if is_operator_stream(aggregate.id, aggregate.stream_type):
            # The operator audit trail is written only by eventdeck's own operator log.
            raise InvalidInput(reserved_stream_refusal(aggregate.id))
        expected = aggregate.base_version
        new_events = [
            self.registry.encode(
                event, event_id=self.ids.new_id(), recorded_at=at, metadata=metadata
            )
            for event, at in pending
        ]
        recorded = await self.store.append(
            aggregate.id, aggregate.stream_type, new_events, expected
        )
        aggregate.mark_saved()
        if self.snapshots is not None and self.policy.due(expected, aggregate.version):
            await self.take_snapshot(aggregate)
        return recorded

    async def take_snapshot(self, aggregate: Aggregate) -> None:
        """Store the aggregate's current state as a snapshot (best effort)."""
        if self.snapshots is None:
            return
        await self.snapshots.save(
            Snapshot(
                stream_id=aggregate.id,
                stream_type=aggregate.stream_type,
                version=aggregate.version,
                state=aggregate.snapshot_state(),
                state_schema=aggregate.state_schema,
                taken_at=self.clock.now(),
            )
        )

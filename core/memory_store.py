"""In-memory event and snapshot stores: the reference implementation of the ports,
used by fast unit tests. Not durable; one process only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from .errors import ConcurrencyError
from .events import NewEvent, RecordedEvent, StoredPayload
from .ports import StreamInfo
from .snapshots import Snapshot


class InMemoryEventStore:
    """Events in a list; the same semantics as the SQL store."""

    def __init__(self) -> None:
        self._events: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._lock = asyncio.Lock()

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[NewEvent],
        expected_version: int,
    ) -> list[RecordedEvent]:
        async with self._lock:
            return self.append_now(stream_id, stream_type, events, expected_version)

    def read_stream_now(self, stream_id: str) -> list[RecordedEvent]:
        """A stream's events, without waiting (see `append_now`)."""
        return list(self._streams.get(stream_id, []))

    def append_now(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[NewEvent],
        expected_version: int | None = None,
    ) -> list[RecordedEvent]:
        """`append` without waiting (None: at the stream's next version), so another
        in-memory store can append within its own all-or-nothing step."""
        stream = self._streams.get(stream_id, [])
        if expected_version is None:
            expected_version = len(stream)
        if len(stream) != expected_version:
            raise ConcurrencyError(stream_id, expected_version, len(stream))
        if stream and stream[0].stream_type != stream_type:
            raise ConcurrencyError(stream_id, expected_version, len(stream))
        recorded = [
            RecordedEvent(
                position=len(self._events) + i + 1,
                event_id=event.event_id,
                stream_id=stream_id,
                stream_type=stream_type,
                version=expected_version + i + 1,
                type=event.type,
                schema_version=event.schema_version,
                data=event.data,
                metadata=event.metadata,
                recorded_at=event.recorded_at,
            )
            for i, event in enumerate(events)
        ]
        self._events.extend(recorded)
        self._streams[stream_id] = stream + recorded
        return recorded

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[RecordedEvent]:
        return [
            e
            for e in self._streams.get(stream_id, [])
            if e.version >= from_version
            and (to_version is None or e.version <= to_version)
            and (until is None or e.recorded_at <= until)
        ]

    async def read_payloads(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None
    ) -> list[StoredPayload]:
        return [
            StoredPayload(
                e.position,
                e.stream_id,
                e.stream_type,
                e.version,
                e.type,
                e.schema_version,
                json.dumps(e.data),
                e.recorded_at,
            )
            for e in await self.read_stream(
                stream_id, from_version=from_version, to_version=to_version
            )
        ]

    async def read_correlated(
        self, correlation_id: str, *, limit: int = 10_000
    ) -> list[RecordedEvent]:
        found = [e for e in self._events if e.metadata.correlation_id == correlation_id]
        return found[:limit]

    async def read_event(self, event_id: str) -> RecordedEvent | None:
        return next((e for e in self._events if e.event_id == event_id), None)

    async def read_all(
        self,
        *,
        from_position: int = 1,
        to_position: int | None = None,
        types: Sequence[str] | None = None,
        stream_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[RecordedEvent]:
        for event in list(self._events[max(from_position - 1, 0) :]):
            if to_position is not None and event.position > to_position:
                break
            if types and event.type not in types:
                continue
            if stream_id is not None and event.stream_id != stream_id:
                continue
            if since is not None and event.recorded_at < since:
                continue
            if until is not None and event.recorded_at > until:
                continue
            yield event

    async def count_streams_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for events in self._streams.values():
            counts[events[0].stream_type] = counts.get(events[0].stream_type, 0) + 1
        return dict(sorted(counts.items()))

    async def count_events(
        self,
        types: Sequence[str],
        *,
        user_id: str | None = None,
        from_position: int = 1,
        to_position: int | None = None,
    ) -> dict[str, int]:
        counts = dict.fromkeys(types, 0)
        last = len(self._events) if to_position is None else to_position
        for event in self._events[max(from_position - 1, 0) : max(last, 0)]:
            if event.type in counts and (user_id is None or event.metadata.user_id == user_id):
                counts[event.type] += 1
        return counts

    async def head_position(self) -> int:
        return len(self._events)

    async def stream_info(self, stream_id: str) -> StreamInfo | None:
        stream = self._streams.get(stream_id)
        return _info(stream) if stream else None

    async def stream_version_at(self, stream_id: str, at: datetime) -> int:
        return sum(1 for e in self._streams.get(stream_id, []) if e.recorded_at <= at)

    async def list_streams(
        self,
        *,
        stream_type: str | None = None,
        prefix: str | None = None,
        as_of: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StreamInfo]:
        infos = []
        for sid in sorted(self._streams):
            events = self._streams[sid]
            if as_of is not None:
                events = [e for e in events if e.recorded_at <= as_of]
            if not events:
                continue
            if stream_type is not None and events[0].stream_type != stream_type:
                continue
            if prefix is not None and not sid.startswith(prefix):
                continue
            infos.append(_info(events))
        end = None if limit is None else offset + limit
        return infos[offset:end]

    async def close(self) -> None:
        return None


def _info(events: list[RecordedEvent]) -> StreamInfo:
    return StreamInfo(
        stream_id=events[0].stream_id,
        stream_type=events[0].stream_type,
        version=events[-1].version,
        created_at=events[0].recorded_at,
        updated_at=events[-1].recorded_at,
    )


class InMemorySnapshotStore:
    """Snapshots in a dict of lists."""

    def __init__(self) -> None:
        self._snapshots: dict[str, dict[int, Snapshot]] = {}

    async def save(self, snapshot: Snapshot) -> None:
        self._snapshots.setdefault(snapshot.stream_id, {})[snapshot.version] = snapshot

    async def latest(self, stream_id: str, *, at_or_below: int | None = None) -> Snapshot | None:
        by_version = self._snapshots.get(stream_id, {})
        versions = [v for v in by_version if at_or_below is None or v <= at_or_below]
        return by_version[max(versions)] if versions else None

    async def versions(self, stream_id: str) -> list[int]:
        return sorted(self._snapshots.get(stream_id, {}))

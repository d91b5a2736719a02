"""Time travel: a stream's state at a version or a time, what each event changed,
and the streams as they were at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import StreamNotFound
from .ports import StreamInfo
from .repository import Repository


class StateView(BaseModel):
    """A stream's state as of a version (`state --json`)."""

    model_config = ConfigDict(frozen=True)

    stream_id: str
    stream_type: str
    version: int
    as_of: datetime
    state: dict[str, Any]


class HistoryEntry(BaseModel):
    """One event of a stream and the fields it changed (`history --json`)."""

    model_config = ConfigDict(frozen=True)

    version: int
    type: str
    recorded_at: datetime
    user_id: str | None
    changes: dict[str, dict[str, Any]]


def diff_states(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field -> {"from", "to"} for every top-level field whose value changed."""
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }


class TimeTravel:
    """Reads streams as they were."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.store = repository.store

    async def state(
        self, stream_id: str, *, version: int | None = None, at: datetime | None = None
    ) -> StateView:
        """The state at `version`, at time `at`, or now."""
        aggregate = await self.repository.load_any(stream_id, version=version, at=at)
        records = await self.store.read_stream(
            stream_id, from_version=aggregate.version, to_version=aggregate.version
        )
        return StateView(
            stream_id=stream_id,
            stream_type=aggregate.stream_type,
            version=aggregate.version,
            as_of=records[0].recorded_at if records else self.repository.clock.now(),
            state=aggregate.state_dict(),
        )

    async def history(
        self,
        stream_id: str,
        *,
        from_version: int | None = None,
        to_version: int | None = None,
    ) -> list[HistoryEntry]:
        """The stream's events from `from_version` to `to_version` (all by default),
        oldest first, each with the fields it changed.

        A window starts from the state just before it (from the newest usable
        snapshot), so a window of a long stream reads only its own events.
        """
        info = await self.store.stream_info(stream_id)
        if info is None:
            raise StreamNotFound(stream_id)
        first = max(from_version or 1, 1)
        last = min(to_version or info.version, info.version)
        if first > last:
            return []
        if first > 1:
            aggregate = await self.repository.load_any(stream_id, version=first - 1)
        else:
            aggregate = self.repository.aggregate_class(info.stream_type)(
                stream_id, self.repository.clock
            )
        before = aggregate.state_dict()
        entries: list[HistoryEntry] = []
        records = await self.store.read_stream(stream_id, from_version=first, to_version=last)
        for record in records:
            aggregate.apply(self.repository.registry.decode(record), record.recorded_at)
            after = aggregate.state_dict()
            entries.append(
                HistoryEntry(
                    version=record.version,
                    type=record.type,
                    recorded_at=record.recorded_at,
                    user_id=record.metadata.user_id,
                    changes=diff_states(before, after),
                )
            )
            before = after
        return entries

    async def streams_as_of(
        self, at: datetime, *, stream_type: str | None = None, prefix: str | None = None
    ) -> list[StreamInfo]:
        """The streams that existed at `at`, with their version then."""
        return await self.store.list_streams(stream_type=stream_type, prefix=prefix, as_of=at)

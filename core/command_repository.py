"""The command path's repository: recently saved aggregates kept in memory.

A command loads its aggregate, decides and saves with the loaded version as
expected version. The bus's repository keeps each aggregate it saved (its
state and version), so the next command for that stream starts from memory
instead of reading the store. The state is handed to the handler, not
copied (the bus runs one command per stream at a time), and comes back when
the command is saved; a refused or failed command drops it. This is safe because the append's
expected-version check validates every decision: if another process (or a
direct append) moved the stream, the append fails with ConcurrencyError, the
entry is dropped and the bus retries from the store. A command refused by a
domain rule on a cached state is also run once more from the store (see
`CommandBus`), so a stale cache can never refuse what the store would allow.

Only the bus uses this; time travel and every reader load from the store.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar

from .aggregate import Aggregate
from .errors import InvalidInput
from .events import Metadata, RecordedEvent
from .repository import Repository

A = TypeVar("A", bound=Aggregate)
#: Aggregates kept; the least recently used go first.
DEFAULT_SIZE = 10_000
#: The streams the running handler got from memory (see `CachedRepository.tracking`).
_served: ContextVar[list[str] | None] = ContextVar("eventdeck_served_from_memory", default=None)


class CachedRepository(Repository):
    """A `Repository` whose plain loads start from the aggregates it saved."""

    def __init__(self, base: Repository, size: int = DEFAULT_SIZE) -> None:
        super().__init__(
            base.store,
            base.registry,
            base.aggregates,
            base.clock,
            base.ids,
            snapshots=base.snapshots,
            policy=base.policy,
        )
        self.size = size
        #: stream id -> (stream type, version, state) as last saved by this bus
        self._kept: OrderedDict[str, tuple[str, int, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def load(
        self,
        cls: type[A],
        stream_id: str,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> A:
        # handed over, not copied: the bus runs one command per stream at a time, and
        # the state comes back with `save` (a refusal or a failure drops it)
        kept = self._kept.pop(stream_id, None) if version is None and at is None else None
        if kept is None:
            self.misses += 1
            return await super().load(cls, stream_id, version=version, at=at)
        stream_type, kept_version, state = kept
        if stream_type != cls.stream_type:
            raise InvalidInput(
                f"stream {stream_id!r} is an {stream_type}, not an {cls.stream_type}"
            )
        self.hits += 1
        served = _served.get()
        if served is not None:
            served.append(stream_id)
        aggregate = cls(stream_id, self.clock)
        aggregate.state = state
        aggregate.version = kept_version
        return aggregate

    async def exists(self, stream_id: str) -> bool:
        # streams are never deleted: one this bus saved still exists
        return stream_id in self._kept or await super().exists(stream_id)

    async def save(self, aggregate: Aggregate, metadata: Metadata) -> list[RecordedEvent]:
        try:
            recorded = await super().save(aggregate, metadata)
        except BaseException:
            # a conflict (or any failure) means the kept state may be behind the store
            self.forget(aggregate.id)
            raise
        if aggregate.version > 0:
            # the bus drops the aggregate after saving: keeping its state needs no copy
            self._keep(aggregate)
        return recorded

    @contextlib.contextmanager
    def tracking(self) -> Iterator[list[str]]:
        """The streams loaded from memory inside the block (in this task)."""
        served: list[str] = []
        token = _served.set(served)
        try:
            yield served
        finally:
            _served.reset(token)

    def forget(self, stream_id: str) -> bool:
        """Drop `stream_id`'s kept state; True if there was one."""
        return self._kept.pop(stream_id, None) is not None

    def _keep(self, aggregate: Aggregate) -> None:
        self._kept[aggregate.id] = (aggregate.stream_type, aggregate.version, aggregate.state)
        self._kept.move_to_end(aggregate.id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

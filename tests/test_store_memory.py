"""The store contract on the in-memory reference stores."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.memory_store import InMemoryEventStore, InMemorySnapshotStore
from core.ports import EventStore, SnapshotStore
from tests.store_contract import EventStoreContract


class TestMemoryStore(EventStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[tuple[EventStore, SnapshotStore]]:
        yield InMemoryEventStore(), InMemorySnapshotStore()

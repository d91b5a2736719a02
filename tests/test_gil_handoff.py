"""The GIL's switch interval is lowered while projection batches work, and comes back."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import ClassVar

import pytest

from core.events import DomainEvent, RecordedEvent
from core.gil_handoff import HANDOFF_SECONDS, prompt_gil_handoff
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projections import View
from tests.projection_fixtures import CounterProjection, make_engine, write_round_robin


def test_handoffs_nest_and_restore_the_interval() -> None:
    before = sys.getswitchinterval()
    with prompt_gil_handoff():
        assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS)
        with prompt_gil_handoff():
            assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS)
        assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS)
    assert sys.getswitchinterval() == pytest.approx(before)


def test_a_shorter_interval_set_by_someone_else_is_kept() -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(HANDOFF_SECONDS / 2)
    try:
        with prompt_gil_handoff():
            assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS / 2)
        assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS / 2)
    finally:
        sys.setswitchinterval(before)


class Watching(CounterProjection):
    """Notes the switch interval each event is applied under; the fifth event fails."""

    name: ClassVar[str] = "counter"
    seen: ClassVar[list[float]] = []

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return (record.stream_id, "_totals")

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        self.seen.append(sys.getswitchinterval())
        if record.position == 5:
            raise RuntimeError("a poison event")
        await super().apply(event, record, view)


async def test_batches_work_under_the_short_interval_and_leave_the_default() -> None:
    before = sys.getswitchinterval()
    assert before > HANDOFF_SECONDS
    events = InMemoryEventStore()
    await write_round_robin(events, 20)
    Watching.seen.clear()
    summary = (await make_engine([Watching()], events, InMemoryProjectionStore()).catch_up())[0]
    assert summary.status == "caught-up" and summary.dead_letters == 1
    assert Watching.seen and all(s == pytest.approx(HANDOFF_SECONDS) for s in Watching.seen)
    assert sys.getswitchinterval() == pytest.approx(before)

"""Part of the projection store contract: finding dead letters by stream and text,
and counting what a bulk action would touch (`dead_letter_tally`).

Mixed into `ProjectionStoreContract` (tests/projection_store_contract.py), which
provides the `ps` fixture and `commit`.
"""

from __future__ import annotations

from typing import Any

from core.dead_letters import (
    DeadLetterStatus,
    DeadLetterTally,
    DeadLetterUpdate,
    NewDeadLetter,
    ParkedEvent,
)
from core.projection_store import ProjectionStore
from tests.projection_fixtures import T0


def dead_letter(position: int, stream: str) -> NewDeadLetter:
    return NewDeadLetter(
        position=position,
        event_id=f"e{position}",
        stream_id=stream,
        event_type="Counted",
        error="ProjectionError: boom",
        traceback="Traceback (most recent call last):\n  ...\nProjectionError: boom\n",
        attempts=3,
        failed_at=T0,
    )


def parked_event(position: int, stream: str) -> ParkedEvent:
    return ParkedEvent(
        position=position,
        event_id=f"e{position}",
        stream_id=stream,
        event_type="Counted",
        parked_at=T0,
    )


class DeadLetterSearchContract:
    """Dead-letter search and tally; every ProjectionStore must pass it."""

    async def commit(self, ps: ProjectionStore, name: str = "p", **changes: Any) -> Any:
        raise NotImplementedError  # ProjectionStoreContract's

    async def test_dead_letters_by_stream_prefix_and_text_and_their_tally(
        self, ps: ProjectionStore
    ) -> None:
        await ps.ensure_checkpoints({"p": 1, "q": 1}, T0)
        odd = dead_letter(7, "ord_x").model_copy(
            update={"event_type": "OrderShipped", "error": "KeyError: 'Total%'"}
        )
        await self.commit(
            ps,
            new_dead_letters=[dead_letter(3, "ORD-1"), dead_letter(5, "acc-1"), odd],
            parked=[parked_event(4, "ORD-1"), parked_event(6, "ORD-1"), parked_event(8, "ord_x")],
        )
        await self.commit(ps, "q", new_dead_letters=[dead_letter(3, "ord-1")])

        def found(letters: list[Any]) -> list[tuple[str, int]]:
            return [(d.projection, d.position) for d in letters]

        # a case-insensitive prefix; `_` and `%` are taken literally
        assert found(await ps.dead_letters(stream="ord-")) == [("p", 3), ("q", 3)]
        assert found(await ps.dead_letters(stream="ord_")) == [("p", 7)]
        assert found(await ps.dead_letters(stream="o%")) == []
        # text: in the stream id, the event type or the error
        assert found(await ps.dead_letters(text="shipped")) == [("p", 7)]
        assert found(await ps.dead_letters(text="total%")) == [("p", 7)]
        assert found(await ps.dead_letters(text="ACC-")) == [("p", 5)]
        assert found(await ps.dead_letters(text="boom", projection="q")) == [("q", 3)]
        assert await ps.dead_letters(text="nowhere") == []

        assert await ps.dead_letter_tally() == DeadLetterTally(entries=4, streams=4, parked=3)
        assert await ps.dead_letter_tally(projection="p") == DeadLetterTally(
            entries=3, streams=3, parked=3
        )
        assert await ps.dead_letter_tally(stream="ord") == DeadLetterTally(
            entries=3, streams=3, parked=3
        )
        assert await ps.dead_letter_tally(status=DeadLetterStatus.SKIPPED) == DeadLetterTally()
        # a resolved letter has nothing parked behind it any more
        [first] = await ps.dead_letters(projection="p", stream="ORD-1")
        retried = DeadLetterUpdate(
            id=first.id, status=DeadLetterStatus.RETRIED, attempts=3, last_failed_at=T0
        )
        await self.commit(ps, dead_letter_updates=[retried], unparked=[4, 6])
        assert await ps.dead_letter_tally(projection="p") == DeadLetterTally(
            entries=3, streams=3, parked=1
        )
        assert await ps.dead_letter_tally(
            projection="p", status=DeadLetterStatus.OPEN, text="order"
        ) == DeadLetterTally(entries=1, streams=1, parked=1)
        # the stream fails again later: two letters of one stream count as one stream
        await self.commit(ps, new_dead_letters=[dead_letter(12, "ORD-1")])
        assert await ps.dead_letter_tally(projection="p") == DeadLetterTally(
            entries=4, streams=3, parked=1
        )

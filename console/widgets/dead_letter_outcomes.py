"""The words of the dead-letter screen's writes: the questions asked before a skip or
a bulk action, and what a retry or skip did, in one line each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from core.dead_letter_desk import ResolveOutcome
from core.dead_letters import DeadLetter, DeadLetterTally


def plural(count: int, word: str, many: str = "") -> str:
    """`1 event`, `2 events` (`many`: the plural when it is not `word` + s)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def skip_question(dead: DeadLetter) -> str:
    """The body of the confirmation before skipping one dead letter."""
    return (
        f"{dead.projection} will never apply {dead.event_type} at position {dead.position} "
        f"of {dead.stream_id}: its read model goes on without it.\n"
        f"{plural(dead.parked, 'event')} parked behind it will be applied.\n"
        "The skip is recorded in the event log with your name."
    )


def bulk_prompt(
    action: Literal["retry", "skip"], projection: str, tally: DeadLetterTally
) -> tuple[str, str, str]:
    """(title, hint, placeholder) of the prompt before a bulk retry or skip."""
    verb = action.capitalize()
    what = (
        "Each event is run again with the current code; one that fails again stays."
        if action == "retry"
        else "Each event is given up for this projection's read model, for good."
    )
    hint = (
        f"{plural(tally.entries, 'entry', 'entries')} over "
        f"{plural(tally.streams, 'stream')} in projection {projection};\n"
        f"{plural(tally.parked, 'event')} parked behind them.\n{what}\n"
        f"Type the projection name ({projection}) to confirm; Esc cancels."
    )
    return f"{verb} every open dead letter of {projection}?", hint, "projection name"


def describe_outcomes(outcomes: Sequence[ResolveOutcome], bulk: str | None) -> tuple[str, bool]:
    """What a retry or skip (or a bulk one, of projection `bulk`) did, and whether
    anything failed: a dead event failing again, or a released parked event failing."""
    failed = any(not o.succeeded or o.error for o in outcomes)
    if bulk is not None:
        return _bulk(outcomes, bulk), failed
    [outcome] = outcomes
    ident = f"Dead letter {outcome.dead_letter_id}"
    if not outcome.succeeded:
        return f"{ident} failed again: {outcome.error}. It stays open.", True
    verb = "retried: applied" if outcome.action == "retry" else "skipped"
    text = f"{ident} {verb}; {plural(outcome.released, 'parked event')} released."
    if outcome.error:
        text += f" A released event failed and is now the stream's dead letter: {outcome.error}"
        if outcome.still_parked:
            text += f" ({plural(outcome.still_parked, 'event')} still parked behind it)"
    return text, failed


def _bulk(outcomes: Sequence[ResolveOutcome], projection: str) -> str:
    if not outcomes:
        return f"No open dead letters left in {projection}; nothing was done."
    verb = "Retried" if outcomes[0].action == "retry" else "Skipped"
    done = sum(o.succeeded for o in outcomes)
    released = sum(o.released for o in outcomes)
    text = f"{verb} {plural(len(outcomes), 'dead letter')} of {projection}: {done:,} resolved"
    again = [o for o in outcomes if not o.succeeded]
    if again:
        text += f", {len(again):,} failed again"
    text += f"; {plural(released, 'parked event')} released."
    if again:
        text += f" First failure (dead letter {again[0].dead_letter_id}): {again[0].error}"
    new = [o for o in outcomes if o.succeeded and o.error]
    if new:
        text += (
            f" {plural(len(new), 'released event')} failed and became new dead letters; "
            f"first: {new[0].error}"
        )
    return text

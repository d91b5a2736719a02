"""The doctor's rules for projections, dead letters and locks (see core/doctor.py).

A projection is *stuck* when it lags and nothing moves it: paused or stopped,
or running with no live lease and no progress for `stall_seconds` (no worker,
or its worker died), or leased to a worker that has made no progress for that
long. Other findings: a checkpoint beyond the head, a read model built by
another version of its projection, an abandoned rebuild, open dead letters,
and a PostgreSQL session holding the append lock for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .checkpoints import Checkpoint, ProjectionStatus
from .doctor_facts import DeadLetterFacts, Finding, LockHolder, Severity
from .projections import Projection, Saga

#: A lock held longer than this (seconds) blocks every append noticeably.
LOCK_WARNING_SECONDS = 30.0


def projection_findings(
    processors: Sequence[Projection],
    checkpoints: Sequence[Checkpoint],
    *,
    head: int,
    now: datetime,
    stall_seconds: float,
) -> list[Finding]:
    """What is wrong with each projection and saga (and checkpoints nobody knows)."""
    by_name: dict[str, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_name.setdefault(checkpoint.name, []).append(checkpoint)
    found: list[Finding] = []
    for processor in processors:
        rows = by_name.pop(processor.name, [])
        active = next((c for c in rows if not c.is_rebuild), None)
        found += _active(processor, active, head, now, stall_seconds)
        for shadow in (c for c in rows if c.is_rebuild):
            found += _rebuild(processor.name, shadow, head, now)
    for name in sorted(by_name):
        found.append(
            Finding(
                check="projections",
                severity="info",
                what=f"checkpoints of {name}, which this eventdeck does not know (an old "
                "projection, or another application's); nothing runs it",
                subject=name,
            )
        )
    return found


def _active(
    processor: Projection,
    checkpoint: Checkpoint | None,
    head: int,
    now: datetime,
    stall_seconds: float,
) -> list[Finding]:
    name = processor.name
    position = checkpoint.position if checkpoint else 0
    lag = max(head - position, 0)

    def finding(severity: Severity, what: str, fix: str = "") -> Finding:
        return Finding(check="projections", severity=severity, what=what, fix=fix, subject=name)

    if checkpoint is None:
        if not head:
            return []
        return [
            finding(
                "warning",
                f"{name} has never run: its read model is empty, {lag} event(s) behind",
                f"eventdeck catch-up {name} (or keep eventdeck worker running)",
            )
        ]
    found = []
    if position > head:
        found.append(
            finding(
                "error",
                f"{name}'s checkpoint {position} is beyond the head {head}: events were removed "
                "or the store was restored from an older copy",
                f"eventdeck rebuild {name}" if not isinstance(processor, Saga) else "",
            )
        )
    if checkpoint.projection_version != processor.version and not isinstance(processor, Saga):
        found.append(
            finding(
                "warning",
                f"{name}'s read model was built by version {checkpoint.projection_version} of "
                f"the projection; this eventdeck has version {processor.version}",
                f"eventdeck rebuild {name}",
            )
        )
    status = checkpoint.status
    if status in (ProjectionStatus.PAUSED, ProjectionStatus.STOPPED):
        if lag:
            found.append(
                finding(
                    "warning",
                    f"{name} is {status.value}, {lag} event(s) behind",
                    f"eventdeck resume {name}",
                )
            )
        else:
            found.append(finding("info", f"{name} is {status.value} (caught up)"))
        return found
    leased = checkpoint.lease_expires_at is not None and checkpoint.lease_expires_at > now
    idle = (now - checkpoint.updated_at).total_seconds()
    if lag and idle >= stall_seconds:
        since = f"no progress for {_duration(idle)}"
        if leased:
            found.append(
                finding(
                    "warning",
                    f"{name} is stuck {lag} event(s) behind: worker {checkpoint.owner} holds its "
                    f"lease but has made {since}",
                    f"look at worker {checkpoint.owner}; if it hangs, stop it: another "
                    "eventdeck worker takes over when its lease expires",
                )
            )
        else:
            gone = (
                f"its last worker {checkpoint.owner} stopped renewing its lease"
                if checkpoint.owner
                else "no worker is running it"
            )
            found.append(
                finding(
                    "warning",
                    f"{name} is {lag} event(s) behind with {since}: {gone}",
                    f"eventdeck worker (keeps it current) or eventdeck catch-up {name}",
                )
            )
    if leased:
        found.append(
            finding(
                "info",
                f"{name} is leased to {checkpoint.owner} until {_time(checkpoint.lease_expires_at)}",
            )
        )
    return found


def _rebuild(name: str, shadow: Checkpoint, head: int, now: datetime) -> list[Finding]:
    alive = shadow.lease_expires_at is not None and shadow.lease_expires_at > now
    if alive:
        what = (
            f"{name} is being rebuilt by {shadow.owner} (generation {shadow.generation}, at "
            f"{shadow.position} of {head})"
        )
        return [Finding(check="projections", severity="info", what=what, subject=name)]
    return [
        Finding(
            check="projections",
            severity="warning",
            what=f"an abandoned rebuild of {name} (generation {shadow.generation}, stopped at "
            f"{shadow.position} of {head}; lease of {shadow.owner or 'nobody'} expired) keeps "
            "a half-built read model",
            fix=f"eventdeck rebuild {name} (drops it and starts again)",
            subject=name,
        )
    ]


def dead_letter_findings(facts: DeadLetterFacts) -> list[Finding]:
    """A warning per projection with open dead letters."""
    found = []
    for name in sorted(facts.open):
        count = facts.open[name]
        parked = facts.parked.get(name, 0)
        behind = f", {parked} event(s) parked behind them" if parked else ""
        found.append(
            Finding(
                check="dead-letters",
                severity="warning",
                what=f"{name} has {count} open dead letter(s){behind}",
                fix=f"eventdeck dlq --projection {name} (inspect), then eventdeck dlq retry ID "
                "once fixed, or eventdeck dlq skip ID",
                subject=name,
            )
        )
    return found


def lock_findings(holders: Sequence[LockHolder]) -> list[Finding]:
    """Who holds the append lock; a warning when for long, or with writers waiting."""
    found = []
    for holder in holders:
        held = f" for {_duration(holder.seconds)}" if holder.seconds is not None else ""
        waiting = f"; {holder.waiting} session(s) wait for it" if holder.waiting else ""
        long = holder.seconds is not None and holder.seconds >= LOCK_WARNING_SECONDS
        found.append(
            Finding(
                check="locks",
                severity="warning" if long else "info",
                what=f"{holder.what} is held by {holder.holder}{held}{waiting}",
                fix="end that session if it hangs (every append waits for it)" if long else "",
            )
        )
    return found


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown time"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _time(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else "-"

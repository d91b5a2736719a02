"""`eventdeck doctor`: checks a store and says what is wrong and what to do.

Each check asks the store one question (core/doctor_facts.py) and turns the
answer into findings; the projection rules are in core/doctor_projections.py.
A check whose tables are missing (an older or foreign store) is skipped, and
the schema finding says why. Healthy means no error and no warning.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from .clock import Clock
from .doctor_facts import CheckRun, CheckStatus, DoctorReport, Finding, SchemaFacts, StoreChecks
from .doctor_projections import dead_letter_findings, lock_findings, projection_findings
from .projections import Projection

#: Examples named per finding (the count is in the finding).
EXAMPLES = 5
#: The command that repairs what eventdeck can repair (the streams index, snapshots).
REPAIR = "eventdeck doctor --repair"

Check = Callable[[], Awaitable[list[Finding]]]


class Doctor:
    """Runs every check of one store; `examine` gives the report."""

    def __init__(
        self,
        checks: StoreChecks,
        processors: Sequence[Projection],
        clock: Clock,
        *,
        stall_seconds: float = 60.0,
    ) -> None:
        self._store = checks
        self._processors = list(processors)
        self._clock = clock
        self._stall_seconds = stall_seconds
        self._head = 0
        self._schema_facts: SchemaFacts | None = None

    async def examine(self) -> DoctorReport:
        runs: list[CheckRun] = []
        findings: list[Finding] = []
        await self._timed("schema", self._schema, runs, findings)
        facts = self._schema_facts
        usable = facts is not None and facts.stored is not None and facts.stored <= facts.expected
        missing = set(facts.missing_tables) if facts is not None else set()
        plan: list[tuple[str, set[str], Check]] = [
            ("positions", {"events"}, self._positions),
            ("stream-versions", {"events", "streams"}, self._streams),
            ("snapshots", {"events", "snapshots"}, self._snapshots),
            ("projections", {"events", "checkpoints"}, self._projections),
            ("dead-letters", {"dead_letters", "parked_events"}, self._dead_letters),
            ("locks", set(), self._locks),
        ]
        for name, tables, check in plan:
            lacking = sorted(tables & missing)
            if not usable or lacking:
                note = f"the store lacks {', '.join(lacking)}" if lacking else "no usable schema"
                runs.append(CheckRun(name=name, status="skipped", seconds=0.0, note=note))
                continue
            await self._timed(name, check, runs, findings)
        errors = sum(f.severity == "error" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        return DoctorReport(
            store=self._store.display_url,
            healthy=not errors and not warnings,
            errors=errors,
            warnings=warnings,
            checks=runs,
            findings=findings,
        )

    @staticmethod
    async def _timed(
        name: str, check: Check, runs: list[CheckRun], findings: list[Finding]
    ) -> None:
        started = time.perf_counter()
        found = await check()
        status: CheckStatus = "ok"
        for severity in ("info", "warning", "error"):
            if any(f.severity == severity for f in found):
                status = severity
        seconds = round(time.perf_counter() - started, 3)
        runs.append(CheckRun(name=name, status=status, seconds=seconds))
        findings.extend(found)

    # -- the checks -------------------------------------------------------------------

    async def _schema(self) -> list[Finding]:
        facts = self._schema_facts = await self._store.schema()
        found: list[Finding] = []
        if facts.unreadable is not None:
            found.append(
                _error(
                    "schema",
                    f"the store records an unreadable schema version {facts.unreadable!r}",
                    "check the --db value: this does not look like an eventdeck store",
                )
            )
        elif facts.stored is None:
            found.append(
                _error(
                    "schema",
                    "this is not an eventdeck store (no eventdeck tables)",
                    "check the --db value; any eventdeck command without --read-only creates "
                    "an empty store",
                )
            )
        elif facts.stored > facts.expected:
            found.append(
                _error(
                    "schema",
                    f"the store has schema version {facts.stored}, newer than the "
                    f"{facts.expected} this eventdeck knows",
                    "upgrade eventdeck (pip install -U eventdeck)",
                )
            )
        elif facts.stored < facts.expected or facts.missing_tables:
            lacking = f", without {', '.join(facts.missing_tables)}" if facts.missing_tables else ""
            found.append(
                _error(
                    "schema",
                    f"the store has schema version {facts.stored}{lacking}; this eventdeck "
                    f"uses version {facts.expected}",
                    "run any eventdeck command without --read-only (e.g. eventdeck projections) "
                    "to upgrade it",
                )
            )
        return found

    async def _positions(self) -> list[Finding]:
        facts = await self._store.positions(EXAMPLES)
        self._head = facts.head
        if not facts.out_of_order:
            return []
        return [
            _error(
                "positions",
                f"{facts.out_of_order} stream(s) have events whose positions do not follow "
                "their versions (the events table was changed outside eventdeck): projections "
                "apply those events out of order",
                "restore the events table from a backup, then eventdeck rebuild --all",
                facts.examples,
            )
        ]

    async def _streams(self) -> list[Finding]:
        facts = await self._store.streams(EXAMPLES)
        found = []
        gaps = [p for p in facts.examples if p.events != p.last_version or p.first_version != 1]
        if facts.gaps:
            found.append(
                _error(
                    "stream-versions",
                    f"{facts.gaps} stream(s) have gaps in their versions (events are missing): "
                    "their state is rebuilt without them",
                    "restore the missing events from a backup of the store; eventdeck history "
                    "ID shows what each stream has",
                    [
                        f"{p.stream_id}: {p.events} event(s), versions {p.first_version}.."
                        f"{p.last_version}"
                        for p in gaps
                    ],
                )
            )
        index = [p for p in facts.examples if p not in gaps]
        if facts.index_mismatches or facts.rows_without_events:
            found.append(
                _error(
                    "stream-versions",
                    f"the streams index disagrees with the events for "
                    f"{facts.index_mismatches + facts.rows_without_events} stream(s): listings "
                    "show wrong versions and the next append may conflict",
                    f"{REPAIR} (rebuilds those rows from the events)",
                    [
                        f"{p.stream_id}: events up to version {p.last_version}, index says "
                        f"{'nothing' if p.recorded_version is None else p.recorded_version}"
                        for p in index
                    ],
                )
            )
        return found

    async def _snapshots(self) -> list[Finding]:
        facts = await self._store.snapshots(EXAMPLES)
        if not facts.orphaned:
            return []
        return [
            _error(
                "snapshots",
                f"{facts.orphaned} of {facts.snapshots} snapshot(s) have no stored event at their "
                "stream and version: loading those streams would start from a state that never "
                "was",
                f"{REPAIR} (deletes them: snapshots are a cache, the events are the truth)",
                facts.examples,
            )
        ]

    async def _projections(self) -> list[Finding]:
        if not self._head:
            self._head = (await self._store.positions(0)).head
        return projection_findings(
            self._processors,
            await self._store.checkpoints(),
            head=self._head,
            now=self._clock.now(),
            stall_seconds=self._stall_seconds,
        )

    async def _dead_letters(self) -> list[Finding]:
        return dead_letter_findings(await self._store.dead_letters())

    async def _locks(self) -> list[Finding]:
        return lock_findings(await self._store.lock_holders())


def _error(check: str, what: str, fix: str, examples: list[str] | None = None) -> Finding:
    return Finding(check=check, severity="error", what=what, fix=fix, examples=examples or [])

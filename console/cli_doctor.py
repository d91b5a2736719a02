"""`eventdeck doctor`: check a store, say what is wrong and the command that fixes it.

The checks open the database read-only (they never write, whatever they find);
`--repair` fixes what eventdeck can fix itself (orphaned snapshots, the streams
index) in one transaction, then checks again. Exit status 0 when the store is
healthy, 1 when any check found an error or a warning.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click

from core.clock import Clock, SystemClock, UuidFactory
from core.doctor import Doctor
from core.doctor_facts import DoctorReport
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from core.errors import ReadOnlyError, read_only_refusal
from core.operator_events import (
    REPAIR_STREAM_PREFIX,
    OperatorLog,
    StoreRepaired,
    register_operator_events,
)
from core.projection_store import AuditAppend
from core.registry import EventRegistry
from stores import make_engine, open_stores
from stores.store_checks import SqlStoreChecks

from .cli import cli, current_settings

#: Seconds without progress after which a lagging projection counts as stuck.
DEFAULT_STALL_SECONDS = 60.0


async def examine_store(
    url: str, *, clock: Clock | None = None, stall_seconds: float = DEFAULT_STALL_SECONDS
) -> DoctorReport:
    """Every check of the store at `url`, on a read-only connection."""
    engine = make_engine(url, read_only=True)
    try:
        doctor = Doctor(
            SqlStoreChecks(engine),
            [*DEMO_SAGAS, *DEMO_PROJECTIONS],
            clock or SystemClock(),
            stall_seconds=stall_seconds,
        )
        return await doctor.examine()
    finally:
        await engine.dispose()


async def repair_store(url: str, user: str) -> dict[str, int]:
    """Delete orphaned snapshots, rebuild disagreeing streams rows (see SqlStoreChecks);
    a repair that changed something is recorded as a StoreRepaired event naming `user`."""
    events, _ = await open_stores(url)
    ids = UuidFactory()
    log = OperatorLog(events, register_operator_events(EventRegistry()), SystemClock(), ids)

    def audit(changes: dict[str, int]) -> AuditAppend:
        stream_id = f"{REPAIR_STREAM_PREFIX}{ids.new_id()}"
        return log.prepare_on(stream_id, StoreRepaired(**changes), user=user)

    try:
        return await SqlStoreChecks(events.engine).repair(audit)
    finally:
        await events.close()


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--repair",
    is_flag=True,
    help="First delete orphaned snapshots and rebuild the streams index rows that disagree "
    "with the events (the events are never changed), then check.",
)
@click.option(
    "--stall",
    type=click.FloatRange(min=0),
    default=DEFAULT_STALL_SECONDS,
    show_default=True,
    help="Seconds without progress after which a lagging projection counts as stuck.",
)
def doctor_command(as_json: bool, repair: bool, stall: float) -> None:
    """Check the store: schema version, gaps in stream versions, positions, orphaned
    snapshots, stuck projections, dead letters, leases and lock owners.

    Prints each problem with its severity and the command that fixes it. Exits 0
    when the store is healthy, 1 when something is wrong. Reads only, unless --repair.
    """
    settings = current_settings()
    repaired: dict[str, int] | None = None
    if repair:
        if settings.read_only:
            raise ReadOnlyError(read_only_refusal("repair the store"))
        repaired = asyncio.run(repair_store(settings.db, settings.user))
    report = asyncio.run(examine_store(settings.db, stall_seconds=stall))
    if as_json:
        document: dict[str, Any] = report.model_dump(mode="json")
        if repaired is not None:
            document["repaired"] = repaired
        click.echo(json.dumps(document))
    else:
        click.echo(describe(report, repaired))
    sys.exit(0 if report.healthy else 1)


def describe(report: DoctorReport, repaired: dict[str, int] | None = None) -> str:
    """The report as text: the checks, then each finding with its fix, then a verdict."""
    lines = [f"eventdeck doctor: {report.store}"]
    if repaired is not None:
        changes = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in repaired.items())
        lines.append(f"repaired: {changes}")
    lines.append(
        "checks: "
        + ", ".join(
            f"{run.name} {run.status}" + (f" ({run.note})" if run.note else "")
            for run in report.checks
        )
    )
    for finding in report.findings:
        lines.append(f"{finding.severity.upper():<8} {finding.check}: {finding.what}")
        lines.extend(f"         e.g. {example}" for example in finding.examples)
        if finding.fix:
            lines.append(f"         fix: {finding.fix}")
    if report.healthy:
        lines.append("healthy: nothing to fix")
    else:
        lines.append(
            f"not healthy: {report.errors} error(s), {report.warnings} warning(s); "
            "fix them with the commands above"
        )
    return "\n".join(lines)

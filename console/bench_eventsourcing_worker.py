"""The `eventsourcing` library's baselines, run in their own process.

`console.bench_eventsourcing` starts this module as
`python -O -m console.bench_eventsourcing_worker --json ...` (the library's best
case: assertions off) and reads one JSON object from stdout. It imports only the
standard library and `eventsourcing` 9.x, never eventdeck, so nothing of ours
is loaded in the process being measured.

Storage: the library's SQLite module (`PERSISTENCE_MODULE=eventsourcing.sqlite`,
`SQLITE_DBNAME=<file>`). The library switches the file to WAL itself; it has no
setting for `synchronous`, so every connection it opens runs
`PRAGMA synchronous=FULL` here (SQLite's own default in WAL mode is FULL in the
usual builds anyway); the settings in effect are read back through the library's
own connection and reported under "settings".

The domain is eventdeck's account, in the library's idiom: an aggregate opened
with an owner and a `deposit(amount: Decimal)` method whose event adds to the
balance. Measured (the names are the JSON keys):

- `eventsourcing_save_per_command` (events/s): `senders` threads at once (32 in
  the bench; the library is thread-safe and serialises its writers on its own
  writer lock), each owning one account and running `commands` commands on it
  one after the other: `repository.get(id)`, `deposit(1.00)`, `save(account)`,
  i.e. load, decide and save one event, as eventdeck's command bus does. Opening
  the accounts is not timed.
- `eventsourcing_batched` (events/s): a new account with `events - 1` pending
  deposits (10,000 events in all) saved with one `save`, which maps every event
  and writes them in one transaction. Building the events is not timed; the
  median of `batches` such saves (each a new aggregate).
- `eventsourcing_load_ms`: `repository.get(id)` of the first of those accounts
  with the snapshot store switched off (every event replayed); the median of
  `repeats`.
- `eventsourcing_load_snapshot_ms`: after `take_snapshot(id, version=events -
  100)`, `repository.get(id)`: the snapshot and the 100 events after it.
- `eventsourcing_read_all_decoded` (events/s): every stored event in order,
  read with the recorder's `select_notifications` in pages of 5,000 and turned
  back into domain events with the mapper's `to_domain_event`; the median of
  `repeats`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool

PAGE_SIZE = 5000
SNAPSHOT_TAIL = 100


class BenchAccount(Aggregate):
    """An account: opened with an owner, then deposits."""

    @event("Opened")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = Decimal("0.00")

    @event("Deposited")
    def deposit(self, amount: Decimal) -> None:
        self.balance += amount


class BenchApplication(Application[UUID]):
    """The library's application with its snapshot store on."""

    is_snapshotting_enabled = True


def use_full_synchronous() -> None:
    """Every connection the library opens runs `PRAGMA synchronous=FULL` (durable commits)."""
    create = SQLiteConnectionPool._create_connection

    def create_full(self: SQLiteConnectionPool) -> SQLiteConnection:
        connection = create(self)
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA synchronous")  # read back: it must have taken
        if int(cursor.fetchone()[0]) != 2:
            raise RuntimeError("SQLite refused synchronous=FULL")
        return connection

    SQLiteConnectionPool._create_connection = create_full  # type: ignore[method-assign]


def open_application(db: Path) -> BenchApplication:
    return BenchApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}
    )


def settings_of(app: BenchApplication) -> dict[str, Any]:
    """The journal mode and synchronous level of the library's own connection."""
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = str(cursor.fetchone()[0]).lower()
        cursor.execute("PRAGMA synchronous")
        synchronous = int(cursor.fetchone()[0])
    return {"journal_mode": journal, "synchronous": synchronous}


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def save_per_command(db: Path, senders: int, commands: int) -> float:
    """One-event commands per second from `senders` threads, each on its own account."""
    app = open_application(db)
    try:
        ids = []
        for i in range(senders):
            account = BenchAccount(owner=f"bench-{i}")
            app.save(account)
            ids.append(account.id)
        start_line = threading.Barrier(senders + 1)
        errors: list[Exception] = []

        def sender(account_id: UUID) -> None:
            start_line.wait()
            try:
                for _ in range(commands):
                    account: BenchAccount = app.repository.get(account_id)
                    account.deposit(Decimal("1.00"))
                    app.save(account)
            except Exception as exc:  # noqa: BLE001 - re-raised by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=sender, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        start_line.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise errors[0]
    finally:
        app.close()
    return senders * commands / elapsed


def pending_account(events: int) -> BenchAccount:
    account = BenchAccount(owner="bench-long")
    for _ in range(events - 1):
        account.deposit(Decimal("1.00"))
    return account


def long_aggregate_figures(db: Path, events: int, batches: int, repeats: int) -> dict[str, Any]:
    """Batched saves of `events`-event aggregates, loading the first, reading everything."""
    app = open_application(db)
    try:
        rates = []
        first: UUID | None = None
        for _ in range(batches):
            account = pending_account(events)
            start = time.perf_counter()
            app.save(account)
            rates.append(events / (time.perf_counter() - start))
            first = first or account.id
        if first is None:
            raise ValueError("batches must be at least 1")

        def load() -> None:
            loaded: BenchAccount = app.repository.get(first)
            if loaded.version != events:
                raise RuntimeError(f"loaded version {loaded.version}, wanted {events}")

        snapshots, app.repository.snapshot_store = app.repository.snapshot_store, None
        no_snapshot = median_seconds(load, repeats)
        app.repository.snapshot_store = snapshots
        app.take_snapshot(first, version=events - SNAPSHOT_TAIL)
        with_snapshot = median_seconds(load, repeats)

        counted = 0

        def read_all() -> None:
            nonlocal counted
            counted = 0
            start = 1
            while True:
                page = app.recorder.select_notifications(start=start, limit=PAGE_SIZE)
                for notification in page:
                    app.mapper.to_domain_event(notification)
                counted += len(page)
                if len(page) < PAGE_SIZE:
                    return
                start = page[-1].id + 1

        read_seconds = median_seconds(read_all, repeats)
        settings = settings_of(app)
    finally:
        app.close()
    return {
        "eventsourcing_batched": statistics.median(rates),
        "eventsourcing_load_ms": no_snapshot * 1000,
        "eventsourcing_load_snapshot_ms": with_snapshot * 1000,
        "eventsourcing_read_all_decoded": counted / read_seconds,
        "read_events": counted,
        "settings": settings,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    use_full_synchronous()
    folder = Path(args.folder)
    figures = long_aggregate_figures(folder / "es-long.db", args.events, args.batches, args.repeats)
    figures["eventsourcing_save_per_command"] = save_per_command(
        folder / "es-commands.db", args.senders, args.commands
    )
    figures["settings"].update(
        version=importlib.metadata.version("eventsourcing"),
        python_optimize=sys.flags.optimize,
        senders=args.senders,
        threads=True,
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--folder", required=True, help="an empty folder for the SQLite files")
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--commands", type=int, default=20, help="commands per sender")
    parser.add_argument("--events", type=int, default=10_000, help="events of the long aggregate")
    parser.add_argument("--batches", type=int, default=1, help="batched saves (median)")
    parser.add_argument("--repeats", type=int, default=3, help="loads and reads (median)")
    args = parser.parse_args(argv)
    figures = measure(args)
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name}: {value}")


if __name__ == "__main__":
    main()

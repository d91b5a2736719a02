"""The `eventsourcing` library's baselines: run its worker in a `python -O` process.

The worker (`console.bench_eventsourcing_worker`, where each measurement is
documented) prints JSON; this module maps it onto eventdeck's figures:

| figure                     | baseline                         | worker key                        |
| commands_32_senders        | eventsourcing_save_per_command   | eventsourcing_save_per_command    |
| batched_append             | eventsourcing_batched            | eventsourcing_batched             |
| load_10k_no_snapshot       | eventsourcing                    | eventsourcing_load_ms             |
| load_10k_snapshot_tail_100 | eventsourcing                    | eventsourcing_load_snapshot_ms    |
| read_all_decoded           | eventsourcing                    | eventsourcing_read_all_decoded    |

Without the library (the `bench` extra not installed) the bench still runs and
says in one line how to add it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bench import Sizes, worker_env

WORKER = "console.bench_eventsourcing_worker"
INSTALL_HINT = "pip install -e '.[bench]'"
#: The worker's JSON key for each (figure, baseline).
BASELINE_KEYS = {
    ("commands_32_senders", "eventsourcing_save_per_command"): "eventsourcing_save_per_command",
    ("batched_append", "eventsourcing_batched"): "eventsourcing_batched",
    ("load_10k_no_snapshot", "eventsourcing"): "eventsourcing_load_ms",
    ("load_10k_snapshot_tail_100", "eventsourcing"): "eventsourcing_load_snapshot_ms",
    ("read_all_decoded", "eventsourcing"): "eventsourcing_read_all_decoded",
}
#: Seconds the worker may take before the bench gives up on it.
WORKER_TIMEOUT = 900


@dataclass
class LibraryBaselines:
    """Baselines by figure, and a note when the library could not be measured."""

    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def library_installed() -> bool:
    return importlib.util.find_spec("eventsourcing") is not None


def worker_argv(folder: Path, sizes: Sizes) -> list[str]:
    """`python -O -m console.bench_eventsourcing_worker --json ...` with this interpreter."""
    return [
        sys.executable,
        "-O",
        "-m",
        WORKER,
        "--json",
        "--folder",
        str(folder),
        "--senders",
        str(sizes.senders),
        "--commands",
        str(sizes.commands_per_sender),
        "--events",
        str(sizes.long_stream),
        "--batches",
        str(sizes.batches),
        "--repeats",
        str(sizes.repeats),
    ]


def eventsourcing_baselines(folder: Path, sizes: Sizes) -> LibraryBaselines:
    """Run the worker in `folder`/eventsourcing and map its figures to eventdeck's."""
    if not library_installed():
        return LibraryBaselines(
            notes=[
                (
                    "eventsourcing baselines missing: the eventsourcing library is not installed "
                    f"(install the bench extra: {INSTALL_HINT})"
                )
            ]
        )
    work = folder / "eventsourcing"
    work.mkdir()
    try:
        result = subprocess.run(
            worker_argv(work, sizes),
            capture_output=True,
            text=True,
            env=worker_env(),
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return LibraryBaselines(
            notes=[f"eventsourcing baselines missing: the worker took over {WORKER_TIMEOUT}s"]
        )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return LibraryBaselines(
            notes=[f"eventsourcing baselines missing: the worker failed: {last}"]
        )
    return map_worker_figures(json.loads(result.stdout))


def map_worker_figures(output: dict[str, Any]) -> LibraryBaselines:
    """The worker's JSON as baselines by figure."""
    library = LibraryBaselines(settings=dict(output.get("settings", {})))
    for (figure, baseline), key in BASELINE_KEYS.items():
        library.baselines.setdefault(figure, {})[baseline] = float(output[key])
    settings = library.settings
    library.notes.append(
        f"eventsourcing {settings.get('version', '?')}: python -O, "
        f"{settings.get('senders', '?')} sender threads, journal_mode="
        f"{settings.get('journal_mode')} synchronous={settings.get('synchronous')} (2 = FULL)"
    )
    if settings.get("journal_mode") != "wal" or settings.get("synchronous") != 2:
        library.notes.append(
            "eventsourcing ran with journal_mode="
            f"{settings.get('journal_mode')} synchronous={settings.get('synchronous')} "
            "(not WAL + FULL)"
        )
    return library

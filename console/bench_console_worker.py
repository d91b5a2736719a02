"""The console's first screen and memory, in a process of its own.

`console.bench_console` starts `python -m console.bench_console_worker --started-at T`
(the store's URL in `EVENTDECK_DB`, never on the command line, where `ps` shows it) (T: the parent's `time.time()` just before starting this
process) and reads one JSON object from stdout:

- `first_screen_ms`: from T until the dashboard shows its first figures (its
  first `StatsRead` handled: the events card no longer shows its placeholder),
  so interpreter start, imports, opening the store and the first reads count;
- `rss_mb`: the process's peak resident memory (`VmHWM` of /proc/self/status where
  there is one: `getrusage`'s max RSS survives `exec`, so a child of a big bench
  process would report its parent's peak)
  after the first figures and one more refresh of the dashboard.

The console runs headless (Textual's `App.run_test`) at 160x48, as `eventdeck`
would open it on that store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from typing import Any

SIZE = (160, 48)
#: Seconds to wait for a second dashboard read before taking the memory figure.
SETTLE_SECONDS = 5.0
POLL_SECONDS = 0.005


async def measure(db: str, started_at: float, timeout: float) -> dict[str, Any]:
    from textual.message import Message
    from textual.widgets import Static

    from console.app import EventdeckApp
    from console.screens.dashboard import DashboardScreen

    reads: list[float] = []
    app = EventdeckApp(db, cursor_blink=False)
    deadline = time.monotonic() + timeout
    #: The events card before the first StatsRead was handled.
    placeholder: str | None = None

    def events_card() -> str | None:
        screen = app.screen
        if not isinstance(screen, DashboardScreen):
            return None
        card = screen.query("#card-events")
        return str(card.first(Static).content) if card else None

    def hook(message: Message) -> None:
        nonlocal placeholder
        if isinstance(message, DashboardScreen.StatsRead):
            if not reads:  # called just before the message is handled: not shown yet
                placeholder = events_card()
            reads.append(time.time())

    def figures_shown() -> bool:
        if not reads or not isinstance(app.screen, DashboardScreen):
            return False
        content = events_card()
        if content is None:  # the dashboard's layout changed: the first read is the signal
            return True
        return content != placeholder

    async with app.run_test(headless=True, size=SIZE, message_hook=hook) as pilot:
        while not figures_shown():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no figures on the dashboard after {timeout:.0f}s")
            await asyncio.sleep(POLL_SECONDS)
        shown_at = time.time()
        settle = time.monotonic() + SETTLE_SECONDS
        while len(reads) < 2 and time.monotonic() < settle:
            await asyncio.sleep(0.05)
        await pilot.pause()
        rss_kb = peak_rss_kb()
    return {
        "first_screen_ms": (shown_at - started_at) * 1000,
        "rss_mb": rss_kb / 1024,
        "reads": len(reads),
    }


def peak_rss_kb() -> int:
    """This process's peak resident memory in KiB, since its `exec`."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("EVENTDECK_DB"), help="or EVENTDECK_DB")
    parser.add_argument("--started-at", type=float, required=True, help="parent's time.time()")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("give the store: EVENTDECK_DB or --db")
    try:
        result = asyncio.run(measure(args.db, args.started_at, args.timeout))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        from stores.secrets import hide_secrets, remember_secrets

        remember_secrets(args.db)
        print(json.dumps({"error": hide_secrets(f"{type(exc).__name__}: {exc}")}))
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Rebuilds: whether one may start, what it will do, and while it runs a progress bar
per projection with positions, rate and ETA."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from core.dead_letters import NewDeadLetter
from core.projection_monitor import ProjectionState
from core.rebuilds import RebuildProgress, RebuildSummary

from ..output import seconds_text


def rebuild_refusal(state: ProjectionState, *, here: bool) -> str | None:
    """Why `state`'s projection cannot be rebuilt now (`here`: this console rebuilds it
    already); None if it can."""
    name = state.name
    if state.kind == "saga":
        return (
            f"{name} is a saga: it cannot be rebuilt, because replaying it would send its "
            "commands again."
        )
    if here:
        return f"{name} is being rebuilt already: wait for it to finish."
    if state.rebuild is not None and state.rebuild.alive:
        return (
            f"{name} is being rebuilt by another process ({state.rebuild.owner or '?'}): "
            "wait for it to finish."
        )
    return None


def rebuild_question(state: ProjectionState, user: str) -> Text:
    """What a rebuild of `state`'s projection will do, for the confirmation."""
    dead = (
        f" with its {state.dead_letters:,} dead letters (events failing again become new ones)"
        if state.dead_letters
        else ""
    )
    return Text.assemble(
        "Every event, from position 1 to the head (",
        (f"{state.head:,}", "bold"),
        " now), is replayed into a new, empty generation while generation ",
        (str(state.generation), "bold"),
        " keeps serving queries. When the new generation reaches the head it becomes "
        f"active in one step, and generation {state.generation} is deleted{dead}.\n\n",
        f"Recorded in the audit trail as {user}.",
    )


def dead_letter_text(name: str, dead: NewDeadLetter) -> str:
    return (
        f"{name}: dead letter at position {dead.position} ({dead.stream_id}, "
        f"{dead.event_type}): {dead.error}"
    )


def progress_text(progress: RebuildProgress) -> str:
    """`rebuilding: 340/520 positions  1,234/s  eta 0.2s` (`-`: not measured yet)."""
    rate = f"{progress.rate:,.0f}/s" if progress.rate else "-"
    done = f"{progress.done:,}/{progress.total:,}"
    return f"rebuilding: {done} positions  {rate}  eta {seconds_text(progress.eta)}"


def summary_text(summary: RebuildSummary) -> str:
    """What a finished rebuild did, in one line."""
    return (
        f"generation {summary.generation} active at position {summary.position:,}: "
        f"{summary.events:,} events replayed, {summary.dead_letters:,} dead letters, "
        f"{summary.documents:,} documents, in {seconds_text(summary.seconds)}"
    )


def done_text(summary: RebuildSummary) -> str:
    """The same, short enough for the bar's line."""
    return (
        f"rebuilt: generation {summary.generation}, {summary.events:,} events, "
        f"{summary.dead_letters:,} dead letters, {seconds_text(summary.seconds)}"
    )


class RebuildBar(Horizontal):
    """One projection's rebuild: ours (started here) or another process's (seen in status)."""

    DEFAULT_CSS = """
    RebuildBar { height: 1; padding: 0 1; }
    RebuildBar > .rebuild-name { width: 20; text-style: bold; }
    RebuildBar > ProgressBar { width: 38; }
    RebuildBar > .rebuild-text { width: 1fr; margin-left: 1; }
    RebuildBar.-failed > .rebuild-text { color: $error; }
    RebuildBar.-done > .rebuild-text { color: $success; }
    """

    def __init__(self, name: str, *, elsewhere: bool = False) -> None:
        super().__init__(classes="rebuild-bar")
        self.projection = name
        #: A rebuild some other process runs (its progress comes from the status polls).
        self.elsewhere = elsewhere
        self.done = 0
        self.total: int | None = None
        #: The generation being built, once known.
        self.generation: int | None = None
        self.finished = False
        self._text = "rebuilding: by another process" if elsewhere else "rebuilding: starting…"
        self._composed = False

    def compose(self) -> ComposeResult:
        yield Static(self.projection, classes="rebuild-name")
        yield ProgressBar(show_eta=False, id="bar")
        yield Static(classes="rebuild-text")

    def on_mount(self) -> None:
        self._composed = True
        self._show()  # what was reported before the bar was on screen

    def advance(self, progress: RebuildProgress) -> None:
        self.generation = progress.generation
        self._set(progress.done, progress.total, progress_text(progress))

    def advance_elsewhere(self, position: int, head: int) -> None:
        self._set(
            position,
            max(head, position, 1),
            f"rebuilding: {position:,}/{head:,} by another process",
        )

    def finish(self, summary: RebuildSummary) -> None:
        self.generation = summary.generation
        total = max(self.total or 0, self.done, 1)
        self._set(total, total, done_text(summary))
        self.finished = True
        self.add_class("-done")

    def fail(self, reason: str) -> None:
        self.finished = True
        self.add_class("-failed")
        self._text = f"rebuild failed: {reason}"
        self._show()

    def _set(self, done: int, total: int, text: str) -> None:
        self.done, self.total, self._text = done, total, text
        self._show()

    def _show(self) -> None:
        if not self._composed:
            return  # on_mount shows it
        if self.total is not None:
            self.query_one(ProgressBar).update(total=self.total, progress=self.done)
        self.query_one(".rebuild-text", Static).update(Text(self._text))


class RebuildPanel(Vertical):
    """The rebuilds running now, one bar each; a finished one stays a few seconds."""

    DEFAULT_CSS = """
    RebuildPanel { height: auto; }
    """

    def __init__(self, *, linger: float = 8.0, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Seconds a finished or failed rebuild's bar stays on screen.
        self.linger = linger
        self.bars: dict[str, RebuildBar] = {}

    def start(self, name: str, *, elsewhere: bool = False) -> RebuildBar:
        """A fresh bar for `name` (replacing a finished one)."""
        old = self.bars.pop(name, None)
        if old is not None:
            old.remove()
        bar = RebuildBar(name, elsewhere=elsewhere)
        self.bars[name] = bar
        self.mount(bar)
        return bar

    def advance(self, progress: RebuildProgress) -> None:
        bar = self.bars.get(progress.name)
        if bar is not None and not bar.finished:
            bar.advance(progress)

    def finish(self, summary: RebuildSummary) -> None:
        bar = self.bars.get(summary.name)
        if bar is not None:
            bar.finish(summary)
            self.set_timer(self.linger, lambda: self._remove(bar))

    def fail(self, name: str, reason: str) -> None:
        bar = self.bars.get(name)
        if bar is not None:
            bar.fail(reason)
            self.set_timer(self.linger, lambda: self._remove(bar))

    def show_elsewhere(self, states: Sequence[ProjectionState], ours: Collection[str]) -> None:
        """Bars for the rebuilds other processes run (the CLI, a second console), from a
        status poll; `ours` are the ones this console runs (their bars are its own)."""
        for state in states:
            rebuild = state.rebuild
            bar = self.bars.get(state.name)
            if rebuild is not None and rebuild.alive and state.name not in ours:
                # a finished bar of ours gives way, unless the poll predates our switch
                ours_done = bar is not None and bar.finished and not bar.elsewhere
                if bar is None or (ours_done and bar.generation != rebuild.generation):
                    bar = self.start(state.name, elsewhere=True)
                if bar.elsewhere:
                    bar.advance_elsewhere(rebuild.position, state.head)
            elif bar is not None and bar.elsewhere:
                self._remove(bar)

    def _remove(self, bar: RebuildBar) -> None:
        if self.bars.get(bar.projection) is bar:
            del self.bars[bar.projection]
            bar.remove()

"""The command palette's eventdeck entries: every screen and action from the
registry, "jump to stream" searching stream ids by prefix in the store, and
"trace ID" (or a pasted correlation or event id) opening the correlation trace."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from core.errors import EventdeckError

from ..actions import APP_SCOPE, REGISTRY, ConsoleAction
from ..widgets.formatting import literal

if TYPE_CHECKING:
    from ..app import EventdeckApp

#: Stream ids offered per search.
STREAM_HITS = 8
_JUMP_WORDS = ("jump to stream ", "jump to ", "stream ", "jump ")
_TRACE_WORDS = ("trace of ", "trace ")
#: A pasted id (no spaces, at least this long) is also looked up as a trace.
MIN_PASTED_ID = 8


def stream_query(query: str) -> str:
    """The stream id prefix in what was typed ("stream ord-12" -> "ord-12")."""
    text = query.strip()
    lowered = text.lower()
    for words in _JUMP_WORDS:
        if lowered.startswith(words):
            return text[len(words) :].strip()
    return text if " " not in text else ""


def trace_query(query: str) -> tuple[str, bool]:
    """The id to trace in what was typed and whether it was asked for by name:
    "trace abc-123" -> ("abc-123", True); a pasted id alone -> (id, False)."""
    text = query.strip()
    for words in _TRACE_WORDS:
        if text.lower().startswith(words):
            return text[len(words) :].strip(), True
    if len(text) >= MIN_PASTED_ID and " " not in text:
        return text, False
    return "", False


class EventdeckCommands(Provider):
    """Screens, actions (run on their screen) and streams by id prefix."""

    @property
    def console(self) -> EventdeckApp:
        return cast("EventdeckApp", self.app)

    def _entries(self) -> list[tuple[str, ConsoleAction]]:
        entries = []
        wanted = self.console.palette_scopes()  # first: it imports the screens not shown yet
        for scope in REGISTRY.scopes():
            if scope not in wanted:
                continue
            title = REGISTRY.title(scope)
            for item in REGISTRY.actions(scope):
                name = item.label if scope == APP_SCOPE else f"{title}: {item.label}"
                entries.append((name, item))
        return entries

    async def _run(self, item: ConsoleAction) -> None:
        await self.console.run_registered(item)

    async def discover(self) -> Hits:
        for name, item in self._entries():
            yield DiscoveryHit(
                f"{name}  ({item.key_display})", partial(self._run, item), help=item.description
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, item in self._entries():
            score = matcher.match(f"{name} {item.description}")
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(f"{name}  ({item.key_display})"),
                    partial(self._run, item),
                    help=item.description,
                )
        async for hit in self._trace_hits(query):
            yield hit
        prefix = stream_query(query)
        if not prefix or self.console.system_or_none is None:
            return
        try:
            store = self.console.system.store
            streams = await self.console.io(store.list_streams(prefix=prefix, limit=STREAM_HITS))
        except EventdeckError:
            return
        for info in streams:
            yield Hit(
                1.0 if info.stream_id == prefix else 0.9,
                # the display is markup: ids as stored, typed references, are escaped
                f"Jump to stream {literal(info.stream_id)}  ({literal(info.stream_type)}, "
                f"version {info.version})",
                partial(self.console.open_stream, info.stream_id),
                text=f"Jump to stream {info.stream_id}",
                help="Open it in aggregates",
            )

    async def _trace_hits(self, query: str) -> Hits:
        reference, asked = trace_query(query)
        if not reference or self.console.system_or_none is None:
            return
        if not asked:  # a pasted id: offered only when some event carries it
            store = self.console.system.store
            try:
                traced = await self.console.io(store.read_correlated(reference, limit=1))
                event = None if traced else await self.console.io(store.read_event(reference))
            except EventdeckError:
                return
            if not traced and event is None:
                return
        yield Hit(
            1.0 if asked else 0.95,
            f"Show the trace of {literal(reference)}",
            partial(self.console.open_trace, reference),
            text=f"Show the trace of {reference}",
            help="The correlation tree: command, events, saga commands, dead letters",
        )

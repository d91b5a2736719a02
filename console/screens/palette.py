"""The command palette's eventdeck entries: every screen and action from the
registry, and "jump to stream" searching stream ids by prefix in the store."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from core.errors import EventdeckError

from ..actions import APP_SCOPE, REGISTRY, ConsoleAction

if TYPE_CHECKING:
    from ..app import EventdeckApp

#: Stream ids offered per search.
STREAM_HITS = 8
_JUMP_WORDS = ("jump to stream ", "jump to ", "stream ", "jump ")


def stream_query(query: str) -> str:
    """The stream id prefix in what was typed ("stream ord-12" -> "ord-12")."""
    text = query.strip()
    lowered = text.lower()
    for words in _JUMP_WORDS:
        if lowered.startswith(words):
            return text[len(words) :].strip()
    return text if " " not in text else ""


class EventdeckCommands(Provider):
    """Screens, actions (run on their screen) and streams by id prefix."""

    @property
    def console(self) -> EventdeckApp:
        return cast("EventdeckApp", self.app)

    def _entries(self) -> list[tuple[str, ConsoleAction]]:
        entries = []
        for scope in REGISTRY.scopes():
            if scope not in self.console.palette_scopes():
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
                f"Jump to stream {info.stream_id}  ({info.stream_type}, version {info.version})",
                partial(self.console.open_stream, info.stream_id),
                text=f"Jump to stream {info.stream_id}",
                help="Open it in aggregates",
            )

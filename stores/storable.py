"""What both databases can keep in the events table's plain text columns, checked the
same way on SQLite and PostgreSQL before anything is written.

PostgreSQL cannot store NUL in text, and its VARCHAR columns hold at most their
declared length; SQLite would take both. Lone surrogates (bytes that were not UTF-8,
read with Python's `surrogateescape`) are not Unicode text on either. Payloads and
metadata are JSON: a NUL there is written escaped (`\\u0000`) and reads back exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import StoreError
from core.events import NewEvent

from .schema import events as event_table

#: Longest value of each plain text column an append writes, as the schema declares it.
LIMITS = {
    name: int(getattr(event_table.c[name].type, "length", 0) or 0)
    for name in ("event_id", "stream_id", "stream_type", "type", "correlation_id")
}


def unstorable(text: str, limit: int) -> str | None:
    """Why `text` cannot be kept in a column of at most `limit` characters, or None."""
    if len(text) > limit:
        return f"is {len(text)} characters long, more than the {limit} the store keeps"
    if "\x00" in text:
        return "contains a NUL character, which PostgreSQL cannot store"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return (
                "is not valid Unicode text (a lone surrogate, e.g. from bytes that are not UTF-8)"
            )
    return None


def check_append(stream_id: str, stream_type: str, events: Sequence[NewEvent]) -> None:
    """StoreError naming the first value the events table cannot keep; nothing is written."""
    for what, text, column in (
        ("stream id", stream_id, "stream_id"),
        ("stream type", stream_type, "stream_type"),
    ):
        problem = unstorable(text, LIMITS[column]) if type(text) is str else None
        if problem is not None:
            raise StoreError(f"cannot append: the {what} {_shown(text)} {problem}; {_NOTHING}")
    id_limit, type_limit = LIMITS["event_id"], LIMITS["type"]
    for event in events:
        # the usual case in one expression (an append checks every event): short
        # ASCII without NUL; anything else takes the slow path below
        event_id, kind = event.event_id, event.type
        correlation = event.metadata.correlation_id
        if (
            len(event_id) <= id_limit
            and len(kind) <= type_limit
            and event_id.isascii()
            and kind.isascii()
            and "\x00" not in event_id
            and "\x00" not in kind
            and (correlation is None or _plain(correlation))
        ):
            continue
        for what, text, column in (
            ("event id", event.event_id, "event_id"),
            ("event type", event.type, "type"),
            ("correlation id", correlation or "", "correlation_id"),
        ):
            problem = unstorable(text, LIMITS[column])
            if problem is not None:
                raise StoreError(
                    f"cannot append to stream {_shown(stream_id)}: the {what} {_shown(text)} "
                    f"{problem}; {_NOTHING}"
                )


def not_unicode(stream_id: str) -> StoreError:
    """The error of an append whose payload or metadata holds a lone surrogate."""
    return StoreError(
        f"cannot append to stream {_shown(stream_id)}: its data or metadata holds text that "
        "is not valid Unicode (a lone surrogate, e.g. from bytes that are not UTF-8); " + _NOTHING
    )


def caused_by_unicode(error: BaseException) -> bool:
    """Whether a failed append was a lone surrogate refused by the driver's encoder."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, UnicodeEncodeError):
            return True
        seen.add(id(current))
        orig = getattr(current, "orig", None)
        current = (
            orig
            if isinstance(orig, BaseException) and id(orig) not in seen
            else (current.__cause__ or current.__context__)
        )
    return False


_NOTHING = "nothing was written"


def _plain(text: str) -> bool:
    return len(text) <= LIMITS["correlation_id"] and text.isascii() and "\x00" not in text


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:40]!r}... ({len(text)} characters)"


def findable(*texts: str | None) -> bool:
    """Whether rows could hold these values: a NUL or a lone surrogate is in no row (the
    append refuses them), so a read looking for one answers "nothing" without asking
    the database, which PostgreSQL would refuse as an invalid byte sequence."""
    for text in texts:
        if text is None:
            continue
        if "\x00" in text:
            return False
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True

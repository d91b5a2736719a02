"""The documents a batch works on: a batch-wide cache and a per-event overlay.

The runner prefetches a batch's documents in one query into a
`DocumentCache`. Each event gets its own `OverlayView` on top: reads see the
cache, writes stay in the overlay until the handler returns, and only then are
they encoded and merged, so a failing event leaves nothing behind. At the end
of the batch the cache's changes are committed with the checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any

from .projections import Document, ProjectionError

Fetch = Callable[[Collection[str]], Awaitable[dict[str, Document]]]

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class InvalidDocument(ProjectionError):
    """A handler wrote a document that is not a JSON object: the event is a dead letter."""


def copy_document(value: Any) -> Any:
    """A deep copy of JSON-shaped data (much cheaper than `copy.deepcopy`)."""
    if isinstance(value, dict):
        return {key: copy_document(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [copy_document(item) for item in value]
    return value


def encode_document(key: str, document: Document) -> str:
    """Compact JSON text of a document, or InvalidDocument."""
    try:
        return _encoder.encode(document)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"document {key!r} is not JSON-serialisable: {exc}") from None


class DocumentCache:
    """One generation's documents as a batch has seen and changed them."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        #: key -> document (None: known not to exist)
        self._documents: dict[str, Document | None] = {}
        #: key -> JSON text to upsert, or None to delete
        self.changes: dict[str, str | None] = {}

    async def prefetch(self, keys: Iterable[str]) -> None:
        """Load every key not yet known, in one query."""
        missing = {key for key in keys if key not in self._documents}
        if missing:
            await self._load(missing)

    async def get(self, key: str) -> Document | None:
        """The document at `key` (shared: callers copy before changing it)."""
        if key not in self._documents:
            await self._load({key})
        return self._documents[key]

    async def _load(self, keys: Collection[str]) -> None:
        found = await self._fetch(keys)
        for key in keys:
            self._documents[key] = found.get(key)

    def absorb(self, writes: dict[str, Document | None], encoded: dict[str, str | None]) -> None:
        """Take an event's finished writes into the batch."""
        self._documents.update(writes)
        self.changes.update(encoded)

    def upserts(self) -> dict[str, str]:
        return {key: text for key, text in self.changes.items() if text is not None}

    def deletes(self) -> list[str]:
        return [key for key, text in self.changes.items() if text is None]


class OverlayView:
    """The `View` one event's handler sees: copy-on-write over the batch's cache."""

    def __init__(self, cache: DocumentCache) -> None:
        self._cache = cache
        self._writes: dict[str, Document | None] = {}

    async def get(self, key: str) -> Document | None:
        if key in self._writes:
            document = self._writes[key]
        else:
            document = await self._cache.get(key)
        return None if document is None else copy_document(document)

    def put(self, key: str, document: Document) -> None:
        if not isinstance(key, str) or not isinstance(document, dict):
            raise InvalidDocument(
                f"put needs a string key and a dict document, got {type(key).__name__} "
                f"and {type(document).__name__}"
            )
        self._writes[key] = document

    def delete(self, key: str) -> None:
        self._writes[key] = None

    def commit(self) -> None:
        """Encode the writes (InvalidDocument leaves the cache untouched) and merge them."""
        encoded = {
            key: None if document is None else encode_document(key, document)
            for key, document in self._writes.items()
        }
        self._cache.absorb(self._writes, encoded)

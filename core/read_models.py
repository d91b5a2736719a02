"""The documents a batch works on: a batch-wide cache and a per-event overlay.

The runner prefetches a batch's documents in one query into a
`DocumentCache`. Each event gets its own `OverlayView` on top: reads see the
cache, writes stay in the overlay until the handler returns, and only then are
they checked and merged, so a failing event leaves nothing behind and a
document that is not JSON fails its own event (InvalidDocument). The cache
keeps private plain-JSON copies (what the store would give back), and a
changed document is encoded once, when the batch commits it with the
checkpoint, however many events of the batch changed it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Collection, Iterable
from math import isfinite
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from .projections import Document, ProjectionError

Fetch = Callable[[Collection[str]], Awaitable[dict[str, Document]]]

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
#: Types a JSON document shares without copying (immutable; floats are checked apart).
_ATOMS = frozenset({str, int, bool, type(None)})
#: Values a copy shares (a float is immutable too, but may not be finite JSON).
_SHARED = _ATOMS | {float}
_KEYS = frozenset({str})
_MISSING: Any = object()


class InvalidDocument(ProjectionError):
    """A handler wrote a document that is not a JSON object: the event is a dead letter."""


class _NotPlain(Exception):
    """A value outside plain JSON types (a subclass, a tuple, a non-finite float...)."""


def copy_document(value: Any) -> Any:
    """A deep copy of JSON-shaped data (much cheaper than `copy.deepcopy`)."""
    if type(value) is dict:
        if _SHARED.issuperset(map(type, value.values())):
            return value.copy()  # flat: nothing inside to copy
        try:
            return _plain_object(value)
        except (_NotPlain, RecursionError):
            pass
    if isinstance(value, dict):
        return {key: copy_document(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [copy_document(item) for item in value]
    return value


def _plain_object(value: dict[Any, Any]) -> dict[str, Any]:
    """A copy of a dict made only of plain JSON values, or _NotPlain."""
    if _ATOMS.issuperset(map(type, value.values())) and _KEYS.issuperset(map(type, value)):
        return dict(value)  # flat, the common case: one C-level pass each
    for key in value:
        if type(key) is not str:
            raise _NotPlain
    return {key: item if type(item) in _ATOMS else _plain(item) for key, item in value.items()}


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return _plain_object(value)
    if kind is list:
        return [item if type(item) in _ATOMS else _plain(item) for item in value]
    if kind is float and isfinite(value):
        return value
    raise _NotPlain


def encode_document(key: str, document: Document) -> str:
    """Compact JSON text of a document, or InvalidDocument."""
    try:
        return _encoder.encode(document)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"document {key!r} is not JSON-serialisable: {exc}") from None


def _encode_plain(key: str, document: Document) -> str:
    """`encode_document` of a plain document; a flat one without floats (most) through
    pydantic-core's encoder, which writes such values byte for byte as `json` does,
    four times faster (floats may be spelled otherwise, so they take the slow path)."""
    if _ATOMS.issuperset(map(type, document.values())):
        with contextlib.suppress(PydanticSerializationError):  # a lone surrogate, say
            return to_json(document).decode()
    return encode_document(key, document)


def snapshot_document(key: str, document: Document) -> Document:
    """A private plain-JSON copy of a written document, as the store would give it
    back (tuples as lists, subclasses as their JSON type); InvalidDocument if it
    cannot be stored as JSON."""
    try:
        return _plain_object(document)
    except (_NotPlain, RecursionError):
        loaded: Document = json.loads(encode_document(key, document))
        return loaded


class DocumentCache:
    """One generation's documents as a batch has seen and changed them."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        #: key -> plain JSON document, private to the cache (None: known not to exist)
        self.documents: dict[str, Document | None] = {}
        #: key -> document changed since the last commit (None: deleted), first change first
        self.changed: dict[str, Document | None] = {}

    async def prefetch(self, keys: Iterable[str]) -> None:
        """Load every key not yet known, in one query."""
        documents = self.documents
        missing = {key for key in keys if key not in documents}
        if missing:
            await self._load(missing)

    async def get(self, key: str) -> Document | None:
        """The document at `key` (shared: callers copy before changing it)."""
        if key not in self.documents:
            await self._load({key})
        return self.documents[key]

    async def _load(self, keys: Collection[str]) -> None:
        found = await self._fetch(keys)
        for key in keys:
            self.documents[key] = found.get(key)

    async def read_ahead(self, keys: Iterable[str]) -> dict[str, Document | None]:
        """The documents at `keys` this cache does not know yet, read now (None: no such
        document) to be handed to `learn` later, when they are needed."""
        documents = self.documents
        missing = {key for key in keys if key not in documents}
        if not missing:
            return {}
        found = await self._fetch(missing)
        return {key: found.get(key) for key in missing}

    def learn(self, read: dict[str, Document | None]) -> None:
        """Take documents from `read_ahead`, except any this cache has come to know
        since (its own version is the newer one)."""
        documents = self.documents
        for key, document in read.items():
            if key not in documents:
                documents[key] = document

    def absorb(self, writes: dict[str, Document | None]) -> None:
        """Take an event's finished writes (private plain-JSON documents) into the batch."""
        self.documents.update(writes)
        self.changed.update(writes)

    def upserts(self) -> dict[str, str]:
        """The changed documents as JSON text, encoded once each."""
        return {
            key: _encode_plain(key, document)
            for key, document in self.changed.items()
            if document is not None
        }

    def deletes(self) -> list[str]:
        return [key for key, document in self.changed.items() if document is None]

    def committed(self) -> None:
        """The changes so far are stored: the next commit starts from none."""
        self.changed.clear()


class OverlayView:
    """The `View` one event's handler sees: copy-on-write over the batch's cache."""

    __slots__ = ("_cache", "_writes")

    def __init__(self, cache: DocumentCache) -> None:
        self._cache = cache
        self._writes: dict[str, Document | None] = {}

    async def get(self, key: str) -> Document | None:
        document = self._writes.get(key, _MISSING)
        if document is _MISSING:
            document = self._cache.documents.get(key, _MISSING)
            if document is _MISSING:
                document = await self._cache.get(key)
        return None if document is None else copy_document(document)

    def put(self, key: str, document: Document) -> None:
        if not isinstance(key, str) or not isinstance(document, dict):
            raise InvalidDocument(
                f"put needs a string key and a dict document, got {type(key).__name__} "
                f"and {type(document).__name__}"
            )
        if "\x00" in key:
            raise _nul_in(key)
        self._writes[key] = document

    def delete(self, key: str) -> None:
        if isinstance(key, str) and "\x00" in key:
            raise _nul_in(key)
        self._writes[key] = None

    def commit(self) -> None:
        """Check and copy the writes (InvalidDocument leaves the cache untouched), then
        merge them."""
        writes = self._writes
        if len(writes) == 1:  # the common case, without the intermediate dict
            ((key, document),) = writes.items()
            if document is not None:
                document = snapshot_document(key, document)
            cache = self._cache
            cache.documents[key] = cache.changed[key] = document
            return
        self._cache.absorb(
            {
                key: None if document is None else snapshot_document(key, document)
                for key, document in writes.items()
            }
        )


def _nul_in(key: str) -> InvalidDocument:
    # SQLite would cut the key at the NUL (two keys could become one), PostgreSQL refuses it
    return InvalidDocument(f"document key {key!r} holds a NUL character, which no store can keep")

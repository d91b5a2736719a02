"""The JSON object a SQLite commit hands to json_each is exactly what the json module
writes, whichever encoder wrote it; odd documents read back exactly, and a key no
store can keep is refused when it is written."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.projection_store import BatchCommit
from core.projections import Document
from core.read_models import DocumentCache, InvalidDocument, OverlayView
from stores import open_stores
from stores.projection_rows import _json_object
from stores.projection_store import SqlProjectionStore

ODD = '\x00\x1f\x7f"\\/\n\t\u2028\ufeff naïve ☃ 😀'
compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def test_the_object_is_what_the_json_module_writes() -> None:
    docs = {ODD: json.dumps({ODD: ODD}, ensure_ascii=False), "plain": '{"n":1}'}
    assert _json_object(docs) == compact(docs)
    # what orjson refuses goes through the json module
    assert _json_object({"s": "\ud800"}) == compact({"s": "\ud800"})


async def test_odd_documents_read_back_exactly_on_sqlite(tmp_path: Path) -> None:
    events, _ = await open_stores(str(tmp_path / "odd.db"))
    try:
        store = SqlProjectionStore(events.engine)
        await store.ensure_checkpoints({"odd": 1}, datetime.now(UTC))
        checkpoint = await store.checkpoint("odd")
        assert checkpoint is not None
        key = ODD.replace("\x00", "")  # a key with NUL is refused before it gets here
        documents = {key: {ODD: [ODD, 2**70]}, "plain": {"n": 1}}
        await store.commit(
            BatchCommit(
                name="odd",
                generation=checkpoint.generation,
                expected_position=checkpoint.position,
                expected_revision=checkpoint.revision,
                position=checkpoint.position,
                now=checkpoint.updated_at,
                upserts={key: compact(doc) for key, doc in documents.items()},
            )
        )
        stored = await store.get_documents("odd", checkpoint.generation, list(documents))
        assert stored == documents
    finally:
        await events.close()


@pytest.mark.parametrize("write", ["put", "delete"])
async def test_a_key_with_nul_fails_its_event_with_a_clear_error(write: str) -> None:
    async def nothing(keys: Collection[str]) -> dict[str, Document]:
        return {}

    view = OverlayView(DocumentCache(nothing))
    with pytest.raises(InvalidDocument, match="holds a NUL character, which no store can keep"):
        if write == "put":
            view.put("order\x00-1", {"n": 1})
        else:
            view.delete("order\x00-1")

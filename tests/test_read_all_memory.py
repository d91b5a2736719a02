"""Reading the whole store holds one page in memory, not the table."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from stores import open_stores
from tests.store_contract import new_event


async def peak_while_reading(db: Path, events: int) -> int:
    store, _ = await open_stores(str(db))
    try:
        head = await store.head_position()
        for stream in range(head // 1000, events // 1000):
            batch = [new_event(data={"n": i, "pad": "x" * 200}) for i in range(1000)]
            await store.append(f"s{stream}", "Thing", batch, 0)
        tracemalloc.start()
        count = 0
        async for _event in store.read_all(page_size=500):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == events
        return peak
    finally:
        await store.close()


async def test_read_all_memory_does_not_grow_with_the_store(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    small = await peak_while_reading(db, 2_000)
    large = await peak_while_reading(db, 40_000)
    # 20x the events; a reader holding them all would need ~20x the memory
    assert large < 2 * small, (small, large)

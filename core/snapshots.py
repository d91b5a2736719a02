"""Snapshots and the policy that decides when to take them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Snapshot(BaseModel):
    """An aggregate's state at one version of its stream."""

    model_config = ConfigDict(frozen=True)

    stream_id: str
    stream_type: str
    version: int
    state: dict[str, Any]
    state_schema: int
    taken_at: datetime


class SnapshotPolicy:
    """Take a snapshot whenever a save crosses a multiple of `every` events."""

    def __init__(self, every: int = 100) -> None:
        if every < 1:
            raise ValueError("snapshot interval must be at least 1")
        self.every = every

    def due(self, old_version: int, new_version: int) -> bool:
        return old_version // self.every != new_version // self.every

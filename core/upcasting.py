"""The upcaster chain: lifts stored payloads of old schema versions to the current one.

An upcaster is a pure function from the payload of version N to that of N+1.
The stored row is never rewritten: lifting happens on every read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class UpcasterChain:
    """Per event type, the steps `N -> N+1` that lift a payload to the current version."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int, step: Upcaster) -> None:
        """Register the step lifting `event_type` from `from_version` to `from_version + 1`."""
        key = (event_type, from_version)
        if key in self._steps:
            raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
        self._steps[key] = step

    def lift(self, event_type: str, version: int, target: int, payload: Payload) -> Payload:
        """Lift `payload` from `version` to `target`; raises KeyError naming a missing step."""
        while version < target:
            step = self._steps.get((event_type, version))
            if step is None:
                raise KeyError(f"no upcaster for {event_type} from schema version {version}")
            payload = step(payload)
            version += 1
        return payload

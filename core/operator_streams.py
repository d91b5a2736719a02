"""Where the operator audit trail lives: its stream type and its stream ids.

A leaf module (no imports), so the repository can refuse commands that would write
there without importing the operator events (core/operator_events.py).
"""

from __future__ import annotations

OPERATOR_STREAM_TYPE = "Operator"
#: Stream ids of the operator audit trail; no command may write a stream named so.
OPERATOR_STREAM_PREFIXES = ("projection-", "import-", "seed-", "repair-")


#: The stream of one `eventdeck seed` run's operator event (with a new id after it).
SEED_STREAM_PREFIX = "seed-"
#: The stream of one `eventdeck doctor --repair` that changed something.
REPAIR_STREAM_PREFIX = "repair-"


def operator_stream(projection: str) -> str:
    """The stream of the operator actions on one projection."""
    return f"projection-{projection}"


def is_operator_stream(stream_id: str, stream_type: str | None = None) -> bool:
    """Whether `stream_id` (or `stream_type`) belongs to the operator audit trail."""
    return stream_id.startswith(OPERATOR_STREAM_PREFIXES) or stream_type == OPERATOR_STREAM_TYPE


def reserved_stream_refusal(stream_id: str) -> str:
    """Why a command may not write `stream_id` (one line)."""
    shown = stream_id if len(stream_id) <= 60 else stream_id[:60] + "..."
    return (
        f"the id {shown!r} is reserved: streams starting with "
        f"{' or '.join(repr(p) for p in OPERATOR_STREAM_PREFIXES)} hold eventdeck's operator "
        "audit trail, which commands cannot change; pick another id"
    )

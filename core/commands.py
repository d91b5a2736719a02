"""Commands and the command bus: load, decide, append with the expected version.

A handler loads what it needs through the repository, calls business methods
and returns the aggregate with pending events. The bus saves it with the
version it was loaded at; on a concurrency conflict it runs the handler again
on fresh state, a bounded number of times.

The bus's repository keeps the aggregates it saved (core/command_repository.py),
so a stream's next command starts from memory; the expected-version check on
append catches a stale one, and a refusal decided on remembered state is
decided again on the store's state before it reaches the caller.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .aggregate import Aggregate
from .command_repository import DEFAULT_SIZE, CachedRepository
from .errors import ConcurrencyError, EventdeckError, InvalidInput
from .events import Metadata, RecordedEvent
from .repository import Repository


class Command(BaseModel):
    """Base of command models: imperative, immutable, validated on creation."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    #: The command's name on the command line (`place-order`).
    command_name: ClassVar[str]
    #: The field naming the stream the command changes, if known before handling.
    target_field: ClassVar[str | None] = None

    def target_stream(self) -> str | None:
        """The id of the stream this command changes, when the command names it."""
        if self.target_field is None:
            return None
        value = getattr(self, self.target_field, None)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class CommandContext:
    """Who issued a command and what it belongs to."""

    user_id: str
    command_id: str
    correlation_id: str
    causation_id: str

    def metadata(self) -> Metadata:
        return Metadata(
            user_id=self.user_id,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )


@dataclass(frozen=True)
class CommandResult:
    """The stream a command changed, its version afterwards and the events written."""

    stream_id: str
    stream_type: str
    version: int
    events: list[RecordedEvent]


Handler = Callable[[Command, Repository, CommandContext], Awaitable[Aggregate]]


class _StreamTurn:
    """One stream's commands of this process, one at a time (kept while any wait)."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class CommandBus:
    """Routes each command to its handler; retries on concurrency conflicts."""

    def __init__(
        self,
        repository: Repository,
        handlers: dict[type[Command], Handler] | None = None,
        max_attempts: int = 10,
        cache_size: int = DEFAULT_SIZE,
    ) -> None:
        #: The command path's repository: it remembers the aggregates it saved.
        self.repository = CachedRepository(repository, size=cache_size)
        self.handlers: dict[type[Command], Handler] = dict(handlers or {})
        self.max_attempts = max_attempts
        # Commands of this process for one stream queue here instead of colliding
        # in the store; retries then only settle conflicts with other processes.
        self._stream_turns: dict[str, _StreamTurn] = {}

    def register(self, command: type[Command], handler: Handler) -> None:
        self.handlers[command] = handler

    async def dispatch(
        self,
        command: Command,
        *,
        user_id: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> CommandResult:
        """Run a command to completion; raises the domain's errors unchanged."""
        handler = self.handlers.get(type(command))
        if handler is None:
            raise InvalidInput(f"no handler for command {type(command).__name__}")
        command_id = self.repository.ids.new_id()
        context = CommandContext(
            user_id=user_id,
            command_id=command_id,
            correlation_id=correlation_id or command_id,
            causation_id=causation_id or command_id,
        )
        target = command.target_stream()
        if target is None:
            return await self._run(handler, command, context)
        turns = self._stream_turns
        turn = turns.get(target)
        if turn is None:
            turn = turns[target] = _StreamTurn()
        turn.users += 1
        try:
            async with turn.lock:
                return await self._run(handler, command, context)
        finally:
            turn.users -= 1
            if not turn.users:
                del turns[target]

    async def _run(
        self, handler: Handler, command: Command, context: CommandContext
    ) -> CommandResult:
        last_conflict: ConcurrencyError | None = None
        for attempt in range(self.max_attempts):
            with self.repository.tracking() as from_memory:
                try:
                    aggregate = await handler(command, self.repository, context)
                except EventdeckError:
                    # refused on remembered state (which is dropped): decide again on
                    # the store's state
                    if not from_memory:
                        raise
                    continue
            try:
                events = await self.repository.save(aggregate, context.metadata())
            except ConcurrencyError as conflict:
                last_conflict = conflict
                # full-jitter exponential backoff, so competing processes stop
                # colliding in lock-step
                await asyncio.sleep(random.uniform(0, min(0.25, 0.004 * 2**attempt)))
                continue
            return CommandResult(
                stream_id=aggregate.id,
                stream_type=aggregate.stream_type,
                version=aggregate.version,
                events=events,
            )
        assert last_conflict is not None
        raise ConcurrencyError(
            last_conflict.stream_id,
            last_conflict.expected,
            last_conflict.actual,
            attempts=self.max_attempts,
        ) from last_conflict


C = TypeVar("C", bound=Command)


def make_command(cls: type[C], data: Mapping[str, Any]) -> C:
    """Validate `data` into a command, turning pydantic's errors into one clear line."""
    try:
        return cls.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            # a key of the caller's data (an unknown field) is quoted and cut short
            field = (
                ".".join(
                    str(part)
                    if isinstance(part, int) or len(part) <= 40 and part.isidentifier()
                    else repr(part[:40])
                    for part in error["loc"]
                )
                or "command"
            )
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{field}: {message}")
        raise InvalidInput(f"invalid {cls.command_name}: " + "; ".join(problems)) from None

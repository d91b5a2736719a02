"""The SagaContext the runner hands to a saga: sends commands at most once per trigger.

Commands go through the command bus as user SYSTEM, with the trigger's
correlation id and the trigger's event id as causation id. Before sending,
the target stream is searched for an event caused by the same trigger: if the
saga crashed after the command was appended but before its own checkpoint was
committed, the command is not sent a second time (`send` returns None).
"""

from __future__ import annotations

from .commands import Command, CommandBus, CommandResult
from .errors import InvalidInput, InvalidTransition
from .events import RecordedEvent
from .ports import EventStore

#: The user id saga commands are issued as.
SYSTEM_USER = "SYSTEM"


class BusSagaContext:
    """`core.projections.SagaContext` over a command bus.

    Business refusals (InvalidTransition, InvalidInput) are raised to the saga,
    which may handle them. Any other failure is raised too, and remembered in
    `failure`: the runner turns the event into a dead letter (or, for a store
    error, retries the batch) even if the saga swallowed it.
    """

    def __init__(self, bus: CommandBus, events: EventStore, user_id: str = SYSTEM_USER) -> None:
        self._bus = bus
        self._events = events
        self._user_id = user_id
        self.failure: BaseException | None = None
        self.sent: list[CommandResult] = []

    async def send(self, command: Command, *, caused_by: RecordedEvent) -> CommandResult | None:
        try:
            target = command.target_stream()
            if target is not None and await self._already_caused(target, caused_by.event_id):
                return None
            result = await self._bus.dispatch(
                command,
                user_id=self._user_id,
                correlation_id=caused_by.metadata.correlation_id or caused_by.event_id,
                causation_id=caused_by.event_id,
            )
        except (InvalidTransition, InvalidInput):
            raise
        except Exception as exc:
            self.failure = exc
            raise
        self.sent.append(result)
        return result

    async def _already_caused(self, stream_id: str, event_id: str) -> bool:
        for event in await self._events.read_stream(stream_id):
            if event.metadata.causation_id == event_id:
                return True
        return False

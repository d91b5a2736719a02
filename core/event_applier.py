"""Applying one event of one projection or saga: decode, run the handler on an
overlay, retry a few times, and turn what keeps failing into a dead letter."""

from __future__ import annotations

from .clock import Clock
from .commands import CommandBus
from .dead_letters import NewDeadLetter
from .errors import StoredRecordError, StoreError
from .events import DomainEvent, RecordedEvent
from .ports import EventStore
from .projections import Projection, Saga, UndecodedEvent, handles_every_type
from .read_models import DocumentCache, OverlayView
from .registry import EventRegistry
from .saga_context import BusSagaContext

Decoded = DomainEvent | StoredRecordError


class EventApplier:
    """Runs one processor's handler for single events against a DocumentCache.

    A StoreError from a handler (a saga's command, a document fetch) is
    transient: it propagates, and the caller retries the whole batch. Any other
    exception is retried `attempts` times, then returned as a dead letter.
    """

    def __init__(
        self,
        processor: Projection,
        registry: EventRegistry,
        clock: Clock,
        *,
        attempts: int,
        events: EventStore | None = None,
        bus: CommandBus | None = None,
    ) -> None:
        self.processor = processor
        self.is_saga = isinstance(processor, Saga)
        self._sees_every_type = handles_every_type(processor)
        self._registry = registry
        self._clock = clock
        self._attempts = max(attempts, 1)
        self._events = events
        self._bus = bus
        #: Commands this applier's saga has sent (catch-up runs again while it grows).
        self.commands_sent = 0

    def require_runnable(self) -> None:
        """Refuse to drive a saga without a command bus (it could not send anything)."""
        if self.is_saga and (self._bus is None or self._events is None):
            raise ValueError(
                f"saga {self.processor.name!r} needs a command bus and the event store to run"
            )

    def decode(self, record: RecordedEvent) -> Decoded:
        """The event, or the error saying why the stored row cannot be decoded (an
        UndecodedEvent instead for a projection that sees every type)."""
        try:
            return self._registry.decode(record)
        except StoredRecordError as exc:
            if self._sees_every_type:
                return UndecodedEvent(type=record.type, problem=exc.problem)
            return exc

    def prefetch_keys(self, decoded: Decoded, record: RecordedEvent) -> tuple[str, ...]:
        if isinstance(decoded, StoredRecordError):
            return ()
        try:
            return tuple(self.processor.prefetch_keys(decoded, record))
        except Exception:  # noqa: BLE001 - apply() will meet (and dead-letter) the same problem
            return ()

    async def apply(
        self,
        record: RecordedEvent,
        decoded: Decoded,
        cache: DocumentCache,
        *,
        attempts: int | None = None,
    ) -> NewDeadLetter | None:
        """Apply the event to `cache`; a dead letter draft if it keeps failing."""
        if isinstance(decoded, StoredRecordError):
            return NewDeadLetter.of(record, decoded, 1, self._clock.now())
        tries = attempts or self._attempts
        failure: BaseException | None = None
        for _ in range(tries):
            overlay = OverlayView(cache)
            try:
                if self.is_saga:
                    await self._react(decoded, record, overlay)
                else:  # a projection's handler, called directly: this is the hot loop
                    await self.processor.apply(decoded, record, overlay)
                overlay.commit()
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - any handler bug becomes a dead letter
                failure = exc
                continue
            return None
        assert failure is not None
        return NewDeadLetter.of(record, failure, tries, self._clock.now())

    async def _react(self, event: DomainEvent, record: RecordedEvent, view: OverlayView) -> None:
        assert self._bus is not None and self._events is not None
        assert isinstance(self.processor, Saga)
        context = BusSagaContext(self._bus, self._events)
        try:
            await self.processor.react(event, record, view, context)
        finally:
            self.commands_sent += len(context.sent)
        if context.failure is not None:
            # The saga swallowed a failure that is not a business refusal: the event
            # must not count as handled (a StoreError is retried with the batch).
            raise context.failure

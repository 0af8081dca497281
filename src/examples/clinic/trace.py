"""A bus observer that prints what happens as it happens: the demo's narration.

One line per step (an event published or scheduled, a scheduled one cancelled, a handler
started, succeeded or failed, a dead letter), stamped with the bus's clock (day and time), so on
a virtual clock the retries' backoff and the timers show as time passing. Event types named
``quiet`` (a recurring tick every half hour, say) are counted but not printed. It also counts
what it saw, for the demo's closing summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from rich.console import Console
from rich.markup import escape

from ...application.observers import NullObserver
from ...domain.events import DomainEvent
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter
from ...ports.event_bus import PublishOutcome, PublishResult
from ...ports.handlers import HandlerSpec, Priority

_OUTCOME_STYLE = {
    PublishOutcome.ACCEPTED: "green",
    PublishOutcome.SCHEDULED: "cyan",
    PublishOutcome.DUPLICATE: "yellow",
}


def short_id(value: object) -> str:
    """The first 8 characters of an id: enough to follow one event through a trace."""
    return str(value).replace("-", "")[:8]


def queue_of(handler: HandlerSpec) -> str:
    """The queue a handler's work runs from: ``appointment``, or ``appointment.low``."""
    if handler.priority is Priority.NORMAL:
        return handler.queue
    return f"{handler.queue}.{handler.priority.name.lower()}"


class TraceObserver(NullObserver):
    """Prints a readable, coloured trace of a bus to ``console`` and counts what it saw."""

    def __init__(self, console: Console, clock: Clock, *, quiet: Iterable[str] = ()) -> None:
        self.console = console
        self.clock = clock
        self.quiet = frozenset(quiet)
        self.published_count = 0
        self.duplicates = 0
        self.scheduled = 0
        self.cancelled_count = 0
        self.runs = 0
        self.succeeded = 0
        self.failed_attempts = 0
        self.retries = 0
        self.dead_letters = 0
        self.quieted: Counter[str] = Counter()
        """Events of the quiet types published, by type."""
        self._scheduled_types: dict[UUID, str] = {}

    def _line(self, text: str, at: datetime | None = None) -> None:
        stamp = (at or self.clock.now()).strftime("%a %H:%M:%S.%f")[:-3]
        self.console.print(f"[dim]{stamp}[/]  {text}", highlight=False)

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        """``publish  appointment.created  #1a2b3c4d  accepted``."""
        outcome = result.outcome
        if event.event_type in self.quiet:
            if outcome is not PublishOutcome.DUPLICATE:
                self.published_count += 1
                self.quieted[event.event_type] += 1
            return
        if outcome is PublishOutcome.DUPLICATE:
            self.duplicates += 1
            note = "duplicate: already accepted, nothing runs"
        else:
            self.published_count += 1
            if outcome is PublishOutcome.SCHEDULED and result.due_at is not None:
                self.scheduled += 1
                self._scheduled_types[event.event_id] = event.event_type
                note = f"scheduled for {result.due_at:%a %H:%M:%S}"
            else:
                note = "accepted"
        style = _OUTCOME_STYLE[outcome]
        self._line(
            f"[bold]publish[/] [bold {style}]{event.event_type}[/] "
            f"[dim]#{short_id(event.event_id)}[/] [{style}]{note}[/]"
        )

    def cancelled(self, event_id: UUID) -> None:
        """``cancel  appointment.reminder_due  #1a2b3c4d  will not fire``."""
        self.cancelled_count += 1
        event_type = self._scheduled_types.get(event_id, "scheduled event")
        self._line(
            f"[bold]cancel[/]  [bold magenta]{event_type}[/] [dim]#{short_id(event_id)}[/] "
            "[magenta]will not fire[/]"
        )

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """``  run  booking.notify_doctor 1/5 (notification)``."""
        self.runs += 1
        if event.event_type in self.quiet:
            return
        self._line(
            f"  [dim]run[/]  {handler.name} [dim]{attempt}/{handler.retry.max_attempts} "
            f"({queue_of(handler)})[/]"
        )

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """``  ok   booking.notify_doctor``."""
        self.succeeded += 1
        if event.event_type in self.quiet:
            return
        self._line(f"  [green]ok[/]   {handler.name}")

    def handler_skipped(self, event: DomainEvent, handler: HandlerSpec) -> None:
        """A redelivery found the handler already done."""
        self._line(f"  [dim]skip {handler.name} (already succeeded for this event)[/]")

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """``  FAIL booking.send_invoice 1/5 NotificationFailed -> retry at ...``, then the
        error's message on a line of its own."""
        self.failed_attempts += 1
        if retry_at is not None:
            self.retries += 1
            then = f"[yellow]retry at {retry_at.strftime('%H:%M:%S.%f')[:-3]}[/]"
        else:
            then = "[red]no more attempts[/]"
        self._line(
            f"  [red]FAIL[/] {handler.name} [dim]{attempt}/{handler.retry.max_attempts}[/] "
            f"[red]{type(error).__name__}[/] -> {then}"
        )
        self.console.print(f"{'':18}[dim red]{escape(str(error))}[/]", highlight=False)

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        """``  DEAD booking.notify_doctor dead letter 5f3fb889 (non_retryable)``."""
        self.dead_letters += 1
        self._line(
            f"  [bold magenta]DEAD[/] {dead_letter.handler} [magenta]dead letter "
            f"{short_id(dead_letter.id)}[/] [dim]({dead_letter.reason.value})[/]",
            dead_letter.failed_at,
        )

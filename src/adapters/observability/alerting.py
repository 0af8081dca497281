"""Alerts when events go dead: the one failure nobody sees unless told.

A retried failure heals itself; a dead letter waits for a person. :class:`AlertingObserver`
alerts on the first dead letter of a handler at once, then at most once per period for that
handler, with a count of how many went dead since. It runs in every process that handles
events, so with N worker processes a handler can be alerted about up to N times per period;
a count in each is still right for that process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...application.observers import NullObserver
from ...domain.events import DomainEvent
from ...ports.alerts import Alert, Alerter, AlertKind, Severity
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter
from ...ports.handlers import HandlerSpec
from ..clocks import SystemClock
from .alert_gate import AlertGate

_NO_HANDLER = "(no handler)"


class AlertingObserver(NullObserver):
    """Sends a :data:`AlertKind.DEAD_LETTER` alert per handler per ``period`` at most."""

    def __init__(
        self,
        alerter: Alerter,
        *,
        clock: Clock | None = None,
        period: timedelta = timedelta(minutes=5),
    ) -> None:
        self._alerter = alerter
        self._clock = clock or SystemClock()
        self._gate = AlertGate(period)

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        """Alert now, or count it for the next alert about this handler."""
        now = self._clock.now()
        handler = dead_letter.handler or _NO_HANDLER
        count = self._gate.admit(handler, now)
        if count is not None:
            self._alerter.send(_dead_letter_alert(dead_letter, handler, count, now))
        self.flush(now)

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """Each run is a chance to report dead letters held back once their period is over."""
        if self._gate.holding:
            self.flush()

    def flush(self, now: datetime | None = None) -> None:
        """Report the dead letters held back whose period is over (one alert per handler)."""
        now = now or self._clock.now()
        for handler, count, since in self._gate.due(now):
            self._alerter.send(
                Alert(
                    kind=AlertKind.DEAD_LETTER,
                    severity=Severity.ERROR,
                    title=f"{count} more event(s) dead-lettered by {handler}",
                    detail=(
                        f"{count} dead letter(s) of {handler} since the alert at "
                        f"{since.isoformat(timespec='seconds')}; see the dead letters."
                    ),
                    at=now,
                    labels={"handler": str(handler), "count": str(count)},
                )
            )


def _dead_letter_alert(dead_letter: DeadLetter, handler: str, count: int, now: datetime) -> Alert:
    # Identifiers and the error's type only: the error message may quote payload values.
    more = f" ({count - 1} more since the last alert)" if count > 1 else ""
    event = f"{dead_letter.event_type or 'unreadable message'}"
    if dead_letter.event_id is not None:
        event += f" {dead_letter.event_id}"
    return Alert(
        kind=AlertKind.DEAD_LETTER,
        severity=Severity.ERROR,
        title=f"Event dead-lettered by {handler}{more}",
        detail=(
            f"{event} on queue {dead_letter.queue}: {dead_letter.reason.value} after "
            f"{dead_letter.attempts} attempt(s), last error {dead_letter.error_type}; "
            f"dead letter {dead_letter.id}."
        ),
        at=now,
        labels={
            "queue": dead_letter.queue,
            "handler": handler,
            "event_type": dead_letter.event_type or "",
            "reason": dead_letter.reason.value,
            "dead_letter_id": dead_letter.id,
            "count": str(count),
        },
    )

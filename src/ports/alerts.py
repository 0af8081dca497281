"""Alerts: telling a person that the bus needs attention, through whatever channel they watch.

Whoever notices a problem (an event gone dead, a queue backing up) builds an :class:`Alert`
and hands it to an :class:`Alerter`; where it goes (a log line, a chat webhook, a pager) is the
composition root's choice. Deciding *whether* to alert, and how often, is not the alerter's job:
it delivers what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Protocol

import attrs


class AlertKind(Enum):
    """What an alert is about; with a queue or handler it is the unit of rate limiting."""

    DEAD_LETTER = "dead_letter"
    """A handler gave up on an event: it went to the dead letters."""
    FAILURE_RATE = "failure_rate"
    """Too many of a queue's recent runs failed."""
    BACKLOG = "backlog"
    """Too many messages are waiting in a queue."""
    MONITOR_UNAVAILABLE = "monitor_unavailable"
    """The queues could not be read at all (the broker is probably down)."""
    CRASH_LOOP = "crash_loop"
    """A worker process keeps dying soon after it is restarted."""
    OUTBOX_BACKLOG = "outbox_backlog"
    """The oldest event in the transactional outbox has waited too long for a relay."""


class Severity(Enum):
    """How soon someone should look."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


def _labels(value: Mapping[str, object]) -> dict[str, str]:
    return {str(key): str(item) for key, item in value.items()}


@attrs.frozen(kw_only=True)
class Alert:
    """One thing worth telling a person, with labels a receiver can route on.

    ``detail`` must not carry event payloads: alerts leave the system (chat rooms, e-mail) and
    events may hold personal health data. Identifiers (event_id, handler, queue) are fine.
    """

    kind: AlertKind
    severity: Severity
    title: str
    detail: str
    at: datetime
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=_labels, hash=False)


class Alerter(Protocol):
    """Delivers alerts.

    ``send`` never raises: an alerter is called from the delivery path and from watchdog
    threads, and a chat service being down must not fail a handler or stop the watching. It
    should also return quickly; an alerter that talks to the network does so off the caller's
    thread.
    """

    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` (or log why it could not be delivered)."""
        ...

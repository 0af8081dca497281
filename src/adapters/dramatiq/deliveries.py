"""One message on its way to its handler: its keys, its fate, and the ledger it offers.

Apart from :mod:`.settlement` (which decides fates) and :mod:`.fates` (which writes them), so
each stays one concept; the handler runner sees a :class:`Delivery` only as its
:class:`~hexbus.ports.ledger.DeliveryLedger`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

if TYPE_CHECKING:
    from .fates import Fates


class Fate(Enum):
    """What became of one delivery (each written by one script, see the module's table)."""

    COMPLETED = "completed"
    SKIPPED = "skipped"
    RETRY = "retry"
    WAIT = "wait"
    DEAD = "dead"
    PUT_BACK = "put back"
    LEFT_IN_FLIGHT = "left in flight"
    """The worker stopped while Redis was still away: recovery returns it (ADR 0007)."""


class WorkerDeaths(Exception):
    """Raised by :meth:`Delivery.begin` instead of starting a handler that worker processes
    died running as many times as allowed; the settlement dead-letters the message."""

    def __init__(self, deaths: int) -> None:
        super().__init__(f"worker died while handling it {deaths} times")
        self.deaths = deaths


@attrs.frozen
class Fetched:
    """One message read off a fetch and fit for its handler: what a worker thread delivers
    (:mod:`.intake` makes it, the settlement starts it, :mod:`.delivery` runs it)."""

    queue: str
    redis_id: str
    attempt: int
    handler: str
    envelope: dict[str, Any]


StartedFor = tuple[str, str]
"""The event id and handler ``fetch.lua`` started a message for (:mod:`.fetcher`): a message
the worker then refuses has that handler's status marked dead by its dead letter."""


@attrs.frozen
class QueueKeys:
    """One queue's name and keys as this worker process sees them (made once per queue)."""

    name: str
    list: str
    messages: str
    acks: str
    wake: str
    stats: str
    runs: str


class Delivery:
    """One message on its way to its handler, and the ledger the handler runner uses.

    Made by :meth:`Settlement.delivery` only. ``fate`` is set by the :class:`~.fates.Fates`
    that write one, and read by no other layer: it lets the settlement refuse to settle a
    message twice.
    """

    __slots__ = (
        "_fates",
        "attempt",
        "event_id",
        "event_type",
        "fate",
        "handler",
        "keys",
        "redis_id",
    )

    def __init__(
        self,
        fates: Fates,
        *,
        keys: QueueKeys,
        redis_id: str,
        attempt: int,
        handler: str,
        event_id: str,
        event_type: str,
    ) -> None:
        self._fates = fates
        self.keys = keys
        self.redis_id = redis_id
        self.attempt = attempt
        self.handler = handler
        self.event_id = event_id
        self.event_type = event_type
        self.fate: Fate | None = None

    @property
    def queue(self) -> str:
        """The queue the message was taken from."""
        return self.keys.name

    # --- the DeliveryLedger port ------------------------------------------------------------

    def begin(self) -> bool:
        """``start.lua`` (or its batch's answer, ADR 0019): True when the handler already
        succeeded; else it is now running."""
        return self._fates.start(self)

    def succeeded(self, elapsed: timedelta) -> None:
        """``complete.lua``: the success recorded and the message acked, in one step."""
        self._fates.complete(self, elapsed)


def event_type_of(envelope: Any) -> str:
    event_type = envelope.get("event_type") if isinstance(envelope, dict) else None
    return event_type if isinstance(event_type, str) else ""


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A UUID as ``str(UUID(...))`` spells it."""


def event_id_of(envelope: Any) -> str:
    """The envelope's event id in canonical form (as every key spells it), or ''.

    An id already canonical (every envelope hexbus writes) is taken as it is: parsing it into
    a UUID and back was a measurable part of the worker's CPU per message."""
    try:
        given = envelope["event_id"]
        if isinstance(given, str) and _CANONICAL_UUID.fullmatch(given):
            return given
        return str(UUID(str(given)))
    except (KeyError, TypeError, ValueError):
        return ""

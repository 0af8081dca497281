"""The success ledger as one delivery sees it: what the handler runner needs, and no more."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol


class DeliveryLedger(Protocol):
    """The success record of one event for one handler, for one attempt to run it (ADR 0003).

    :class:`~hexbus.application.delivery.HandlerRunner` asks :meth:`begin` before running the
    handler and calls :meth:`succeeded` once it returned in time; that is all it knows of
    idempotency. Each adapter decides what else happens in the same step: the in-memory bus
    only reads and writes its store, the Redis adapter marks the handler running in the same
    script as the check, and acks the message in the same script as the success (ADR 0006).
    So the runner is one piece of code for both buses, with nothing to override.
    """

    def begin(self) -> bool:
        """True when the handler already succeeded for this event: skip it. False: it runs."""
        ...

    def succeeded(self, elapsed: timedelta) -> None:
        """Record the success (``elapsed``: how long the handler took), before anything else
        can observe it."""
        ...

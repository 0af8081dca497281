"""A medicine kept in a clinic's stock, as batches that each expire on their own date.

The rules the daily checks need live here: what is in stock on a day (expired batches do not
count), when stock is low, and which batches are due an expiry alert. A batch is alerted once
when it comes within 30 days of expiry and once more within 7: the batch remembers the
narrowest window it was alerted for, so a check that runs every night does not repeat itself
and a check that missed a night still catches up.
"""

from __future__ import annotations

from datetime import date

import attrs

from ..booking.events import Contact
from ..errors import BookingError

EXPIRY_WINDOWS: tuple[int, ...] = (7, 30)
"""Days before expiry at which a batch is alerted, narrowest first."""


@attrs.frozen(kw_only=True)
class Batch:
    """Some units of a medicine that expire together."""

    batch_id: str
    expires_on: date
    quantity: int
    alerted_within: int | None = None
    """The narrowest expiry window (days) this batch was alerted for, if any."""

    def days_left(self, today: date) -> int:
        """Days from ``today`` to expiry (0: expires today; negative: expired)."""
        return (self.expires_on - today).days

    def is_expired(self, today: date) -> bool:
        """True once the expiry date has passed."""
        return self.days_left(today) < 0


@attrs.define(kw_only=True)
class Medicine:
    """A medicine at one clinic, its batches, and the level below which it is reordered.

    ``pharmacist`` is who is told about its expiry and stock.
    """

    id: str
    name: str
    clinic_id: str
    pharmacist: Contact
    low_stock_threshold: int
    batches: tuple[Batch, ...] = ()

    def in_stock(self, today: date) -> int:
        """Units usable on ``today``: expired batches do not count."""
        return sum(b.quantity for b in self.batches if not b.is_expired(today))

    def is_low(self, today: date) -> bool:
        """True when the usable units are below the threshold."""
        return self.in_stock(today) < self.low_stock_threshold

    def expiry_alerts_due(self, today: date) -> list[tuple[Batch, int]]:
        """Batches due an alert on ``today``, each with the window (7 or 30 days) it is in."""
        due = []
        for batch in self.batches:
            left = batch.days_left(today)
            if left < 0 or batch.quantity == 0:
                continue
            window = next((w for w in EXPIRY_WINDOWS if left <= w), None)
            if window is None:
                continue
            if batch.alerted_within is None or window < batch.alerted_within:
                due.append((batch, window))
        return due

    def mark_alerted(self, batch_id: str, window: int) -> None:
        """Remember that ``batch_id`` was alerted for ``window`` days."""
        for index, batch in enumerate(self.batches):
            if batch.batch_id == batch_id:
                batches = list(self.batches)
                batches[index] = attrs.evolve(batch, alerted_within=window)
                self.batches = tuple(batches)
                return
        raise BookingError(f"medicine {self.id!r} has no batch {batch_id!r}")

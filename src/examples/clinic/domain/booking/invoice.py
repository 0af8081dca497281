"""The invoice as the booking domain keeps it once issued.

An issued invoice does not change (a correction is a new invoice), so it is frozen; the
repository stores it so that a receipt, a reprint or an audit reads what was sent.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import attrs

from .events import Contact, InvoiceLine


@attrs.frozen(kw_only=True)
class Invoice:
    """An invoice issued to a patient, optionally for one appointment."""

    id: str
    patient_id: str
    patient: Contact
    lines: tuple[InvoiceLine, ...]
    currency: str
    due_on: date
    issued_at: datetime
    appointment_id: str | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((line.total for line in self.lines), Decimal(0))

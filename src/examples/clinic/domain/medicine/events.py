"""Events of the medicine stock: the daily checks' ticks and what they find."""

from __future__ import annotations

from datetime import date

import attrs

from .....domain.events import DomainEvent
from .....domain.validation import (
    calendar_date,
    non_empty_text,
    non_negative_int,
    one_of,
    positive_int,
)
from ..booking.events import Contact
from .stock import EXPIRY_WINDOWS


@attrs.frozen(kw_only=True)
class MedicineExpiryCheckDue(DomainEvent):
    """The daily expiry check's tick (00:00 UTC); ``occurred_at`` is the day checked."""

    event_type = "medicine.expiry_check_due"


@attrs.frozen(kw_only=True)
class LowStockCheckDue(DomainEvent):
    """The daily low-stock check's tick (06:00 UTC); ``occurred_at`` is the day checked."""

    event_type = "medicine.low_stock_check_due"


@attrs.frozen(kw_only=True)
class MedicineExpiringSoon(DomainEvent):
    """A batch expires within ``within_days`` (7 or 30) days; its pharmacist is told once per
    window."""

    event_type = "medicine.expiring_soon"

    medicine_id: str = attrs.field(validator=non_empty_text)
    name: str = attrs.field(validator=non_empty_text)
    clinic_id: str = attrs.field(validator=non_empty_text)
    pharmacist: Contact
    batch_id: str = attrs.field(validator=non_empty_text)
    expires_on: date = attrs.field(validator=calendar_date)
    quantity: int = attrs.field(validator=positive_int)
    within_days: int = attrs.field(validator=one_of(*EXPIRY_WINDOWS))


@attrs.frozen(kw_only=True)
class MedicineStockLow(DomainEvent):
    """A medicine's usable stock is below its threshold (reported by each daily check)."""

    event_type = "medicine.stock_low"

    medicine_id: str = attrs.field(validator=non_empty_text)
    name: str = attrs.field(validator=non_empty_text)
    clinic_id: str = attrs.field(validator=non_empty_text)
    pharmacist: Contact
    in_stock: int = attrs.field(validator=non_negative_int)
    threshold: int = attrs.field(validator=positive_int)

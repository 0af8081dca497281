"""What the medicine checks tell a clinic's pharmacist."""

from __future__ import annotations

from typing import Final

from ...domain.medicine.events import MedicineExpiringSoon, MedicineStockLow
from ...ports.notifier import Notification
from ..notifications import addressed

EXPIRING_SOON: Final = "medicine_expiring"
STOCK_LOW: Final = "medicine_stock_low"


def expiring_soon(event: MedicineExpiringSoon) -> Notification:
    """A batch is about to expire: use it first, or send it back."""
    return addressed(
        event.pharmacist,
        event,
        EXPIRING_SOON,
        f"{event.name}: batch {event.batch_id} expires within {event.within_days} days",
        f"{event.quantity} units of {event.name} (batch {event.batch_id}) expire on "
        f"{event.expires_on.isoformat()}. Use them first, or return them to the supplier.",
    )


def stock_low(event: MedicineStockLow) -> Notification:
    """A medicine is below its reorder level."""
    return addressed(
        event.pharmacist,
        event,
        STOCK_LOW,
        f"{event.name} is running low",
        f"{event.in_stock} units of {event.name} in stock at {event.clinic_id}, below the "
        f"reorder level of {event.threshold}. Reorder now.",
    )

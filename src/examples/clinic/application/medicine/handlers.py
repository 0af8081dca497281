"""The medicine stock's handlers: the two daily checks, and telling the pharmacist.

The checks measure from the tick's time (``occurred_at``), not from when a worker picks the
tick up, so a check that waited in a queue past midnight still checks the day it was for.
Both are safe to run again: an expiry alert's id derives from the batch and its window (and
the batch remembers it was alerted), a low-stock alert's from the check and the medicine.
"""

from __future__ import annotations

from uuid import UUID

from .....application.event_ids import caused_event_id, derived_event_id
from .....ports.event_bus import EventBus
from ...domain.medicine.events import (
    LowStockCheckDue,
    MedicineExpiringSoon,
    MedicineExpiryCheckDue,
    MedicineStockLow,
)
from ...ports.notifier import Notifier
from ...ports.repositories import MedicineRepository
from . import messages


def expiring_event_id(medicine_id: str, batch_id: str, within_days: int) -> UUID:
    """The id of the one alert for ``batch_id`` entering its ``within_days`` window."""
    return derived_event_id("medicine", medicine_id, batch_id, f"expiring:{within_days}d")


class CheckMedicineExpiry:
    """MedicineExpiryCheckDue: alert each batch entering the 30-day, then the 7-day window."""

    def __init__(self, stock: MedicineRepository, event_bus: EventBus) -> None:
        self.stock = stock
        self.event_bus = event_bus

    def __call__(self, event: MedicineExpiryCheckDue) -> None:
        today = event.occurred_at.date()
        for medicine in self.stock.all():
            due = medicine.expiry_alerts_due(today)
            for batch, window in due:
                # Published before the batch is marked: a crash in between publishes the same
                # id again next time, which is a duplicate.
                self.event_bus.publish(
                    MedicineExpiringSoon(
                        event_id=expiring_event_id(medicine.id, batch.batch_id, window),
                        occurred_at=event.occurred_at,
                        medicine_id=medicine.id,
                        name=medicine.name,
                        clinic_id=medicine.clinic_id,
                        pharmacist=medicine.pharmacist,
                        batch_id=batch.batch_id,
                        expires_on=batch.expires_on,
                        quantity=batch.quantity,
                        within_days=window,
                        **event.caused(),
                    )
                )
                medicine.mark_alerted(batch.batch_id, window)
            if due:
                self.stock.save(medicine)


class CheckLowStock:
    """LowStockCheckDue: report every medicine whose usable stock is below its threshold."""

    def __init__(self, stock: MedicineRepository, event_bus: EventBus) -> None:
        self.stock = stock
        self.event_bus = event_bus

    def __call__(self, event: LowStockCheckDue) -> None:
        today = event.occurred_at.date()
        for medicine in self.stock.all():
            if not medicine.is_low(today):
                continue
            self.event_bus.publish(
                MedicineStockLow(
                    event_id=caused_event_id(event, MedicineStockLow.event_type, medicine.id),
                    occurred_at=event.occurred_at,
                    medicine_id=medicine.id,
                    name=medicine.name,
                    clinic_id=medicine.clinic_id,
                    pharmacist=medicine.pharmacist,
                    in_stock=medicine.in_stock(today),
                    threshold=medicine.low_stock_threshold,
                    **event.caused(),
                )
            )


class NotifyExpiringBatch:
    """MedicineExpiringSoon: tell the pharmacist."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: MedicineExpiringSoon) -> None:
        self.notifier.send(messages.expiring_soon(event))


class NotifyLowStock:
    """MedicineStockLow: tell the pharmacist to reorder."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: MedicineStockLow) -> None:
        self.notifier.send(messages.stock_low(event))

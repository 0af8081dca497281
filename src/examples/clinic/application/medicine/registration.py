"""Which medicine handler runs for which event, on which queue, with which options.

The checks run on the ``medicine`` queue (three at a time, ``QUEUE_CONCURRENCY``); they read
the whole stock, so they get a generous timeout. The pharmacist's messages go on the
``notification`` queue with the other notifications' retries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .....application.processor import DomainEventsProcessor
from .....ports.event_bus import EventBus
from .....ports.handlers import HandlerSpec, RetryPolicy
from ...domain.medicine.events import (
    LowStockCheckDue,
    MedicineExpiringSoon,
    MedicineExpiryCheckDue,
    MedicineStockLow,
)
from ...ports.notifier import Notifier
from ...ports.repositories import MedicineRepository
from ..booking.registration import NOTIFICATION_QUEUE, NOTIFICATION_RETRY, NOTIFICATION_TIMEOUT
from .handlers import CheckLowStock, CheckMedicineExpiry, NotifyExpiringBatch, NotifyLowStock

MEDICINE_QUEUE: Final = "medicine"
CHECK_TIMEOUT: Final = timedelta(minutes=5)
CHECK_RETRY: Final = RetryPolicy(
    max_retries=5, min_backoff=timedelta(seconds=5), max_backoff=timedelta(minutes=5)
)
"""A check that failed (storage away) is worth repeating for a while: it runs once a day."""


class Names:
    """The stable handler names of the medicine stock."""

    CHECK_EXPIRY: Final = "medicine.check_expiry"
    CHECK_LOW_STOCK: Final = "medicine.check_low_stock"
    NOTIFY_EXPIRING_BATCH: Final = "medicine.notify_expiring_batch"
    NOTIFY_LOW_STOCK: Final = "medicine.notify_low_stock"


def register_medicine_handlers(
    processor: DomainEventsProcessor,
    *,
    notifier: Notifier,
    stock: MedicineRepository,
    event_bus: EventBus,
) -> tuple[HandlerSpec, ...]:
    """Register every medicine handler on ``processor``; returns their specs (call once)."""
    checks = (
        (MedicineExpiryCheckDue, CheckMedicineExpiry(stock, event_bus), Names.CHECK_EXPIRY),
        (LowStockCheckDue, CheckLowStock(stock, event_bus), Names.CHECK_LOW_STOCK),
    )
    notifications = (
        (MedicineExpiringSoon, NotifyExpiringBatch(notifier), Names.NOTIFY_EXPIRING_BATCH),
        (MedicineStockLow, NotifyLowStock(notifier), Names.NOTIFY_LOW_STOCK),
    )
    specs = [
        processor.register_handler(
            event_type,
            handler,
            name=name,
            queue=MEDICINE_QUEUE,
            retry=CHECK_RETRY,
            timeout=CHECK_TIMEOUT,
        )
        for event_type, handler, name in checks
    ]
    specs += [
        processor.register_handler(
            event_type,
            handler,
            name=name,
            queue=NOTIFICATION_QUEUE,
            retry=NOTIFICATION_RETRY,
            timeout=NOTIFICATION_TIMEOUT,
        )
        for event_type, handler, name in notifications
    ]
    return tuple(specs)

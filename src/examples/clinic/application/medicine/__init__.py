"""The medicine stock's daily checks and the pharmacist's notifications.

:func:`register_medicine_handlers` wires the checks (queue ``medicine``) and the notifications;
:func:`register_medicine_schedules` adds their two daily ticks to a recurring scheduler.
"""

from .handlers import (
    CheckLowStock,
    CheckMedicineExpiry,
    NotifyExpiringBatch,
    NotifyLowStock,
    expiring_event_id,
)
from .registration import MEDICINE_QUEUE, Names, register_medicine_handlers
from .schedules import EXPIRY_CHECK, LOW_STOCK_CHECK, register_medicine_schedules

__all__ = [
    "EXPIRY_CHECK",
    "LOW_STOCK_CHECK",
    "MEDICINE_QUEUE",
    "CheckLowStock",
    "CheckMedicineExpiry",
    "Names",
    "NotifyExpiringBatch",
    "NotifyLowStock",
    "expiring_event_id",
    "register_medicine_handlers",
    "register_medicine_schedules",
]

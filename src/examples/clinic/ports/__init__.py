"""The clinic's ports: what its use cases and handlers need from the outside world.

Repositories (where appointments, invoices, waitlist entries, offers and stock are kept), the
:class:`Notifier` (SMS, email, WhatsApp) and the :class:`Analyzer` (the AI service). The bus
itself is hexbus's port (:class:`hexbus.EventBus`), not the clinic's.
"""

from .analyzer import Analyzer
from .notifier import Channel, Notification, Notifier
from .repositories import (
    AppointmentRepository,
    InvoiceRepository,
    MedicineRepository,
    SlotOfferRepository,
    WaitlistRepository,
)

__all__ = [
    "Analyzer",
    "AppointmentRepository",
    "Channel",
    "InvoiceRepository",
    "MedicineRepository",
    "Notification",
    "Notifier",
    "SlotOfferRepository",
    "WaitlistRepository",
]

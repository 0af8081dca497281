"""The booking domain's derived event ids (see :mod:`hexbus.application.event_ids`).

Every event that belongs to one appointment and may be published more than once (a booking
retried, a webhook delivered twice) or must be found again without storing its id (a reminder
cancelled with the appointment) takes its id from the appointment id or the transaction id.
"""

from __future__ import annotations

from uuid import UUID

from .....application.event_ids import NAMESPACE, caused_event_id, derived_event_id

__all__ = [
    "NAMESPACE",
    "appointment_created_event_id",
    "caused_event_id",
    "checked_in_event_id",
    "no_show_event_id",
    "payment_deadline_event_id",
    "payment_event_id",
    "reminder_event_id",
]


def payment_event_id(transaction_id: str) -> UUID:
    """The event_id of the payment event for a provider's ``transaction_id``."""
    return derived_event_id("payment", transaction_id)


def appointment_created_event_id(appointment_id: str) -> UUID:
    """The event_id of the :class:`AppointmentCreated` of ``appointment_id``: a retried
    booking announces the appointment once."""
    return derived_event_id("appointment", appointment_id, "created")


def reminder_event_id(appointment_id: str, hours_before: int) -> UUID:
    """The event_id of the reminder ``hours_before`` hours before ``appointment_id``."""
    return derived_event_id("appointment", appointment_id, "reminder", f"{hours_before}h")


def payment_deadline_event_id(appointment_id: str) -> UUID:
    """The event_id of the auto-cancel of ``appointment_id`` if it is not paid in time."""
    return derived_event_id("appointment", appointment_id, "payment_deadline")


def no_show_event_id(appointment_id: str) -> UUID:
    """The event_id of the no-show of ``appointment_id``: every check that finds it agrees."""
    return derived_event_id("appointment", appointment_id, "no_show")


def checked_in_event_id(appointment_id: str) -> UUID:
    """The event_id of the check-in of ``appointment_id`` (there is only one)."""
    return derived_event_id("appointment", appointment_id, "checked_in")

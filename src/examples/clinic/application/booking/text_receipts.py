"""PaymentSucceeded, by SMS: the clinic's ``async def`` handler.

It registers like every other handler (same decorator options: queue, retries, timeout) and
awaits an :class:`AsyncNotifier`, so on a worker it waits on the process's event loop instead
of holding a thread busy; the email receipt (:class:`SendReceipt`) stays a plain handler on
the same event. The text goes to the patient's phone, when the appointment has one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import attrs

from .....application.processor import DomainEventsProcessor
from .....ports.handlers import HandlerSpec, RetryPolicy
from ...domain.booking.events import PaymentSucceeded
from ...ports.async_notifier import AsyncNotifier
from ...ports.notifier import Channel
from ...ports.repositories import AppointmentRepository
from . import messages

TEXT_RECEIPT: Final = "booking.text_receipt"
"""The handler's stable name."""


class TextPaymentReceipt:
    """PaymentSucceeded: text the patient the receipt (nothing without a phone number)."""

    def __init__(self, notifier: AsyncNotifier, appointments: AppointmentRepository) -> None:
        self.notifier = notifier
        self.appointments = appointments

    async def __call__(self, event: PaymentSucceeded) -> None:
        appointment = self.appointments.get(event.appointment_id)
        phone = appointment.patient.phone
        if not phone:
            return
        receipt = messages.payment_receipt(event, appointment)
        await self.notifier.send(
            attrs.evolve(receipt, channel=Channel.SMS, to=phone, key=f"{receipt.key}:sms")
        )


def register_text_receipts(
    processor: DomainEventsProcessor,
    *,
    notifier: AsyncNotifier,
    appointments: AppointmentRepository,
) -> tuple[HandlerSpec, ...]:
    """Register :class:`TextPaymentReceipt` on the notification queue."""
    return (
        processor.register_handler(
            PaymentSucceeded,
            TextPaymentReceipt(notifier, appointments),
            name=TEXT_RECEIPT,
            queue="notification",
            retry=RetryPolicy(max_retries=5, min_backoff=timedelta(seconds=5)),
            timeout=timedelta(seconds=10),
        ),
    )

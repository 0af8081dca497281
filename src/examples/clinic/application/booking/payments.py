"""The payment provider's webhook: processed once per transaction, however often it arrives.

Providers retry a webhook until they get an answer, and may send it again anyway. The event's
id is derived from the transaction id (:func:`payment_event_id`), so every copy publishes the
same event_id: the first is accepted and handled, the others are reported as duplicates and
run nothing. The caller answers the provider with success in both cases.

Receiving the payment also calls off the appointment's payment deadline, here rather than in
a handler: the sooner it is cancelled the smaller the window in which the auto-cancel could
still fire for an appointment that is paid. That window is not zero on a queue (the deadline
may already be on its way to a worker); then whichever runs first wins, the auto-cancel
leaves a confirmed appointment alone, and a payment for an appointment already cancelled is
dead-lettered for a refund.
"""

from __future__ import annotations

from decimal import Decimal

from .....ports.clock import Clock
from .....ports.event_bus import EventBus, EventScheduler, PublishResult
from ...domain.booking.events import PaymentSucceeded
from ...ports.repositories import AppointmentRepository
from .event_ids import payment_event_id
from .timers import cancel_payment_deadline


class HandlePaymentWebhook:
    """Turn a successful-payment webhook into one :class:`PaymentSucceeded` event."""

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: EventBus,
        clock: Clock,
        *,
        scheduler: EventScheduler,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock
        self.scheduler = scheduler

    def __call__(
        self,
        *,
        transaction_id: str,
        appointment_id: str,
        amount: Decimal,
        currency: str,
        provider: str,
    ) -> PublishResult:
        """Publish the payment; ``result.duplicate`` is True for a repeated webhook.

        Raises :class:`AppointmentNotFound` for a payment of an unknown appointment (the
        provider should get an error and alert someone) and :class:`InvalidEvent` for a bad
        field.
        """
        self.appointments.get(appointment_id)
        # Cancelled before publishing: a publish that fails is retried by the provider, a
        # deadline that fires after the money arrived is a refund.
        cancel_payment_deadline(self.scheduler, appointment_id)
        event = PaymentSucceeded(
            event_id=payment_event_id(transaction_id),
            occurred_at=self.clock.now(),
            payment_id=transaction_id,
            appointment_id=appointment_id,
            amount=amount,
            currency=currency,
            provider=provider,
        )
        return self.event_bus.publish(event)

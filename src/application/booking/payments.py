"""The payment provider's webhook: processed once per transaction, however often it arrives.

Providers retry a webhook until they get an answer, and may send it again anyway. The event's
id is derived from the transaction id (:func:`payment_event_id`), so every copy publishes the
same event_id: the first is accepted and handled, the others are reported as duplicates and
run nothing. The caller answers the provider with success in both cases.
"""

from __future__ import annotations

from decimal import Decimal

from ...domain.booking.events import PaymentSucceeded
from ...ports.clock import Clock
from ...ports.event_bus import EventBus, PublishResult
from ...ports.repositories import AppointmentRepository
from .event_ids import payment_event_id


class HandlePaymentWebhook:
    """Turn a successful-payment webhook into one :class:`PaymentSucceeded` event."""

    def __init__(
        self, appointments: AppointmentRepository, event_bus: EventBus, clock: Clock
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock

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

"""The payment webhook for an async web process: :class:`HandlePaymentWebhook`, awaited.

The same rules (see :mod:`.payments`): the event id derives from the provider's transaction
id, so every copy of a webhook publishes one event; the payment deadline is called off before
publishing. Only the waiting differs: the ASGI endpoint (:mod:`..adapters.payment_webhook`)
awaits the :class:`~hexbus.AsyncEventBus`, so its event loop serves other requests meanwhile.
"""

from __future__ import annotations

from decimal import Decimal

from .....ports.async_event_bus import AsyncEventBus, AsyncEventScheduler
from .....ports.clock import Clock
from .....ports.event_bus import PublishResult
from ...domain.booking.events import PaymentSucceeded
from ...ports.repositories import AppointmentRepository
from .event_ids import payment_deadline_event_id, payment_event_id


class ReceivePayment:
    """Turn a successful-payment webhook into one :class:`PaymentSucceeded`, awaited."""

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: AsyncEventBus,
        clock: Clock,
        *,
        scheduler: AsyncEventScheduler,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock
        self.scheduler = scheduler

    async def __call__(
        self,
        *,
        transaction_id: str,
        appointment_id: str,
        amount: Decimal,
        currency: str,
        provider: str,
    ) -> PublishResult:
        """Publish the payment; ``result.duplicate`` is True for a repeated webhook.

        Raises :class:`AppointmentNotFound` for an unknown appointment and
        :class:`InvalidEvent` for a bad field, as the sync use case does.
        """
        self.appointments.get(appointment_id)
        await self.scheduler.cancel(payment_deadline_event_id(appointment_id))
        event = PaymentSucceeded(
            event_id=payment_event_id(transaction_id),
            occurred_at=self.clock.now(),
            payment_id=transaction_id,
            appointment_id=appointment_id,
            amount=amount,
            currency=currency,
            provider=provider,
        )
        return await self.event_bus.publish(event)

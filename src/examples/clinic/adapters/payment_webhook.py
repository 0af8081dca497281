"""The payment provider's webhook as a real ASGI endpoint (FastAPI).

``POST /webhooks/payments`` takes the provider's JSON, checks its signature, validates it, and
awaits :class:`~..application.booking.async_payments.ReceivePayment`. What the provider gets:

=====  ==========================================================================
200    accepted, or a duplicate of a webhook already accepted (``{"outcome": ...}``)
202    an event type this endpoint does not act on (acknowledged, so it stops)
401    no or a wrong ``X-Signature`` (HMAC-SHA256 of the body with the shared secret)
404    the appointment is unknown (someone must look: the money arrived)
422    the payload is not a valid payment (FastAPI's validation, naming the field)
503    the event bus did not answer: the provider retries, which is safe
=====  ==========================================================================

Needs FastAPI (hexbus's ``dashboard`` extra); nothing else of the clinic imports this module.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from ....domain.errors import EventBusUnavailable
from ..application.booking.async_payments import ReceivePayment
from ..domain.errors import AppointmentNotFound

PATH = "/webhooks/payments"


class PaymentData(BaseModel):
    """The payment the provider reports."""

    transaction_id: str = Field(min_length=1, max_length=128)
    appointment_id: str = Field(min_length=1, max_length=128)
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class ProviderWebhook(BaseModel):
    """The provider's envelope: what happened, and to which payment."""

    type: Literal["payment.succeeded", "payment.failed", "payment.refunded"]
    provider: str = Field(min_length=1, max_length=64)
    data: PaymentData


def signature(secret: str, body: bytes) -> str:
    """The ``X-Signature`` the provider sends for ``body``: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def create_payment_webhook_app(receive: ReceivePayment, *, secret: str) -> FastAPI:
    """An ASGI app serving the provider's webhook with ``receive`` and the shared ``secret``."""
    if not secret:
        raise ValueError("the webhook needs the provider's shared secret")
    app = FastAPI(title="clinic payment webhook", docs_url=None, redoc_url=None)

    @app.post(PATH)
    async def payment_webhook(
        request: Request, x_signature: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        body = await request.body()
        if x_signature is None or not hmac.compare_digest(x_signature, signature(secret, body)):
            raise HTTPException(status_code=401, detail="missing or wrong X-Signature")
        try:
            webhook = ProviderWebhook.model_validate_json(body)
        except ValidationError as error:
            return JSONResponse(
                status_code=422,
                content={
                    "detail": error.errors(
                        include_url=False, include_input=False, include_context=False
                    )
                },
            )
        if webhook.type != "payment.succeeded":
            return JSONResponse(status_code=202, content={"outcome": "ignored"})
        data = webhook.data
        try:
            result = await receive(
                transaction_id=data.transaction_id,
                appointment_id=data.appointment_id,
                amount=data.amount,
                currency=data.currency,
                provider=webhook.provider,
            )
        except AppointmentNotFound:
            raise HTTPException(status_code=404, detail="unknown appointment") from None
        except EventBusUnavailable:
            raise HTTPException(
                status_code=503, detail="event bus unavailable: retry later"
            ) from None
        return JSONResponse(
            status_code=200,
            content={"outcome": result.outcome.value, "event_id": str(result.event_id)},
        )

    return app

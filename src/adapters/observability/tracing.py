"""OpenTelemetry spans for publishing and handling (the ``otel`` extra, ADR 0025).

Three pieces, wired by the container when ``HEXBUS_OTEL=true``:

* :class:`TracedEventBus` wraps the :class:`EventBus` port: a ``PRODUCER`` span per publish
  (one per batch for ``publish_all``), current while the bus publishes;
* :class:`TracingSerializer` wraps the serializer every bus and worker is given: writing, it
  adds the current W3C trace context (``traceparent``, ``tracestate``) to the envelope under
  ``trace``; reading, it takes it out and remembers it for the event;
* :class:`TracingObserver` starts a ``CONSUMER`` span per handler run, a child of the trace
  context the event came with (the envelope's on a worker; on the in-memory bus, the one the
  publish remembered), current while the handler runs, so the handler's own spans nest.

Attributes: ``messaging.system`` (hexbus), ``messaging.destination.name`` (the queue),
``hexbus.event_type``, ``hexbus.event_id``, ``hexbus.handler``, ``hexbus.attempt``. The
tracer provider is OpenTelemetry's global one unless one is given (tests give the SDK's).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from ... import __version__
from ...application.observers import NullObserver
from ...domain.events import DomainEvent
from ...domain.serialization import TRACE_FIELD, EventSerializer
from ...ports.event_bus import EventBus, PublishResult
from ...ports.handlers import HandlerSpec

KEEP: Final = 10_000
"""Trace contexts remembered per process (the oldest forgotten first)."""


class TraceCarrier:
    """Event id -> the W3C trace context it came with; bounded, thread-safe."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._contexts: OrderedDict[UUID, dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, event_id: UUID, headers: Mapping[str, str]) -> None:
        """Keep ``headers`` for ``event_id``."""
        if not headers:
            return
        with self._lock:
            self._contexts[event_id] = dict(headers)
            self._contexts.move_to_end(event_id)
            while len(self._contexts) > self._keep:
                self._contexts.popitem(last=False)

    def get(self, event_id: UUID) -> dict[str, str] | None:
        """What was remembered for ``event_id``."""
        with self._lock:
            return self._contexts.get(event_id)


def current_headers() -> dict[str, str]:
    """The current context as W3C headers (empty when no span is recording)."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


class TracingSerializer(EventSerializer):
    """``inner`` with the trace context carried in the envelope's ``trace`` key."""

    def __init__(self, inner: EventSerializer, carrier: TraceCarrier) -> None:
        super().__init__(inner.registry)
        self._inner = inner
        self._carrier = carrier

    def to_dict(self, event: DomainEvent) -> dict[str, Any]:
        """As ``inner`` (no trace: a dict is not what travels)."""
        return self._inner.to_dict(event)

    def dumps(self, event: DomainEvent) -> str:
        """``inner``'s text, with the current trace context when there is one."""
        text = self._inner.dumps(event)
        headers = current_headers()
        if not headers:
            return text
        envelope = json.loads(text)
        envelope[TRACE_FIELD] = headers
        return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)

    def from_dict(self, envelope: Any) -> DomainEvent:
        """``inner``'s event; the envelope's trace context is remembered for it."""
        if not isinstance(envelope, dict) or TRACE_FIELD not in envelope:
            return self._inner.from_dict(envelope)
        carried = envelope[TRACE_FIELD]
        event = self._inner.from_dict({k: v for k, v in envelope.items() if k != TRACE_FIELD})
        if isinstance(carried, dict):
            self._carrier.remember(
                event.event_id,
                {str(k): str(v) for k, v in carried.items() if isinstance(v, str)},
            )
        return event

    def reveal(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """As ``inner``."""
        return self._inner.reveal(envelope)

    def __getattr__(self, name: str) -> Any:
        # What only ``inner`` has (an EncryptingSerializer's keyring, for key rotation).
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


def _tracer(provider: TracerProvider | None) -> trace.Tracer:
    return trace.get_tracer("hexbus", __version__, tracer_provider=provider)


class TracedEventBus:
    """The :class:`EventBus` port with a span per publish; anything else goes to ``bus``."""

    def __init__(
        self, bus: EventBus, carrier: TraceCarrier, tracer_provider: TracerProvider | None = None
    ) -> None:
        self._bus = bus
        self._carrier = carrier
        self._tracer = _tracer(tracer_provider)

    def publish(
        self, event: DomainEvent, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> PublishResult:
        """Publish inside a ``publish <event type>`` span."""
        with self._tracer.start_as_current_span(
            f"publish {event.event_type}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "hexbus",
                "hexbus.event_type": event.event_type,
                "hexbus.event_id": str(event.event_id),
            },
        ) as span:
            # Before publishing: the in-memory bus runs handlers inside publish.
            self._carrier.remember(event.event_id, current_headers())
            result = self._bus.publish(event, delay=delay, at=at)
            span.set_attribute("hexbus.outcome", result.outcome.value)
            return result

    def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish inside one ``publish_all`` span, the parent of every event's handlers."""
        batch = list(events)
        with self._tracer.start_as_current_span(
            "publish_all",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "hexbus", "messaging.batch.message_count": len(batch)},
        ):
            headers = current_headers()
            for event in batch:
                self._carrier.remember(event.event_id, headers)
            return self._bus.publish_all(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)


class TracingObserver(NullObserver):
    """A ``handle <handler>`` span per handler run, the child of the event's trace context."""

    def __init__(
        self, carrier: TraceCarrier, tracer_provider: TracerProvider | None = None
    ) -> None:
        self._carrier = carrier
        self._tracer = _tracer(tracer_provider)
        self._open: dict[tuple[UUID, str, int], tuple[trace.Span, object]] = {}
        self._lock = threading.Lock()

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """Start the span and make it current for the handler."""
        carried = self._carrier.get(event.event_id)
        parent = propagate.extract(carried) if carried else None
        span = self._tracer.start_span(
            f"handle {handler.name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "hexbus",
                "messaging.destination.name": handler.queue,
                "hexbus.event_type": event.event_type,
                "hexbus.event_id": str(event.event_id),
                "hexbus.handler": handler.name,
                "hexbus.attempt": attempt,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        with self._lock:
            self._open[(event.event_id, handler.name, threading.get_ident())] = (span, token)

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """End the span."""
        self._end(event, handler, None)

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """End the span with the error."""
        self._end(event, handler, error)

    def _end(self, event: DomainEvent, handler: HandlerSpec, error: BaseException | None) -> None:
        with self._lock:
            opened = self._open.pop((event.event_id, handler.name, threading.get_ident()), None)
        if opened is None:
            return
        span, token = opened
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        otel_context.detach(token)  # type: ignore[arg-type]
        span.end()

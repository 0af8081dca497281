"""JSON serialization of domain events, lossless and strict.

The wire format is an envelope whose metadata any consumer can read without knowing the
event's class, and whose ``payload`` holds the event's own fields::

    {"event_type": "invoice.issued", "version": 1,
     "event_id": "…", "occurred_at": "2026-11-23T08:00:00+00:00",
     "correlation_id": null, "causation_id": null,
     "payload": {"invoice_id": "INV-1", "amount": "120.50", …}}

Round trips keep UUIDs, aware datetimes, dates, Decimals (as strings: a float cannot hold
cents), enums and nested attrs values exactly. Reading is strict: an unknown type, a missing
field, an extra field or a value of the wrong type raises :class:`InvalidEvent` (or
:class:`UnknownEventType`, :class:`EventDecodeError`) naming the event type and the field, so a
bad message can be dead-lettered with a reason instead of being half-understood.

cattrs does the structuring (ADR 0002): it knows attrs classes and reports every bad field
with its path.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar
from uuid import UUID

import cattrs
from cattrs.preconf.json import make_converter

from .errors import EventDecodeError, InvalidEvent, UndecryptableEvent
from .event_types import EventTypeRegistry, event_types
from .events import DomainEvent

E = TypeVar("E", bound=DomainEvent)

ENVELOPE_FIELDS: Final = ("event_id", "occurred_at", "correlation_id", "causation_id")
TRACE_FIELD: Final = "trace"
"""An optional envelope key a tracing integration writes (W3C ``traceparent``/``tracestate``,
ADR 0025); read past here, so a worker without tracing still reads what a traced publisher
wrote."""
HEADER_FIELDS: Final = ("event_type", "version", *ENVELOPE_FIELDS)
"""The routing header: what any consumer may read without the payload (and, when payloads
are encrypted, what stays in clear)."""
CIPHERTEXT_FIELD: Final = "ciphertext"
"""Where an encrypted envelope holds its payload, sealed (``hexbus.adapters.encryption``)."""
NO_KEY: Final = "the payload is encrypted and this process has no key: set HEXBUS_ENCRYPTION_KEYS"


def _strict(kind: type) -> Any:
    # cattrs would call int("12") or str(12); a payload of the wrong JSON type is a bug in the
    # producer and must not be coerced silently.
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind and not (kind is float and type(value) is int):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


def _structure_uuid(value: Any, _: Any) -> UUID:
    if not isinstance(value, str):
        raise TypeError(f"expected a UUID string, got {type(value).__name__}")
    return UUID(value)


def _structure_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 datetime string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("datetime must carry a UTC offset")
    return parsed


def _structure_date(value: Any, _: Any) -> date:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date string, got {type(value).__name__}")
    return date.fromisoformat(value)


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"expected a decimal string, got {type(value).__name__}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None


def make_event_converter() -> cattrs.Converter:
    """A cattrs converter with hexbus's strict rules for event payloads."""
    converter = make_converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(UUID, str)
    converter.register_unstructure_hook(Decimal, str)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(UUID, _structure_uuid)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook(date, _structure_date)
    converter.register_structure_hook(Decimal, _structure_decimal)
    for kind in (str, int, float, bool):
        converter.register_structure_hook(kind, _strict(kind))
    return converter


class EventSerializer:
    """Turns events into JSON text and back, resolving types through a registry."""

    def __init__(self, registry: EventTypeRegistry | None = None) -> None:
        self.registry = registry or event_types
        self._converter = make_event_converter()

    # --- writing ---------------------------------------------------------------------------

    def to_dict(self, event: DomainEvent) -> dict[str, Any]:
        """The envelope as plain JSON-ready values."""
        fields: dict[str, Any] = self._converter.unstructure(event)
        envelope: dict[str, Any] = {"event_type": event.event_type, "version": event.version}
        for name in ENVELOPE_FIELDS:
            envelope[name] = fields.pop(name)
        envelope["payload"] = fields
        return envelope

    def dumps(self, event: DomainEvent) -> str:
        """The event as compact JSON text."""
        return json.dumps(self.to_dict(event), separators=(",", ":"), ensure_ascii=False)

    # --- reading ---------------------------------------------------------------------------

    def loads(self, data: str | bytes) -> DomainEvent:
        """Read an event from JSON text; raises an :class:`EventError` subclass when it can't."""
        try:
            envelope = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EventDecodeError(f"not valid JSON ({exc})") from None
        return self.from_dict(envelope)

    def from_dict(self, envelope: Any) -> DomainEvent:
        """Build an event from an envelope already parsed from JSON."""
        if not isinstance(envelope, dict):
            raise EventDecodeError(f"expected a JSON object, got {type(envelope).__name__}")
        event_type = envelope.get("event_type")
        if not isinstance(event_type, str):
            raise EventDecodeError("the envelope has no 'event_type' string")
        if CIPHERTEXT_FIELD in envelope:
            raise UndecryptableEvent(NO_KEY)
        cls = self.registry.resolve(event_type)
        version = envelope.get("version", 1)
        payload = envelope.get("payload")
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidEvent(event_type, "version", f"must be an integer, got {version!r}")
        if not isinstance(payload, dict):
            raise InvalidEvent(event_type, "payload", "must be a JSON object")
        extra = set(envelope) - {"event_type", "version", "payload", TRACE_FIELD, *ENVELOPE_FIELDS}
        if extra:
            raise InvalidEvent(event_type, None, f"unexpected envelope keys {sorted(extra)}")
        fields = dict(self.registry.upcast(event_type, version, dict(payload)))
        for name in ENVELOPE_FIELDS:
            if name in fields:
                raise InvalidEvent(event_type, f"payload.{name}", "belongs in the envelope")
            if name in envelope:
                fields[name] = envelope[name]
        return self.structure(fields, cls)

    def reveal(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """``envelope`` with its payload readable; this serializer never hides it, one that
        encrypts payloads decrypts it (or raises an :class:`EventError`)."""
        if CIPHERTEXT_FIELD in envelope:
            raise UndecryptableEvent(NO_KEY)
        return envelope

    def structure(self, fields: dict[str, Any], cls: type[E]) -> E:
        """Build ``cls`` from its fields, translating cattrs errors into :class:`InvalidEvent`."""
        try:
            return self._converter.structure(fields, cls)
        except cattrs.BaseValidationError as exc:
            raise _translate(cls.event_type, exc) from None
        except InvalidEvent:
            raise
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(cls.event_type, None, str(exc)) from None


def _translate(event_type: str, exc: cattrs.BaseValidationError) -> InvalidEvent:
    """The first problem cattrs found, as an InvalidEvent naming its field."""
    found = _find_invalid_event(exc)
    if found is not None:
        # A validator of a nested value (a Contact's name) names its own class and field;
        # relabel it with this event and the path to that value ("customer.name").
        own, path = found
        where = ".".join(part for part in (path, own.field) if part) or None
        return InvalidEvent(event_type, where, own.reason)
    messages = cattrs.transform_error(exc)
    first = messages[0] if messages else str(exc)
    reason, _, path = first.partition(" @ ")
    field = path.removeprefix("$").lstrip(".") or None
    extra = _extra_keys(exc) if reason.startswith("extra fields found") else []
    if extra:  # name the unexpected key itself, not the object holding it
        field = ".".join(part for part in (field, extra[0]) if part)
    detail = _leaf_detail(exc)
    if detail and detail not in reason:
        reason = f"{reason} ({detail})"
    if len(messages) > 1:
        reason += f"; and {len(messages) - 1} more problem(s): " + "; ".join(messages[1:])
    return InvalidEvent(event_type, field, reason)


def _find_invalid_event(exc: BaseException, path: str = "") -> tuple[InvalidEvent, str] | None:
    """The first InvalidEvent raised while structuring, with the dotted path to its value."""
    if isinstance(exc, InvalidEvent):
        return exc, path
    steps: list[tuple[BaseException, str]]
    if isinstance(exc, cattrs.ClassValidationError):
        noted, plain = exc.group_exceptions()
        steps = [(inner, f"{path}.{note.name}".lstrip(".")) for inner, note in noted]
        steps += [(inner, path) for inner in plain]
    elif isinstance(exc, cattrs.IterableValidationError):
        indexed, plain = exc.group_exceptions()
        steps = [(inner, f"{path}[{note.index}]") for inner, note in indexed]
        steps += [(inner, path) for inner in plain]
    else:
        steps = [(inner, path) for inner in getattr(exc, "exceptions", ())]
    for inner, inner_path in steps:
        found = _find_invalid_event(inner, inner_path)
        if found is not None:
            return found
    return None


def _extra_keys(exc: BaseException) -> list[str]:
    """The unexpected keys of the first ForbiddenExtraKeysError in ``exc``, sorted."""
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return sorted(exc.extra_fields)
    for inner in getattr(exc, "exceptions", ()):
        found = _extra_keys(inner)
        if found:
            return found
    return []


def _leaf_detail(exc: BaseException) -> str | None:
    inner = getattr(exc, "exceptions", ())
    if inner:
        return _leaf_detail(inner[0])
    return str(exc) or None

"""The base class of every domain event.

Events are values: attrs frozen, keyword-only, validated when built, with no behaviour. Each
concrete event declares two class-level facts beside its fields:

* ``event_type``: the stable name written on the wire (``"billing.invoice_paid"``). It is what
  survives a class rename, so it is declared, never derived from the class name.
* ``version``: the schema version of the fields, raised when they change incompatibly (an
  upcaster in :mod:`hexbus.domain.event_types` lifts old payloads).

Declaring ``event_type`` registers the class in :data:`hexbus.domain.event_types.event_types`.
A class that declares none is abstract: it can be subclassed but not instantiated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

import attrs

from .errors import InvalidEvent
from .event_types import EventTypeRegistry, event_types


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def _as_utc(value: Any) -> Any:
    # A converter runs before validators; a naive datetime must be refused here, since
    # astimezone() would silently read it as local time.
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")
        return value.astimezone(UTC)
    return value


def _is_uuid(instance: DomainEvent, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, UUID):
        raise InvalidEvent(instance.event_type, attribute.name, f"must be a UUID, got {value!r}")


def _is_optional_uuid(instance: DomainEvent, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _is_uuid(instance, attribute, value)


def _is_datetime(instance: DomainEvent, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, datetime):
        raise InvalidEvent(
            instance.event_type, attribute.name, f"must be a datetime, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Something that happened in the domain, worth telling other parts of the system.

    ``event_id`` is the idempotency key everywhere: publishing the same id twice delivers it
    once, and a handler's success is recorded against it. Give it explicitly when the event
    derives from an outside fact that can arrive twice (a payment webhook's transaction id);
    otherwise a fresh UUID is made.
    """

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    _hexbus_registry: ClassVar[EventTypeRegistry | None] = None

    event_id: UUID = attrs.field(factory=uuid4, validator=_is_uuid)
    occurred_at: datetime = attrs.field(factory=utc_now, converter=_as_utc, validator=_is_datetime)
    correlation_id: UUID | None = attrs.field(default=None, validator=_is_optional_uuid)
    causation_id: UUID | None = attrs.field(default=None, validator=_is_optional_uuid)

    def __init_subclass__(cls, registry: EventTypeRegistry | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if registry is not None:
            # attrs rebuilds a slotted class without passing class keywords on: remember the
            # registry on the class, so the rebuilt class lands in the same one.
            cls._hexbus_registry = registry
        if "event_type" in cls.__dict__:
            name = cls.__dict__["event_type"]
            if not isinstance(name, str) or not name.strip():
                raise TypeError(f"{cls.__qualname__}.event_type must be a non-empty string")
            if not isinstance(cls.version, int) or cls.version < 1:
                raise TypeError(f"{cls.__qualname__}.version must be an int >= 1")
            (registry or getattr(cls, "_hexbus_registry", None) or event_types).register(cls)

    def __attrs_post_init__(self) -> None:
        if "event_type" not in type(self).__dict__:
            raise TypeError(
                f"{type(self).__qualname__} declares no event_type, so it is abstract: "
                'declare `event_type = "context.something_happened"` on the class'
            )

    def caused(self) -> dict[str, UUID]:
        """Tracing fields for an event caused by this one.

        Spread into the new event: ``OrderShipped(..., **payment.caused())``. The new
        event keeps this one's correlation id (or starts the chain with this event's id) and
        names this event as its cause.
        """
        return {
            "correlation_id": self.correlation_id or self.event_id,
            "causation_id": self.event_id,
        }


__all__ = ["DomainEvent", "utc_now"]

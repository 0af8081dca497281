"""The registry of event type names.

A serialized event names its type with a stable string (``"invoice.issued"``), never a class
path, so classes can be renamed or moved without breaking messages already in a queue. This
registry maps those names back to classes, and keeps the upcasters that lift a payload written
by an older schema ``version`` to the current one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import DuplicateEventType, InvalidEvent, UnknownEventType

if TYPE_CHECKING:
    from .events import DomainEvent

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class EventTypeRegistry:
    """Maps stable event type names to event classes, and holds schema upcasters."""

    def __init__(self) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[DomainEvent]) -> None:
        """Register ``cls`` under its ``event_type``.

        attrs rebuilds a slotted class, so the same class is offered twice; a class with the
        same module and qualified name replaces the earlier one. A different class asking for
        a taken name is an error: names are identifiers on the wire.
        """
        name = cls.event_type
        existing = self._classes.get(name)
        if existing is not None and _qualified(existing) != _qualified(cls):
            raise DuplicateEventType(name, _qualified(existing), _qualified(cls))
        self._classes[name] = cls

    def resolve(self, event_type: str) -> type[DomainEvent]:
        """The class registered for ``event_type``; raises :class:`UnknownEventType`."""
        try:
            return self._classes[event_type]
        except KeyError:
            raise UnknownEventType(event_type, tuple(self._classes)) from None

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._classes

    def names(self) -> tuple[str, ...]:
        """Every registered name, sorted."""
        return tuple(sorted(self._classes))

    def classes(self) -> Mapping[str, type[DomainEvent]]:
        """A read-only view of name to class."""
        return dict(self._classes)

    def register_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Teach the registry to lift ``event_type`` payloads from ``from_version`` to the next.

        The upcaster receives the payload fields (not the envelope) written by ``from_version``
        and returns the fields of ``from_version + 1``. Chains run until the class's version.
        """
        self._upcasters[(event_type, from_version)] = upcaster

    def upcast(self, event_type: str, version: int, payload: Payload) -> Payload:
        """Lift ``payload`` from ``version`` to the registered class's current version."""
        cls = self.resolve(event_type)
        if version > cls.version:
            raise InvalidEvent(
                event_type,
                "version",
                f"written by schema version {version}, but this code knows up to "
                f"{cls.version}: deploy the newer code before consuming these events",
            )
        while version < cls.version:
            upcaster = self._upcasters.get((event_type, version))
            if upcaster is None:
                raise InvalidEvent(
                    event_type,
                    "version",
                    f"no upcaster from version {version} to {version + 1}: register one with "
                    "EventTypeRegistry.register_upcaster",
                )
            payload = upcaster(payload)
            version += 1
        return payload


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


event_types = EventTypeRegistry()
"""The default registry: every :class:`DomainEvent` subclass that declares an ``event_type``
registers itself here when its class statement runs."""

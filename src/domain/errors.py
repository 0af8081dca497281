"""The one error hierarchy of hexbus.

Every error hexbus raises on purpose derives from :class:`HexbusError`, so a caller can catch
the whole family, one branch (``EventError``) or one case (``UnknownEventType``). Adapters
translate the errors of their drivers (redis, dramatiq) into these at their boundary, so
use-case code never imports a driver to handle a failure.

It lives in the domain package, the lowest layer, because the domain itself raises some of
these (an invalid event) and the domain may import nothing else of ours (ADR 0002). An
application's own errors belong to the application: it may subclass these where it wants the
library's behaviour (a subclass of :class:`NonRetryableError` goes straight to the dead
letters), and should otherwise give itself a root error of its own.

Each message says what was wrong and, where there is one, what to do about it.
"""

from __future__ import annotations


class HexbusError(Exception):
    """Root of every error hexbus raises on purpose."""


# --- events -------------------------------------------------------------------------------


class EventError(HexbusError):
    """Something is wrong with an event's type, schema or payload."""


class UnknownEventType(EventError, LookupError):
    """No event class is registered under this name (or version)."""

    def __init__(self, event_type: str, known: tuple[str, ...] = ()) -> None:
        self.event_type = event_type
        hint = f"; known types: {', '.join(sorted(known))}" if known else ""
        super().__init__(
            f"unknown event type {event_type!r}: import the module that defines it, or register "
            f"the class{hint}"
        )


class InvalidEvent(EventError, ValueError):
    """An event's field is missing or holds an invalid value.

    ``field`` is a dotted path into the event (``"amount"``, ``"customer.email"``), or ``None``
    when the problem is the event as a whole.
    """

    def __init__(self, event_type: str, field: str | None, reason: str) -> None:
        self.event_type = event_type
        self.field = field
        self.reason = reason
        where = f" field {field!r}:" if field else ""
        super().__init__(f"invalid {event_type} event:{where} {reason}")


class EventDecodeError(EventError, ValueError):
    """Bytes that should hold a serialized event are not readable as one."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"cannot decode event: {reason}")


class UndecryptableEvent(EventDecodeError):
    """The event's payload is encrypted and cannot be opened here: a key this process does not
    have, no key at all, or a ciphertext that was altered. Dead-lettered with reason
    ``undecryptable``; retry it once the key is configured."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"payload cannot be decrypted: {reason}")


class DuplicateEventType(EventError):
    """Two different classes claim the same stable event type name."""

    def __init__(self, event_type: str, existing: str, new: str) -> None:
        self.event_type = event_type
        super().__init__(
            f"event type {event_type!r} is already taken by {existing}; {new} must declare "
            "another name (event type names are stable identifiers, never reuse one)"
        )


# --- handlers -----------------------------------------------------------------------------


class HandlerRegistrationError(HexbusError, ValueError):
    """A handler cannot be registered as asked (duplicate name, not an event type, ...)."""


class UnknownHandler(HexbusError, LookupError):
    """No handler is registered under this name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"no handler named {name!r} is registered: register it before starting workers, "
            "or remove messages meant for a handler that no longer exists"
        )


class NonRetryableError(HexbusError):
    """Raise (or subclass) in a handler when trying again cannot help.

    The event goes straight to the dead letters for that handler, whatever its retry policy.
    """


class HandlerTimeout(HexbusError):
    """A handler ran longer than its configured timeout."""


# --- operations ---------------------------------------------------------------------------


class EventBusUnavailable(HexbusError):
    """Redis could not be reached, or did not answer in time.

    Raised once the publish deadline (``HEXBUS_PUBLISH_TIMEOUT``) is spent retrying. The event
    may or may not have been accepted: a call that timed out may still be applied when Redis
    resumes. Publishing the same event again is safe, now or later: the event_id is the
    idempotency key, so it is delivered once either way (the repeat answers ``DUPLICATE`` if
    the first call got through).
    """


class EventBusRejected(HexbusError):
    """Redis answered, and refused the call: a data error, not an outage.

    For example ``WRONGTYPE`` (a key of hexbus's namespace holds something hexbus did not put
    there), a script error, or a command the Redis user is not allowed. Trying again gives the
    same answer, so hexbus never retries it and a caller should not either: fix the cause.
    The event was not accepted (the publish scripts claim the event_id last, after checking
    the keys they write), so publishing it again once the cause is fixed delivers it; in a
    batch (``publish_all``) the others may have been accepted, and publishing the batch again
    answers those ``DUPLICATE``.
    """


class UnitOfWorkError(HexbusError):
    """A unit of work was used outside its ``with`` block, or its transaction was spoiled.

    Publishing through a unit of work is only possible while it is open (the events would
    otherwise belong to no transaction); a nested block that raised spoils the whole
    transaction, so the outer block rolls back instead of committing half of it.
    """


class StoreUnavailable(HexbusError):
    """The database behind a unit of work could not be reached, or failed the commit.

    Nothing of the transaction is committed unless the commit itself was cut off, in which
    case it may have been: a use case retried with the same ids is safe (events derived from
    its facts deduplicate on publish).
    """


class DeadLetterNotFound(HexbusError, LookupError):
    """No dead letter has this id (it was retried, removed, or expired)."""

    def __init__(self, dead_letter_id: str) -> None:
        self.dead_letter_id = dead_letter_id
        super().__init__(
            f"no dead letter with id {dead_letter_id!r}: it may have been retried, removed "
            "or expired; list the dead letters to see what is there"
        )


class DeadLetterNotRetryable(HexbusError):
    """This dead letter cannot be retried as it is (for example, its payload is undecodable)."""


class ConfigurationError(HexbusError, ValueError):
    """A setting is missing or invalid; raised at start-up, naming the setting."""

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"invalid setting {setting}: {reason}")


class MissingExtra(HexbusError, ImportError):
    """An optional part of hexbus was imported without the extra that installs what it needs."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(f"{module} needs the '{extra}' extra: pip install 'hexbus[{extra}]'")

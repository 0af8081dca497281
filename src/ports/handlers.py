"""What a handler is, and the options every adapter must honour for it.

The registry (:class:`hexbus.application.DomainEventsProcessor`) builds a :class:`HandlerSpec`
per registration; adapters read it to route, retry, time out and rate-limit that handler.
These are values: an adapter may copy them into a worker process and rely on them being equal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from enum import IntEnum
from typing import Any, Final

import attrs

from ..domain.errors import HandlerRegistrationError, NonRetryableError
from ..domain.events import DomainEvent

Handler = Callable[[Any], object]
"""A plain callable taking one event. Its dependencies are bound by the composition root."""

QUEUE_NAME: Final = re.compile(r"^[a-z][a-z0-9_-]{0,47}$")
DEFAULT_QUEUE: Final = "default"
HANDLER_NAME: Final = re.compile(r"^[A-Za-z0-9_.:/-]{1,200}$")


class Priority(IntEnum):
    """How urgent a handler's work is.

    Adapters give each priority of a queue its own worker group (a message already prefetched
    cannot be overtaken, so ordering inside one queue is not enough); see ADR 0005.
    """

    LOW = 0
    NORMAL = 1
    HIGH = 2


def _positive_timedelta(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise HandlerRegistrationError(f"{attribute.name} must be a timedelta >= 0, got {value!r}")


def _exception_types(value: Any) -> tuple[type[BaseException], ...]:
    types = tuple(value)
    for kind in types:
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise HandlerRegistrationError(f"non_retryable must hold exception types, got {kind!r}")
    return types


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped, with errors that are never retried.

    A handler runs at most ``max_retries + 1`` times. After attempt ``n`` fails, the next one
    waits ``min_backoff * 2**(n-1)``, capped at ``max_backoff``, of which the last ``jitter``
    fraction is random, so handlers failing together do not retry together.
    :class:`NonRetryableError` and the ``non_retryable`` types go to the dead letters at once.
    """

    max_retries: int = attrs.field(default=3)
    min_backoff: timedelta = attrs.field(
        default=timedelta(seconds=1), validator=_positive_timedelta
    )
    max_backoff: timedelta = attrs.field(
        default=timedelta(minutes=5), validator=_positive_timedelta
    )
    jitter: float = attrs.field(default=0.2)
    non_retryable: tuple[type[BaseException], ...] = attrs.field(
        default=(), converter=_exception_types
    )

    @max_retries.validator
    def _check_retries(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise HandlerRegistrationError(f"max_retries must be an int >= 0, got {value!r}")

    @jitter.validator
    def _check_jitter(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise HandlerRegistrationError(f"jitter must be between 0 and 1, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.max_backoff < self.min_backoff:
            raise HandlerRegistrationError("max_backoff must not be below min_backoff")

    @property
    def max_attempts(self) -> int:
        """How many times the handler may run in all."""
        return self.max_retries + 1

    def is_retryable(self, error: BaseException) -> bool:
        """Whether trying again may help with ``error``."""
        return not isinstance(error, (NonRetryableError, *self.non_retryable))

    def backoff(self, failed_attempt: int, random_fraction: float) -> timedelta:
        """The wait after attempt ``failed_attempt`` (1-based) failed.

        ``random_fraction`` in [0, 1) comes from the caller, so this stays pure and testable.
        """
        base = self.min_backoff.total_seconds() * 2 ** max(failed_attempt - 1, 0)
        capped = min(base, self.max_backoff.total_seconds())
        fixed = capped * (1.0 - self.jitter)
        return timedelta(seconds=fixed + capped * self.jitter * random_fraction)


NO_RETRY: Final = RetryPolicy(max_retries=0)


@attrs.frozen(kw_only=True)
class RateLimit:
    """At most ``limit`` runs per ``period`` for each value of ``key``.

    ``key`` is an event attribute name (``"clinic_id"``) or a function of the event. Buckets
    are named ``<name>:<key value>``, so handlers sharing a ``name`` share a budget (all
    WhatsApp messages of one clinic, say). Waiting for a slot is never a failed attempt.
    """

    name: str
    limit: int
    period: timedelta = attrs.field(validator=_positive_timedelta)
    key: str | Callable[[Any], str]

    def __attrs_post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise HandlerRegistrationError(f"rate limit must be an int >= 1, got {self.limit!r}")
        if self.period <= timedelta(0):
            raise HandlerRegistrationError("rate limit period must be positive")
        if not self.name:
            raise HandlerRegistrationError("rate limit needs a name")

    def bucket_for(self, event: DomainEvent) -> str:
        """The bucket this event's run counts against.

        The key's value is hashed (SHA-256, 16 hex digits): it names a Redis key, and a
        payload field such as a patient's id must not appear there in clear (ADR 0016).
        """
        value = self.key(event) if callable(self.key) else getattr(event, self.key)
        digest = hashlib.sha256(str(value).encode()).hexdigest()[:16]
        return f"{self.name}:{digest}"


@attrs.frozen(kw_only=True)
class HandlerSpec:
    """One registered handler and the options adapters honour for it."""

    name: str
    event_type: str
    handler: Handler = attrs.field(eq=False)
    queue: str = DEFAULT_QUEUE
    retry: RetryPolicy = RetryPolicy()
    timeout: timedelta | None = None
    priority: Priority = Priority.NORMAL
    rate_limit: RateLimit | None = None

    def __attrs_post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise HandlerRegistrationError("a handler name must not be empty")
        if not HANDLER_NAME.match(self.name):
            raise HandlerRegistrationError(
                f"handler name {self.name!r} may hold only letters, digits and '_.:/-' "
                "(it is written into messages and status records as it is)"
            )
        if not QUEUE_NAME.match(self.queue):
            raise HandlerRegistrationError(
                f"queue name {self.queue!r} must be 1-48 lower-case letters, digits, '_' or "
                "'-', starting with a letter ('.' is reserved for priority suffixes)"
            )
        if self.timeout is not None and self.timeout <= timedelta(0):
            raise HandlerRegistrationError(f"timeout must be positive, got {self.timeout}")

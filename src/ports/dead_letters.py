"""Dead letters: events a handler could not process, kept for an operator to act on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Protocol
from uuid import UUID

import attrs


class DeadLetterReason(Enum):
    """Why a message stopped being retried."""

    RETRIES_EXHAUSTED = "retries_exhausted"
    NON_RETRYABLE = "non_retryable"
    UNDECODABLE = "undecodable"
    """The message could not be read as an event: bad JSON, unknown type, invalid fields."""
    UNDECRYPTABLE = "undecryptable"
    """The event's payload is encrypted with a key the worker does not have (or was altered)."""
    UNKNOWN_HANDLER = "unknown_handler"
    """The message names a handler this process does not have."""
    WORKER_DIED = "worker_died"
    """The worker process died while handling it, as many times as the limit allows (a
    handler that crashes its process: a segfault, the OOM killer, ``os._exit``)."""
    UNSETTLEABLE = "unsettleable"
    """A step of its delivery was refused by the store, and would be again (a key holding the
    wrong type): its fate could not be written any other way."""


@attrs.frozen(kw_only=True)
class DeadLetter:
    """One handler's failure on one message, with everything needed to retry or diagnose it.

    ``message`` is the serialized event exactly as it was carried (or the raw bytes, decoded
    leniently, when it could not be read), so retrying or inspecting loses nothing.
    """

    id: str
    reason: DeadLetterReason
    queue: str
    handler: str | None
    event_id: UUID | None
    event_type: str | None
    message: str
    error_type: str
    error: str
    traceback: str
    attempts: int
    failed_at: datetime


@attrs.frozen(kw_only=True)
class DeadLetterPage:
    """A page of dead letters, newest first."""

    items: tuple[DeadLetter, ...]
    total: int
    offset: int
    limit: int


Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` during bulk work, so a CLI can draw a bar."""


class DeadLetters(Protocol):
    """Lists, retries and removes dead letters.

    Retrying sends the event again to the one handler that failed, with its attempts counted
    afresh; other handlers of the event are not involved. A retried or removed dead letter
    leaves the list.
    """

    def list(self, *, offset: int = 0, limit: int = 50) -> DeadLetterPage:
        """Dead letters, newest first."""
        ...

    def get(self, dead_letter_id: str) -> DeadLetter:
        """One dead letter; raises :class:`DeadLetterNotFound`."""
        ...

    def count(self) -> int:
        """How many dead letters there are."""
        ...

    def retry(self, dead_letter_id: str) -> None:
        """Deliver it again to its handler; raises :class:`DeadLetterNotFound` or
        :class:`DeadLetterNotRetryable`."""
        ...

    def retry_all(self, progress: Progress | None = None) -> int:
        """Retry every retryable dead letter; returns how many were retried."""
        ...

    def remove(self, dead_letter_id: str) -> None:
        """Delete it for good; raises :class:`DeadLetterNotFound`."""
        ...

"""What a running handler may tell operators about itself: progress and a few log lines.

A handler asks for its context with :func:`handler_context` (``hexbus.handler_context()``)
and reports through it; the context is set in one place, around the call of the handler in
:class:`~hexbus.application.delivery.HandlerRunner`, which both buses use, so the same
handler reports the same way on the in-memory bus, on a Redis worker and in a unit test. It
lives in a :class:`contextvars.ContextVar`, so a task an async handler starts sees it too.

Reports go to the bus's observers (``handler_progress``, ``handler_logged``), which keep them
with the event's status per handler (ADR 0024): bounded to :data:`MAX_LOG_LINES` lines of at
most :data:`MAX_LINE_CHARS` characters each, expiring with the status record. Reporting is a
side channel: a store that fails to keep a report never fails the handler.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final
from uuid import UUID

from ..domain.events import DomainEvent
from ..ports.handlers import HandlerSpec
from ..ports.observer import BusObserver

MAX_LOG_LINES: Final = 50
"""Log lines kept per (event, handler): the newest, across attempts."""
MAX_LINE_CHARS: Final = 500
"""A longer line is cut here (and marked with an ellipsis)."""


class HandlerContext:
    """The running handler's channel to operators.

    Outside a handler run (a handler called directly in a unit test), :func:`handler_context`
    returns a detached context that checks its input the same way and keeps nothing.
    """

    __slots__ = ("_attempt", "_event", "_last_percent", "_observer", "_spec")

    def __init__(
        self,
        event: DomainEvent | None,
        spec: HandlerSpec | None,
        attempt: int,
        observer: BusObserver | None,
    ) -> None:
        self._event = event
        self._spec = spec
        self._attempt = attempt
        self._observer = observer
        self._last_percent: float | None = None

    @property
    def attached(self) -> bool:
        """True inside a handler run; False for the detached context."""
        return self._observer is not None

    @property
    def event_id(self) -> UUID | None:
        """The event being handled (None when detached)."""
        return self._event.event_id if self._event is not None else None

    @property
    def handler(self) -> str | None:
        """The running handler's name (None when detached)."""
        return self._spec.name if self._spec is not None else None

    @property
    def attempt(self) -> int:
        """Which attempt this is, from 1 (0 when detached)."""
        return self._attempt

    def progress(self, done: float, of: float = 100.0) -> None:
        """Report ``done`` out of ``of``: ``progress(40)`` is 40 %, ``progress(0.4, of=1)``
        too, ``progress(12, of=30)`` is 40 %.

        Kept as a percentage with one decimal; a report equal to the last one is not sent
        again, so a loop may report every step without a write per step. Raises ValueError
        for a value outside ``0..of`` or a non-positive ``of``: a wrong report is a bug in
        the handler, better seen in its test than shown as 140 %.
        """
        if isinstance(done, bool) or isinstance(of, bool):
            raise ValueError("progress takes numbers, not booleans")
        if not (math.isfinite(of) and of > 0):
            raise ValueError(f"progress needs a positive finite 'of', got {of!r}")
        if not (math.isfinite(done) and 0 <= done <= of):
            raise ValueError(f"progress must be between 0 and {of!r}, got {done!r}")
        percent = round(done * 100.0 / of, 1)
        if percent == self._last_percent:
            return
        self._last_percent = percent
        if self._observer is not None and self._event is not None and self._spec is not None:
            self._observer.handler_progress(self._event, self._spec, self._attempt, percent)

    def log(self, line: str) -> None:
        """Keep ``line`` with the handler's status (newest :data:`MAX_LOG_LINES` kept).

        Line breaks become spaces and a line over :data:`MAX_LINE_CHARS` is cut. Write what
        an operator needs (a step, a count): readers with a token see these lines like
        error texts, so quote no payload (ADR 0016).
        """
        if not isinstance(line, str):
            raise TypeError(f"log takes a str, got {type(line).__name__}")
        text = " ".join(line.split())
        if len(text) > MAX_LINE_CHARS:
            text = text[: MAX_LINE_CHARS - 1] + "…"
        if self._observer is not None and self._event is not None and self._spec is not None:
            self._observer.handler_logged(self._event, self._spec, self._attempt, text)


_current: ContextVar[HandlerContext | None] = ContextVar("hexbus_handler_context", default=None)


def handler_context() -> HandlerContext:
    """The context of the handler running in this thread or task (detached outside one)."""
    return _current.get() or HandlerContext(None, None, 0, None)


@contextmanager
def running_handler(
    event: DomainEvent, spec: HandlerSpec, attempt: int, observer: BusObserver
) -> Iterator[HandlerContext]:
    """Make :func:`handler_context` answer for this run while the block runs."""
    context = HandlerContext(event, spec, attempt, observer)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)

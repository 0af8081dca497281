"""The dead letters of messages that never reached a handler's run, built in one place.

Three kinds (ADR 0018): an item the consumer could not read at all (:func:`quarantined`: its
raw body, bounded, and what was wrong with its shape), a readable message whose event or
handler is not usable (:func:`rejected`), and one whose delivery could not go on for a reason
outside the handler: the store refused a step, or worker processes died while running it.

Error texts never hold payload: the reasons are written by hexbus about the item's shape, and
an error raised while reading an event is cut to :data:`MAX_ERROR` characters (its message may
quote a field). The body is in the dead letter's ``message``, cut to a bound that says what
was cut, so one oversized item cannot swell Redis or a log.
"""

from __future__ import annotations

import json
import re
import traceback
import uuid
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from ...ports.dead_letters import DeadLetter, DeadLetterReason
from .intake import bounded_body

MAX_ERROR: Final = 500
"""Characters of an error's text kept in a dead letter."""
MAX_REJECTED_BODY: Final = 1024 * 1024
"""Bytes of a readable message's event kept when it is rejected (a bigger one is cut, and
can then no longer be retried as it was)."""
_EVENT_TYPE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,99}")
BAD_MESSAGE: Final = "hexbus.BadMessage"
"""The ``error_type`` of a dead letter for an item that was not a message hexbus can run."""


def quarantined(*, queue: str, body: bytes | None, reason: str, failed_at: datetime) -> DeadLetter:
    """A dead letter for an item the fetch refused (:mod:`.intake` says why)."""
    text, cut = bounded_body(body or b"")
    return DeadLetter(
        id=uuid.uuid4().hex,
        reason=DeadLetterReason.UNDECODABLE,
        queue=queue,
        handler=None,
        event_id=None,
        event_type=None,
        message=text,
        error_type=BAD_MESSAGE,
        error=(reason + cut)[:MAX_ERROR],
        traceback="",
        attempts=0,
        failed_at=failed_at,
    )


def rejected(
    *,
    queue: str,
    handler: str,
    event_id: str,
    envelope: Any,
    error: BaseException,
    reason: DeadLetterReason,
    attempts: int,
    failed_at: datetime,
    include_traceback: bool = True,
) -> DeadLetter:
    """A dead letter for a message whose delivery stopped before or outside its handler."""
    text, cut = bounded_body(compact(envelope), MAX_REJECTED_BODY)
    event_type = envelope.get("event_type") if isinstance(envelope, dict) else None
    if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
        event_type = None  # not a name: it is shown and logged, so nothing of it is kept
    return DeadLetter(
        id=uuid.uuid4().hex,
        reason=reason,
        queue=queue,
        handler=handler,
        event_id=UUID(event_id) if event_id else None,
        event_type=event_type,
        message=text,
        error_type=f"{type(error).__module__}.{type(error).__qualname__}",
        error=(str(error)[:MAX_ERROR] + cut),
        traceback=_traceback(error) if include_traceback else "",
        attempts=attempts,
        failed_at=failed_at,
    )


def compact(envelope: Any) -> str:
    """The envelope as compact JSON, as messages carry it."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def _traceback(error: BaseException) -> str:
    # The frames, and the exception's line cut like its text: the line repeats the message.
    lines = traceback.format_exception(error)
    return "".join(lines[:-1]) + lines[-1][:MAX_ERROR]

"""The Dramatiq messages that carry one event to one handler.

Every handler gets its own message on its own queue (ADR 0005), so retries, timeouts, rate
limits and concurrency are per handler. The body is Dramatiq's message format, written by
hexbus directly so the id is ours and publish can be one script; it names one actor,
``hexbus_deliver``, with two arguments: the handler's name and the event's envelope.

Options hexbus adds: ``hexbus_attempt`` (1-based, counts failed runs, not rate-limit waits) and
``redis_message_id`` (Dramatiq's key for ack; fresh for every enqueue).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Final

import attrs

from ...ports.handlers import HandlerSpec, Priority

ACTOR_NAME: Final = "hexbus_deliver"
ATTEMPT: Final = "hexbus_attempt"


def queue_for(spec: HandlerSpec) -> str:
    """The queue a handler's messages go to: its queue, suffixed by a non-normal priority.

    Priority is a separate queue with its own worker group, because Dramatiq orders only
    messages already prefetched: an urgent message behind 1,000 others would wait for them.
    """
    if spec.priority is Priority.NORMAL:
        return spec.queue
    return f"{spec.queue}.{spec.priority.name.lower()}"


@attrs.frozen
class QueuedMessage:
    """A message ready to be written: its queue, redis id, JSON body, handler and event."""

    queue: str
    redis_id: str
    body: str
    handler: str
    event_id: str


def build_message(
    *,
    queue: str,
    handler: str,
    envelope_json: str,
    message_id: str,
    event_id: str,
    now_ms: int,
    attempt: int = 1,
    extra_options: dict[str, Any] | None = None,
) -> QueuedMessage:
    """One message for one handler. ``envelope_json`` is the event, already serialized;
    ``now_ms`` its ``message_timestamp``, from the caller's clock."""
    redis_id = uuid.uuid4().hex
    options: dict[str, Any] = {"redis_message_id": redis_id, ATTEMPT: attempt}
    if extra_options:
        options.update(extra_options)
    # The envelope is spliced in as text: serialized once per event, not once per handler.
    body = (
        f'{{"queue_name":{json.dumps(queue)},"actor_name":"{ACTOR_NAME}",'
        f'"args":[{json.dumps(handler)},{envelope_json}],"kwargs":{{}},'
        f'"options":{json.dumps(options, separators=(",", ":"))},'
        f'"message_id":{json.dumps(message_id)},"message_timestamp":{now_ms}}}'
    )
    return QueuedMessage(queue, redis_id, body, handler, event_id)


def schedule_entry(
    *,
    event_id: str,
    event_type: str,
    envelope_json: str,
    handlers: list[tuple[str, str, int]],
    published_ms: int,
    new_event: bool,
    track: bool,
) -> str:
    """A schedule entry: a one-line JSON header, a newline, then the envelope once.

    ``handlers`` are ``(queue, handler, attempt)``; ``move_due.lua`` builds each handler's
    Dramatiq message from them when the entry is due, so a pending event stores its payload
    once, not once per handler inside escaped JSON (ADR 0009). ``new_event`` says the event
    has no status record yet (a delayed event: the mover creates it); ``track`` whether to keep
    one. The envelope is compact JSON and so holds no raw newline.
    """
    header = {
        "e": event_id,
        "t": event_type,
        "p": published_ms,
        "h": [list(h) for h in handlers],
        "n": 1 if new_event else 0,
        "k": 1 if track else 0,
    }
    return json.dumps(header, separators=(",", ":")) + "\n" + envelope_json


def delivery_id(event_id: uuid.UUID, handler: str) -> str:
    """The Dramatiq message_id of one event's delivery to one handler, the same on every try."""
    return f"{event_id}/{handler}"

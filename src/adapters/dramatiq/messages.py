"""The Dramatiq messages that carry one event to one handler, written in one place.

Every handler gets its own message on its own queue (ADR 0005), so retries, timeouts, rate
limits and concurrency are per handler. The body is Dramatiq's message format, written by
hexbus directly so the id is ours and publish can be one script; it names one actor,
``hexbus_deliver``, with two arguments: the handler's name and the event's envelope.

:data:`MESSAGE_TEMPLATE` is that format, the only copy of it (ADR 0012): the publisher fills it
through :func:`formatter` (the hot path: queue and handler filled once per handler), a dead
letter's retry through :func:`build_message`, and ``move_due.lua``, which builds the messages
of due schedule entries inside Redis, receives it as an argument and fills its ``<holes>``
without knowing what is around them. Changing the format is an edit here and nowhere else.

Options hexbus adds: ``hexbus_attempt`` (1-based, counts failed runs, not rate-limit waits) and
``redis_message_id`` (Dramatiq's key for ack; fresh for every enqueue).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Final

import attrs

from ...ports.handlers import HandlerSpec, Priority

ACTOR_NAME: Final = "hexbus_deliver"
ATTEMPT: Final = "hexbus_attempt"

MESSAGE_TEMPLATE: Final = (
    '{"queue_name":"<queue>","actor_name":"' + ACTOR_NAME + '","args":["<handler>",<envelope>],'
    '"kwargs":{},"options":{"redis_message_id":"<id>","' + ATTEMPT + '":<attempt>},'
    '"message_id":"<event>/<handler>","message_timestamp":<now>}'
)
"""Dramatiq's message JSON with ``<holes>``: ``queue``, ``handler`` (names that need no JSON
escaping, which ``HandlerSpec`` enforces), ``envelope`` (the event's compact JSON, spliced in
as text: serialized once per event, not once per handler), ``id`` (the redis message id),
``attempt``, ``event`` (with the handler it makes Dramatiq's ``message_id``, the same on every
try) and ``now`` (``message_timestamp``, ms)."""

_HOLE: Final = re.compile(r"<([a-z_]+)>")


def fill(template: str, **values: object) -> str:
    """``template`` with every ``<name>`` replaced by ``values[name]``.

    Only the template is scanned: a value is put in as it is, never searched for holes, so an
    envelope holding ``<id>`` stays as it was.
    """
    return _HOLE.sub(lambda hole: str(values[hole[1]]), template)


def formatter(template: str, **static: object) -> Callable[..., str]:
    """``template`` with ``static`` filled now and the other holes left as keyword arguments.

    Returns a bound ``str.format``: filling the rest costs one call, which is what the publish
    hot path wants (queue, handler and attempt are fixed per handler).
    """

    def escape(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    def hole(match: re.Match[str]) -> str:
        name = match[1]
        return escape(str(static[name])) if name in static else "{" + name + "}"

    return _HOLE.sub(hole, escape(template)).format


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
    event_id: str,
    now_ms: int,
    attempt: int = 1,
) -> QueuedMessage:
    """One message for one handler, with a fresh redis id. ``envelope_json`` is the event,
    already serialized; ``now_ms`` its ``message_timestamp``, from the caller's clock."""
    redis_id = uuid.uuid4().hex
    body = fill(
        MESSAGE_TEMPLATE,
        queue=queue,
        handler=handler,
        envelope=envelope_json,
        id=redis_id,
        attempt=attempt,
        event=event_id,
        now=now_ms,
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
    unrouted: bool = False,
    keep: bool = True,
) -> str:
    """A schedule entry: a one-line JSON header, a newline, then the envelope once.

    ``handlers`` are ``(queue, handler, attempt)``; ``move_due.lua`` builds each handler's
    Dramatiq message from them and :data:`MESSAGE_TEMPLATE` when the entry is due, so a pending
    event stores its payload once, not once per handler inside escaped JSON (ADR 0009).
    ``new_event`` says the event has no status record yet (a delayed event: the mover creates
    it); ``track`` whether to keep one. ``unrouted`` says no route had the event's type when
    it was published: the mover routes it when due, and if its type has no route then either,
    keeps it for a later subscriber when ``keep`` (ADR 0015). The envelope is compact JSON and
    so holds no raw newline.
    """
    header = {
        "e": event_id,
        "t": event_type,
        "p": published_ms,
        "h": [list(h) for h in handlers],
        "n": 1 if new_event else 0,
        "k": 1 if track else 0,
    }
    if unrouted:
        header["u"] = 1
        header["r"] = 1 if keep else 0
    return json.dumps(header, separators=(",", ":")) + "\n" + envelope_json

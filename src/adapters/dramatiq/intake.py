"""What a fetched item must be to reach ``hexbus_deliver``, checked before anything runs.

Everything in a queue is hexbus's own message format (:mod:`.messages`) unless something else
wrote to Redis: a bug, another program, an attacker with write access, a restore gone wrong.
The fetcher reads every item with :func:`read` and hands whatever it refuses, with the
reason, to the settlement, which dead-letters it (ADR 0018). Nothing here raises: an item is
a message or a :class:`Refused`, so one bad item never stops the fetch or strands the
items fetched with it.

The reasons say what is wrong with the item's *shape* and never quote its contents (field
values, bodies): those are payload, and reach a log or an error text only through the dead
letter's bounded body (:func:`bounded_body`). Dramatiq's own ``Message.decode`` is not used:
its error text holds the whole body, repr'd, and a worker thread needs only the handler's
name, the envelope and the attempt (:class:`~.deliveries.Fetched`), not a Dramatiq message.
"""

from __future__ import annotations

import json
from typing import Any, Final

import attrs

from .deliveries import Fetched
from .messages import ACTOR_NAME, ATTEMPT

MAX_KEPT_BODY: Final = 64 * 1024
"""Bytes of an unreadable body kept in its dead letter; the rest is cut, and the dead letter's
error says how much."""

_FIELDS: Final = {
    "queue_name": str,
    "actor_name": str,
    "args": list,
    "kwargs": dict,
    "options": dict,
    "message_id": str,
    "message_timestamp": int,
}


@attrs.frozen
class Refused:
    """An item that cannot be delivered: why, in a short text with nothing of its payload."""

    reason: str


def read_id(raw: bytes | str) -> str | Refused:
    """A message id as text, or why it cannot be one."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(f"its message id ({len(raw)} bytes) is not UTF-8")


def read(body: bytes, *, queue: str, redis_id: str) -> Fetched | Refused:
    """The delivery the Dramatiq message ``body`` holds, fit for ``hexbus_deliver``, or why
    it is not."""
    try:
        fields = _parse(body)
        if isinstance(fields, Refused):
            return fields
        refused = _check_shape(fields) or _check_call(fields, queue)
        if refused is not None:
            return refused
    except Exception as error:  # a check of ours that did not foresee a shape: refuse, go on
        return Refused(f"could not be read ({type(error).__name__})")
    handler, envelope = fields["args"]
    return Fetched(
        queue=queue,
        redis_id=redis_id,  # what the fetch took, so every fate addresses it
        attempt=fields["options"].get(ATTEMPT, 1),
        handler=handler,
        envelope=envelope,
    )


def _parse(body: bytes) -> dict[str, Any] | Refused:
    if not body:
        return Refused("its body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return Refused(f"its body is not UTF-8 (byte {error.start} of {len(body)})")
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as error:
        return Refused(f"its body is not JSON ({error.msg} at character {error.pos})")
    except RecursionError:
        return Refused("its body is JSON nested too deep")
    if not isinstance(fields, dict):
        return Refused(f"its body is a JSON {_kind(fields)}, not an object")
    return fields


def _check_shape(fields: dict[str, Any]) -> Refused | None:
    missing = [name for name in _FIELDS if name not in fields]
    if missing:
        return Refused(f"its body lacks {', '.join(missing)}")
    extra = len(fields) - len(_FIELDS)
    if extra:
        return Refused(f"its body has {extra} field(s) a Dramatiq message does not have")
    for name, kind in _FIELDS.items():
        value = fields[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            return Refused(f"its {name} is a JSON {_kind(value)}, not {_kind_name(kind)}")
    return None


def _check_call(fields: dict[str, Any], queue: str) -> Refused | None:
    if fields["queue_name"] != queue:
        return Refused(f"it names another queue than {queue!r}")
    if fields["actor_name"] != ACTOR_NAME:
        return Refused("it names an actor this worker does not have")
    args, kwargs, options = fields["args"], fields["kwargs"], fields["options"]
    if kwargs:
        return Refused(f"{ACTOR_NAME} takes no keyword arguments, it was given {len(kwargs)}")
    if len(args) != 2:
        return Refused(
            f"{ACTOR_NAME} takes 2 arguments (handler name, event envelope), it was given "
            f"{len(args)}"
        )
    if not isinstance(args[0], str) or not isinstance(args[1], dict):
        return Refused(
            f"{ACTOR_NAME}'s arguments must be a handler name and an event envelope (an "
            f"object), not a JSON {_kind(args[0])} and a JSON {_kind(args[1])}"
        )
    if "eta" in options:
        return Refused("its options hold 'eta', which hexbus never sets (delays are scheduled)")
    attempt = options.get(ATTEMPT, 1)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        return Refused(f"its option {ATTEMPT} is not a whole number >= 1")
    return None


def bounded_body(body: bytes | str, limit: int = MAX_KEPT_BODY) -> tuple[str, str]:
    """The body as text for a dead letter (bytes that are not UTF-8 as ``\\xNN``), cut so that
    it stays within ``limit`` bytes once stored as JSON, and a note saying what was cut ('' when
    nothing was)."""
    raw = body.encode("utf-8", errors="surrogatepass") if isinstance(body, str) else body
    text = raw[: limit + 1].decode("utf-8", errors="backslashreplace")
    stored = len(json.dumps(text))
    if len(raw) <= limit and stored <= limit:
        return text, ""
    # Control characters take 6 bytes as JSON (\u0000): cut until what is stored fits.
    while stored > limit:
        text = text[: max(len(text) * limit // stored - 1, 0)]
        stored = len(json.dumps(text))
    return text, f"; body cut to its first {len(text):,} characters of {len(raw):,} bytes"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return _kind_name(type(value))


def _kind_name(kind: type) -> str:
    return {
        str: "string",
        int: "integer",
        float: "number",
        list: "array",
        dict: "object",
    }.get(kind, kind.__name__)

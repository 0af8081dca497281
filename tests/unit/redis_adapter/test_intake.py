"""The fetcher's reading of fetched items: every malformed shape is refused with a reason
that quotes none of the item, and a well-formed hexbus message is read as its delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hexbus.adapters.dramatiq.intake import Refused, bounded_body, read, read_id
from hexbus.adapters.dramatiq.messages import ACTOR_NAME, build_message

SECRET = "patient-name-Ana-Ruiz"


def good(**changes: Any) -> dict[str, Any]:
    message = json.loads(
        build_message(
            queue="work",
            handler="h",
            envelope_json=json.dumps({"x": SECRET}),
            event_id="e",
            now_ms=1,
        ).body
    )
    message.update(changes)
    return message


def body(fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_hexbus_message_is_read_with_the_fetched_id_as_its_redis_id() -> None:
    message = read(body(good()), queue="work", redis_id="r1")
    assert not isinstance(message, Refused)
    assert (message.queue, message.redis_id, message.attempt) == ("work", "r1", 1)
    assert (message.handler, message.envelope) == ("h", {"x": SECRET})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "its body is empty"),
        (b"\xff" + SECRET.encode(), "its body is not UTF-8 (byte 0 of 22)"),
        (SECRET.encode(), "its body is not JSON (Expecting value at character 0)"),
        (body([SECRET]), "its body is a JSON array, not an object"),
        (body({"x": SECRET}), "its body lacks queue_name, actor_name, args, kwargs, options"),
        (body(good(extra=SECRET)), "its body has 1 field(s) a Dramatiq message does not have"),
        (body(good(options=[SECRET])), "its options is a JSON array, not object"),
        (body(good(args=SECRET)), "its args is a JSON string, not array"),
        (body(good(kwargs=[SECRET])), "its kwargs is a JSON array, not object"),
        (body(good(args=["h"])), f"{ACTOR_NAME} takes 2 arguments"),
        (body(good(args=["h", {}, SECRET])), "it was given 3"),
        (body(good(args=["h", SECRET])), "not a JSON string and a JSON string"),
        (body(good(kwargs={"a": SECRET})), "takes no keyword arguments, it was given 1"),
        (body(good(queue_name=SECRET)), "it names another queue than 'work'"),
        (body(good(actor_name=SECRET)), "it names an actor this worker does not have"),
        (body(good(options={"eta": 1})), "its options hold 'eta'"),
        (body(good(options={"hexbus_attempt": "1"})), "hexbus_attempt is not a whole number"),
        (body(good(message_timestamp=True)), "its message_timestamp is a JSON boolean"),
        (b"[" * 100_000, "nested too deep"),
    ],
)
def test_a_malformed_item_is_refused_with_a_reason_that_quotes_none_of_it(
    raw: bytes, reason: str
) -> None:
    refused = read(raw, queue="work", redis_id="r1")
    assert isinstance(refused, Refused)
    assert reason in refused.reason
    assert SECRET not in refused.reason


def test_an_id_that_is_not_utf8_is_refused() -> None:
    assert read_id(b"ok") == "ok"
    assert read_id(b"\xff\xfe") == Refused("its message id (2 bytes) is not UTF-8")


def test_a_kept_body_is_bounded_and_says_what_was_cut() -> None:
    assert bounded_body(b"\xffab") == ("\\xffab", "")
    kept, cut = bounded_body(b"a" * 100, limit=10)
    assert kept == "a" * 7
    assert cut == "; body cut to its first 7 characters of 100 bytes", "7 + quotes: 9 <= 10"
    kept, cut = bounded_body(b"\x00" * 100, limit=60)
    assert len(json.dumps(kept)) <= 60, "what is stored is bounded, escapes included"
    assert cut.startswith("; body cut to its first ")

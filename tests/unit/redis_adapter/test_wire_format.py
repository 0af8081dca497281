"""The Dramatiq message format and the key names are each written once, in Python.

The publisher's hot path, a dead letter's retry and ``move_due.lua`` all fill
``MESSAGE_TEMPLATE``; scripts that learn a queue or an event id as they go fill key templates
made by the very methods that name the keys. These tests pin that the fillings agree with
each other and with what Dramatiq's consumer decodes.
"""

from __future__ import annotations

import json

import pytest
from dramatiq.message import Message

from hexbus.adapters.dramatiq.keys import RedisKeys
from hexbus.adapters.dramatiq.messages import (
    ACTOR_NAME,
    ATTEMPT,
    MESSAGE_TEMPLATE,
    build_message,
    fill,
    formatter,
)

VALUES = {
    "queue": "payment.high",
    "handler": "billing.send_receipt",
    "envelope": '{"event_id":"e","note":"<id> stays as written"}',
    "id": "tok.0",
    "attempt": 2,
    "event": "3f1c",
    "now": 1795421585751,
}


def test_a_filled_template_is_a_dramatiq_message_with_our_ids() -> None:
    body = fill(MESSAGE_TEMPLATE, **VALUES)
    message = Message.decode(body.encode())
    assert message.queue_name == "payment.high"
    assert message.actor_name == ACTOR_NAME
    assert message.args == ("billing.send_receipt", json.loads(str(VALUES["envelope"])))
    assert message.options == {"redis_message_id": "tok.0", ATTEMPT: 2}
    assert message.message_id == "3f1c/billing.send_receipt"
    assert message.message_timestamp == 1795421585751


def test_values_are_put_in_as_they_are_never_searched_for_holes() -> None:
    assert "<id> stays as written" in fill(MESSAGE_TEMPLATE, **VALUES)


def test_the_hot_path_formatter_writes_the_same_body_as_fill() -> None:
    body = formatter(
        MESSAGE_TEMPLATE, queue="payment.high", handler="billing.send_receipt", attempt=2
    )
    dynamic = {k: VALUES[k] for k in ("envelope", "id", "event", "now")}
    assert body(**dynamic) == fill(MESSAGE_TEMPLATE, **VALUES)


def test_build_message_fills_the_template_with_a_fresh_redis_id() -> None:
    one = build_message(queue="q", handler="h", envelope_json="{}", event_id="e", now_ms=5)
    two = build_message(queue="q", handler="h", envelope_json="{}", event_id="e", now_ms=5)
    assert one.redis_id != two.redis_id
    assert one.body == fill(
        MESSAGE_TEMPLATE,
        queue="q",
        handler="h",
        envelope="{}",
        id=one.redis_id,
        attempt=1,
        event="e",
        now=5,
    )


def test_key_templates_are_the_keys_with_holes() -> None:
    keys = RedisKeys("ns")
    assert fill(keys.queue_template, queue="q") == keys.queue("q")
    assert fill(keys.messages_template, queue="q") == keys.messages("q")
    assert fill(keys.wake_template, queue="q") == keys.wake("q")
    assert fill(keys.stats_template, queue="q") == keys.stats("q")
    assert fill(keys.status_template, event="e1") == keys.status("e1")
    assert fill(keys.acks_template, broker="b1", queue="q") == keys.acks("b1", "q")


def test_a_namespace_cannot_hold_a_template_hole() -> None:
    with pytest.raises(ValueError, match="namespace"):
        RedisKeys("ns<queue>")

"""The notifier adapters: recording de-duplicates by key, flaky fails on demand, logging masks."""

from __future__ import annotations

import logging

import pytest

from hexbus.examples.clinic.adapters.notifiers import (
    FlakyNotifier,
    LoggingNotifier,
    RecordingNotifier,
    mask_recipient,
)
from hexbus.examples.clinic.domain.errors import InvalidRecipient, NotificationFailed
from hexbus.examples.clinic.ports import Channel, Notification


def note(
    key: str = "e1:welcome", to: str = "ana@example.com", channel: Channel = Channel.EMAIL
) -> Notification:
    return Notification(channel=channel, to=to, subject="Hi", body="Your test results", key=key)


# --- RecordingNotifier --------------------------------------------------------------------


def test_recording_notifier_keeps_one_notification_per_key() -> None:
    sent = RecordingNotifier()
    sent.send(note("e1:welcome"))
    sent.send(note("e1:welcome"))  # a retried handler sends the same message again
    sent.send(note("e2:welcome"))
    assert [n.key for n in sent.sent] == ["e1:welcome", "e2:welcome"]
    assert sent.duplicates == 1
    assert len(sent) == 2


def test_recording_notifier_helpers_find_what_was_sent() -> None:
    sent = RecordingNotifier()
    sent.send(note("e1:welcome", to="ana@example.com"))
    sent.send(note("e1:reminder", to="+34600", channel=Channel.SMS))
    assert [n.key for n in sent.to("+34600")] == ["e1:reminder"]
    assert [n.key for n in sent.on(Channel.EMAIL)] == ["e1:welcome"]
    assert [n.key for n in sent.with_template("reminder")] == ["e1:reminder"]
    assert sent.get("e1:welcome").to == "ana@example.com"
    with pytest.raises(AssertionError, match="nothing was sent with key 'nope'"):
        sent.get("nope")
    sent.clear()
    assert sent.sent == ()
    sent.send(note("e1:welcome"))
    assert len(sent) == 1, "clear() forgets the de-duplication keys too"


# --- FlakyNotifier ------------------------------------------------------------------------


def test_flaky_notifier_fails_the_next_n_sends_then_forwards() -> None:
    sent = RecordingNotifier()
    flaky = FlakyNotifier(sent)
    flaky.fail_next(2)
    for _ in range(2):
        with pytest.raises(NotificationFailed, match="email provider timed out"):
            flaky.send(note())
    flaky.send(note())
    assert len(sent) == 1
    assert (flaky.attempts, flaky.failures) == (3, 2)


def test_flaky_notifier_keeps_a_channel_down_until_restored() -> None:
    sent = RecordingNotifier()
    flaky = FlakyNotifier(sent)
    flaky.take_down(Channel.SMS)
    for _ in range(3):
        with pytest.raises(NotificationFailed, match="sms provider is unavailable"):
            flaky.send(note("e1:sms", to="+34600", channel=Channel.SMS))
    flaky.send(note("e1:email"))  # other channels still work
    flaky.restore(Channel.SMS)
    flaky.send(note("e1:sms", to="+34600", channel=Channel.SMS))
    assert [n.key for n in sent.sent] == ["e1:email", "e1:sms"]


def test_flaky_notifier_rejects_a_recipient_as_invalid() -> None:
    flaky = FlakyNotifier(RecordingNotifier())
    flaky.reject("nobody@example.com")
    with pytest.raises(InvalidRecipient):
        flaky.send(note(to="nobody@example.com"))
    flaky.send(note(to="ana@example.com"))
    flaky.accept("nobody@example.com")
    flaky.send(note("e2:x", to="nobody@example.com"))


def test_heal_forgets_every_failure_asked_for() -> None:
    sent = RecordingNotifier()
    flaky = FlakyNotifier(sent)
    flaky.fail_next(5)
    flaky.take_down(Channel.EMAIL)
    flaky.reject("ana@example.com")
    flaky.heal()
    flaky.send(note())
    assert len(sent) == 1


def test_fail_next_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="count must be >= 0"):
        FlakyNotifier(RecordingNotifier()).fail_next(-1)


# --- LoggingNotifier ----------------------------------------------------------------------


def test_logging_notifier_logs_channel_masked_recipient_and_key_never_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hexbus.notifications")
    LoggingNotifier().send(note("e1:results", to="ana.lopez@example.com"))
    (record,) = caplog.records
    message = record.getMessage()
    assert message == "notification sent channel=email to=a***@example.com key=e1:results"
    assert "test results" not in message
    assert "ana.lopez" not in message


@pytest.mark.parametrize(
    ("recipient", "masked"),
    [
        ("ana.lopez@example.com", "a***@example.com"),
        ("+34 600 123 456", "***456"),
        ("123", "***"),
    ],
)
def test_mask_recipient_keeps_just_enough_to_tell_addresses_apart(
    recipient: str, masked: str
) -> None:
    assert mask_recipient(recipient) == masked

"""``hexbus demo`` as a user runs it: a real process, its exit status and what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest


def hexbus(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, USE_QUEUE_EVENT_BUS="true", COLUMNS="200")  # the demo ignores both
    return subprocess.run(
        [sys.executable, "-m", "hexbus.adapters.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def demo() -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = hexbus("demo")
    return result, time.monotonic() - started


def test_the_demo_exits_zero_quickly_with_no_server(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    result, seconds = demo
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unexpected" not in result.stdout
    assert seconds < 10, f"the demo took {seconds:.1f}s; virtual time should make it instant"


def test_the_demo_shows_the_duplicate_webhook_ignored_and_the_appointment_confirmed(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo[0].stdout
    assert "publish payment.succeeded" in out
    assert "duplicate: already accepted, nothing runs" in out
    assert "webhook 2: duplicate, ignored" in out
    assert "appointment apt-1001 is CONFIRMED" in out


def test_the_demo_shows_retries_and_dead_letters(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo[0].stdout
    assert "FAIL booking.send_invoice 1/5 NotificationFailed -> retry at" in out
    assert "ok   booking.send_invoice" in out
    assert "DEAD booking.send_patient_confirmation dead letter" in out
    assert "(retries_exhausted)" in out
    assert "DEAD booking.notify_doctor dead letter" in out
    assert "(non_retryable)" in out
    assert "1 dead letter left" in out


def test_the_demo_ends_with_a_summary(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo[0].stdout
    for line in ("events published", "duplicates ignored", "retries", "dead letters"):
        assert line in out
    for appointment, status in (
        ("apt-1001", "CONFIRMED"),
        ("apt-1002", "CANCELLED"),
        ("apt-1003", "PENDING"),
    ):
        assert any(appointment in row and status in row for row in out.splitlines())


def test_demo_help_explains_what_it_shows() -> None:
    result = hexbus("demo", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for phrase in ("in-memory bus", "payment webhook twice", "duplicate", "dead letters"):
        assert phrase in text, phrase

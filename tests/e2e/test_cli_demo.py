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
        ("apt-1003", "CANCELLED"),
        ("Eli Navarro", "CONFIRMED"),
    ):
        assert any(appointment in row and status in row for row in out.splitlines())
    assert "still open" in out


def test_the_demo_schedules_timers_and_cancels_them_when_paid_or_cancelled(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo[0].stdout
    assert "publish appointment.reminder_due" in out
    assert "scheduled for Mon 10:00:00" in out, "the 24 h reminder of tomorrow's 10:00"
    assert "scheduled for Tue 09:00:00" in out, "the 1 h reminder"
    assert "publish appointment.payment_deadline_passed" in out
    assert "cancel  appointment.payment_deadline_passed" in out, "paying cancels the auto-cancel"
    assert "cancel  appointment.reminder_due" in out, "cancelling cancels the reminders"


def test_the_demo_auto_cancels_the_unpaid_appointment_and_sends_the_reminders(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo[0].stdout
    assert "ok   booking.cancel_unpaid_appointment" in out
    assert "appointment apt-1003 is CANCELLED by the system" in out
    assert out.count("appointment_reminder_24h") == 1, "only apt-1001 still happens"
    assert out.count("appointment_reminder_1h") == 2, "apt-1001 and the waitlist's booking"


def test_the_demo_passes_an_expired_waitlist_offer_to_the_next_patient(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo[0].stdout
    assert "publish waitlist.offer_expired" in out
    assert "ok   waitlist.pass_offer_on" in out
    assert "run  waitlist.calculate_preferences 1/6 (appointment.low)" in out
    assert out.count("waitlist_slot_offer") == 2, "Dina first, then Eli"
    assert "cancel  waitlist.offer_expired" in out, "accepting cancels the expiry"


def test_the_demo_runs_the_medicine_jobs_on_their_crons(
    demo: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo[0].stdout
    for schedule in ("medicine.expiry_check", "medicine.low_stock_check", "report.weekly"):
        assert schedule in out
    assert "Tue 00:00:00.000  publish medicine.expiry_check_due" in out
    assert "Tue 06:00:00.000  publish medicine.low_stock_check_due" in out
    assert out.count("medicine_expiring") == 2
    assert out.count("medicine_stock_low") == 1


def test_demo_help_explains_what_it_shows() -> None:
    result = hexbus("demo", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for phrase in (
        "in-memory bus",
        "payment webhook twice",
        "duplicate",
        "dead letters",
        "auto-cancelled",
        "waitlist",
        "medicine jobs",
    ):
        assert phrase in text, phrase

"""Handlers come from the application, always: ``--app`` or ``HEXBUS_APP`` on every command
that needs them, and none without (real processes, as a user runs them)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

CLINIC = "hexbus.examples.clinic:register"


def hexbus(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HEXBUS_")}
    environment.update(COLUMNS="250", **env)
    return subprocess.run(
        [sys.executable, "-m", "hexbus.adapters.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_worker_without_an_app_stops_at_once_saying_how_to_give_one() -> None:
    # Redis is a closed port: the command must refuse before it tries to connect.
    started = time.monotonic()
    result = hexbus(
        "worker", USE_QUEUE_EVENT_BUS="true", REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0"
    )
    took = time.monotonic() - started

    assert result.returncode == 2, result.stdout + result.stderr
    assert "--app" in result.stderr
    assert "HEXBUS_APP" in result.stderr
    assert "Traceback" not in result.stderr
    assert took < 15


def test_handlers_lists_the_clinic_handlers_with_its_app() -> None:
    result = hexbus("handlers", "--app", CLINIC)

    assert result.returncode == 0, result.stderr
    for handler in ("booking.send_patient_confirmation", "booking.notify_doctor"):
        assert handler in result.stdout
    assert "ai-processing" in result.stdout


def test_handlers_reads_the_app_from_hexbus_app() -> None:
    result = hexbus("handlers", HEXBUS_APP=CLINIC)

    assert result.returncode == 0, result.stderr
    assert "booking.send_patient_confirmation" in result.stdout


def test_without_an_app_hexbus_handlers_says_what_is_missing() -> None:
    result = hexbus("handlers")

    assert result.returncode == 2
    assert "--app" in result.stderr


def test_a_malformed_app_is_named_in_the_error() -> None:
    result = hexbus("handlers", HEXBUS_APP="hexbus.examples.clinic")

    assert result.returncode == 2
    assert "HEXBUS_APP" in result.stderr


def test_schedules_lists_the_clinic_crons_only_with_its_app() -> None:
    with_app = hexbus("schedules", "--app", CLINIC)
    without = hexbus("schedules")

    assert with_app.returncode == 0, with_app.stderr
    assert "medicine" in with_app.stdout
    assert without.returncode == 0, without.stderr
    assert "medicine" not in without.stdout


def test_config_lists_every_group_with_defaults_and_meanings() -> None:
    result = hexbus("config", REDIS_PASSWORD="p4ssw0rd-secret")

    assert result.returncode == 0, result.stderr
    for name in ("USE_QUEUE_EVENT_BUS", "HEXBUS_APP", "REDIS_URL", "HEXBUS_WORKER_QUEUES"):
        assert name in result.stdout
    assert "HEXBUS_API_TOKEN" in result.stdout
    assert "p4ssw0rd-secret" not in result.stdout

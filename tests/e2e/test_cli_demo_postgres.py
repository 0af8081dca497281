"""``hexbus demo --store postgres`` runs the clinic through the outbox on servers it starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hexbus.adapters.cli.main import app as cli

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_the_postgres_demo_shows_the_outbox_the_relay_and_the_handlers() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "hexbus.adapters.cli", "demo", "--store", "postgres"],
        env={**env, "HEXBUS_LOG_LEVEL": "warning"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "starting a private PostgreSQL cluster" in out
    assert "appointment.created" in out, "the outbox rows of the booking are shown"
    assert "the relay emptied the outbox" in out
    assert "PENDING to CONFIRMED" in out
    assert "PROBLEM" not in out


def test_an_unknown_store_is_refused() -> None:
    done = CliRunner().invoke(cli, ["demo", "--store", "mongo"])

    assert done.exit_code == 2
    assert "memory or postgres" in done.output

"""schemathesis with every check against the running API: no schema violation, no 5xx.

The app (the clinic example on the in-memory bus, so there are queues, statuses and dead
letters to read) runs under uvicorn on a free loopback port; ``schemathesis run --checks all``
drives it from its OpenAPI document, with the operator token, the read token and no token, and
with no read token configured (counts open). Examples are few (``-n``) and the seed fixed, so
the whole module takes well under a minute (ADR 0016).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.http import create_app
from hexbus.container import create_container
from hexbus.examples.clinic import build_clinic
from hexbus.examples.clinic.adapters.notifiers import FlakyNotifier, RecordingNotifier
from hexbus.examples.clinic.domain.booking import Contact
from hexbus.testing.redis_server import free_port

OPERATOR = "schema-operator-token-0123456789"
READER = "schema-reader-token-0123456789"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

if not SCHEMATHESIS.exists() and shutil.which("schemathesis") is None:  # pragma: no cover
    pytest.skip("schemathesis is not installed (pip install -e '.[dev]')", allow_module_level=True)


def serve(env: dict[str, str]) -> Iterator[str]:
    clock = VirtualClock()
    container = create_container(env, clock=clock)
    notifier = FlakyNotifier(RecordingNotifier())
    clinic = build_clinic(container, notifier=notifier)
    notifier.reject("ruiz@clinic.example")  # a dead letter per booking
    for n in range(3):
        clinic.book_appointment()(
            appointment_id=f"apt-{n}",
            patient_id=f"pat-{n}",
            patient=Contact(name="Ana Lopez", email="ana@example.com"),
            doctor_id="doc-1",
            doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
            clinic_id="clinic-1",
            starts_at=clock.now() + timedelta(days=2),
            price=Decimal("60.00"),
            currency="EUR",
        )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container),
            host="127.0.0.1",
            port=port,
            log_level="critical",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def with_read_token() -> Iterator[str]:
    yield from serve(
        {"HEXBUS_API_TOKEN": OPERATOR, "HEXBUS_API_READ_TOKEN": READER, "HEXBUS_SHOW_ERRORS": "1"}
    )


@pytest.fixture(scope="module")
def operator_only() -> Iterator[str]:
    yield from serve({"HEXBUS_API_TOKEN": OPERATOR})


def schemathesis(url: str, token: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` with every check; run in ``cwd``, where it keeps its cache."""
    command = [
        str(SCHEMATHESIS) if SCHEMATHESIS.exists() else "schemathesis",
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        "10",
        "--seed",
        "20261202",
        "--no-color",
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=300, env=env, cwd=cwd
    )


@pytest.mark.parametrize("token", [OPERATOR, READER, None], ids=["operator", "reader", "none"])
def test_no_schema_violation_and_no_server_error(
    with_read_token: str, token: str | None, tmp_path: Path
) -> None:
    result = schemathesis(with_read_token, token, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.parametrize("token", [OPERATOR, None], ids=["operator", "none"])
def test_with_counts_open(operator_only: str, token: str | None, tmp_path: Path) -> None:
    result = schemathesis(operator_only, token, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]

"""Each form of REDIS_URL, fed to every surface that shows where Redis is: no secret leaks.

``hexbus config`` (table and --json), ``/api/v1/config``, the dashboard's HTML, the banner of
``hexbus worker`` (started briefly against a closed port) and a CLI error line (``hexbus
stats`` against the same closed port) are grepped for the password and the user (ADR 0016).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hexbus.adapters.http import create_app
from hexbus.container import create_container
from hexbus.testing.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Pw-7f3a-never-shown"
USER = "acl-user-9b2c"
TOKEN = "leak-test-token-0123456789abcdef"


def forms(port: int) -> list[str]:
    return [
        f"redis://{USER}:{SECRET}@127.0.0.1:{port}/0",
        f"redis://127.0.0.1:{port}/0?password={SECRET}",
        f"redis://127.0.0.1:{port}/0?username={USER}&password={SECRET}",
        f"redis://{USER}:{SECRET}@[::1]:{port}/0",
        f"rediss://{USER}:{SECRET}@127.0.0.1:{port}/0",
        f"unix://{USER}:{SECRET}@/tmp/hexbus-missing-{port}.sock?db=0",
        f"unix:///tmp/hexbus-missing-{port}.sock?db=0&password={SECRET}",
    ]


def cli(*args: str, env: dict[str, str], timeout: float = 60) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "hexbus.adapters.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result.stdout + result.stderr


def worker_banner(env: dict[str, str]) -> str:
    process = subprocess.Popen(
        [sys.executable, "-m", "hexbus.adapters.cli", "worker"],
        env={**env, "HEXBUS_APP": "tests.integration.apps:register", "HEXBUS_METRICS_PORT": "0"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(4)  # the banner, and the children's first errors against the closed port
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


@pytest.mark.slow
@pytest.mark.parametrize("form", range(7))
def test_no_surface_shows_a_credential(form: int) -> None:
    port = free_port()  # nothing listens there
    url = forms(port)[form]
    env = {
        **os.environ,
        "REDIS_URL": url,
        "USE_QUEUE_EVENT_BUS": "true",
        "HEXBUS_API_TOKEN": TOKEN,
        "REDIS_CONNECT_TIMEOUT": "0.2",
        "HEXBUS_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    surfaces = {
        "hexbus config": cli("config", env=env),
        "hexbus config --json": cli("config", "--json", env=env),
        "a CLI error": cli("stats", env=env),
    }
    if form in (0, 1, 2, 3):  # TCP forms: the worker's banner and its children's errors
        surfaces["hexbus worker"] = worker_banner(env)
    container = create_container({k: v for k, v in env.items() if k.isupper()})
    client = TestClient(
        create_app(container),
        base_url="http://localhost",
        headers={"Authorization": f"Bearer {TOKEN}"},
        raise_server_exceptions=False,
    )
    surfaces["/api/v1/config"] = client.get("/api/v1/config").text
    surfaces["the dashboard"] = client.get("/queues").text
    surfaces["/health"] = client.get("/health").text
    assert "***" in surfaces["hexbus config --json"]
    assert "error" in surfaces["a CLI error"].lower()
    for name, text in surfaces.items():
        assert SECRET not in text, f"{name} shows the password of {url}"
        assert USER not in text, f"{name} shows the user of {url}"

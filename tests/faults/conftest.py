"""Fault fixtures: a private redis-server, a namespace per test, ``hexbus worker`` supervisors,
and a count of the live worker processes of a namespace read from /proc (no psutil)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from hexbus.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def namespace() -> str:
    return f"ft{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


@pytest.fixture
def worker_env(redis_server: RedisServer, namespace: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_server.url,
        HEXBUS_NAMESPACE=namespace,
        USE_QUEUE_EVENT_BUS="true",
        HEXBUS_HEARTBEAT_TIMEOUT="3",
        HEXBUS_SHUTDOWN_TIMEOUT="10",
        HEXBUS_LOG_LEVEL="warning",
        HEXBUS_METRICS_PORT="0",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


class Supervised:
    """A ``hexbus worker`` process, with every line it printed (its workers' stderr too)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


StartSupervisor = Callable[..., Supervised]


@pytest.fixture
def start_supervisor(worker_env: dict[str, str], namespace: str) -> Iterator[StartSupervisor]:
    started: list[Supervised] = []

    def start(queues: str, app: str = "tests.faults.apps:register", **env: str) -> Supervised:
        command = [sys.executable, "-m", "hexbus.adapters.cli", "worker"]
        process = subprocess.Popen(
            [*command, "--queues", queues, "--app", app],
            env={**worker_env, **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        supervised = Supervised(process)
        started.append(supervised)
        return supervised

    yield start
    for supervised in started:
        if supervised.process.poll() is None:
            supervised.process.send_signal(signal.SIGTERM)
            try:
                supervised.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                supervised.process.kill()
                supervised.process.wait()
    # Whatever the test did, leave no worker of this namespace behind.
    for pid in worker_pids(namespace):
        os.kill(pid, signal.SIGKILL)


def worker_pids(namespace: str) -> list[int]:
    """Pids of the live ``worker-process`` processes whose HEXBUS_NAMESPACE is ``namespace``."""
    found = []
    marker = f"HEXBUS_NAMESPACE={namespace}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if b"worker-process" not in argv:
                continue
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        found.append(int(entry.name))
    return sorted(found)

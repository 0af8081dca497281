"""Fault fixtures: a redis-server per module, ``hexbus worker`` supervisors,
and a count of the live worker processes of a namespace read from /proc (no psutil)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hexbus.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server per fault module: a storm's leftovers never reach the next module."""
    with RedisServer() as server:
        yield server


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

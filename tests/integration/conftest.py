"""Integration fixtures: a private redis-server, a namespace per test, worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from hexbus.adapters.dramatiq import RedisKeys
from hexbus.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the session (tests that break Redis start their own)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def namespace() -> str:
    """A fresh key namespace, so tests never see each other's keys."""
    return f"it{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


@pytest.fixture
def worker_env(redis_server: RedisServer, namespace: str) -> dict[str, str]:
    """The environment a worker process of this test runs with."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_server.url,
        HEXBUS_NAMESPACE=namespace,
        USE_QUEUE_EVENT_BUS="true",
        HEXBUS_HEARTBEAT_TIMEOUT="3",
        HEXBUS_SHUTDOWN_TIMEOUT="10",
        # The worker's output goes to a pipe the tests read only in part: keep it short so
        # a busy worker never blocks on a full pipe.
        HEXBUS_LOG_LEVEL="warning",
        HEXBUS_METRICS_PORT="0",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


StartWorker = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def start_worker(worker_env: dict[str, str]) -> Iterator[StartWorker]:
    """Start ``hexbus worker-process`` (or, with supervise=True, ``hexbus worker``)."""
    started: list[subprocess.Popen[str]] = []

    def start(
        queues: str = "work,work.high,limited,slow",
        threads: int = 2,
        *,
        supervise: bool = False,
        app: str = "tests.integration.apps:register",
    ) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "hexbus.adapters.cli"]
        if supervise:
            command += ["worker", "--queues", queues]
        else:
            command += ["worker-process", "--queues", queues, "--threads", str(threads)]
        command += ["--app", app]
        process = subprocess.Popen(
            command,
            env=worker_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def wait_for(
    condition: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str = ""
) -> None:
    """Poll ``condition`` until it is true or ``timeout`` seconds pass (then fail, saying what)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")


def declared_routes(client: redis.Redis, namespace: str) -> set[str]:
    """The handlers whose routes some worker has declared in ``namespace`` (ADR 0015)."""
    return {name.decode() for name in client.hkeys(RedisKeys(namespace).routes)}


def wait_for_routes(
    client: redis.Redis, namespace: str, handlers: set[str], *, timeout: float = 30
) -> None:
    """Wait until workers have declared the routes of ``handlers``: from then on, publishing
    reaches them (an event published before is kept as unrouted and handed to them later)."""
    wait_for(
        lambda: handlers <= declared_routes(client, namespace),
        timeout=timeout,
        what=f"workers to declare the routes of {sorted(handlers)}",
    )

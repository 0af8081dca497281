"""Outbox fixtures: one private PostgreSQL cluster and one redis-server per session, a fresh
database and key namespace per test, and relay and worker processes started as in production."""

from __future__ import annotations

import json
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

from hexbus.adapters.postgres.engine import create_engine
from hexbus.adapters.postgres.outbox import OutboxStore
from hexbus.adapters.postgres.schema import upgrade
from hexbus.container import Container, create_container
from hexbus.testing.postgres_server import PostgresServer
from hexbus.testing.redis_server import RedisServer

from .apps import HANDLED_KEY
from .apps import register as register_parcels

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.outbox.apps:register"

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL cluster for the session (initdb in a temp dir, a free port)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    """A fresh database for one test, with hexbus's tables."""
    url = postgres_server.create_database(f"t{uuid.uuid4().hex[:12]}")
    engine = create_engine(url, pool_size=1)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def env(database_url: str, redis_server: RedisServer) -> dict[str, str]:
    """The environment of this test's processes (and of its in-process container)."""
    namespace = f"ob{uuid.uuid4().hex[:10]}"
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        USE_QUEUE_EVENT_BUS="true",
        HEXBUS_NAMESPACE=namespace,
        HEXBUS_HEARTBEAT_TIMEOUT="3",
        HEXBUS_LOG_LEVEL="warning",
        HEXBUS_METRICS_PORT="0",
        HEXBUS_OUTBOX_POLL_INTERVAL="0.2",
        HEXBUS_OUTBOX_MAX_BACKOFF="1",
        HEXBUS_PUBLISH_TIMEOUT="1",
        HEXBUS_UNROUTED="keep",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    environment[HANDLED_KEY] = f"{namespace}:test:handled"
    return environment


@pytest.fixture
def container(env: dict[str, str]) -> Iterator[Container]:
    """The composition root as this test's processes build it, with the parcels app."""
    built = create_container(env)
    register_parcels(built)
    yield built
    built.database_engine().dispose()


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


def handled(client: redis.Redis, env: dict[str, str]) -> list[int]:
    """The parcel numbers the handler recorded, in order, repeats included."""
    return [int(n) for n in client.lrange(env[HANDLED_KEY], 0, -1)]


def outbox_rows(container: Container) -> int:
    store: OutboxStore = container.outbox_monitor()
    return store.stats().rows


Start = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def start(env: dict[str, str]) -> Iterator[Start]:
    """Start a ``hexbus`` command (or a script) as a process of this test; killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        command = [sys.executable, *args] if args[0].endswith(".py") else [
            sys.executable, "-m", "hexbus.adapters.cli", *args
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            env={**env, **(extra_env or {})},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def relay_totals(process: subprocess.Popen[str], timeout: float = 60) -> dict[str, int]:
    """Wait for ``hexbus outbox relay --until-empty --json`` and read its totals."""
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    # The totals are the last thing printed (log lines may come before them).
    totals: dict[str, int] = json.loads(output[output.rindex('{\n  "batches"') :])
    return totals


def start_worker(start: Start) -> subprocess.Popen[str]:
    """One worker process serving the parcels queue."""
    return start("worker-process", "--queues", "parcels", "--threads", "4", "--app", APP)


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

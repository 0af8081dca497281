"""Fixtures every Redis test folder shares: a private redis-server, a namespace per test, a
client, and the environment a worker process of the test runs with. A folder that needs a
different server (its own scope, or one it breaks) overrides ``redis_server`` in its own
conftest."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from hexbus.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]


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

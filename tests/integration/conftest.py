"""Integration fixtures: a private redis-server, a namespace per test, worker processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, handler_queues
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.container import create_container
from hexbus.testing.dramatiq_harness import declare_routes

from .apps import register

ROOT = Path(__file__).resolve().parents[2]


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


def settled(client: redis.Redis, keys: RedisKeys, queue: str, *acks_sets: str) -> bool:
    """Nothing of ``queue`` waits, is stored or counted as started, nor held in ``acks_sets``:
    every message taken was settled (its script ran, not only its handler)."""
    pipe = client.pipeline(transaction=False)
    pipe.llen(keys.queue(queue))
    pipe.hlen(keys.messages(queue))
    pipe.hlen(keys.runs(queue))
    for acks in acks_sets:
        pipe.scard(acks)
    return not any(pipe.execute())


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


@pytest.fixture
def wired(worker_env: dict[str, str]):  # type: ignore[no-untyped-def]
    """A bus, a monitor and a worker runtime (not started) on the test's Redis, for the
    integration apps' handlers (every queue but \"slow\" served)."""
    container = create_container(worker_env)
    register(container)
    bus = container.event_bus()
    monitor = container.monitor()
    assert isinstance(bus, DramatiqEventBus)
    assert isinstance(monitor, RedisQueueMonitor)
    runtime = container.worker_runtime(
        queues=[q for q in handler_queues(container.processor()) if q != "slow"], threads=2
    )
    # Every handler's route is declared, as by workers serving them all ("slow" by one that
    # takes nothing here), so what is published before the runtime starts waits in queues.
    declare_routes(container.redis_client(), container.redis_keys(), container.processor())
    yield bus, monitor, runtime
    runtime.stop(timedelta(seconds=5))

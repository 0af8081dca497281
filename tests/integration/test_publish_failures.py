"""Redis trouble at publish: bounded retries, one clear error, nothing half-written."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor, EventBusUnavailable, PublishOutcome
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime, handler_queues
from hexbus.adapters.dramatiq.connection import connect
from hexbus.container import create_container
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer, free_port

from .conftest import wait_for

pytestmark = pytest.mark.redis


@attrs.frozen(kw_only=True)
class Ping(DomainEvent):
    event_type = "it.ping"
    n: int = 0


def processor_with(*queues: str) -> tuple[DomainEventsProcessor, dict[str, list[int]]]:
    """Handlers that count their runs per handler, one per queue."""
    processor = DomainEventsProcessor()
    seen: dict[str, list[int]] = {}
    for queue in queues:
        seen[queue] = []

        def handle(event: Ping, q: str = queue) -> None:
            seen[q].append(event.n)

        processor.register_handler(Ping, handle, name=f"h.{queue}", queue=queue)
    return processor, seen


def test_redis_down_raises_event_bus_unavailable_after_bounded_retries() -> None:
    server = RedisServer().start()
    processor, _ = processor_with("a")
    bus = DramatiqEventBus(processor, connect(server.url, socket_timeout=0.5))
    server.kill()
    started = time.monotonic()
    with pytest.raises(EventBusUnavailable, match="publishing the same event again is safe"):
        bus.publish(Ping())
    assert time.monotonic() - started < 10, "retries are bounded"
    server.start()
    assert server.client().dbsize() == 0, "nothing was half-written"
    assert bus.publish(Ping()).outcome is PublishOutcome.ACCEPTED, "works again once Redis is back"
    server.stop()


class DropFirstReply:
    """A TCP proxy in front of Redis that swallows the reply to the first EVALSHA it forwards.

    The script has run in Redis, but the client sees the connection die: the situation where
    a naive retry would report the event as a duplicate (or publish it twice).
    """

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target = target_port
        self.dropped = False
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if upstream and b"EVALSHA" in data.upper() and not self.dropped:
                    self.dropped = True
                    sink.sendall(data)
                    time.sleep(0.2)  # let Redis run it, then cut the client off
                    source.close()
                    sink.close()
                    return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.close()

    def close(self) -> None:
        self._listener.close()


def test_a_lost_reply_is_retried_and_reported_accepted_once(redis_server: RedisServer) -> None:
    processor, seen = processor_with("a")
    client = redis_server.client()
    keys = RedisKeys(f"lost{time.monotonic_ns()}")
    declare_routes(client, keys, processor)  # as the worker started below will
    # Load the scripts through the direct connection, so the proxy sees EVALSHA.
    DramatiqEventBus(processor, client, keys=keys).publish(Ping(n=-1))
    proxy = DropFirstReply(redis_server.port)
    bus = DramatiqEventBus(processor, connect(f"redis://127.0.0.1:{proxy.port}/0"), keys=keys)
    event = Ping(n=1)
    assert bus.publish(event).outcome is PublishOutcome.ACCEPTED
    assert proxy.dropped, "the first reply really was lost"
    assert bus.publish(event).outcome is PublishOutcome.DUPLICATE
    assert client.llen(keys.queue("a")) == 2, "one message per publish accepted, not two"
    proxy.close()
    runtime = WorkerRuntime(processor=processor, client=client, queues=["a"], threads=1, keys=keys)
    runtime.start()
    try:
        wait_for(lambda: sorted(seen["a"]) == [-1, 1], timeout=10, what="delivery")
    finally:
        runtime.stop(timedelta(seconds=5))


@pytest.mark.parametrize("failing_write", [1, 2, 3])
def test_a_failure_at_any_step_of_publish_loses_nothing(
    redis_server: RedisServer, failing_write: int
) -> None:
    """Make the n-th handler's queue unwritable: publish fails with nothing written, then
    succeeds once fixed, and every handler runs exactly once."""
    processor, seen = processor_with("q1", "q2", "q3")
    client = redis_server.client()
    keys = RedisKeys(f"step{failing_write}x{time.monotonic_ns()}")
    declare_routes(client, keys, processor)  # as the worker started below will
    routes = set(client.keys(f"{keys.namespace}:*"))
    bus = DramatiqEventBus(processor, client, keys=keys)
    broken = keys.queue(f"q{failing_write}")
    client.set(broken, "not a list")  # RPUSH on it fails inside the script
    event = Ping(n=7)
    with pytest.raises(EventBusUnavailable, match="WRONGTYPE"):
        bus.publish(event)
    assert not client.exists(keys.published(event.event_id)), "not marked accepted"
    client.delete(broken)
    assert set(client.keys(f"{keys.namespace}:*")) == routes, "nothing was half-written"
    assert bus.publish(event).outcome is PublishOutcome.ACCEPTED
    runtime = WorkerRuntime(
        processor=processor, client=client, queues=handler_queues(processor), threads=2, keys=keys
    )
    runtime.start()
    try:
        wait_for(
            lambda: (
                all(seen[q] == [7] for q in ("q1", "q2", "q3"))
                and client.llen(keys.queue("q1")) == 0
                and client.hlen(keys.messages("q1")) == 0
            ),
            timeout=10,
            what="every handler once",
        )
        time.sleep(0.3)  # a duplicate message, if any, would run now: it must be skipped
        assert {q: seen[q] for q in seen} == {"q1": [7], "q2": [7], "q3": [7]}
    finally:
        runtime.stop(timedelta(seconds=5))


@pytest.fixture(params=["acl", "tls"])
def secured_server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    if request.param == "acl":
        server = RedisServer(username="hexbus", password="s3cr:t@/%")
    else:
        server = RedisServer(tls=True, password="tls-pass")
    with server:
        yield server


def test_auth_and_tls_work_from_the_settings(secured_server: RedisServer) -> None:
    env = {
        "USE_QUEUE_EVENT_BUS": "true",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(secured_server.port),
        "REDIS_PASSWORD": secured_server.password or "",
    }
    if secured_server.username:
        env["REDIS_USERNAME"] = secured_server.username
    if secured_server.tls:
        env["REDIS_TLS"] = "true"
        env["REDIS_TLS_CA_FILE"] = str(secured_server.ca_file)
    container = create_container(env)
    bus = container.event_bus()
    assert bus.publish(Ping()).outcome is PublishOutcome.ACCEPTED
    wrong = dict(env, REDIS_PASSWORD="wrong")
    with pytest.raises(EventBusUnavailable):
        create_container(wrong).event_bus().publish(Ping())
    assert isinstance(container.redis_client(), redis.Redis)

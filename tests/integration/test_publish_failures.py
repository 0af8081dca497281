"""Redis trouble at publish: a deadline, two clear errors, nothing half-written.

No answer (Redis down, hung, paused) is ``EventBusUnavailable`` within the publish deadline,
and the event may or may not have been accepted; an error reply (``WRONGTYPE``) is
``EventBusRejected`` at once, never retried.
"""

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

from hexbus import (
    DomainEvent,
    DomainEventsProcessor,
    EventBusRejected,
    EventBusUnavailable,
    PublishOutcome,
)
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
    calls_before = _evalsha_calls(client)
    started = time.monotonic()
    with pytest.raises(EventBusRejected, match="WRONGTYPE"):
        bus.publish(event)
    assert time.monotonic() - started < 0.5, "rejected at once"
    assert _evalsha_calls(client) - calls_before == 1, "a data error is never retried"
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


def _evalsha_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def test_a_wrongtype_on_the_published_key_is_rejected_and_leaves_it_alone(
    redis_server: RedisServer,
) -> None:
    processor, _ = processor_with("a")
    client = redis_server.client()
    keys = RedisKeys(f"wrongtype{time.monotonic_ns()}")
    bus = DramatiqEventBus(processor, client, keys=keys)
    event = Ping(n=3)
    client.hset(keys.published(event.event_id), "someone", "else")
    with pytest.raises(EventBusRejected) as caught:
        bus.publish(event)
    assert not isinstance(caught.value, EventBusUnavailable), "a publisher retrying those stops"
    assert client.type(keys.published(event.event_id)) == b"hash"
    assert client.llen(keys.queue("a")) == 0


class NeverAnswers:
    """A TCP listener that accepts connections, reads what it is sent and never replies: a
    hung Redis, as a stalled VM or a full network buffer looks to a client."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)
            threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    def _swallow(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()


def test_publish_against_a_redis_that_never_answers_fails_within_the_deadline() -> None:
    hung = NeverAnswers()
    try:
        # The defaults: REDIS_SOCKET_TIMEOUT 2 s, HEXBUS_PUBLISH_TIMEOUT 2.5 s.
        container = create_container(
            {"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": f"redis://127.0.0.1:{hung.port}/0"}
        )
        container.processor().register_handler(Ping, lambda event: None, name="h.hung")
        bus = container.event_bus()
        started = time.monotonic()
        with pytest.raises(EventBusUnavailable, match="may or may not have been accepted"):
            bus.publish(Ping())
        took = time.monotonic() - started
        print(f"publish against a Redis that never answers failed after {took:.2f}s")
        assert 1.5 < took < 3.0
    finally:
        hung.close()


def test_a_publish_that_timed_out_is_applied_when_redis_resumes() -> None:
    """What EventBusUnavailable's "may or may not have been accepted" means, on a paused
    (SIGSTOPped) redis-server: the command sat in its socket and runs when it resumes."""
    with RedisServer() as server:
        container = create_container({"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": server.url})
        processor = container.processor()
        processor.register_handler(Ping, lambda event: None, name="h.paused", queue="paused")
        bus = container.event_bus()
        assert isinstance(bus, DramatiqEventBus)
        declare_routes(server.client(), bus.keys, processor)  # as a worker of it would
        assert bus.publish(Ping(n=0)).outcome is PublishOutcome.ACCEPTED  # scripts loaded
        event = Ping(n=1)
        server.pause()
        try:
            started = time.monotonic()
            with pytest.raises(EventBusUnavailable):
                bus.publish(event)
            took = time.monotonic() - started
        finally:
            server.resume()
        print(f"publish against a paused redis-server failed after {took:.2f}s")
        assert took < 3.0
        client = server.client()
        wait_for(
            lambda: client.exists(bus.keys.published(event.event_id)),
            timeout=5,
            what="the timed-out publish to be applied",
        )
        assert bus.publish(event).outcome is PublishOutcome.DUPLICATE, "publishing again is safe"
        assert client.llen(bus.keys.queue("paused")) == 2, "one message per event"


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

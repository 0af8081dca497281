"""A fuzz of malformed items among good events, black-box against ``hexbus worker``: no worker
restarts, every malformed item dead-lettered with its reason, every good event handled, and a
queue whose own keys hold the wrong type contained to itself and reported.

Items are written into Redis as another program (or a bug) would. The good events' throughput
is measured with the queue paused while it is loaded, then resumed, alone and then among the
malformed items; the ratio is printed (and recorded in bench/RESULTS.md), not asserted: on a
shared, loaded 2-core machine it varies too much from run to run to be a fair gate.

Sizes: ``HEXBUS_FUZZ_GOOD`` good events per phase (default 3,000) and ``HEXBUS_FUZZ_BAD``
malformed items (default 1,200, ten of them 1 MB bodies).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
import redis

from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys
from hexbus.adapters.dramatiq.messages import build_message
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.container import create_container
from hexbus.domain.serialization import EventSerializer
from hexbus.ports.dead_letters import DeadLetterReason

from .apps import Sink, Tick, fuzz
from .conftest import StartSupervisor, worker_pids
from .storm import HANDLER, handled, size
from .test_supervisor_faults import live_heartbeats, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SINKS = "fuzz-list+fuzz-msgs+fuzz-wake+fuzz-runs+fuzz-acks"
LAYOUT = f"storm+{SINKS}=4x2"
SECRET = "PAYLOAD-SECRET-ana-ruiz"
"""In every malformed item: it must reach no log and no error text."""


def tick_message(keys: RedisKeys, **changes: object) -> tuple[str, str, bytes]:
    """A well-formed message for ``faults.count``, changed; returns (event id, redis id, body)."""
    event = Tick(n=-1)
    envelope = EventSerializer().dumps(event)
    message = build_message(
        queue="storm",
        handler=HANDLER,
        envelope_json=envelope,
        event_id=str(event.event_id),
        now_ms=1,
    )
    fields = json.loads(message.body)
    fields["message_id"] = SECRET
    fields.update(changes)
    return str(event.event_id), message.redis_id, json.dumps(fields).encode()


Maker = Callable[[RedisKeys, redis.client.Pipeline], tuple[bytes | str, bytes]]


def _shape(**changes: object) -> Maker:
    def make(keys: RedisKeys, pipe: redis.client.Pipeline) -> tuple[bytes | str, bytes]:
        _, redis_id, body = tick_message(keys, **changes)
        return redis_id, body

    return make


def _event_key(key: Callable[[RedisKeys, str], str], wrong: str) -> Maker:
    """A good message whose event's key (status, ledger, dedup) holds the wrong type."""

    def make(keys: RedisKeys, pipe: redis.client.Pipeline) -> tuple[bytes | str, bytes]:
        event_id, redis_id, body = tick_message(keys, message_id="m")
        name = key(keys, event_id)
        if wrong == "list":
            pipe.rpush(name, SECRET)
        elif wrong == "string":
            pipe.set(name, SECRET)
        else:
            pipe.hset(name, "x", SECRET)
        return redis_id, body

    return make


def _raw(body: bytes, *, bad_id: bool = False) -> Maker:
    def make(keys: RedisKeys, pipe: redis.client.Pipeline) -> tuple[bytes | str, bytes]:
        return (b"\xff\xfe" + uuid.uuid4().bytes if bad_id else uuid.uuid4().hex), body

    return make


KINDS: dict[str, Maker] = {
    "bad id": lambda k, p: (b"\xff" + uuid.uuid4().bytes, tick_message(k)[2]),
    "empty body": _raw(b""),
    "not JSON": _raw(b"{" + SECRET.encode()),
    "not UTF-8": _raw(b"\xff\xfe" + SECRET.encode()),
    "JSON array": _raw(json.dumps([SECRET]).encode()),
    "options not an object": _shape(options=[SECRET]),
    "args a string": _shape(args=SECRET),
    "kwargs a list": _shape(kwargs=[SECRET]),
    "missing argument": _shape(args=[HANDLER]),
    "extra argument": _shape(args=[HANDLER, {}, SECRET]),
    "eta option": _shape(options={"eta": 1}),
    "another queue": _shape(queue_name=SECRET),
    "unknown handler": _shape(args=["faults.nobody", {"event_type": "faults.tick", "s": SECRET}]),
    "not an event": _shape(args=[HANDLER, {"secret": SECRET}]),
    "status wrong type": _event_key(RedisKeys.status, "list"),
    "ledger wrong type": _event_key(RedisKeys.done, "string"),
    "dedup wrong type": _event_key(RedisKeys.published, "hash"),
}
HUGE: Maker = _raw(SECRET.encode() + b"\x00" * 1_000_000)


def break_sink_queues(client: redis.Redis, keys: RedisKeys, brokers: list[str]) -> str:
    """Give each sink queue one key of the wrong type; returns the id injected in fuzz-runs."""
    client.set(keys.queue("fuzz-list"), SECRET)
    client.set(keys.messages("fuzz-msgs"), SECRET)
    client.rpush(keys.queue("fuzz-msgs"), "id-1")
    client.set(keys.wake("fuzz-wake"), SECRET)
    client.set(keys.stats("fuzz-wake"), SECRET)
    client.set(keys.runs("fuzz-runs"), SECRET)
    for broker in brokers:
        client.set(keys.acks(broker, "fuzz-acks"), SECRET)
    sink = json.loads(tick_message(keys)[2])
    envelope = json.loads(EventSerializer().dumps(Sink()))
    sink.update(queue_name="fuzz-runs", args=["faults.fuzz-runs", envelope], message_id="m")
    client.hset(keys.messages("fuzz-runs"), "sink-1", json.dumps(sink))
    client.rpush(keys.queue("fuzz-runs"), "sink-1")
    return "sink-1"


def drain(client: redis.Redis, keys: RedisKeys, ids: list[str], load: Callable[[], None]) -> float:
    """Load the storm queue while paused, resume, wait for ``ids``; good events per second,
    from the first to the last recorded start of them."""
    client.sadd(keys.paused, "storm")
    load()
    client.srem(keys.paused, "storm")
    wait_for(lambda: len(handled(client, keys, ids)) == len(ids), timeout=150, what="good events")
    wanted = set(ids)
    times = [
        int(ms)
        for event_id, ms in (
            r.decode().split("|") for r in client.lrange(f"{keys.namespace}:test:starts", 0, -1)
        )
        if event_id in wanted
    ]
    return len(ids) / max((max(times) - min(times)) / 1000, 0.001)


def test_a_fuzz_of_malformed_items_is_dead_lettered_and_stalls_nothing(
    start_supervisor: StartSupervisor,
    worker_env: dict[str, str],
    client: redis.Redis,
    namespace: str,
) -> None:
    keys = RedisKeys(namespace)
    good, bad = size("HEXBUS_FUZZ_GOOD", 3_000), size("HEXBUS_FUZZ_BAD", 1_200)
    container = create_container(worker_env)
    fuzz(container)
    bus = container.event_bus()
    assert isinstance(bus, DramatiqEventBus)
    supervisor = start_supervisor(LAYOUT, app="tests.faults.apps:fuzz")
    wait_for(lambda: live_heartbeats(client, namespace) == 2, timeout=40, what="two workers")
    workers = worker_pids(namespace)
    brokers = [b.decode() for b in client.zrange(keys.heartbeats, 0, -1)]
    break_sink_queues(client, keys, brokers)

    baseline = [Tick(n=n) for n in range(good)]
    alone = drain(client, keys, [str(e.event_id) for e in baseline], lambda: publish(bus, baseline))

    among = [Tick(n=n) for n in range(good, 2 * good)]
    kinds = list(KINDS)
    injected: Counter[str] = Counter()

    def load() -> None:
        per_batch = max(bad * 50 // good, 1)
        made = 0
        for start in range(0, good, 50):
            bus.publish_all(among[start : start + 50])
            pipe = client.pipeline(transaction=False)
            for _ in range(per_batch if start + 50 < good else bad - made):
                if made >= bad:
                    break
                kind = "1 MB body" if made % (bad // 10) == 5 else kinds[made % len(kinds)]
                redis_id, body = (HUGE if kind == "1 MB body" else KINDS[kind])(keys, pipe)
                pipe.hset(keys.messages("storm"), redis_id, body)  # type: ignore[arg-type]
                pipe.rpush(keys.queue("storm"), redis_id)
                injected[kind] += 1
                made += 1
            pipe.execute()

    fuzzed = drain(client, keys, [str(e.event_id) for e in among], load)
    expected_dead = bad + 1  # and the message of fuzz-runs, whose start count key is broken
    wait_for(
        lambda: int(client.zcard(keys.dead)) >= expected_dead,
        timeout=60,
        what=f"{expected_dead} dead letters",
    )
    time.sleep(1)
    letters = [json.loads(item) for item in client.hvals(keys.dead_items)]
    reasons = Counter(letter["reason"] for letter in letters)
    restarts = supervisor.output.count("exited with")
    monitor = RedisQueueMonitor(client, keys, container.processor(), bus.dead_letters)
    problems = {s.queue: s.problem for s in monitor.queue_stats() if s.problem}
    largest = max(len(item) for item in client.hvals(keys.dead_items))
    print(
        f"fuzz: {sum(injected.values())} malformed items ({len(injected)} kinds, "
        f"{injected['1 MB body']} of 1 MB) among {good} good events; good events/s alone "
        f"{alone:.0f}, among the fuzz {fuzzed:.0f}, ratio {fuzzed / alone:.2f}; dead letters "
        f"{len(letters)} {dict(reasons)}; worker restarts {restarts}; queues reported: "
        f"{sorted(problems)}; largest dead letter {largest:,} bytes"
    )
    assert sum(injected.values()) == bad
    assert set(injected) == {*KINDS, "1 MB body"}
    assert restarts == 0, "no worker restarted"
    assert worker_pids(namespace) == workers
    assert len(letters) == expected_dead, "every malformed item dead-lettered, once"
    assert all(letter["error"] for letter in letters), "each with its reason"
    wrong = ("status wrong type", "ledger wrong type", "dedup wrong type")
    assert reasons[DeadLetterReason.UNSETTLEABLE.value] == sum(injected[k] for k in wrong) + 1
    assert all(len(item) < 100_000 for item in client.hvals(keys.dead_items)), "bounded"
    assert SECRET not in supervisor.output, "no payload in the logs"
    assert not any(SECRET in letter["error"] for letter in letters), "nor in error texts"
    assert set(problems) >= {"fuzz-list", "fuzz-wake"}, "a broken queue's stats say so"
    assert "storm" not in problems
    output = supervisor.output
    for queue in ("fuzz-msgs", "fuzz-acks"):
        assert f"queue {queue} cannot be consumed" in output
    assert client.llen(keys.queue("fuzz-msgs")) == 1, "nothing taken from a broken queue"


def publish(bus: DramatiqEventBus, events: list[Tick]) -> None:
    for start in range(0, len(events), 100):
        bus.publish_all(events[start : start + 100])

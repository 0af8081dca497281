"""Payload encryption at rest on Redis: nothing of a payload in clear, rotation, unknown keys.

In-process workers (the container's ``worker_runtime``), a private redis-server, a namespace
per test. The scan reads every key and every value Redis holds after a run that exercises
every place an event is kept: queued, delayed, retried, waiting for a rate-limit slot,
dead-lettered, retried from the dead letters, and done (ADR 0016).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import redis
from fastapi.testclient import TestClient

from hexbus import DomainEvent, NonRetryableError, RateLimit, RetryPolicy
from hexbus.adapters.dramatiq.reencrypt import Reencryption
from hexbus.adapters.encryption import EncryptingSerializer, generate_key
from hexbus.adapters.encryption.keys import key_id_of
from hexbus.adapters.http import create_app
from hexbus.container import Container, create_container
from hexbus.testing.redis_server import RedisServer

from .conftest import wait_for

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
MARKER = "Marker-Patient-Zoe-Nunez-5521"
KEY_A, KEY_B, KEY_C = generate_key(), generate_key(), generate_key()
OPERATOR = "operator-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
FAST = RetryPolicy(
    max_retries=2, min_backoff=timedelta(milliseconds=20), max_backoff=timedelta(milliseconds=40)
)


@attrs.frozen(kw_only=True)
class Referral(DomainEvent):
    """A patient's referral: ``patient`` is the field that must never be seen in clear."""

    event_type = "it.encryption.referral"
    patient: str
    kind: str = "ok"


def register(container: Container, seen: list[str]) -> None:
    processor = container.processor()
    failures: dict[str, int] = {}

    def triage(event: Referral) -> None:
        if event.kind == "flaky" and failures.setdefault(str(event.event_id), 0) < 1:
            failures[str(event.event_id)] += 1
            raise RuntimeError("provider down")  # error texts quote no payload field here
        if event.kind == "doomed":
            raise NonRetryableError("referral refused")
        seen.append(event.patient)

    def book(event: Referral) -> None:
        seen.append(f"booked {event.patient}")

    processor.register_handler(Referral, triage, name="it.enc.triage", queue="enc", retry=FAST)
    processor.register_handler(
        Referral,
        book,
        name="it.enc.book",
        queue="enc-limited",
        rate_limit=RateLimit(name="enc", limit=1, period=timedelta(seconds=30), key="patient"),
    )


def env(redis_server: RedisServer, namespace: str, **extra: str) -> dict[str, str]:
    return {
        "USE_QUEUE_EVENT_BUS": "true",
        "REDIS_URL": redis_server.url,
        "HEXBUS_NAMESPACE": namespace,
        "HEXBUS_HEARTBEAT_TIMEOUT": "3",
        **extra,
    }


@attrs.define
class Deployment:
    container: Container
    seen: list[str]
    runtimes: list[Any] = attrs.Factory(list)

    def work(self, *queues: str) -> None:
        runtime = self.container.worker_runtime(queues=list(queues), threads=2)
        runtime.start()
        self.runtimes.append(runtime)

    def stop(self) -> None:
        for runtime in self.runtimes:
            runtime.stop(timedelta(seconds=5))
        self.runtimes.clear()


@pytest.fixture
def deploy(redis_server: RedisServer, namespace: str) -> Iterator[Any]:
    made: list[Deployment] = []

    def build(**extra: str) -> Deployment:
        container = create_container(env(redis_server, namespace, **extra))
        deployment = Deployment(container, [])
        register(container, deployment.seen)
        made.append(deployment)
        return deployment

    yield build
    for deployment in made:
        deployment.stop()


def everything(client: redis.Redis, namespace: str) -> list[bytes]:
    """Every key name and every value (and hash field, set member, list item) of the test's
    namespace (every key of a deployment, Dramatiq's included, is under it: ADR 0008)."""
    found: list[bytes] = []
    for key in client.scan_iter(match=f"{namespace}:*", count=1000):
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key) or b"")
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():  # type: ignore[union-attr]
                found += [field, value]
        elif kind == b"list":
            found += client.lrange(key, 0, -1)  # type: ignore[operator]
        elif kind == b"set":
            found += list(client.smembers(key))  # type: ignore[arg-type]
        elif kind == b"zset":
            found += [member for member, _ in client.zrange(key, 0, -1, withscores=True)]  # type: ignore[union-attr]
    return found


def run_everywhere(deployment: Deployment) -> None:
    """Events in every place Redis keeps one, some of them left there."""
    bus = deployment.container.event_bus()
    bus.publish(Referral(patient=f"{MARKER}-later"), delay=timedelta(hours=1))
    for kind in ("ok", "flaky", "doomed"):
        bus.publish(Referral(patient=f"{MARKER}-{kind}", kind=kind))
    bus.publish(Referral(patient=MARKER))  # book: one slot, so a second run waits
    bus.publish(Referral(patient=MARKER, kind="ok"))
    deployment.work("enc", "enc-limited")
    dead = deployment.container.dead_letters()
    wait_for(lambda: dead.count() == 1, timeout=15, what="the doomed referral's dead letter")
    wait_for(
        lambda: f"{MARKER}-flaky" in deployment.seen, timeout=15, what="the flaky one to succeed"
    )
    deployment.stop()
    (letter,) = dead.list().items
    dead.retry(letter.id)  # back on its queue, with no worker to take it
    bus.publish(Referral(patient=f"{MARKER}-queued"))


def test_no_value_in_redis_holds_a_payload_in_clear(
    deploy: Any, client: redis.Redis, namespace: str
) -> None:
    deployment = deploy(HEXBUS_ENCRYPTION_KEYS=KEY_A)
    run_everywhere(deployment)
    stored = everything(client, namespace)
    assert any(namespace.encode() in item for item in stored)
    assert any(b"hxe1." in item for item in stored), "the payloads are there, sealed"
    leaks = [item[:200] for item in stored if MARKER.encode() in item]
    assert leaks == []


def test_the_scan_finds_the_marker_when_nothing_is_encrypted(
    deploy: Any, client: redis.Redis, namespace: str
) -> None:
    # The control: the same run without keys leaves the payloads readable, so the scan above
    # would have seen them.
    run_everywhere(deploy())
    assert any(MARKER.encode() in item for item in everything(client, namespace))


def test_a_message_sealed_with_an_unknown_key_is_dead_lettered_and_the_worker_goes_on(
    deploy: Any,
) -> None:
    old = deploy(HEXBUS_ENCRYPTION_KEYS=KEY_A)
    old.container.event_bus().publish(Referral(patient=MARKER))
    new = deploy(HEXBUS_ENCRYPTION_KEYS=KEY_C)
    new.work("enc")
    dead = new.container.dead_letters()
    wait_for(lambda: dead.count() == 1, timeout=15, what="the undecryptable dead letter")
    (letter,) = dead.list().items
    assert letter.reason.value == "undecryptable"
    sealed_with = old.container.serializer().keyring.primary.id
    assert sealed_with in letter.error
    new.container.event_bus().publish(Referral(patient="next"))
    wait_for(lambda: "next" in new.seen, timeout=15, what="the next referral")


def test_the_operator_sees_the_payload_decrypted_and_the_reader_does_not(deploy: Any) -> None:
    deployment = deploy(
        HEXBUS_ENCRYPTION_KEYS=KEY_A, HEXBUS_API_TOKEN=OPERATOR, HEXBUS_API_READ_TOKEN=READER
    )
    deployment.container.event_bus().publish(Referral(patient=MARKER, kind="doomed"))
    deployment.work("enc")
    wait_for(lambda: deployment.container.dead_letters().count() == 1, timeout=15)
    app = create_app(deployment.container)

    def page(token: str) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        client = TestClient(app, base_url="http://localhost", headers=headers)
        return client.get("/api/v1/queues/failed").json()["items"][0]

    assert json.loads(page(OPERATOR)["message"])["payload"]["patient"] == MARKER
    assert MARKER not in json.dumps(page(READER))


def values_sealed_with(client: redis.Redis, namespace: str) -> dict[str | None, int]:
    """How many stored envelopes each key id seals (None: in clear)."""
    counts: dict[str | None, int] = {}
    for item in everything(client, namespace):
        text = item.decode("utf-8", "replace")
        if '"event_type":"it.encryption.referral"' not in text.replace("\\", ""):
            continue
        for token in [t for t in text.replace("\\", "").split('"') if t.startswith("hxe1.")] or [
            None
        ]:
            kid = key_id_of(token) if token else None
            counts[kid] = counts.get(kid, 0) + 1
    return counts


def test_rotation_reseals_everything_even_when_interrupted(
    deploy: Any, client: redis.Redis, namespace: str
) -> None:
    old = deploy(HEXBUS_ENCRYPTION_KEYS=KEY_A)
    run_everywhere(old)
    plain = deploy()
    plain.container.event_bus().publish(Referral(patient="stored in clear"))
    before = sum(values_sealed_with(client, namespace).values())
    kid_a = old.container.serializer().keyring.primary.id

    rotated = deploy(HEXBUS_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}")
    serializer = rotated.container.serializer()
    assert isinstance(serializer, EncryptingSerializer)
    kid_b = serializer.keyring.primary.id
    rotation = Reencryption(client, rotated.container.redis_keys(), serializer.reseal)

    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotation.run(interrupt)
    partway = values_sealed_with(client, namespace)
    assert partway.get(kid_b, 0) >= 1, "some were re-sealed before the interruption"
    assert sum(partway.values()) == before, "nothing lost"

    result = subprocess.run(
        [sys.executable, "-m", "hexbus.adapters.cli", "keys", "rotate"],
        env={
            **os.environ,
            **env_of(rotated.container, namespace),
            "HEXBUS_ENCRYPTION_KEYS": f"{KEY_B},{KEY_A}",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "re-sealed" in result.stdout
    after = values_sealed_with(client, namespace)
    assert after == {kid_b: before}, f"every stored event under {kid_b}, none under {kid_a}"
    for secret in (KEY_A, KEY_B):
        assert secret not in result.stdout + result.stderr

    # Only the new key now: the stored events are all readable with it.
    new = deploy(HEXBUS_ENCRYPTION_KEYS=KEY_B)
    new.work("enc")
    wait_for(
        lambda: {f"{MARKER}-queued", "stored in clear"} <= set(new.seen),
        timeout=15,
        what="the queued referrals, handled with the new key only",
    )
    reasons = {letter.reason.value for letter in new.container.dead_letters().list().items}
    assert "undecryptable" not in reasons, "the doomed referral dies again, of its own cause"


def env_of(container: Container, namespace: str) -> dict[str, str]:
    settings = container.settings()
    return {
        "USE_QUEUE_EVENT_BUS": "true",
        "REDIS_URL": settings.redis.url,
        "HEXBUS_NAMESPACE": namespace,
    }


def sealed_by(value: bytes) -> set[str | None]:
    """The key ids of the sealed parts of one stored value."""
    tokens = [t for t in value.decode().replace("\\", "").split('"') if t.startswith("hxe1.")]
    return {key_id_of(t) for t in tokens}


@attrs.frozen(kw_only=True)
class LateMemo(DomainEvent):
    """An event type nobody subscribes to when it is published: it is kept (ADR 0015)."""

    event_type = "it.encryption.late-memo"
    patient: str


def test_rotation_reseals_kept_unrouted_events_and_a_later_subscriber_reads_them(
    redis_server: RedisServer, client: redis.Redis, namespace: str
) -> None:
    publisher = create_container(env(redis_server, namespace, HEXBUS_ENCRYPTION_KEYS=KEY_A))
    publisher.event_bus().publish(LateMemo(patient=MARKER))
    kept_key = publisher.redis_keys().unrouted_kept(LateMemo.event_type)
    ((member, score),) = client.zrange(kept_key, 0, -1, withscores=True)  # type: ignore[misc]
    kid_a = publisher.serializer().keyring.primary.id
    assert sealed_by(member) == {kid_a}

    rotated = create_container(
        env(redis_server, namespace, HEXBUS_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}")
    )
    serializer = rotated.serializer()
    assert isinstance(serializer, EncryptingSerializer)
    report = Reencryption(client, rotated.redis_keys(), serializer.reseal).run()
    assert report.rewritten >= 1
    ((resealed, new_score),) = client.zrange(kept_key, 0, -1, withscores=True)  # type: ignore[misc]
    assert new_score == score, "a kept event keeps its sequence number"
    assert client.pttl(kept_key) > 0, "and the set keeps its expiry"
    assert sealed_by(resealed) == {serializer.keyring.primary.id}

    # A subscriber that arrives later, with only the new key, is handed the kept event.
    seen: list[str] = []
    subscriber = create_container(env(redis_server, namespace, HEXBUS_ENCRYPTION_KEYS=KEY_B))
    subscriber.processor().register_handler(
        LateMemo, lambda event: seen.append(event.patient), name="it.enc.memo", queue="enc-memo"
    )
    runtime = subscriber.worker_runtime(queues=["enc-memo"], threads=1)
    runtime.start()
    try:
        wait_for(lambda: seen == [MARKER], timeout=15, what="the kept memo, read with key B")
    finally:
        runtime.stop(timedelta(seconds=5))

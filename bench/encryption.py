"""What payload encryption at rest costs on publish and on drain, with and without keys.

Run: .venv/bin/python bench/encryption.py [--events N] [--rounds R] [--threads T]

Starts its own redis-server (never a shared one). In every round, for each mode (plain: no
key; sealed: ``HEXBUS_ENCRYPTION_KEYS`` with one key), in alternating order so machine noise
falls on both: N ``publish()`` calls of a clinic-like event (a dozen fields, about 400 bytes of
payload) to one no-op handler, timed; then a ``WorkerRuntime`` with T threads drains them,
timed from ``start()`` until every message is settled. Both go through the container, as
production does, so the sealed mode is exactly what a deployment with a key runs. Each figure
is the median over the rounds; the ratio is sealed / plain (1.00x: no cost). "CPU" is this
process's CPU time per event (``time.process_time``: the publisher, or the worker threads of
the drain plus light polling), which moves far less than rates on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import timeit
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs

from hexbus import DomainEvent, EventSerializer
from hexbus.adapters.encryption import EncryptingSerializer, Keyring, generate_key
from hexbus.container import create_container
from hexbus.testing.redis_server import RedisServer


@attrs.frozen(kw_only=True)
class LabResultReady(DomainEvent):
    """A lab result for a patient: the kind of payload encryption is for."""

    event_type = "bench.lab_result_ready"
    patient_id: str
    patient_name: str
    patient_email: str
    patient_phone: str
    clinic_id: str
    doctor_id: str
    exam: str
    result: str
    value: Decimal
    unit: str
    reference_range: str
    notes: str


def event(n: int) -> LabResultReady:
    return LabResultReady(
        patient_id=f"pat-{n:06d}",
        patient_name="Ana María López García",
        patient_email="ana.lopez@example.com",
        patient_phone="+34 600 123 456",
        clinic_id="clinic-0042",
        doctor_id="doc-0007",
        exam="HbA1c",
        result="above range",
        value=Decimal("7.4"),
        unit="%",
        reference_range="4.0-5.6",
        notes="Repeat in 3 months; discuss diet and metformin dose at the next visit.",
    )


Round = tuple[float, float, float, float]
"""publish events/s, drain events/s, publish CPU us/event, drain CPU us/event."""


def one_round(url: str, events: int, threads: int, key: str | None) -> Round:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    env = {"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": url, "HEXBUS_NAMESPACE": namespace}
    if key:
        env["HEXBUS_ENCRYPTION_KEYS"] = key
    container = create_container(env)
    done = [0]

    def handle(event: LabResultReady) -> None:
        done[0] += 1

    container.processor().register_handler(LabResultReady, handle, name="bench.lab", queue="lab")
    bus = container.event_bus()
    batch = [event(n) for n in range(events)]
    started, cpu = time.perf_counter(), time.process_time()
    for item in batch:
        bus.publish(item)
    publish = time.perf_counter() - started
    publish_cpu = time.process_time() - cpu
    runtime = container.worker_runtime(queues=["lab"], threads=threads)
    client = container.redis_client()
    messages = container.redis_keys().messages("lab")
    started, cpu = time.perf_counter(), time.process_time()
    runtime.start()
    while done[0] < events or client.hlen(messages):
        time.sleep(0.005)
    drain = time.perf_counter() - started
    drain_cpu = time.process_time() - cpu
    runtime.stop(timedelta(seconds=5))
    client.flushdb()
    per = 1e6 / events
    return events / publish, events / drain, publish_cpu * per, drain_cpu * per


def serializer_costs(key: str, count: int = 5_000) -> dict[str, float]:
    """Microseconds per call of the serializer alone, plain and sealed (best of 5 runs)."""
    plain = EventSerializer()
    sealed = EncryptingSerializer(Keyring.from_texts([key]))
    sample = event(1)
    plain_text, sealed_text = plain.dumps(sample), sealed.dumps(sample)
    calls = {
        "dumps, plain": lambda: plain.dumps(sample),
        "dumps, sealed": lambda: sealed.dumps(sample),
        "loads, plain": lambda: plain.loads(plain_text),
        "loads, sealed": lambda: sealed.loads(sealed_text),
    }
    return {
        name: min(timeit.repeat(call, number=count, repeat=5)) / count * 1e6
        for name, call in calls.items()
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000, help="events per phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median is reported)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads")
    args = parser.parse_args(argv)
    key = generate_key()
    results: dict[str, list[Round]] = {"plain": [], "sealed": []}
    load = os.getloadavg()[0]
    with RedisServer() as server:
        for number in range(args.rounds):
            order = ["plain", "sealed"] if number % 2 == 0 else ["sealed", "plain"]
            for mode in order:
                sealing = key if mode == "sealed" else None
                results[mode].append(one_round(server.url, args.events, args.threads, sealing))
    medians = {
        mode: [statistics.median(r[i] for r in rounds) for i in range(4)]
        for mode, rounds in results.items()
    }
    print(f"# bench/encryption.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {platform.python_version()} on {platform.machine()}, {args.events} events,")
    print(f"# {args.rounds} rounds, {args.threads} threads; medians; load average")
    print(f"# {load:.2f} at start, {os.getloadavg()[0]:.2f} at end ({os.cpu_count()} cores)")
    print("| phase | no key | one key (sealed) | sealed / plain |")
    print("|---|---:|---:|---:|")
    for index, phase in enumerate(("publish", "drain")):
        plain, sealed = medians["plain"][index], medians["sealed"][index]
        print(f"| {phase}, events/s | {plain:,.0f} | {sealed:,.0f} | {sealed / plain:.2f}x |")
    for index, phase in enumerate(("publish", "drain"), start=2):
        plain, sealed = medians["plain"][index], medians["sealed"][index]
        print(f"| {phase}, CPU us/event | {plain:,.1f} | {sealed:,.1f} | {sealed / plain:.2f}x |")
    costs = serializer_costs(key)
    for verb in ("dumps", "loads"):
        plain, sealed = costs[f"{verb}, plain"], costs[f"{verb}, sealed"]
        print(f"| serializer {verb}, us | {plain:.1f} | {sealed:.1f} | {sealed / plain:.2f}x |")
    sealed_size = len(EncryptingSerializer(Keyring.from_texts([key])).dumps(event(1)))
    plain_size = len(EventSerializer().dumps(event(1)))
    print(f"# envelope size: {plain_size} bytes in clear, {sealed_size} sealed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

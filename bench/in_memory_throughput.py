"""In-memory publish-to-handler throughput with one no-op handler.

Run: .venv/bin/python bench/in_memory_throughput.py [--events N] [--rounds R]

Prints events per second for ``InMemoryEventBus.publish`` (dedup claim, handler lookup,
success record, dispatch) and, as the baseline measured in the same run, a plain loop calling
the same no-op handler directly: the ratio is the cost of the bus itself. Goal: at least
100,000 events/s on the project's 2-core machine. Events are built before timing starts, so
the figure is the bus, not uuid4().
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time
from datetime import UTC, datetime

import attrs

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.in_memory import InMemoryEventBus


@attrs.frozen(kw_only=True)
class BenchEvent(DomainEvent):
    """A small event: one int field."""

    event_type = "bench.in_memory"
    value: int


def noop(event: BenchEvent) -> None:
    """The handler under test does nothing, so the bus is all that is measured."""


def measure_bus(count: int) -> float:
    processor = DomainEventsProcessor()
    processor.register_handler(BenchEvent, noop, name="bench.noop")
    bus = InMemoryEventBus(processor, record_limit=1)
    events = [BenchEvent(value=i) for i in range(count)]
    gc.collect()
    started = time.perf_counter()
    for event in events:
        bus.publish(event)
    elapsed = time.perf_counter() - started
    assert bus.count() == 1  # record_limit=1 keeps only the last; all were accepted
    return count / elapsed


def measure_baseline(count: int) -> float:
    events = [BenchEvent(value=i) for i in range(count)]
    gc.collect()
    started = time.perf_counter()
    for event in events:
        noop(event)
    elapsed = time.perf_counter() - started
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (median is reported)")
    args = parser.parse_args()

    bus_rates = [measure_bus(args.events) for _ in range(args.rounds)]
    base_rates = [measure_baseline(args.events) for _ in range(args.rounds)]
    bus = statistics.median(bus_rates)
    base = statistics.median(base_rates)
    print(f"in-memory throughput, {datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}")
    print(
        f"command: .venv/bin/python bench/in_memory_throughput.py --events {args.events} "
        f"--rounds {args.rounds}"
    )
    print(f"  hexbus InMemoryEventBus.publish, 1 no-op handler: {bus:>12,.0f} events/s (median)")
    print(f"  baseline: direct call of the same handler:       {base:>12,.0f} calls/s (median)")
    print(
        f"  ratio hexbus / baseline: {bus / base:.4f}  (bus cost per event: "
        f"{(1 / bus - 1 / base) * 1e6:.2f} us)"
    )
    print(f"  goal >= 100,000 events/s: {'met' if bus >= 100_000 else 'NOT met'}")


if __name__ == "__main__":
    main()

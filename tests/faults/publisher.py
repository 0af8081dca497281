"""A publisher process for the fault tests: publishes ``Tick`` events through any outage.

``python -m tests.faults.publisher FIRST COUNT ACKED_FILE`` publishes ``Tick(n)`` for n in
FIRST .. FIRST+COUNT-1 in batches, from the environment's container. A batch is published
again (same event ids, so nothing is duplicated) until ``publish_all`` returns: only then are
its event ids appended to ACKED_FILE, one per line with the time it returned. Those are the
acknowledged publishes a test holds the bus to.
"""

from __future__ import annotations

import sys
import time

from hexbus.container import create_container
from hexbus.domain.errors import EventBusUnavailable

from .apps import Tick, storm

BATCH = 100


def main(first: int, count: int, acked_file: str) -> int:
    container = create_container()
    storm(container)
    bus = container.event_bus()
    retries = 0
    with open(acked_file, "a", encoding="ascii") as acked:
        for start in range(first, first + count, BATCH):
            events = [Tick(n=n) for n in range(start, min(start + BATCH, first + count))]
            while True:
                try:
                    bus.publish_all(events)
                    break
                except EventBusUnavailable:
                    retries += 1
                    time.sleep(0.05)
            now = time.time()
            acked.write("".join(f"{event.event_id} {now:.3f}\n" for event in events))
            acked.flush()
    print(f"published {count} events, {retries} batch retries", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))

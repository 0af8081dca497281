"""Cost of settling each kind of undeliverable item, against a good event, in one worker.

``.venv/bin/python bench/undeliverable_kinds.py``: a private redis-server, one in-process
``WorkerRuntime`` with 4 threads; for each kind, 500 items loaded while the queue is paused,
then the time to drain them. Prints items per second per kind (a good event first, as the
baseline of the same run). Figures in bench/RESULTS.md.
"""

import logging
import sys
import time
import uuid
from datetime import timedelta

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from hexbus import DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer
from tests.faults.apps import Tick
from tests.faults.test_fuzz import KINDS

KIND_NAMES = (
    "good",
    "empty body",
    "not JSON",
    "args a string",
    "unknown handler",
    "not an event",
    "status wrong type",
)


def main() -> None:
    """Drain 500 items of each kind and print the rate."""
    logging.basicConfig(level=logging.CRITICAL)
    with RedisServer() as server:
        client = server.client()
        for kind in KIND_NAMES:
            keys = RedisKeys("k" + uuid.uuid4().hex[:6])
            p = DomainEventsProcessor()
            p.register_handler(Tick, lambda e: None, name="faults.count", queue="storm")
            declare_routes(client, keys, p)
            bus = DramatiqEventBus(p, client, keys=keys)
            client.sadd(keys.paused, "storm")
            n = 500
            if kind == "good":
                for s in range(0, n, 100):
                    bus.publish_all([Tick(n=i) for i in range(s, s + 100)])
            else:
                pipe = client.pipeline(transaction=False)
                for _ in range(n):
                    rid, body = KINDS[kind](keys, pipe)
                    pipe.hset(keys.messages("storm"), rid, body)
                    pipe.rpush(keys.queue("storm"), rid)
                pipe.execute()
            rt = WorkerRuntime(
                processor=p,
                client=client,
                queues=["storm"],
                threads=4,
                keys=keys,
                idle_timeout=timedelta(milliseconds=100),
            )
            rt.start()
            time.sleep(0.5)
            t = time.perf_counter()
            client.srem(keys.paused, "storm")
            while client.hlen(keys.messages("storm")) > 0:
                time.sleep(0.005)
            el = time.perf_counter() - t
            print(f"{kind:20s} {n / el:7.0f} items/s  dead {client.zcard(keys.dead)}", flush=True)
            rt.stop(timedelta(seconds=2))


if __name__ == "__main__":
    main()

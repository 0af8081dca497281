"""A process that only publishes, as a web process would: it loads no app.

``python -m tests.integration.publisher LABEL...`` builds the container from the environment,
imports the event class (``route_apps``, which registers nothing else), checks that its
handler registry is empty, publishes one ``Shipped`` per label and prints each result as a
JSON line. The routes come from the workers, through Redis (ADR 0015).
"""

from __future__ import annotations

import json
import sys

from hexbus.container import create_container

from .route_apps import Shipped


def main(labels: list[str]) -> int:
    container = create_container()
    if len(container.processor()):
        print("this publisher has handlers registered", file=sys.stderr)
        return 1
    bus = container.event_bus()
    for result in bus.publish_all([Shipped(label=label) for label in labels]):
        print(json.dumps({"outcome": result.outcome.value, "unrouted": result.unrouted}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Commit N parcels through a unit of work, then die by SIGKILL before any relay runs."""

from __future__ import annotations

import os
import signal
import sys

from hexbus.container import create_container
from tests.outbox.apps import Parcel, register

if __name__ == "__main__":
    count = int(sys.argv[1])
    container = create_container()
    register(container)
    uow = container.unit_of_work()
    with uow:
        uow.publish_all(Parcel(number=n) for n in range(count))
    print("committed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

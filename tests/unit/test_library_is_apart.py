"""The library knows nothing of its clinic example (``hexbus.examples.clinic``).

Importing hexbus, its composition root and every adapter module loads no example and
registers no event type, so an application's own names (``appointment.created``) are free.
Each probe runs in a fresh interpreter: this test process has imported the clinic for other
tests. Every module is imported; only ``__main__`` modules are left out, since importing one
runs its program (``hexbus.adapters.cli.__main__`` is ``hexbus`` itself). No module needs an
optional extra.

import-linter keeps the imports apart statically (the ``library-imports-no-example``
contract); this checks what actually ends up in ``sys.modules``, including what a module
loads when it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

WALK = """
import importlib, json, pkgutil, sys

import hexbus

def walk(package):
    module = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name.rpartition(".")[2] == "__main__":
            continue  # importing it would run the program
        importlib.import_module(info.name)
        names.append(info.name)
    return names
"""

LIBRARY = """
imported = ["hexbus", "hexbus.container", *walk("hexbus.adapters")]
importlib.import_module("hexbus.container")
"""

EVERYTHING = """
imported = ["hexbus", "hexbus.container", "hexbus.settings"]
importlib.import_module("hexbus.container")
importlib.import_module("hexbus.settings")
for package in ("hexbus.domain", "hexbus.ports", "hexbus.application", "hexbus.adapters",
                "hexbus.testing"):
    imported += walk(package)
"""

REPORT = """
print(json.dumps({
    "imported": imported,
    "examples": sorted(m for m in sys.modules if m.startswith("hexbus.examples")),
    "event_types": list(hexbus.event_types.names()),
}))
"""


def _probe(*parts: str) -> dict[str, Any]:
    code = "\n".join(textwrap.dedent(part) for part in parts)
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_importing_hexbus_its_container_and_every_adapter_loads_no_example() -> None:
    result = _probe(WALK, LIBRARY, REPORT)

    assert result["examples"] == []
    assert result["event_types"] == [], "the library registers no event type of its own"
    # Guards the walk itself: it reached the adapters' leaves.
    for module in (
        "hexbus.adapters.cli.main",
        "hexbus.adapters.dramatiq.worker",
        "hexbus.adapters.http.app",
        "hexbus.adapters.in_memory.event_bus",
        "hexbus.adapters.observability.metrics",
    ):
        assert module in result["imported"]


def test_no_module_of_the_library_loads_an_example() -> None:
    result = _probe(WALK, EVERYTHING, REPORT)

    assert result["examples"] == []
    assert "hexbus.testing.contract" in result["imported"]
    # The shipped contract suite's own events are the only ones, in its own namespace.
    assert all(name.startswith("hexbus.testing.") for name in result["event_types"])


USER_APP = """
from datetime import UTC, datetime, timedelta

import attrs

from hexbus import DomainEvent, EventSerializer
from hexbus.adapters.clocks import VirtualClock
from hexbus.container import create_container


@attrs.frozen(kw_only=True)
class AppointmentCreated(DomainEvent):
    # The clinic example uses this name too: next to the library alone, it is free.
    event_type = "appointment.created"
    appointment_id: str
    starts_at: datetime


event = AppointmentCreated(appointment_id="a-1", starts_at=datetime(2026, 3, 3, 10, tzinfo=UTC))
serializer = EventSerializer()
assert serializer.loads(serializer.dumps(event)) == event

container = create_container(env={}, clock=VirtualClock())
seen = []
container.processor().register_handler(AppointmentCreated, seen.append, name="mine.on_created")
container.event_bus().publish(event, delay=timedelta(minutes=5))
container.in_memory_bus().advance(timedelta(minutes=5))
assert seen == [event], seen
print(json.dumps({"imported": [], "examples": sorted(
    m for m in sys.modules if m.startswith("hexbus.examples")
), "event_types": list(hexbus.event_types.names())}))
"""


def test_a_users_appointment_created_event_defines_and_round_trips_next_to_the_library() -> None:
    result = _probe(WALK, LIBRARY, USER_APP)

    assert result["event_types"] == ["appointment.created"]
    assert result["examples"] == []


def test_the_error_tree_is_defined_once_and_exported_whole() -> None:
    import inspect  # noqa: PLC0415 - only this test needs it

    import hexbus  # noqa: PLC0415
    from hexbus.domain import errors  # noqa: PLC0415

    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, hexbus.HexbusError)
    }

    assert defined <= set(hexbus.__all__), "export every library error from hexbus"
    assert {name for name in hexbus.__all__ if name.endswith(("Error", "NotFound"))} <= defined

"""The event bus contract (hexbus.testing) against every adapter in ``conftest.HARNESSES``."""

from __future__ import annotations

from hexbus.testing import EventBusContract


class TestEventBusContract(EventBusContract):
    """Runs every contract test with the ``harness`` fixture of this directory."""

"""The unit-of-work contract (hexbus.testing) against every store in ``conftest.UOW_HARNESSES``."""

from __future__ import annotations

from hexbus.testing import UnitOfWorkContract


class TestUnitOfWorkContract(UnitOfWorkContract):
    """Runs every contract test with the ``uow_harness`` fixture of this directory."""

"""Events the contract suite publishes.

They live in their own namespace (``hexbus.testing.*``) so they can never collide with an
application's event types, and they are registered in the default registry on import, because
an adapter with workers decodes messages through it. They carry one small integer so a test
can tell copies apart (a duplicate with the same ``event_id`` but another ``value`` must not be
delivered).
"""

from __future__ import annotations

import attrs

from ..domain.events import DomainEvent


@attrs.frozen(kw_only=True)
class ContractEvent(DomainEvent):
    """The event most contract tests publish."""

    event_type = "hexbus.testing.contract_event"

    value: int = 0


@attrs.frozen(kw_only=True)
class OtherContractEvent(DomainEvent):
    """A second type, to show that handlers only receive the type they registered for."""

    event_type = "hexbus.testing.other_contract_event"

    value: int = 0


__all__ = ["ContractEvent", "OtherContractEvent"]

"""Handlers whose effects and success commit as one: the inbox (ADR 0021).

The bus records a handler's success per (event_id, handler name) after the handler returns;
if that record is lost (the worker dies in between, Redis loses the write), the event is
delivered again and the handler runs twice. For a handler whose effects live in the
application's database, :class:`InboxHandler` closes that gap: it opens a unit of work, claims
(event_id, handler name) in the inbox table of the same database and runs the handler inside
the same transaction. Either both the effects and the claim commit, or neither does; a
redelivery finds the claim and returns at once, so the bus records a success and moves on.

Effects outside the database (an e-mail) are not covered: they happen before the commit and
happen again if the commit fails.
"""

from __future__ import annotations

from typing import Any

from ..domain.events import DomainEvent
from ..ports.handlers import Handler
from ..ports.unit_of_work import Inbox, UnitOfWork


class InboxHandler:
    """``handler`` run inside ``unit_of_work``, at most once per event by its inbox claim.

    Register it under the same ``name`` it is given here: the inbox keys its claims by it.
    """

    def __init__(
        self, handler: Handler, *, name: str, unit_of_work: UnitOfWork, inbox: Inbox
    ) -> None:
        self.handler = handler
        self.name = name
        self.unit_of_work = unit_of_work
        self.inbox = inbox

    def __call__(self, event: DomainEvent) -> Any:
        with self.unit_of_work:
            if not self.inbox.claim(event.event_id, self.name):
                return None  # its effects were committed by an earlier delivery
            return self.handler(event)

    def __repr__(self) -> str:
        return f"InboxHandler({self.handler!r}, name={self.name!r})"

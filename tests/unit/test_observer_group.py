"""The observer fan-out tells each observer the hooks it has, skips those it inherits from
NullObserver (which ignore them), and shields the bus from an observer that fails."""

from __future__ import annotations

import logging
from datetime import timedelta

import attrs
import pytest

from hexbus import DomainEvent
from hexbus.application.observers import NullObserver, ObserverGroup
from hexbus.ports.handlers import HandlerSpec


@attrs.frozen(kw_only=True)
class Seen(DomainEvent):
    event_type = "unit.observers.seen"


class Heard(NullObserver):
    def __init__(self) -> None:
        self.succeeded: list[int] = []

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        self.succeeded.append(attempt)


class Plain:
    """Not a NullObserver: written before most hooks existed."""

    def dead_lettered(self, dead_letter: object) -> None:
        raise RuntimeError("broken exporter")


class Counting(NullObserver):
    """Overrides a hook by assigning it on the instance, not in its class."""

    def __init__(self) -> None:
        self.calls = 0
        self.handler_skipped = self._skipped  # type: ignore[method-assign]

    def _skipped(self, event: DomainEvent, handler: HandlerSpec) -> None:
        self.calls += 1


def spec() -> HandlerSpec:
    return HandlerSpec(name="h", event_type="t", handler=lambda e: None)


def test_each_observer_hears_the_hooks_it_has(caplog: pytest.LogCaptureFixture) -> None:
    heard, plain, counting = Heard(), Plain(), Counting()
    group = ObserverGroup([heard, plain])
    event = Seen()
    group.handler_succeeded(event, spec(), 2, timedelta(0))
    group.handler_skipped(event, spec())  # nobody has it: nothing happens
    group.add(counting)
    group.handler_succeeded(event, spec(), 3, timedelta(0))
    group.handler_skipped(event, spec())
    assert heard.succeeded == [2, 3]
    assert counting.calls == 1, "an observer added later hears from then on"
    with caplog.at_level(logging.ERROR, logger="hexbus.observers"):
        group.dead_lettered(object())  # type: ignore[arg-type]
    assert "broken exporter" in caplog.text, "a failing observer is logged, never raised"

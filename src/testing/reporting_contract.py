"""The contract's handler reports: progress and log lines a handler gives through
``hexbus.handler_context()``, kept with its event's status per handler (ADR 0024)."""

from __future__ import annotations

from typing import Any

from ..application.handler_context import MAX_LOG_LINES, handler_context
from ..ports.monitoring import EventStatus, HandlerStatus
from .contract_setup import register
from .events import ContractEvent
from .harness import BusHarness


def _status(harness: BusHarness, event: ContractEvent) -> EventStatus:
    status = harness.monitor.event_status(event.event_id)
    assert status is not None, f"no status for {event.event_id}"
    return status


def _of(status: EventStatus, handler: str) -> HandlerStatus:
    return next(h for h in status.handlers if h.handler == handler)


class ReportingContract:
    """What a handler reports is kept with its status, per handler, bounded."""

    def test_progress_and_log_lines_are_kept_per_handler(self, harness: BusHarness) -> None:
        def analyse(event: Any) -> None:
            context = handler_context()
            context.progress(25)
            context.log("step 1 of 2")
            context.progress(0.5, of=1)
            context.log("step 2 of 2")

        def quiet(event: Any) -> None:
            pass

        register(harness, analyse, "contract.reports.analyse")
        register(harness, quiet, "contract.reports.quiet")
        event = ContractEvent(value=1)

        harness.bus.publish(event)
        harness.settle()

        status = _status(harness, event)
        reported = _of(status, "contract.reports.analyse")
        assert reported.progress == 50.0
        assert [(line.attempt, line.text) for line in reported.log] == [
            (1, "step 1 of 2"),
            (1, "step 2 of 2"),
        ]
        silent = _of(status, "contract.reports.quiet")
        assert silent.progress is None
        assert silent.log == ()

    def test_log_lines_of_every_attempt_are_kept_newest_last_and_bounded(
        self, harness: BusHarness
    ) -> None:
        attempts = []

        def flaky(event: Any) -> None:
            context = handler_context()
            attempts.append(context.attempt)
            for n in range(MAX_LOG_LINES):
                context.log(f"attempt {context.attempt} line {n}")
            if context.attempt < 2:
                raise RuntimeError("not yet")

        register(harness, flaky, "contract.reports.flaky")
        event = ContractEvent(value=2)

        harness.bus.publish(event)
        harness.settle()

        lines = _of(_status(harness, event), "contract.reports.flaky").log
        assert attempts == [1, 2]
        assert len(lines) == MAX_LOG_LINES
        assert lines[-1].text == f"attempt 2 line {MAX_LOG_LINES - 1}"
        assert {line.attempt for line in lines} == {2}

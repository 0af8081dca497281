"""The console's CLI verbs (ADR 0024): events by queue and state, promote, reschedule and
cancel, workers, schedules; full ids in tables, no emoji made of data, confirmations."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from integration.apps import Job
from typer.testing import CliRunner

from hexbus import DomainEvent, RetryPolicy
from hexbus.adapters.cli.main import app
from hexbus.container import Container
from hexbus.ports.monitoring import HandlerState

from .test_cli_operations import (  # noqa: F401 (fixtures shared with these tests)
    Deployment,
    cli,
    deployment,
    env,
    redis_server,
    wait_for,
)

LATER = uuid.UUID("0b9f8f1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b")


@attrs.frozen(kw_only=True)
class Sample(DomainEvent):
    """An event for the in-memory tests' handler."""

    event_type = "e2e.sample"
    label: str


def labs_app(container: Container) -> None:
    """``--app``: a handler named like an emoji code dies once; one event waits an hour."""

    def broken(event: Sample) -> None:
        raise RuntimeError("the analyser is offline")

    container.processor().register_handler(
        Sample, broken, name="labs:x:", queue="labs", retry=RetryPolicy(max_retries=0)
    )
    bus = container.event_bus()
    bus.publish(Sample(label="now"))
    bus.publish(Sample(label="later", event_id=LATER), delay=timedelta(hours=1))


APP = f"{__name__}:labs_app"


@pytest.mark.parametrize(
    "command",
    [
        ["events", "list"],
        ["events", "promote"],
        ["events", "reschedule"],
        ["events", "cancel"],
        ["workers"],
        ["schedules"],
    ],
    ids=" ".join,
)
def test_every_console_verb_explains_itself(
    cli: Callable[..., Any],  # noqa: F811
    command: list[str],
) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "--app" in result.output
    assert len(result.output.splitlines()) > 6


def test_tables_show_whole_ids_and_data_as_written(
    cli: Callable[..., Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    letters = cli("dead-letters", "list", "--app", APP)
    assert letters.exit_code == 0, letters.output
    # Each run is a new in-memory bus, so a new dead letter id: a whole one is in the table.
    assert re.search(r"\b[0-9a-f]{32}\b", letters.stdout), "the whole id, copyable"
    assert "labs:x:" in letters.stdout
    assert "\u274c" not in letters.stdout, "':x:' stays text, not an emoji"

    listed = cli("events", "list", "--queue", "labs", "--state", "scheduled", "--app", APP)
    assert listed.exit_code == 0, listed.output
    assert str(LATER) in listed.stdout
    dead = json.loads(
        cli("events", "list", "-q", "labs", "-s", "dead", "--json", "--app", APP).stdout
    )
    assert [row["handlers"] for row in dead["items"]] == [["labs:x:"]]
    assert re.fullmatch(r"[0-9a-f]{32}", dead["items"][0]["dead_letter_id"])


def test_cancel_asks_first_and_reschedule_and_promote_move_the_event(
    cli: Callable[..., Any],  # noqa: F811
) -> None:
    refused = cli("events", "cancel", str(LATER), "--app", APP, input="n\n")
    assert refused.exit_code == 1
    assert "Cancel event" in refused.stdout
    cancelled = cli("events", "cancel", str(LATER), "--yes", "--app", APP)
    assert cancelled.exit_code == 0, cancelled.output
    assert f"cancelled {LATER}" in cancelled.stdout

    moved = cli("events", "reschedule", str(LATER), "--delay", "60", "--app", APP)
    assert moved.exit_code == 0, moved.output
    assert "rescheduled" in moved.stdout
    both = cli("events", "reschedule", str(LATER), "--app", APP)
    assert both.exit_code == 2
    promoted = cli("events", "promote", str(LATER), "--app", APP)
    assert promoted.exit_code == 0, promoted.output
    unknown = cli("events", "promote", str(uuid.uuid4()), "--app", APP)
    assert unknown.exit_code == 1
    assert "not waiting for a due time" in unknown.stderr


@pytest.mark.redis
def test_on_redis_events_are_listed_promoted_and_workers_shown(
    deployment: Deployment,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In this process (CliRunner) with the deployment's environment: the same commands an
    # operator runs, without paying a Python start per command.
    for name in (
        "REDIS_URL",
        "HEXBUS_NAMESPACE",
        "USE_QUEUE_EVENT_BUS",
        "HEXBUS_HEARTBEAT_TIMEOUT",
    ):
        monkeypatch.setenv(name, deployment.env[name])
    runner = CliRunner()

    def hexbus(*args: str) -> Any:
        return runner.invoke(app, [*args, "--app", "integration.apps:register"])

    later = Job(label="later", report=True)
    deployment.container.event_bus().publish(later, delay=timedelta(hours=1))
    waiting = Job(label="waiting")
    deployment.publish(waiting)
    listed = hexbus("events", "list", "--queue", "work", "--state", "waiting", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["event_id"] for row in json.loads(listed.stdout)["items"]] == [
        str(waiting.event_id)
    ]
    # The event page: the waiting event as held (its payload: this CLI is the operator's
    # side) and the events it caused, found across the queues.
    child = Job(label="child", causation_id=waiting.event_id)
    deployment.publish(child)
    page = json.loads(hexbus("events", "show", str(waiting.event_id), "--json").stdout)
    assert json.loads(page["message"])["payload"]["label"] == "waiting"
    assert page["message_found_in"].startswith("queue "), "any handler's message carries it"
    assert {(r["event_id"], r["state"]) for r in page["caused"]} == {
        (str(child.event_id), "waiting")
    }
    text = hexbus("events", "show", str(child.event_id)).stdout
    assert f"caused by {waiting.event_id}" in text
    assert '"label":"child"' in text

    deployment.start()
    promoted = hexbus("events", "promote", str(later.event_id))
    assert promoted.exit_code == 0, promoted.output
    wait_for(lambda: deployment.runs("done", "later") == 1, what="the promoted event to run")
    wait_for(lambda: deployment.state(later) is HandlerState.SUCCEEDED, what="its success recorded")
    shown_event = json.loads(hexbus("events", "show", str(later.event_id), "--json").stdout)
    work = next(h for h in shown_event["handlers"] if h["handler"] == "it.work")
    assert work["progress"] == 50.0
    assert [line["text"] for line in work["log"]] == ["later: working"]
    assert "later: working" in hexbus("events", "show", str(later.event_id)).stdout
    # Succeeded, the child keeps no envelope; the index its cause keeps still names it.
    wait_for(
        lambda: (
            {deployment.state(child, h) for h in ("it.work", "it.urgent")}
            == {HandlerState.SUCCEEDED}
        ),
        what="the child's handlers on the queue work to succeed",
    )
    page = json.loads(hexbus("events", "show", str(waiting.event_id), "--json").stdout)
    rows = {(r["event_id"], r["queue"], r["state"]) for r in page["caused"]}
    assert (str(child.event_id), "work", "succeeded") in rows

    shown = hexbus("workers", "--json")
    assert shown.exit_code == 0, shown.output
    (worker,) = json.loads(shown.stdout)["workers"]
    assert worker["worker"] == deployment.runtime.broker_id
    assert worker["threads"] == 2
    assert deployment.runtime.broker_id in hexbus("workers").stdout


PARCELS = "e2e.test_cli_operations:three_dead_letters_then_repaired"


def test_sweep_counts_first_asks_and_retries_in_batches(
    cli: Callable[..., Any],  # noqa: F811
) -> None:
    listed = cli("dead-letters", "list", "--handler", "e2e.deliver", "--json", "--app", PARCELS)
    assert json.loads(listed.stdout)["total"] == 3
    other = cli("dead-letters", "list", "--error-type", "KeyError", "--json", "--app", PARCELS)
    assert json.loads(other.stdout)["total"] == 0
    dry = cli(
        "dead-letters", "sweep", "retry", "--handler", "e2e.deliver", "--dry-run", "--app", PARCELS
    )
    assert dry.exit_code == 0, dry.output
    assert "3 dead letter(s) matching (dry run: nothing changed)" in dry.stdout
    none = cli("dead-letters", "sweep", "remove", "--error-type", "KeyError", "--app", PARCELS)
    assert "0 dead letter(s) matching" in none.stdout
    refused = cli("dead-letters", "sweep", "remove", "--app", PARCELS, input="n\n")
    assert refused.exit_code == 1
    assert "Remove 3 dead letter(s)?" in refused.stdout
    done = cli(
        "dead-letters",
        "sweep",
        "retry",
        "--error-type",
        "RuntimeError",
        "--batch-size",
        "2",
        "--yes",
        "--json",
        "--app",
        PARCELS,
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"action": "retry", "matched": 3, "done": 3, "skipped": 0}
    bad = cli(
        "dead-letters",
        "sweep",
        "retry",
        "--since",
        "2026-03-02T10:00:00+0000",
        "--until",
        "2026-03-02T09:00:00+0000",
        "--app",
        PARCELS,
    )
    assert bad.exit_code == 2

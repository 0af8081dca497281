"""The outbox's backlog is visible: ``hexbus outbox stats``, the API, the metrics, an alert."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.exposition import generate_latest
from typer.testing import CliRunner

from hexbus.adapters.cli.main import app as cli
from hexbus.adapters.http import create_app
from hexbus.adapters.observability.metrics import exposition_registry
from hexbus.adapters.observability.outbox_gauges import OutboxCollector
from hexbus.adapters.postgres.relay import OutboxRelay
from hexbus.container import Container, create_container
from hexbus.ports.alerts import Alert, AlertKind

from .apps import Parcel

pytestmark = pytest.mark.postgres

READ_TOKEN = "read-token-0123456789abcdef"


class RecordingAlerter:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


def commit_three(container: Container) -> None:
    uow = container.unit_of_work()
    with uow:
        uow.publish_all(Parcel(number=n) for n in range(3))


def test_stats_api_and_metrics_show_the_waiting_rows(
    container: Container, env: dict[str, str]
) -> None:
    commit_three(container)

    shown = CliRunner().invoke(cli, ["outbox", "stats", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["rows"] == 3

    app = create_app(create_container({**env, "HEXBUS_API_READ_TOKEN": READ_TOKEN}))
    api = TestClient(app, base_url="http://localhost")
    assert api.get("/api/v1/outbox").status_code == 401, "the backlog needs the read token"
    answer = api.get("/api/v1/outbox", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == 3
    assert answer.json()["oldest_age_seconds"] >= 0

    registry = exposition_registry(None, collectors=[OutboxCollector(container.outbox_monitor())])
    text = generate_latest(registry).decode()
    assert "hexbus_outbox_rows 3.0" in text
    assert "hexbus_outbox_up 1.0" in text


def test_a_relay_alerts_when_the_oldest_row_is_too_old(container: Container) -> None:
    commit_three(container)
    alerter = RecordingAlerter()
    relay = OutboxRelay(
        container.database_engine(),
        container.event_bus(),
        container.serializer(),
        alerter=alerter,
        alert_age=timedelta(0),
    )

    relay.check_backlog()
    relay.check_backlog()  # within the alert period: not again

    assert [alert.kind for alert in alerter.alerts] == [AlertKind.OUTBOX_BACKLOG]
    assert "3 outbox row(s) waiting" in alerter.alerts[0].detail


def test_stats_without_a_database_url_says_what_to_set() -> None:
    shown = CliRunner().invoke(cli, ["outbox", "stats"], env={"DATABASE_URL": ""})

    assert shown.exit_code != 0
    assert "DATABASE_URL" in str(shown.exception or shown.output)


def test_migrate_creates_the_tables_and_is_safe_to_repeat(env: dict[str, str]) -> None:
    runner = CliRunner()
    for _ in range(2):
        done = runner.invoke(cli, ["outbox", "migrate"], env=env)
        assert done.exit_code == 0, done.output
        assert "up to date" in done.output

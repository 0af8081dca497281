"""Observability settings are checked at start-up, and the container wires the observers into
every bus it builds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hexbus import ConfigurationError
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.observability import (
    AlertingObserver,
    BackgroundAlerter,
    LogAlerter,
    LoggingObserver,
    MetricsObserver,
    RecordingAlerter,
    ThresholdWatcher,
)
from hexbus.application import NullObserver
from hexbus.container import create_container
from hexbus.ports.alerts import AlertKind
from hexbus.settings import Settings

from .conftest import NOW, THREE_ATTEMPTS, LabResultReady, lab_result


def test_the_defaults_keep_payloads_out_and_metrics_on() -> None:
    settings = Settings.from_env({})
    observability = settings.observability
    assert observability.log_format == "auto"
    assert observability.log_json is None
    assert observability.log_payloads is False
    assert observability.metrics is True
    assert observability.metrics_port == 9191
    assert observability.metrics_dir is None
    assert observability.alert_webhook_url is None
    assert observability.alert_period == timedelta(seconds=300)
    assert settings.observability.alert_failure_rate == 0.10
    assert settings.observability.alert_backlog == 1000


def test_every_observability_setting_is_read() -> None:
    observability = Settings.from_env(
        {
            "HEXBUS_LOG_FORMAT": "JSON",
            "HEXBUS_LOG_LEVEL": "warning",
            "HEXBUS_LOG_PAYLOADS": "true",
            "HEXBUS_METRICS": "false",
            "HEXBUS_METRICS_HOST": "127.0.0.1",
            "HEXBUS_METRICS_PORT": "0",
            "HEXBUS_METRICS_DIR": "/tmp/hexbus-metrics-test",
            "HEXBUS_ALERT_WEBHOOK_URL": "https://hooks.example/T0/SECRET",
            "HEXBUS_ALERT_MIN_FINISHED": "5",
            "HEXBUS_ALERT_PERIOD": "60",
            "HEXBUS_ALERT_INTERVAL": "10",
        }
    ).observability
    assert observability.log_json is True
    assert observability.log_level == "warning"
    assert observability.log_payloads is True
    assert observability.metrics is False
    assert (observability.metrics_host, observability.metrics_port) == ("127.0.0.1", 0)
    assert observability.metrics_dir == "/tmp/hexbus-metrics-test"
    assert observability.alert_webhook_url == "https://hooks.example/T0/SECRET"
    assert observability.alert_min_finished == 5
    assert observability.alert_period == timedelta(minutes=1)
    assert observability.alert_interval == timedelta(seconds=10)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEXBUS_LOG_FORMAT", "xml"),
        ("HEXBUS_LOG_LEVEL", "loud"),
        ("HEXBUS_LOG_PAYLOADS", "maybe"),
        ("HEXBUS_METRICS", "sometimes"),
        ("HEXBUS_METRICS_PORT", "70000"),
        ("HEXBUS_METRICS_PORT", "nine"),
        ("HEXBUS_METRICS_HOST", "a b"),
        ("HEXBUS_ALERT_WEBHOOK_URL", "ftp://hooks.example/x"),
        ("HEXBUS_ALERT_PERIOD", "0"),
        ("HEXBUS_ALERT_MIN_FINISHED", "-1"),
        ("HEXBUS_ALERT_INTERVAL", "soon"),
    ],
)
def test_a_bad_value_fails_at_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({name: value})
    assert raised.value.setting == name


def test_a_bad_webhook_url_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"HEXBUS_ALERT_WEBHOOK_URL": "hooks.example/SECRET-TOKEN"})
    assert "SECRET-TOKEN" not in str(raised.value)


def test_a_metrics_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "metrics"
    file.write_text("")
    with pytest.raises(ConfigurationError, match="HEXBUS_METRICS_DIR"):
        Settings.from_env({"HEXBUS_METRICS_DIR": str(file)})


def test_describe_shows_the_settings_with_the_webhook_url_redacted() -> None:
    described = Settings.from_env(
        {"HEXBUS_ALERT_WEBHOOK_URL": "https://hooks.example/services/T0/SECRET-TOKEN"}
    ).describe()
    assert described["HEXBUS_ALERT_WEBHOOK_URL"] == "https://hooks.example/***"
    assert "SECRET-TOKEN" not in repr(described)
    assert described["HEXBUS_LOG_PAYLOADS"] == "false"
    assert described["HEXBUS_METRICS_PORT"] == "9191"
    assert described["HEXBUS_ALERT_PERIOD"] == "300s"
    assert "SECRET-TOKEN" not in repr(
        Settings.from_env({"HEXBUS_ALERT_WEBHOOK_URL": "https://h.example/SECRET-TOKEN"})
    )


def test_the_container_tells_logs_metrics_and_alerts_about_every_step() -> None:
    container = create_container({})
    kinds = [type(observer) for observer in container.observers()]
    # The last is tracing's place, a NullObserver unless HEXBUS_OTEL=true (ADR 0025).
    assert kinds == [LoggingObserver, MetricsObserver, AlertingObserver, NullObserver]
    assert isinstance(container.alerter(), LogAlerter)


def test_metrics_can_be_switched_off() -> None:
    container = create_container({"HEXBUS_METRICS": "false"})
    assert type(container.observers()[1]) is NullObserver


def test_a_webhook_url_sends_alerts_to_the_webhook_off_the_delivery_thread() -> None:
    container = create_container({"HEXBUS_ALERT_WEBHOOK_URL": "https://hooks.example/x"})
    assert isinstance(container.alerter(), BackgroundAlerter)


def test_a_dead_letter_on_the_container_built_bus_reaches_the_alerter() -> None:
    alerter = RecordingAlerter()
    clock = VirtualClock(NOW)
    container = create_container({}, alerter=alerter, clock=clock)

    def always_fails(event: LabResultReady) -> None:
        raise RuntimeError("down")

    container.processor().register_handler(
        LabResultReady, always_fails, name="lab.always_fails", queue="lab", retry=THREE_ATTEMPTS
    )
    container.event_bus().publish(lab_result())
    (alert,) = alerter.alerts
    assert alert.kind is AlertKind.DEAD_LETTER
    assert alert.labels["handler"] == "lab.always_fails"


def test_the_threshold_watcher_is_built_from_the_shared_thresholds() -> None:
    container = create_container(
        {"HEXBUS_ALERT_FAILURE_RATE": "0.25", "HEXBUS_ALERT_BACKLOG": "50"}
    )
    watcher = container.threshold_watcher()
    assert isinstance(watcher, ThresholdWatcher)
    assert (watcher.failure_rate, watcher.backlog) == (0.25, 50)

"""DATABASE_URL and the outbox relay's settings: checked at start-up, credentials never shown."""

from __future__ import annotations

import pytest

from hexbus import ConfigurationError
from hexbus.container import create_container
from hexbus.settings import Settings


def test_a_database_url_of_another_scheme_names_the_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"DATABASE_URL": "mysql://app@db/clinic"})

    assert caught.value.setting == "DATABASE_URL"


def test_the_password_in_the_database_url_is_never_shown() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://app:s3cret-pw@db:5432/clinic"})

    assert settings.postgres.enabled
    assert "s3cret-pw" not in repr(settings) + str(settings.describe())
    assert "s3cret-pw" in settings.secrets(), "so error texts quoting it are masked"


def test_without_a_database_url_the_unit_of_work_is_in_memory() -> None:
    container = create_container(env={})

    assert type(container.unit_of_work()).__name__ == "InMemoryUnitOfWork"
    assert type(container.inbox()).__name__ == "InMemoryInbox"


def test_a_database_url_selects_the_postgres_unit_of_work_without_connecting() -> None:
    container = create_container(env={"DATABASE_URL": "postgresql://app@127.0.0.1:1/none"})

    assert type(container.unit_of_work()).__name__ == "PostgresUnitOfWork"
    assert type(container.inbox()).__name__ == "PostgresInbox"


def test_a_bad_relay_batch_size_names_the_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"HEXBUS_OUTBOX_BATCH": "0"})

    assert caught.value.setting == "HEXBUS_OUTBOX_BATCH"

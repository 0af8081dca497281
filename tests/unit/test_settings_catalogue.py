"""Every setting is declared once, beside what it configures, and listed in one catalogue."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hexbus import ConfigurationError
from hexbus.adapters.environment import Setting
from hexbus.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"
VARIABLE = re.compile(r"\b(?:HEXBUS_[A-Z_]+|REDIS_[A-Z_]+|USE_QUEUE_EVENT_BUS)\b")


def _declared() -> list[Setting[object]]:
    return [declared for group in Settings.from_env({}).groups for declared in group.declared()]


def test_no_variable_is_declared_twice() -> None:
    names = [declared.name for declared in _declared()]

    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_every_variable_the_library_mentions_is_declared() -> None:
    declared = {declared.name for declared in _declared()}
    mentioned = {
        name
        for path in SRC.rglob("*.py")
        if "examples" not in path.parts and "testing" not in path.parts
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }

    assert mentioned - declared == set(), "mentioned in src/ but declared by no settings group"


def test_every_setting_says_what_it_means() -> None:
    for declared in _declared():
        assert declared.description.strip(), declared.name


def test_the_defaults_are_the_declared_ones() -> None:
    # A default lives in its Setting only: an empty environment and the class's own defaults
    # give the same settings.
    assert Settings.from_env({}) == Settings(optional=Settings.from_env({}).optional)


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"HEXBUS_DEFAULT_CONCURRENCY": "lots"})

    assert caught.value.setting == "HEXBUS_DEFAULT_CONCURRENCY"


def test_the_app_must_name_a_function() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"HEXBUS_APP": "myapp.bootstrap"})

    assert caught.value.setting == "HEXBUS_APP"
    assert Settings.from_env({"HEXBUS_APP": "myapp.bootstrap:register"}).app == (
        "myapp.bootstrap:register"
    )


def test_secrets_stay_out_of_repr_and_descriptions() -> None:
    settings = Settings.from_env(
        {
            "REDIS_PASSWORD": "redis-secret-1",
            "HEXBUS_API_TOKEN": "api-secret-token-0123456789",
            "HEXBUS_ALERT_WEBHOOK_URL": "https://hooks.example/webhook-secret",
        }
    )
    shown = repr(settings) + str(settings.describe())

    for secret in ("redis-secret-1", "api-secret-token-0123456789", "webhook-secret"):
        assert secret not in shown


def test_without_the_dashboard_extra_the_http_adapter_says_which_extra_to_install() -> None:
    # sys.modules[name] = None makes that package look uninstalled to this interpreter.
    script = (
        "import sys\n"
        "sys.modules['fastapi'] = None\n"
        "from hexbus.settings import Settings\n"
        "assert Settings.from_env({}).optional == ()\n"
        "try:\n"
        "    import hexbus.adapters.http\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == (
        "MissingExtra hexbus.adapters.http needs the 'dashboard' extra: "
        "pip install 'hexbus[dashboard]'"
    )

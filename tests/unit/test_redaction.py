"""Every form a Redis URL can carry a credential in is masked, and rebuilt for display."""

from __future__ import annotations

import pytest

from hexbus.adapters.cli.operations import bind_warning
from hexbus.adapters.dramatiq.settings import RedisSettings
from hexbus.adapters.redaction import redact_text, redact_url, url_secrets
from hexbus.settings import Settings

SECRET = "Zq9-s3cret-pw"
USER = "acl-user-7"

FORMS = [
    # (URL as configured, as it must be shown)
    (f"redis://{USER}:{SECRET}@redis.internal:6379/0", "redis://***:***@redis.internal:6379/0"),
    (f"redis://:{SECRET}@redis.internal:6379/0", "redis://***:***@redis.internal:6379/0"),
    (f"redis://{SECRET}@redis.internal/0", "redis://***@redis.internal/0"),
    (
        f"redis://redis.internal:6379/0?password={SECRET}&socket_timeout=5",
        "redis://redis.internal:6379/0?password=***&socket_timeout=5",
    ),
    (
        f"redis://redis.internal:6379/1?username={USER}&password={SECRET}",
        "redis://redis.internal:6379/1?username=***&password=***",
    ),
    (
        f"unix:///run/redis/redis.sock?db=0&password={SECRET}",
        "unix:///run/redis/redis.sock?db=0&password=***",
    ),
    (f"unix://{USER}:{SECRET}@/run/redis.sock?db=2", "unix://***:***@/run/redis.sock?db=2"),
    (f"redis://{USER}:{SECRET}@[::1]:6380/3", "redis://***:***@[::1]:6380/3"),
    ("redis://[::1]:6379/0", "redis://[::1]:6379/0"),
    (
        f"rediss://{USER}:{SECRET}@cache.example:6380/0?ssl_ca_certs=/etc/ca.pem",
        "rediss://***:***@cache.example:6380/0?ssl_ca_certs=/etc/ca.pem",
    ),
    (f"rediss://cache.example/0?auth_token={SECRET}", "rediss://cache.example/0?auth_token=***"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
]


@pytest.mark.parametrize(("url", "shown"), FORMS)
def test_each_form_is_masked_and_rebuilt_for_display(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert RedisSettings.from_env({"REDIS_URL": url}).redacted_url() == shown
    described = Settings.from_env({"REDIS_URL": url}).describe()
    assert described["REDIS_URL"] == shown
    assert SECRET not in repr(Settings.from_env({"REDIS_URL": url}))


def test_a_password_with_reserved_characters_is_masked_whole() -> None:
    assert redact_url("redis://:pa/ss?w#rd@host:6379/0") == "redis://***:***@host:6379/0"
    assert redact_url("redis://[::1") == "redis://***"


def test_text_quoting_a_url_or_its_secret_is_masked() -> None:
    url = f"redis://{USER}:{SECRET}@redis.internal:6379/0?password=other-secret-1"
    text = f"Error connecting to {url}: AUTH {SECRET} failed (other-secret-1)"
    masked = redact_text(text, url_secrets(url))
    assert SECRET not in masked
    assert "other-secret-1" not in masked
    assert "redis://***:***@redis.internal:6379/0?password=***" in masked


def test_the_settings_know_every_secret_in_force() -> None:
    settings = Settings.from_env(
        {
            "REDIS_URL": f"redis://:{SECRET}@h/0?password=other-secret-1",
            "HEXBUS_API_TOKEN": "api-token-0123456789abcdef",
        }
    )
    secrets = settings.secrets()
    assert SECRET in secrets
    assert "other-secret-1" in secrets
    assert "api-token-0123456789abcdef" in secrets


@pytest.mark.parametrize(
    ("host", "warned"),
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("[::1]", False),
     ("0.0.0.0", True), ("::", True), ("192.0.2.10", True), ("dashboard.internal", True)],
)  # fmt: skip
def test_the_dashboard_warns_when_it_listens_beyond_this_machine(host: str, warned: bool) -> None:
    warning = bind_warning(host, ("localhost",))
    assert (warning is not None) is warned
    if warning:
        assert "HEXBUS_ALLOWED_HOSTS" in warning
        assert "TLS" in warning

"""The worker's /metrics endpoint: this machine only by default, and /metrics only."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from hexbus.adapters.observability.metrics_server import MetricsEndpoint, MultiprocessDirectory
from hexbus.adapters.observability.settings import ObservabilitySettings
from hexbus.ports.monitoring import QueueStats


class NoQueues:
    def queue_stats(self) -> list[QueueStats]:
        return []


def test_metrics_bind_the_loopback_address_by_default() -> None:
    assert ObservabilitySettings.from_env({}).metrics_host == "127.0.0.1"


def test_the_endpoint_answers_on_metrics_only() -> None:
    directory = MultiprocessDirectory()
    try:
        endpoint = MetricsEndpoint(directory, NoQueues(), host="127.0.0.1", port=0)  # type: ignore[arg-type]
        with endpoint:
            base = f"http://127.0.0.1:{endpoint.port}"
            with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
                assert response.status == 200
                response.read()
            for path in ("/", "/anything", "/metrics/../secret"):
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(f"{base}{path}", timeout=5)
                assert refused.value.code == 404, path
    finally:
        directory.close()

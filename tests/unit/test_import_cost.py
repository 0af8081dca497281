"""Importing the core loads no infrastructure (the design; import-linter checks the imports,
this checks what actually ends up in ``sys.modules``, including transitive imports)."""

from __future__ import annotations

import json
import subprocess
import sys

CORE = ("hexbus", "hexbus.domain", "hexbus.ports", "hexbus.application")
INFRASTRUCTURE = ("dramatiq", "redis", "dependency_injector", "tenacity", "starlette", "fastapi")

PROBE = """
import json, sys
for name in {core!r}:
    __import__(name)
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_importing(names: tuple[str, ...]) -> set[str]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(core=names)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(completed.stdout))


def test_importing_the_core_loads_no_infrastructure_library() -> None:
    loaded = _modules_after_importing(CORE)

    offenders = sorted(name for name in loaded if name.split(".")[0] in INFRASTRUCTURE)

    assert set(CORE) <= loaded
    assert offenders == []


def test_the_probe_sees_an_infrastructure_import() -> None:
    # Guards the test itself: the in-memory adapter uses tenacity, so importing it must show.
    loaded = _modules_after_importing(("hexbus.adapters.in_memory",))

    assert "tenacity" in loaded

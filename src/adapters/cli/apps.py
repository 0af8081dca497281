"""Loading the application's own handlers into a container, for ``--app module:function``.

Every process (publisher, worker, dashboard) must build the same handler registry; pointing
them all at the same function is how an application makes sure of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ...container import Container
from ...domain.errors import ConfigurationError


def load_app(container: Container, app: str | None) -> None:
    """Call ``module:function`` with the container so it can register handlers."""
    if not app:
        return
    module_name, sep, function_name = app.partition(":")
    if not sep or not module_name or not function_name:
        raise ConfigurationError("--app", f"{app!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError("--app", f"cannot import {module_name!r}: {error}") from None
    function: Callable[[Container], Any] | None = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigurationError("--app", f"{module_name} has no function {function_name!r}")
    function(container)

"""Loading the application into a container, for ``--app module:function`` or ``HEXBUS_APP``.

hexbus registers no handler of its own: the application's function does, given the container
(the same kind of function for every process, so workers and operators agree on every handler
name). Commands that need handlers take ``--app``; without it they read ``HEXBUS_APP``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ...container import Container
from ...domain.errors import ConfigurationError

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        help=(
            "Your application: 'package.module:function', called with the container to "
            "register its handlers, schedules and queues (the same as your workers'). "
            "Default: HEXBUS_APP."
        ),
        show_default=False,
    ),
]


def load_app(container: Container, app: str | None) -> str | None:
    """Call ``app`` (default: ``HEXBUS_APP``) with the container; returns which was loaded."""
    app = app or container.settings().app
    if not app:
        return None
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
    return app


def require_app(container: Container, app: str | None, command: str) -> str:
    """Like :func:`load_app`, for a command that is pointless without handlers: no app is an
    error saying how to give one (raised before anything connects to Redis)."""
    loaded = load_app(container, app)
    if loaded is None:
        raise ConfigurationError(
            "--app",
            f"{command} needs your application's handlers: pass --app package.module:function "
            "or set HEXBUS_APP (for the bundled example: --app hexbus.examples.clinic:register)",
        )
    return loaded

"""One logging pipeline for a hexbus process: structlog's renderers for every log line.

Production log collectors want one JSON object per line; a person at a terminal wants aligned,
coloured text. Both are structlog renderers; :func:`configure_logging` puts one of them on a
single handler of the *standard library's* root logger, so lines from hexbus, from Dramatiq,
from redis-py and from the application all come out the same way. Code that logs through
structlog (the :class:`~.event_log.LoggingObserver`) hands its event dictionaries to that same
handler, keeping its fields as fields rather than flattening them into the message.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

from ..redaction import redact_text

_HANDLER_NAME = "hexbus"


def _add_pid(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    # Several worker processes share one terminal or one log stream; the pid tells them apart.
    event_dict.setdefault("pid", os.getpid())
    return event_dict


def _drop_formatted(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    # Another handler (pytest's, an application's) may have formatted the record first, leaving
    # ``message``/``asctime`` on it; ExtraAdder would copy them as if they were extra fields.
    # The standard library refuses both names in ``extra``, so nothing real is lost.
    event_dict.pop("message", None)
    event_dict.pop("asctime", None)
    return event_dict


def _shared_processors() -> list[Processor]:
    # Applied at formatting time to every record, structlog's and the standard library's alike,
    # so both kinds carry the same level, logger and timestamp fields.
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_pid,
    ]


def _redactor(secrets: tuple[str, ...]) -> Processor:
    """Masks URLs' credentials and the given secrets in every text field of a line, its
    exception included (ADR 0016): a driver's error may quote the URL it was given."""

    def redact(logger: Any, method: str, event_dict: EventDict) -> EventDict:
        exc_info = event_dict.pop("exc_info", None)
        if exc_info:
            if exc_info is True:
                exc_info = sys.exc_info()
            if isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            if isinstance(exc_info, tuple) and exc_info[0] is not None:
                event_dict["exception"] = "".join(traceback.format_exception(*exc_info))
        for key, value in event_dict.items():
            if isinstance(value, str):
                event_dict[key] = redact_text(value, secrets)
        return event_dict

    return redact


def _renderer(json: bool, stream: TextIO, secrets: tuple[str, ...]) -> list[Processor]:
    if json:
        return [
            _redactor(secrets),
            structlog.processors.JSONRenderer(sort_keys=False, default=str),
        ]
    colors = bool(getattr(stream, "isatty", lambda: False)())
    return [_redactor(secrets), structlog.dev.ConsoleRenderer(colors=colors)]


def configure_logging(
    json: bool | None = None,
    *,
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    secrets: tuple[str, ...] = (),
) -> logging.Handler:
    """Route all logging of this process through structlog, as JSON or as console text.

    ``json=None`` picks by the stream: console text on a terminal, JSON otherwise (a container
    or a service manager collecting the output). Calling it again replaces the handler it
    installed before, so a test or a re-exec does not get every line twice. ``secrets`` (the
    settings' :meth:`~hexbus.settings.Settings.secrets`) are masked in every line, as are the
    credentials of any URL. Returns the handler.
    """
    stream = stream if stream is not None else sys.stderr
    if json is None:
        json = not bool(getattr(stream, "isatty", lambda: False)())
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), _drop_formatted],
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(json, stream, secrets),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Code that calls structlog.get_logger() directly joins the same pipeline.
    structlog.configure(
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return handler


def stdlib_bound_logger(name: str) -> Any:
    """A structlog logger writing to the standard library logger ``name``.

    Independent of structlog's global configuration, so a library user who never calls
    :func:`configure_logging` still gets hexbus's lines wherever their logging sends them.
    """
    return structlog.wrap_logger(
        logging.getLogger(name),
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.stdlib.BoundLogger,
    )

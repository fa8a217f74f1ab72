"""structlog set-up: console lines in development, JSON in production (HOUSE-STYLE rule 9).

No PHI is ever logged: events carry the request id, the route *template* (``/fhir/{type}/{id}``, never
the path with a patient's id in it), status and timings. Clinical values and identifiers stay out.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from service.config import Settings

# What structlog's ConsoleRenderer puts in columns of their own (the empty key first), or renders as more
# than ``key=value``.
_COLUMNS = ("timestamp", "level", "event")
_OWN_KEYS = frozenset({*_COLUMNS, "", "logger", "logger_name", "stack", "exception", "exc_info"})
_SCALARS = frozenset({str, int, float, bool, type(None)})
_QUOTED = frozenset(" \t=\r\n\"'")  # a text value with one of these is shown as its repr()
_LEVEL_WIDTH = 9  # the longest level name, "exception"
_EVENT_WIDTH = 30  # structlog's default pad_event_to


class ConsoleLines(structlog.dev.ConsoleRenderer):
    """structlog's console renderer without colours, with the line of a plain event (texts and numbers; no
    exception, stack or logger name) written in one go: the same text at about a third of the cost, and every
    request logs one (issue 19). Anything else is rendered by structlog's own code."""

    def __init__(self) -> None:
        super().__init__(colors=False)

    def __call__(self, logger: Any, name: str, event_dict: structlog.typing.EventDict) -> str:
        line = plain_line(event_dict)
        return line if line is not None else super().__call__(logger, name, event_dict)


def plain_line(event_dict: structlog.typing.EventDict) -> str | None:
    """ConsoleRenderer(colors=False)'s line for an event of text and number values; None for any other."""
    timestamp, level, event = event_dict.get("timestamp"), event_dict.get("level"), event_dict.get("event")
    if type(timestamp) is not str or type(level) is not str or type(event) is not str:
        return None
    try:
        keys = sorted(event_dict)
    except TypeError:  # keys that are not all text: structlog's code says what it makes of them
        return None
    fields = [timestamp, f"[{level:<{_LEVEL_WIDTH}}]", f"{event:<{_EVENT_WIDTH}}"]
    for key in keys:
        if key in _OWN_KEYS:
            if key in _COLUMNS:
                continue
            return None
        value = event_dict[key]
        if type(key) is not str or type(value) not in _SCALARS:
            return None
        fields.append(f"{key}={value if type(value) is str and _QUOTED.isdisjoint(value) else repr(value)}")
    return " ".join(field for field in fields if field).rstrip(" ")


def configure_logging(settings: Settings) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if settings.json_logs else ConsoleLines()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks without frame locals: a local can hold a patient's resource.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
            if settings.json_logs
            else structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(settings.log_level)),
        # sys.stderr is looked up for each new logger, not once: a test runner may swap and close it.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )

"""structlog set-up: console lines in development, JSON in production (HOUSE-STYLE rule 9).

No PHI is ever logged: events carry the request id, the route *template* (``/fhir/{type}/{id}``, never
the path with a patient's id in it), status and timings. Clinical values and identifiers stay out.
"""

from __future__ import annotations

import logging
import sys

import structlog

from service.config import Settings


def configure_logging(settings: Settings) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
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

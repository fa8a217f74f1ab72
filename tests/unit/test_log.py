"""Logs carry no PHI: in particular a JSON traceback does not dump the frames' local variables. The
development console line is structlog's, written faster for plain events."""

from __future__ import annotations

import json
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from service.config import Settings
from service.log import ConsoleLines, configure_logging, plain_line


def test_json_tracebacks_leave_out_frame_locals(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json"))  # type: ignore[arg-type]
    try:
        resource = {"subject": {"reference": "Patient/secret-mrn-4711"}}
        raise ValueError(f"bad element in a {type(resource).__name__}")
    except ValueError:
        structlog.get_logger("test").exception("failed")
    finally:
        configure_logging(Settings())
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "failed" and record["exception"][0]["exc_type"] == "ValueError"
    assert "secret-mrn-4711" not in line


_TEXTS = st.text(alphabet=st.sampled_from(list("ab=Z 9\t\n\r\"'é$/{}_-.:")), max_size=12)
_SCALARS = st.one_of(_TEXTS, st.integers(), st.floats(), st.booleans(), st.none())
_KEYS = st.one_of(_TEXTS, st.sampled_from(["logger", "logger_name", "stack", "exception", "exc_info"]))


def _events(columns: st.SearchStrategy[dict[str, Any]], rest: st.SearchStrategy[dict[str, Any]]) -> Any:
    return st.tuples(columns, rest).map(lambda pair: {**pair[1], **pair[0]})


_PLAIN_EVENTS = _events(
    st.fixed_dictionaries({"timestamp": _TEXTS, "level": _TEXTS, "event": _TEXTS}),
    st.dictionaries(_TEXTS, _SCALARS, max_size=6),
)
_OTHER_EVENTS = _events(
    st.fixed_dictionaries(
        {"event": st.one_of(_TEXTS, st.integers())},
        optional={"timestamp": st.one_of(_TEXTS, st.none()), "level": _TEXTS},
    ),
    st.dictionaries(_KEYS, st.one_of(_SCALARS, st.lists(st.integers(), max_size=2)), max_size=6),
)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(_PLAIN_EVENTS, _OTHER_EVENTS))
def test_console_lines_match_structlogs_console_renderer(event_dict: dict[str, Any]) -> None:
    """The development console line is structlog's ConsoleRenderer(colors=False) text, written directly for
    plain events and by structlog for any other (an exception, a stack, a logger name, a list value)."""
    assert _rendered(ConsoleLines(), event_dict) == _rendered(
        structlog.dev.ConsoleRenderer(colors=False), event_dict
    )


def _rendered(renderer: structlog.dev.ConsoleRenderer, event_dict: dict[str, Any]) -> str:
    try:
        return renderer(None, "info", dict(event_dict))
    except TypeError as exc:  # a stack or an exception that is not text
        return f"TypeError: {exc}"


def test_the_request_line_is_written_directly() -> None:
    """The request line, logged by every request, takes the direct path (which the test above checks)."""
    event = {"timestamp": "2026-12-07T09:16:17.880645Z", "level": "info", "event": "request", "ms": 1.23,
             "method": "POST", "route": "/fhir/$evaluate", "status": 200, "request_id": "0f3a"}  # fmt: skip
    assert plain_line(dict(event)) == (
        "2026-12-07T09:16:17.880645Z [info     ] request                        "
        "method=POST ms=1.23 request_id=0f3a route=/fhir/$evaluate status=200"
    )

"""Logs carry no PHI: in particular a JSON traceback does not dump the frames' local variables."""

from __future__ import annotations

import json

import pytest
import structlog

from service.config import Settings
from service.log import configure_logging


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

"""The oncoresponse command: refusals are reported without leaking values."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_serve_refuses_unsafe_settings_without_printing_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unsafe combination exits 2 with the reason, never echoing secret values."""
    monkeypatch.setenv("ONCO_HOST", "0.0.0.0")
    monkeypatch.setenv("ONCO_API_TOKENS", "super-secret-token")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "loopback" in result.output
    assert "super-secret-token" not in result.output


def test_serve_refuses_invalid_mappings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A broken mappings folder stops start-up with the file's name."""
    monkeypatch.setenv("ONCO_MAPPINGS_DIR", str(tmp_path))
    monkeypatch.setenv("ONCO_DATABASE_URL", f"sqlite:///{tmp_path / 'db'}")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "invalid mapping file" in result.output and "file not found" in result.output


def test_serve_runs_uvicorn_with_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """serve hands the app to uvicorn on the configured host and port, access log off (it logs raw paths)."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append(kw))
    monkeypatch.setenv("ONCO_DATABASE_URL", f"sqlite:///{tmp_path / 'db'}")
    result = runner.invoke(app, ["serve", "--port", "9999"])
    assert result.exit_code == 0, result.output
    expected = {"host": "127.0.0.1", "port": 9999, "access_log": False, "log_level": "warning"}
    assert calls == [{**expected, "loop": "uvloop", "http": "httptools"}]  # the faster stack (issue 19)


def test_no_arguments_shows_help() -> None:
    """Running the command bare lists its subcommands."""
    result = runner.invoke(app, [])
    assert "serve" in result.output

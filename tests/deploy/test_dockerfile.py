"""The Dockerfile lints clean and keeps its promises: lockfile install, non-root user, healthcheck, safe env.

No Docker engine runs here, so the image is never built: hadolint (from the `check` group, `make
install-check`) and these reads of the Dockerfile are the whole check. Without hadolint its tests skip.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
needs_hadolint = pytest.mark.skipif(
    not HADOLINT.exists(), reason="hadolint missing from the venv: run `make install-check`"
)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            pairs.append((keyword.upper(), " ".join(args.split())))
    return pairs


def all_stages() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def final_stage() -> list[tuple[str, str]]:
    steps = all_stages()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def image_env() -> dict[str, str]:
    """The ENV the runtime image sets (``ENV A=1 B=2`` form)."""
    env = {}
    for keyword, args in final_stage():
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def run_hadolint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(HADOLINT), "--no-color", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=ROOT, check=False)


@needs_hadolint
def test_hadolint_reports_nothing() -> None:
    """hadolint finds no issue at any level in the Dockerfile."""
    result = run_hadolint("Dockerfile")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@needs_hadolint
def test_hadolint_flags_a_known_bad_dockerfile() -> None:
    """The linter really lints: an untagged base and an unpinned pip install are reported."""
    result = run_hadolint("-", stdin="FROM python\nRUN pip install uv\n")
    assert result.returncode != 0
    assert "DL3006" in result.stdout
    assert "DL3013" in result.stdout


def test_runtime_stage_runs_as_a_fixed_non_root_uid() -> None:
    """The runtime stage's USER is a numeric, non-zero UID (so runAsNonRoot can verify it)."""
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the runtime stage sets no USER and would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)
    assert uid == "10001", "the Helm chart's runAsUser names this UID"


def test_healthcheck_calls_healthz_with_the_standard_library() -> None:
    """HEALTHCHECK requests /healthz with python's urllib (the slim image has no curl)."""
    (healthcheck,) = [args for keyword, args in final_stage() if keyword == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    assert "urllib.request" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck


def test_dependencies_install_from_the_lock_without_dev_tools() -> None:
    """Every uv sync is --frozen --no-dev, and the project itself is installed non-editable."""
    runs = [
        args for keyword, args in instructions(DOCKERFILE.read_text(encoding="utf-8")) if keyword == "RUN"
    ]
    syncs = [args for args in runs if "uv sync" in args]
    assert syncs, "no uv sync in the Dockerfile"
    for sync in syncs:
        assert "--frozen" in sync.split() and "--no-dev" in sync.split()
    assert "--no-editable" in syncs[-1].split()
    assert any(re.search(r"pip install .*\buv==\d+\.\d+\.\d+\b", run) for run in runs), "uv is not pinned"


def test_runtime_stage_is_slim_and_takes_only_the_venv() -> None:
    """The runtime stage is python:3.11-slim and copies nothing from the builder but the venv."""
    stage = final_stage()
    assert stage[0][1].startswith("python:3.11-slim")
    copies = [args for keyword, args in stage if keyword == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]


def test_exposes_the_port_the_service_listens_on() -> None:
    """EXPOSE names the port set in ONCO_PORT."""
    exposed = [args for keyword, args in final_stage() if keyword == "EXPOSE"]
    assert exposed == [image_env()["ONCO_PORT"]]


def test_image_defaults_refuse_to_start_without_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image listens on 0.0.0.0 with bearer auth, so Settings refuse it until ONCO_API_TOKENS is given."""
    env = image_env()
    assert env["ONCO_HOST"] == "0.0.0.0"
    assert env["ONCO_AUTH_MODE"] == "bearer"
    for name in [name for name in os.environ if name.startswith("ONCO_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("ONCO_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("ONCO_DATABASE_URL", "postgresql+asyncpg://onco:pw@db:5432/oncoresponse")
    with pytest.raises(ValidationError, match="ONCO_API_TOKENS"):
        Settings()
    monkeypatch.setenv("ONCO_API_TOKENS", "token-one")
    assert Settings().host == "0.0.0.0"


def test_dockerignore_admits_only_what_the_build_copies() -> None:
    """.dockerignore starts from excluding everything and re-admits exactly the paths the builder COPYs."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    admitted = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    copied = set()
    for keyword, args in all_stages():
        if keyword == "COPY" and not args.startswith("--from"):
            copied.update(args.split()[:-1])
    assert admitted == copied

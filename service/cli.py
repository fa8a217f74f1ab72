"""The ``oncoresponse`` command: ``serve``, ``evaluate``, ``demo``, ``deliveries``, ``replay``,
``evaluations``, ``reevaluate``, ``import`` and ``worker``."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import orjson
import typer
import uvicorn
from pydantic import ValidationError

from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.cli_evaluate import evaluate_bundle, outcome_json, scratch_container
from service.cli_evaluations import reevaluate_command
from service.cli_import import import_command
from service.cli_worker import worker_command
from service.config import Settings
from service.domain.assessment import Criteria
from service.errors import ServiceError
from service.knowledge import MappingError
from service.log import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False)


class Language(StrEnum):
    EN = "en"
    ZH_CN = "zh-CN"


class OutputVersion(StrEnum):
    R4 = "4.0"
    R5 = "5.0"


@app.callback()
def main() -> None:
    """oncoresponse: FHIR tumour response and targeted-therapy resistance assessment."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides ONCO_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides ONCO_PORT")] = None,
) -> None:
    """Serve the HTTP API with uvicorn (one worker; run replicas for more)."""
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = load_settings(**overrides)
    configure_logging(settings)
    from service.api.app import create_app  # imported here so `--help` stays fast

    try:
        application = create_app(settings)
    except MappingError as exc:
        _fail(f"invalid mapping file {exc.file}: entry {exc.entry}: {exc.problem}")
    # uvicorn's access log prints raw paths, which can hold patient ids: the app logs route templates instead.
    # httptools and uvloop (pinned dependencies): less server time per request than h11 on asyncio (issue 19,
    # benchmarks/server.py measures the stacks side by side).
    uvicorn.run(application, host=settings.host, port=settings.port, access_log=False, log_level="warning",
                loop="uvloop", http="httptools")  # fmt: skip


@app.command()
def evaluate(
    path: Annotated[str, typer.Argument(help="A Bundle file, or - for standard input")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default: the latest fact")] = None,
    criteria: Annotated[Criteria | None, typer.Option(help="Default: from the current drug's class")] = None,
    language: Annotated[Language, typer.Option(help="Language of the texts")] = Language.EN,
    fhir_version: Annotated[
        OutputVersion, typer.Option("--fhir-version", help="Output version")
    ] = OutputVersion.R4,
) -> None:
    """Print the $evaluate result Bundle for a Bundle, with no server; else an OperationOutcome on stderr."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        params = EvaluateParams(
            None, None, _date(as_of), criteria.value if criteria else None, language.value
        )
        _, result = asyncio.run(_evaluate(raw, params, fhir_version.value))
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    except ServiceError as exc:
        sys.stderr.buffer.write(outcome_json(exc) + b"\n")
        raise typer.Exit(code=1) from None
    sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the result Bundles")] = Path("var/demo"),
    language: Annotated[Language, typer.Option(help="Language of the texts")] = Language.EN,
) -> None:
    """Evaluate the built-in EGFR L858R patient on gefitinib at three dates and show what changed."""
    from service.cli_demo import run_demo

    run_demo(out, language.value)


@app.command()
def deliveries(
    status: Annotated[
        str | None, typer.Option(help="pending, delivered, rejected, failed or cancelled")
    ] = None,
) -> None:
    """List the outbox of the database ONCO_DATABASE_URL names: one line per delivery, never its body."""
    from service.cli_outbox import list_deliveries

    settings = load_settings()
    for line in asyncio.run(list_deliveries(settings.database_url, status)):
        typer.echo(line)


@app.command()
def replay(
    ids: Annotated[list[int], typer.Argument(help="Outbox ids, as `deliveries` lists them")],
) -> None:
    """Queue failed or rejected deliveries again (attempts from zero); a running worker sends them."""
    from service.cli_outbox import replay_deliveries

    settings = load_settings()
    count = asyncio.run(replay_deliveries(settings.database_url, ids))
    typer.echo(f"{count} of {len(ids)} queued again")


@app.command()
def evaluations() -> None:
    """List the reports owed (issue 17): one line per patient whose evaluation is pending or failing."""
    from service.cli_evaluations import list_evaluations

    settings = load_settings()
    for line in asyncio.run(list_evaluations(settings.database_url)):
        typer.echo(line)


app.command("reevaluate")(reevaluate_command)  # issue 17: [PATIENT...] | --all | --stale, --here, --wait


app.command("import")(import_command)  # issue 17: bulk import (service/cli_import.py)


app.command("worker")(worker_command)  # issue 17: the evaluation and delivery workers without HTTP


async def _evaluate(
    raw: bytes, params: EvaluateParams, output_version: str
) -> tuple[object, dict[str, object]]:
    async with scratch_container() as container:
        return await evaluate_bundle(container, raw, params, output_version)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"--as-of {text} is not a YYYY-MM-DD date")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a refusal is printed as its reasons only (never the values,
    which may include tokens) and exits with status 2."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # keys are Settings fields, checked by pydantic
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        _fail(f"invalid settings: {reasons}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"oncoresponse: {message}", err=True)
    raise typer.Exit(code=2)

"""The ``oncoresponse`` command: ``serve`` now; ``evaluate``, ``import`` and ``demo`` come later."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
import uvicorn
from pydantic import ValidationError

from service.config import Settings
from service.knowledge import MappingError
from service.log import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False)


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
    uvicorn.run(application, host=settings.host, port=settings.port, access_log=False, log_level="warning")


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

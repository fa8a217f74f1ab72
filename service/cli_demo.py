"""``oncoresponse demo``: the motivating case, told by the service.

An EGFR L858R lung adenocarcinoma on gefitinib. In April a scan reads "slightly larger": +3 mm over the
smallest sum, within measurement error, CEA stable, so continue. In August the sum is up 15 mm (+42 %),
CEA has risen on two samples and plasma shows EGFR T790M: progression with a resistance mechanism, so
switch to osimertinib. Each evaluation is the Bundle ``$evaluate`` answers; the files are written to ``out``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.cli_evaluate import DEMO_BUNDLE, DEMO_DATES, evaluate_bundle, scratch_container
from service.domain.assessment import Assessment

_TABLE_WIDTH = 170


def run_demo(out: Path, language: str) -> list[Path]:
    assessments, written = asyncio.run(_evaluate_all(out, language))
    console = Console(width=max(Console().width, _TABLE_WIDTH))  # codes stay whole on a narrow terminal
    console.print(_table(assessments))
    for path in written:
        console.print(f"wrote {path}")
    return written


async def _evaluate_all(out: Path, language: str) -> tuple[list[Assessment], list[Path]]:
    raw = DEMO_BUNDLE.read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    assessments, written = [], []
    async with scratch_container() as container:
        for day in DEMO_DATES:
            params = EvaluateParams(None, None, day, None, language)
            assessment, bundle = await evaluate_bundle(container, raw, params, "4.0")
            path = out / f"demo-{day.isoformat()}.json"
            path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2))
            assessments.append(assessment)
            written.append(path)
    return assessments, written


def _table(assessments: list[Assessment]) -> Table:
    table = Table(title="EGFR L858R NSCLC on gefitinib: is 'slightly larger' progression?")
    for column in (
        "scan",
        "sum mm",
        "vs nadir",
        "response",
        "progression",
        "flags",
        "mechanisms",
        "suggestions",
    ):
        table.add_column(column, overflow="fold")
    for a in assessments:
        table.add_row(
            _day(a.time_point.date),
            _mm(a),
            _change(a),
            a.response_category,
            a.progression.value,
            "\n".join(f.value for f in a.flags) or "-",
            "\n".join(f.mechanism for f in a.findings) or "-",
            "\n".join(_suggestion(s.code.value, s.drugs) for s in a.suggestions),
        )
    return table


def _day(day: dt.date) -> str:
    return day.isoformat()


def _mm(a: Assessment) -> str:
    sums = a.time_point.sums
    return f"{sums.sum_mm}" if sums else "-"


def _change(a: Assessment) -> str:
    sums = a.time_point.sums
    if sums is None:
        return "-"
    percent = sums.percent_from_nadir
    shown = f"{percent:+.1f} %" if percent is not None else "n/a"
    return f"{sums.change_from_nadir_mm:+} mm, {shown}"


def _suggestion(code: str, drugs: tuple[str, ...]) -> str:
    return f"{code} ({', '.join(drugs)})" if drugs else code

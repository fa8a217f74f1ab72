"""``make corpus-report``: post the whole corpus to a fresh service and write docs/corpus-report.md."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import httpx

from service.api.app import create_app
from service.config import Settings
from tests.corpus.walk import Posted, corpus_files, post_all

REPORT = Path(__file__).resolve().parents[2] / "docs" / "corpus-report.md"


async def collect() -> list[Posted]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database_url=f"sqlite:///{tmp}/corpus.db"))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return [posted async for posted in post_all(client, corpus_files())]


def render(results: list[Posted]) -> str:
    by_folder: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    entry_reasons: Counter[str] = Counter()
    for posted in results:
        counts = by_folder[posted.folder]
        counts["files"] += 1
        if posted.status >= 400:
            counts["rejected"] += 1
            reasons[posted.body["issue"][0]["diagnostics"][:100]] += 1
        else:
            counts["accepted"] += 1
            counts["entries stored"] += posted.accepted_entries
            counts["entries failed"] += posted.failed_entries
            entry_reasons.update(posted.entry_failures())
    lines = [
        "# Corpus report",
        "",
        "Every JSON file of `../shared/corpus/` posted to a fresh service (SQLite) by",
        "`make corpus-report` (`tests/corpus/report.py`). Bundles go to the endpoint for their type; single",
        "resources are wrapped in a batch. A file is *accepted* when the service answers 200 with a",
        "response Bundle (some entries may still fail, each with its own OperationOutcome), *rejected*",
        "when it answers 4xx with an OperationOutcome. No file may get a 5xx",
        "(`tests/corpus/test_corpus.py`).",
        "",
        "| folder | files | accepted | rejected | entries stored | entries failed |",
        "|---|---|---|---|---|---|",
    ]
    for folder in sorted(by_folder):
        c = by_folder[folder]
        lines.append(
            f"| {folder} | {c['files']} | {c['accepted']} | {c['rejected']} | {c['entries stored']} "
            f"| {c['entries failed']} |"
        )
    lines += ["", "## Why files were rejected", "", "| count | first issue |", "|---|---|"]
    lines += [f"| {n} | {reason.replace('|', '/')} |" for reason, n in reasons.most_common()]
    lines += ["", "## Why entries of accepted files failed", "", "| count | first issue |", "|---|---|"]
    lines += [f"| {n} | {reason.replace('|', '/')} |" for reason, n in entry_reasons.most_common()]
    return "\n".join(lines) + "\n"


def main() -> int:
    results = asyncio.run(collect())
    REPORT.write_text(render(results), encoding="utf-8")
    print(f"wrote {REPORT} ({len(results)} files)")  # noqa: T201  # a command-line tool's result line
    return 0 if all(p.status < 500 for p in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks``: run every benchmark and write docs/performance.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from benchmarks import bulk_import, evaluate, ingest, reevaluate, write_path_report

PERFORMANCE = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def main() -> None:
    header = [
        "# Performance",
        "",
        "Written by `make bench` (`benchmarks/`); every number comes from one run on one machine, and every",
        "cost is shown next to a baseline measured in the same run. Ratios travel between machines; absolute",
        "numbers do not.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
    ]
    # The import and re-evaluation targets are for 10,000 patients; storing them takes about 15 minutes on
    # 2 cores, so make bench runs fewer (ONCO_BENCH_PATIENTS=10000 for the full size) and says so.
    patients = int(os.environ.get("ONCO_BENCH_PATIENTS", "1000"))
    sections = [
        ingest.report(),
        write_path_report.report(),
        bulk_import.report(patients),
        reevaluate.report(patients),
        evaluate.report(),
    ]
    text = "\n".join(header + [line for section in sections for line in [*section, ""]]).rstrip() + "\n"
    PERFORMANCE.write_text(text, encoding="utf-8")
    print(text)  # the report is the command's output


if __name__ == "__main__":
    main()

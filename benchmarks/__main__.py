"""``python -m benchmarks``: run every benchmark and write docs/performance.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from benchmarks import evaluate, ingest, write_path

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
    sections = [ingest.report(), write_path.report(), evaluate.report()]
    text = "\n".join(header + [line for section in sections for line in [*section, ""]]).rstrip() + "\n"
    PERFORMANCE.write_text(text, encoding="utf-8")
    print(text)  # the report is the command's output


if __name__ == "__main__":
    main()

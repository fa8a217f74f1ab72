"""Write or check the committed OpenAPI file (HOUSE-STYLE rule 14).

python -m service.api.openapi write openapi/openapi.json
python -m service.api.openapi check openapi/openapi.json   # exit 1 when the file is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from service.config import Settings


def current_spec() -> dict[str, Any]:
    """The spec of an app built with default settings (the spec does not depend on them)."""
    from service.api.app import create_app

    spec: dict[str, Any] = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    return spec


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_stale(path: Path) -> bool:
    return not path.is_file() or path.read_text(encoding="utf-8") != render(current_spec())


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("write", "check"):
        print(__doc__, file=sys.stderr)  # noqa: T201  # a command-line tool's usage text
        return 2
    command, path = argv[0], Path(argv[1])
    if command == "write":
        path.write_text(render(current_spec()), encoding="utf-8")
        return 0
    if is_stale(path):
        print(f"{path} is stale: run `make openapi` and commit it", file=sys.stderr)  # noqa: T201  # CLI output
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

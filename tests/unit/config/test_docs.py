"""The README documents every setting, and no setting that does not exist."""

from __future__ import annotations

import re

from service.config import Settings
from tests.conftest import REPO


def test_readme_settings_table_matches_the_settings_class() -> None:
    """Each ONCO_* variable in the README's table is a Settings field, and each field is in the table."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `ONCO_([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert documented == fields

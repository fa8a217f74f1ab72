"""FHIR's date, dateTime and instant forms (datatypes.html) are ASCII digits with nothing after them: a
value with a final newline, or written in another script's digits, is no date (``$`` and ``\\d`` let both
through)."""

from __future__ import annotations

from datetime import date

import pytest

from service.adapters.fhir_in.dates import is_date
from service.adapters.fhir_in.elements import Issues, Node
from service.adapters.fhir_in.when import plain_when, read_when

NOT_DATES = [
    "2026-01-05\n",
    "2026\n",
    "2026-01-05T10:00:00Z\n",
    "\u0662\u0660\u0662\u0666-01-05",  # Arabic-Indic digits
    "2026-\u0660\u0661-05",
    "2026-01-05T1\u0660:00:00Z",
]


@pytest.mark.parametrize("text", NOT_DATES)
def test_a_final_newline_or_other_digits_is_no_date(text: str) -> None:
    assert not is_date(text)
    assert plain_when(text, date(2026, 12, 1)) is None


@pytest.mark.parametrize("text", ["2026-01-05", "2026", "2026-01", "2026-01-05T10:00:00+08:00"])
def test_the_forms_fhir_allows_still_are(text: str) -> None:
    assert is_date(text)


@pytest.mark.parametrize("text", NOT_DATES)
def test_the_normaliser_reports_such_a_value(text: str) -> None:
    issues = Issues()
    node = Node({"effectiveDateTime": text}, "Observation", issues)
    assert read_when(node, "effectiveDateTime", date(2026, 12, 1)) is None
    assert any("is not a FHIR date or dateTime" in i.diagnostics for i in issues.items)

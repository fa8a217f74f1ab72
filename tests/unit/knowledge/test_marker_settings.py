"""mappings/markers.yaml and patterns.yaml load into the thresholds the domain tests use; bad values fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.knowledge import MappingError, load_knowledge
from tests.conftest import REPO
from tests.unit.domain.fact_builders import CEA, CTDNA, PS
from tests.unit.domain.test_patterns import PATTERNS


def test_file_matches_the_domain_test_thresholds() -> None:
    """The committed file says what tests/unit/domain/fact_builders.py assumes."""
    markers = load_knowledge(REPO / "mappings").markers
    assert markers.cea.to_domain() == CEA
    assert markers.ctdna.to_domain() == CTDNA
    assert markers.performance_status.to_domain() == PS
    assert load_knowledge(REPO / "mappings").patterns.to_domain() == PATTERNS


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('{low: "0.40", high: "0.60"}', '{low: "0.60", high: "0.40"}', "low must not exceed high"),
        ('molecular_response_fall: "0.50"', 'molecular_response_fall: "1.5"', "less than or equal to 1"),
        ('default_uln: "5"', 'default_uln: "0"', "greater than 0"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, old: str, new: str, problem: str) -> None:
    """An impossible threshold stops loading with the file and the problem."""
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", mappings)
    path = mappings / "markers.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(MappingError, match=r"markers\.yaml") as err:
        load_knowledge(mappings)
    assert problem in err.value.problem

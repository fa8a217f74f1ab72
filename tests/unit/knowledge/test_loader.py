"""Mapping files load into typed objects; an invalid one names the file, the entry and the problem."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from service.knowledge import MappingError, load_knowledge
from tests.conftest import REPO


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", target)
    return target


def test_repository_mappings_load() -> None:
    """The committed mappings/ folder is valid and has a version."""
    knowledge = load_knowledge(REPO / "mappings")
    assert knowledge.version.count(".") == 2


def test_length_units_factor_to_mm() -> None:
    """cm converts to mm by 10, exactly; an unknown unit or system gives None."""
    units = load_knowledge(REPO / "mappings").units
    assert units.factor_to_mm("http://unitsofmeasure.org", "cm") == Decimal(10)
    assert units.factor_to_mm("http://unitsofmeasure.org", "in") is None
    assert units.factor_to_mm(None, "mm") is None


def test_invalid_entry_is_named(mappings: Path) -> None:
    """A bad value names the file and the entry path, e.g. length[1].to_mm."""
    text = (mappings / "units.yaml").read_text().replace('to_mm: "10"', 'to_mm: "-10"')
    (mappings / "units.yaml").write_text(text)
    with pytest.raises(MappingError) as err:
        load_knowledge(mappings)
    assert err.value.file.name == "units.yaml"
    assert err.value.entry == "length[1].to_mm"
    assert "greater than 0" in err.value.problem


def test_unknown_key_is_refused(mappings: Path) -> None:
    """A key the model does not define is an error, not silently ignored."""
    (mappings / "units.yaml").write_text((mappings / "units.yaml").read_text() + "colour: red\n")
    with pytest.raises(MappingError, match=r"units.yaml: colour: Extra inputs are not permitted"):
        load_knowledge(mappings)


def test_missing_file_is_named(mappings: Path) -> None:
    """A missing file stops loading with its name."""
    (mappings / "units.yaml").unlink()
    with pytest.raises(MappingError, match=r"units.yaml: \(file\): file not found"):
        load_knowledge(mappings)


def test_broken_yaml_is_named(mappings: Path) -> None:
    """A file that is not YAML stops loading with its name."""
    (mappings / "knowledge-base.yaml").write_text("version: [unclosed\n")
    with pytest.raises(MappingError, match=r"knowledge-base.yaml: \(file\): not valid YAML"):
        load_knowledge(mappings)


def test_empty_file_names_the_root(mappings: Path) -> None:
    """An empty file fails at the root, not with a crash."""
    (mappings / "units.yaml").write_text("")
    with pytest.raises(MappingError, match=r"units.yaml: \(root\)"):
        load_knowledge(mappings)


def test_performance_scores_answer_only_their_own_system() -> None:
    """An LA answer code is read on its LOINC system only; the same code in another system means nothing."""
    scores = load_knowledge(REPO / "mappings").performance_scores
    code = scores.ecog[0].code
    assert scores.score("ecog", scores.system, code) is not None
    assert scores.score("ecog", "http://example.org/local", code) is None


def test_a_drug_of_an_undeclared_class_is_refused(mappings: Path) -> None:
    """drugs.yaml: every drug's class must be one of its classes (a typo would silently disable rules)."""
    text = (
        (mappings / "drugs.yaml")
        .read_text()
        .replace("class: kras-g12c-inhibitor,", "class: kras-inhibitor,", 1)
    )
    (mappings / "drugs.yaml").write_text(text)
    with pytest.raises(MappingError, match="class kras-inhibitor is not in classes"):
        load_knowledge(mappings)


def test_drugs_must_declare_the_unmapped_class(mappings: Path) -> None:
    """R4: a record whose drug is not known is kept with the class ``unmapped``; the file must declare it."""
    path = mappings / "drugs.yaml"
    text = path.read_text().replace(
        '  - {id: unmapped, label: "Medication not in the knowledge base", role: unmapped}\n', ""
    )
    path.write_text(text)
    with pytest.raises(MappingError, match="unmapped"):
        load_knowledge(mappings)

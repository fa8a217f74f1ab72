"""mappings/response-criteria.yaml loads into the domain's thresholds; a bad value names its entry."""

from __future__ import annotations

import re
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from service.domain.rules import Rule
from service.domain.thresholds import ConfirmationMode, ResponseThresholds
from service.knowledge import MappingError, load_knowledge
from tests.conftest import REPO
from tests.unit.domain.builders import DEFAULTS

RULES_DOC = REPO.parent / "shared" / "design" / "CLINICAL-RULES.md"


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", target)
    return target


def _set(mappings: Path, name: str, key: str, value: str) -> None:
    """Rewrite one key (value, rule or source) of one entry, e.g. ``pd_rel``'s value to "20"."""
    path = mappings / "response-criteria.yaml"
    pattern = rf"(^\s+{name}: {{.*?\b{key}: )([^,}}]+|\[[^]]*\])"
    text, count = re.subn(pattern, lambda m: m.group(1) + value, path.read_text(), flags=re.MULTILINE)
    assert count == 1, name
    path.write_text(text)


def test_file_gives_the_documented_defaults() -> None:
    """The committed file says what CLINICAL-RULES.md says (PD_REL 0.20, not_required, ...)."""
    thresholds = load_knowledge(REPO / "mappings").response.thresholds()
    assert thresholds == DEFAULTS
    assert thresholds.confirmation_mode is ConfirmationMode.NOT_REQUIRED
    assert thresholds.pr_carry_forward is True


def test_every_threshold_field_has_an_entry() -> None:
    """Each field of ResponseThresholds is in the file exactly once, so none can silently default."""
    text = (REPO / "mappings" / "response-criteria.yaml").read_text()
    for field in fields(ResponseThresholds):
        assert len(re.findall(rf"^\s+{field.name}:", text, flags=re.MULTILINE)) == 1, field.name


def test_every_entry_cites_a_rule_of_the_rules_document() -> None:
    """Each entry names a rule ID the domain knows and, where a source is given, a reference that exists."""
    criteria = load_knowledge(REPO / "mappings").response
    sections = (criteria.measurability, criteria.target, criteria.best_response, criteria.variability)
    for section in (*sections, criteria.irecist):
        for name in type(section).model_fields:
            entry = getattr(section, name)
            assert Rule(entry.rule)
            for number in entry.source:
                assert re.search(rf"^{number}\. ", RULES_DOC.read_text(), flags=re.MULTILINE), (name, number)


@pytest.mark.parametrize(
    ("name", "key", "value", "entry", "problem"),
    [
        ("pd_rel", "value", '"20"', "target.pd_rel.value", "less than 1"),
        ("pd_abs_mm", "value", '"-5"', "target.pd_abs_mm.value", "greater than 0"),
        ("sd_min_days", "value", "-1", "best_response.sd_min_days.value", "greater than or equal to 0"),
        ("confirmation_mode", "value", "sometimes", "best_response.confirmation_mode.value", "required"),
        ("max_targets", "value", "0", "measurability.max_targets.value", "greater than or equal to 1"),
        ("pr_rel", "rule", "T99", "target.pr_rel.rule", "pattern"),
        ("pr_rel", "source", "[99]", "target.pr_rel.source[0]", "less than or equal to 49"),
    ],
)
def test_out_of_range_entry_is_named(
    mappings: Path, name: str, key: str, value: str, entry: str, problem: str
) -> None:
    """A value outside its sane range stops loading and names the entry."""
    _set(mappings, name, key, value)
    with pytest.raises(MappingError) as err:
        load_knowledge(mappings)
    assert err.value.file.name == "response-criteria.yaml"
    assert err.value.entry == entry
    assert problem in err.value.problem


@pytest.mark.parametrize(
    ("name", "value", "section", "problem"),
    [
        ("node_measurable_min_mm", '"8"', "measurability", "M2"),
        ("max_targets_per_organ", "6", "measurability", "M4"),
        ("var_rel_same_context", '"0.22"', "variability", "widen"),
        ("iconfirm_min_days", "60", "irecist", "I3"),
        ("iconfirm_tolerance_days", "28", "irecist", "tolerance"),
    ],
)
def test_inconsistent_section_is_refused(
    mappings: Path, name: str, value: str, section: str, problem: str
) -> None:
    """Values that contradict each other (a node measurable before it is pathological, ...) are refused."""
    _set(mappings, name, "value", value)
    with pytest.raises(MappingError) as err:
        load_knowledge(mappings)
    assert err.value.entry == section
    assert problem in err.value.problem


def test_changed_value_reaches_the_domain(mappings: Path) -> None:
    """The domain sees what the file says: switching confirmation on changes the thresholds value."""
    _set(mappings, "confirmation_mode", "value", "required")
    assert load_knowledge(mappings).response.thresholds().confirmation_mode is ConfirmationMode.REQUIRED

"""code-systems.yaml defines every code the domain and the mappings use, and output-codes.yaml every external
code the results need; both models refuse inconsistent files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.domain.assessment import Criteria, ProgressionStatus
from service.domain.irecist_types import IrecistResponse
from service.domain.response import NonTargetResponse, OverallResponse, TargetResponse
from service.domain.rules import Flag
from service.domain.suggestions import CareSuggestion
from service.knowledge.code_systems import CodeSystems, OutputCodes
from service.knowledge.loader import MappingError, load_mapping
from service.knowledge.resistance import ResistanceKnowledgeBase
from service.knowledge.vocabularies import ObservationCodes
from tests.conftest import REPO

MAPPINGS = REPO / "mappings"
SYSTEMS = load_mapping(MAPPINGS / "code-systems.yaml", CodeSystems)


def defined(system_id: str) -> set[str]:
    system = SYSTEMS.get(system_id)
    assert system is not None, system_id
    return {c.code for c in system.concepts}


def test_every_flag_has_a_concept() -> None:
    """Each Flag member of service/domain/rules.py is a concept of assessment-flag."""
    assert {f.value for f in Flag} - defined("assessment-flag") == set()


def test_every_care_suggestion_and_progression_status_has_a_concept() -> None:
    """CareSuggestion and ProgressionStatus members are concepts of their CodeSystems."""
    assert {s.value for s in CareSuggestion} - defined("care-suggestion") == set()
    assert {s.value for s in ProgressionStatus} - defined("progression-status") == set()
    assert {c.value for c in Criteria} - defined("response-criteria") == set()


def test_every_response_category_has_a_concept() -> None:
    """RECIST overall, target and non-target categories and iRECIST categories are response-category codes."""
    used = {*OverallResponse, *IrecistResponse, *TargetResponse, *NonTargetResponse} - {"NONE"}
    assert {c.value for c in used} - defined("response-category") == set()


def test_every_resistance_mechanism_has_a_concept() -> None:
    """Each `mechanism` of resistance.yaml is a concept of resistance-mechanism."""
    knowledge_base = load_mapping(MAPPINGS / "resistance.yaml", ResistanceKnowledgeBase)
    mechanisms = {rule.mechanism for rule in knowledge_base.rules}
    assert mechanisms - defined("resistance-mechanism") == set()


def test_inbound_canon_codes_are_defined() -> None:
    """The CANON codes observation-codes.yaml reads (lesion status, role, observation types) are defined."""
    codes = load_mapping(MAPPINGS / "observation-codes.yaml", ObservationCodes)
    assert set(codes.lesion_status.codes) <= defined("lesion-status")
    assert set(codes.lesion_role.codes) <= defined("lesion-role")
    assert {c.code for c in codes.observation_codes} <= defined("observation-type")
    assert codes.lesion_identifier_type.code in defined("identifier-type")


def test_display_of_an_undefined_code_is_an_error() -> None:
    """Emitting a code the file does not define raises instead of writing an unpublished code."""
    assert SYSTEMS.display("response-category", "PR") == "Partial response"
    with pytest.raises(KeyError, match="not defined"):
        SYSTEMS.display("response-category", "MAYBE")


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_duplicate_code_or_system_is_refused(tmp_path: Path) -> None:
    """A code defined twice in one system, or a system id defined twice, stops loading."""
    raw = yaml.safe_load((MAPPINGS / "code-systems.yaml").read_text(encoding="utf-8"))
    first = raw["code_systems"][0]
    twice_code = {"code_systems": [first | {"concepts": [*first["concepts"], first["concepts"][0]]}]}
    with pytest.raises(MappingError, match="defined twice"):
        load_mapping(write(tmp_path, "a.yaml", twice_code), CodeSystems)
    with pytest.raises(MappingError, match="defined twice"):
        load_mapping(write(tmp_path, "b.yaml", {"code_systems": [first, first]}), CodeSystems)


def output_codes_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((MAPPINGS / "output-codes.yaml").read_text(encoding="utf-8"))
    return raw


def test_output_codes_resolve_systems() -> None:
    """A code reference resolves its system key to the URI."""
    codes = load_mapping(MAPPINGS / "output-codes.yaml", OutputCodes)
    resolved = codes.resolve(codes.disease_status.code)
    assert (resolved.system, resolved.code) == ("http://loinc.org", "97509-4")
    assert codes.ucum == "http://unitsofmeasure.org"


def test_missing_disease_status_value_is_refused(tmp_path: Path) -> None:
    """Every DiseaseStatus and EvidenceType needs a code."""
    raw = output_codes_raw()
    del raw["disease_status"]["values"]["undetermined"]
    with pytest.raises(MappingError, match="no code for"):
        load_mapping(write(tmp_path, "o.yaml", raw), OutputCodes)


def test_undeclared_system_key_is_refused(tmp_path: Path) -> None:
    """A code whose system key is not under `systems` stops loading."""
    raw = output_codes_raw()
    raw["response_ncit"]["CR"]["system"] = "nci"
    with pytest.raises(MappingError, match="not declared"):
        load_mapping(write(tmp_path, "o.yaml", raw), OutputCodes)

"""Every mapping file documents itself; the normaliser never raises on any corpus file."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.adapters.fhir_in.normalise import entries_of
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import CORPUS, load, run
from tests.conftest import REPO

MAPPINGS = sorted((REPO / "mappings").glob("*.yaml"))
CORPUS_FILES = sorted(CORPUS.glob("*/*.json"))
_VERSIONS = {"fhir-core-r4b": FhirVersion.R4B, "fhir-core-r5": FhirVersion.R5}


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.name)
def test_mapping_file_opens_with_a_comment_naming_itself(path: Path) -> None:
    """HOUSE-STYLE rule 3: each mapping file opens with a comment documenting its vocabulary."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"# {path.name}:")


def test_every_mapping_file_loads(knowledge: Knowledge) -> None:
    """All vocabulary files validate into the Knowledge (the session fixture loads them all)."""
    assert knowledge.drugs.by_name("Gefitinib") is not None
    assert knowledge.loinc.entry("http://loinc.org", "33728-7") is not None


def test_corpus_is_large_enough_to_mean_something() -> None:
    """The corpus walk below covers the shared corpus (788 files per SOURCES.md)."""
    assert len(CORPUS_FILES) >= 780


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_normalise_never_raises_on_the_corpus(knowledge: Knowledge, path: Path) -> None:
    """Every public corpus file, as a Bundle's entries or one resource, normalises without raising."""
    result = run(knowledge, entries_of(load(path)), _VERSIONS.get(path.parent.name, FhirVersion.R4))
    assert all(issue.expression and issue.expression.startswith("Bundle.entry[") for issue in result.issues)

"""Shared helpers for the normaliser tests: the real mappings, and corpus / example files read as entries."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.adapters.fhir_in.normalise import Normalised, entries_of, normalise
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge, load_knowledge
from tests.conftest import REPO, SHARED

CORPUS = SHARED / "corpus"
EXAMPLES = SHARED / "examples"
MCODE_DIR = CORPUS / "mcode-ig-4.0.0"
CANON = "http://oncoresponse.org/fhir"
TODAY = date(2026, 11, 28)  # fixed so the 2026-dated examples are never "in the future"


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge(REPO / "mappings")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def entries(*paths: Path) -> list[Entry]:
    """Each file's entries (a Bundle's entries, or the resource itself), renumbered in order."""
    resources = [e for path in paths for e in entries_of(load(path))]
    return [Entry(i, e.full_url, e.resource) for i, e in enumerate(resources)]


def run(
    knowledge: Knowledge, items: list[Entry], version: FhirVersion = FhirVersion.R4, today: date = TODAY
) -> Normalised:
    return normalise(items, knowledge, CANON, version, today=today)


def facts_of(result: Normalised, kind: type[Any]) -> list[Any]:
    return [f for f in result.facts if isinstance(f, kind)]


def errors(result: Normalised) -> list[str]:
    return [f"{i.expression}: {i.diagnostics}" for i in result.issues if i.severity == "error"]

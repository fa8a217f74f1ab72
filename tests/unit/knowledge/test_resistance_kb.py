"""mappings/resistance.yaml: every rule complete, cited, consistent with drugs.yaml and the rules document."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from service.domain.resistance_kb import AlterationKind, FindingCategory
from service.domain.rules import Rule
from service.knowledge import MappingError, load_knowledge
from tests.conftest import REPO, SHARED

KNOWLEDGE = load_knowledge(REPO / "mappings")
KB = KNOWLEDGE.resistance.to_domain()
RULES_DOCUMENT = SHARED / "design" / "CLINICAL-RULES.md"


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", target)
    return target


def test_every_rule_has_mechanism_action_tier_and_citation() -> None:
    """Each entry names a mechanism, at least one action, an indicative tier and at least one reference."""
    for rule in KB.rules:
        assert rule.mechanism and rule.actions and rule.tier and rule.citations, rule.rule
        assert all(1 <= n <= 70 for n in rule.citations), rule.rule  # section 9 has [1]-[70] since 0.2


def test_every_x_rule_of_section_5_is_present() -> None:
    """X1-X28 all have at least one entry, as a rule or as standard options (X24-X28 name no alteration)."""
    named = {r.rule for r in KB.rules} | {o.rule for o in KB.standard_options}
    assert named == {Rule(f"X{n}") for n in range(1, 29)} | {Rule.A8}


def test_citations_exist_in_the_rules_document() -> None:
    """Every cited number is a numbered reference of CLINICAL-RULES.md section 9."""
    if not RULES_DOCUMENT.exists():
        pytest.skip("the shared design documents are not mounted")
    references = section_9_numbers(RULES_DOCUMENT.read_text(encoding="utf-8"))
    assert {n for rule in KB.rules for n in rule.citations} <= references


def section_9_numbers(text: str) -> set[int]:
    section = text.split("## 9. References", 1)[1]
    return {int(n) for n in re.findall(r"^(\d+)\. ", section, flags=re.MULTILINE)}


def test_therapy_classes_are_drug_classes() -> None:
    """Therapy classes are drugs.yaml class ids, and each has at least one drug (X16, X18, X19 had none, so
    they could never fire)."""
    known = {c.id for c in KNOWLEDGE.drugs.classes}
    named = {c for r in KB.rules for c in r.therapy_classes} | {
        c for d in KB.drivers for c in d.therapy_classes
    }
    assert named <= known
    assert named <= {d.class_ for d in KNOWLEDGE.drugs.drugs}


def test_mechanism_codes_of_the_contract_are_present() -> None:
    """The mechanism codes FHIR-CONTRACT.md section 4 names are all emitted by some rule."""
    contract = {
        "EGFR-T790M",
        "EGFR-C797S-CIS",
        "MET-AMP",
        "MET-AMP-HIGH",
        "ERBB2-AMP",
        "SCLC-TRANSFORMATION",
        "ALK-G1202R",
    }
    assert contract <= {r.mechanism for r in KB.rules}


def test_amplification_rules_need_tissue_and_histology_rules_are_tissue_only() -> None:
    """K9/K15: plasma is weak for copy number, so only X22 (a finding to confirm) reads a plasma gain."""
    for rule in KB.rules:
        if rule.alteration.kind in (AlterationKind.AMPLIFICATION, AlterationKind.HISTOLOGY):
            to_confirm = rule.category is FindingCategory.TO_CONFIRM
            assert ("liquid" in rule.samples) is to_confirm, rule.rule
            assert to_confirm is (rule.rule is Rule.X22), rule.rule


def test_supersedes_names_a_mechanism_of_the_same_rule() -> None:
    """MET-AMP-HIGH supersedes MET-AMP (X6, X21); ROS1-G2032R supersedes other ROS1 mutations (X15, X23)."""
    for rule in KB.rules:
        for lower in rule.supersedes:
            assert lower in {o.mechanism for o in KB.rules}


def test_version_is_reported() -> None:
    """The knowledge base carries a calendar version, like knowledge-base.yaml."""
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d+", KB.version)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("id: X1\n", "id: K1\n", "id must be one of X1-X28"),
        (
            "driver: EGFR-sensitising\n    therapy_classes: [egfr-tki-1st-generation, egfr-tki-2nd",
            "driver: nobody\n    therapy_classes: [egfr-tki-1st-generation, egfr-tki-2nd",
            "driver 'nobody' is not in drivers",
        ),
        ("citations: [26, 27, 17, 18]", "citations: []", "at least 1 item"),
        ("tier: I-A\n    oncokb", "tier: great\n    oncokb", "should match pattern"),
        (
            "{code: switch-therapy, drugs: [osimertinib], a_rule: A4,",
            "{code: switch-therapy, drugs: [Osimertinib], a_rule: A4,",
            "lower-case INNs",
        ),
        (
            "{code: switch-therapy, drugs: [osimertinib], a_rule: A4,",
            "{code: switch-therapy, drugs: [osimertinib], a_rule: X4,",
            "one of A0-A13",
        ),
        (
            "{code: switch-therapy, drugs: [osimertinib], a_rule: A4,",
            "{code: swap, drugs: [osimertinib], a_rule: A4,",
            "Input should be",
        ),
        (
            "a_rule: A4, tier: I-A, label: randomised-phase-3, jurisdiction: standard-approved}",
            "a_rule: A4, tier: I-A, label: randomised-phase-3}",
            "states its tier, label and jurisdiction (C9)",
        ),
        ("drivers: [EGFR-sensitising]\n", "drivers: [nobody]\n", "drivers ['nobody'] are not in drivers"),
        ("  - id: X27\n    drivers", "  - id: K1\n    drivers", "id must be one of X1-X28 or A8"),
        ("genes: [EGFR], protein: [T790M]}", "genes: [egfr], protein: [T790M]}", "upper case"),
        ("genes: [EGFR], protein: [T790M]}", "genes: [EGFR]}", "lacks what it is matched on"),
        (
            'protein: ["class:ex19del", L858R',
            'protein: ["class:ex19", L858R',
            "drivers[0]: unknown variant class",
        ),
        (
            "alteration: {kind: mutation, genes: [BRAF], protein: [V600E]}\n    samples",
            'alteration: {kind: mutation, genes: [BRAF], protein: ["class:nope"]}\n    samples',
            "unknown variant class",
        ),
    ],
)
def test_invalid_entries_are_named(mappings: Path, old: str, new: str, problem: str) -> None:
    """A broken entry stops loading with the file, the entry and the problem."""
    path = mappings / "resistance.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MappingError, match=r"resistance\.yaml") as err:
        load_knowledge(mappings)
    assert problem in err.value.problem

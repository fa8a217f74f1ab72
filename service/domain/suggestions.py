"""Care suggestions: the codes of ``CANON/CodeSystem/care-suggestion`` (FHIR-CONTRACT.md section 5).

A suggestion is a proposal for a clinician (CarePlan ``draft`` / ``proposal``); it names the rules that led to
it (A-IDs of CLINICAL-RULES.md section 6 and the X-, K- or P-rules behind them) so the report can explain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.domain.rules import Rule


class CareSuggestion(StrEnum):
    CONTINUE_CURRENT_THERAPY = "continue-current-therapy"
    REMEASURE_OR_REPEAT_IMAGING = "remeasure-or-repeat-imaging"
    CONFIRM_PROGRESSION_IMAGING = "confirm-progression-imaging"
    LIQUID_BIOPSY_CTDNA = "liquid-biopsy-ctdna"
    TISSUE_REBIOPSY = "tissue-rebiopsy"
    SWITCH_THERAPY = "switch-therapy"
    ADD_TARGETED_AGENT = "add-targeted-agent"
    LOCAL_ABLATIVE_THERAPY = "local-ablative-therapy"
    HISTOLOGY_DIRECTED_CHEMOTHERAPY = "histology-directed-chemotherapy"
    CLINICAL_TRIAL_REFERRAL = "clinical-trial-referral"
    URGENT_CLINICAL_REVIEW = "urgent-clinical-review"
    MDT_TRIAL_CONSIDERATION = "mdt-trial-consideration"  # A10 (CLINICAL-RULES.md 0.2)
    CLINICAL_REVIEW = "clinical-review"  # A13, not urgent


# A suggestion that names a specific targeted agent for the alteration found (A4, A5): "actionable" in the
# sense of CLINICAL-RULES.md section 6 step 5.
TARGETED = frozenset({CareSuggestion.SWITCH_THERAPY, CareSuggestion.ADD_TARGETED_AGENT})


@dataclass(frozen=True, slots=True)
class SuggestedAction:
    """One care suggestion, its drugs (lower-case INN; a regimen lists all its drugs, C9), a note for the
    report, the rules behind it, and for a switch, add-on, histology-directed or A10 suggestion its indicative
    evidence tier (section 5), evidence label and jurisdiction label (ids of texts.yaml ``evidence-label.*``
    and ``jurisdiction.*``, Z6)."""

    code: CareSuggestion
    drugs: tuple[str, ...]
    note: str | None
    rules: tuple[Rule, ...]
    tier: str | None = None
    label: str | None = None
    jurisdiction: str | None = None

    @property
    def targeted(self) -> bool:
        return self.code in TARGETED and bool(self.drugs)

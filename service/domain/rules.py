"""Rule IDs and flag names from CLINICAL-RULES.md, as enums so a typo is a type error, not a silent miss.

Both become FHIR codes later (``CANON/CodeSystem/assessment-flag``), so the values are exactly the names in
the rules document. Other evaluations (markers, resistance, patterns) add their own members here.
"""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    """A rule of CLINICAL-RULES.md that contributed to a result.

    The document names Tables 1 and 2 of RECIST 1.1 only as "O = overall time point" without numbering
    them; ``O1`` is Table 1 (target disease) and ``O2`` is Table 2 (non-target disease only).
    """

    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4 = "M4"
    M5 = "M5"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"
    S5 = "S5"
    S6 = "S6"
    S7 = "S7"
    S8 = "S8"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"
    T7 = "T7"
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"
    N4 = "N4"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    O1 = "O1"
    O2 = "O2"
    B1 = "B1"
    B2 = "B2"
    B3 = "B3"
    B4 = "B4"
    B5 = "B5"
    I1 = "I1"
    I2 = "I2"
    I3 = "I3"
    I4 = "I4"
    I5 = "I5"
    I6 = "I6"
    I7 = "I7"
    I8 = "I8"
    V1 = "V1"
    V2 = "V2"
    V3 = "V3"
    V4 = "V4"


class Flag(StrEnum):
    """A named finding for a clinician to review; flags never change a response category by themselves."""

    # Not named in CLINICAL-RULES.md (FHIR-CONTRACT.md section 3 only says "says so in a flag").
    TARGETS_SELECTED_BY_SERVICE = "TARGETS_SELECTED_BY_SERVICE"
    TARGET_PR_CARRIED_FORWARD = "TARGET_PR_CARRIED_FORWARD"
    NODAL_CR_PD_CONFLICT = "NODAL_CR_PD_CONFLICT"
    EQUIVOCAL_NEW_LESION = "EQUIVOCAL_NEW_LESION"
    REVIEW_CR_VALIDITY = "REVIEW_CR_VALIDITY"
    NOT_CLINICALLY_STABLE = "NOT_CLINICALLY_STABLE"
    WITHIN_MEASUREMENT_ERROR = "WITHIN_MEASUREMENT_ERROR"
    BORDERLINE_PD = "BORDERLINE_PD"
    MEASUREMENT_CONTEXT_CHANGED = "MEASUREMENT_CONTEXT_CHANGED"
    SMALL_LESION_VARIABILITY = "SMALL_LESION_VARIABILITY"

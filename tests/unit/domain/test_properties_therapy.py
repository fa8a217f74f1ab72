"""Properties (hypothesis) of the suggestion set and of the therapy context (issue 14).

(a) Over generated candidate sets, flags and contexts, the coherent set never holds a pair C1-C6 exclude,
    never a drug the patient progressed on outside A10 (C7), never a continue off treatment (R6) or local
    therapy without oligoprogression (P2, P6, P7), never loses A3 or a trial referral, and records every
    candidate it removed.
(b) Over generated medication histories run through ``assess()`` with a fixed imaging timeline, adding any
    number of supportive-drug records (R3) never changes the response, the progression status, the
    baseline, the lines or the suggestions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain import facts as f
from service.domain.assess import NotAssessableError, Policy, assess
from service.domain.assessment import Assessment
from service.domain.coherence import NEVER_REMOVED, CoherenceContext, CoherentSuggestions, coherent
from service.domain.model import LesionRole, LesionStatus
from service.domain.readings import ReadingThresholds
from service.domain.rules import Flag, Rule
from service.domain.suggestions import CareSuggestion as C
from service.domain.suggestions import SuggestedAction
from service.domain.timeline import PatientFacts
from service.knowledge import load_knowledge
from tests.conftest import REPO
from tests.unit.domain.fact_builders import DAY_0, PATIENT, day

# --- (a) the coherence rules over generated candidate sets ---------------------------------------------

DRUGS = ("osimertinib", "gefitinib", "savolitinib", "carboplatin", "pemetrexed", "amivantamab", "etoposide")
A_RULES = (Rule.A0, Rule.A1, Rule.A2, Rule.A3, Rule.A4, Rule.A5, Rule.A6, Rule.A7, Rule.A8, Rule.A10)
A_RULES += (Rule.A11, Rule.A12, Rule.A13)
FLAGS = (
    Flag.OLIGOPROGRESSION,
    Flag.CNS_OLIGOPROGRESSION,
    Flag.SYSTEMIC_PROGRESSION,
    Flag.LEPTOMENINGEAL_PROGRESSION,
    Flag.NOT_CLINICALLY_STABLE,
    Flag.TRANSFORMATION_SUSPECTED,
    Flag.PS_POOR,
)
CONTINUE = C.CONTINUE_CURRENT_THERAPY
NEW_LINE = {C.URGENT_CLINICAL_REVIEW, C.SWITCH_THERAPY, C.HISTOLOGY_DIRECTED_CHEMOTHERAPY}

drug_lists = st.lists(st.sampled_from(DRUGS), max_size=3, unique=True).map(tuple)
DRUG_CODES = {
    C.SWITCH_THERAPY,
    C.ADD_TARGETED_AGENT,
    C.HISTOLOGY_DIRECTED_CHEMOTHERAPY,
    C.MDT_TRIAL_CONSIDERATION,
}


@st.composite
def actions(draw: st.DrawFn) -> SuggestedAction:
    """A candidate as a source makes it: drugs only on the codes that name drugs (C9)."""
    code = draw(st.sampled_from(list(C)))
    drugs = draw(drug_lists) if code in DRUG_CODES else ()
    a_rules = draw(st.lists(st.sampled_from(A_RULES), min_size=1, max_size=2, unique=True))
    return SuggestedAction(code, drugs, None, tuple(a_rules))


contexts = st.builds(
    CoherenceContext,
    flags=st.frozensets(st.sampled_from(FLAGS)),
    off_treatment=st.booleans(),
    progressed_on=st.frozensets(st.sampled_from(DRUGS), max_size=3),
    transformation_confirmed=st.booleans(),
    on_target=st.booleans(),
    matched_switch=st.one_of(st.just(()), drug_lists),
)


def present(result: CoherentSuggestions) -> set[C]:
    return {a.code for a in result.kept}


@given(st.lists(actions(), max_size=10), contexts)
@settings(max_examples=400, deadline=None)
def test_no_suggestion_set_holds_a_pair_the_coherence_rules_exclude(
    candidates: list[SuggestedAction], context: CoherenceContext
) -> None:
    """C1-C7, R6 and A6: whatever the candidates and the context, the set is coherent."""
    result = coherent(candidates, context)
    codes = present(result)
    assert not (CONTINUE in codes and codes & NEW_LINE)  # C1 (and C2's continue part)
    if Flag.NOT_CLINICALLY_STABLE in context.flags:  # C3
        assert C.URGENT_CLINICAL_REVIEW in codes and CONTINUE not in codes
    assert context.transformation_confirmed or C.HISTOLOGY_DIRECTED_CHEMOTHERAPY not in codes  # C4
    if context.transformation_confirmed:  # C5
        assert not codes & {C.SWITCH_THERAPY, C.ADD_TARGETED_AGENT, C.LOCAL_ABLATIVE_THERAPY, CONTINUE}
    assert not (context.on_target and C.ADD_TARGETED_AGENT in codes)  # C6
    for action in result.kept:  # C7: a drug progressed on only inside an A10
        assert action.code is C.MDT_TRIAL_CONSIDERATION or not context.progressed_on & set(action.drugs)
    assert not (context.off_treatment and CONTINUE in codes)  # R6
    local = context.flags & {Flag.OLIGOPROGRESSION, Flag.CNS_OLIGOPROGRESSION}
    diffuse = context.flags & {Flag.LEPTOMENINGEAL_PROGRESSION, Flag.SYSTEMIC_PROGRESSION}
    assert (local and not diffuse) or C.LOCAL_ABLATIVE_THERAPY not in codes  # P2, P6, P7


@given(st.lists(actions(), max_size=10), contexts)
@settings(max_examples=300, deadline=None)
def test_nothing_is_dropped_silently_and_work_up_and_trials_always_stay(
    candidates: list[SuggestedAction], context: CoherenceContext
) -> None:
    """Every candidate is kept or recorded with its rule; A3 and trial referral are never removed; the
    set is already coherent (running the rules again changes nothing); it is in table 6.2 rank order."""
    result = coherent(candidates, context)
    kept = {(a.code, a.drugs) for a in result.kept}
    gone = {(d.action.code, d.action.drugs) for d in result.dropped}
    assert {(a.code, a.drugs) for a in candidates} <= kept | gone
    assert {(a.code, a.drugs) for a in candidates if a.code in NEVER_REMOVED} <= kept
    assert all(d.rule.value[0] in "CRP" for d in result.dropped)
    assert coherent(result.kept, context).kept == result.kept
    assert len(kept) == len(result.kept)  # one suggestion per code and drug list (C9)


# --- (b) supportive drugs never change the assessment --------------------------------------------------

KNOWLEDGE = load_knowledge(REPO / "mappings")
MARKERS = KNOWLEDGE.markers
POLICY = Policy(
    KNOWLEDGE.response.thresholds(),
    ReadingThresholds(
        MARKERS.cea.to_domain(),
        MARKERS.ctdna.to_domain(),
        MARKERS.performance_status.to_domain(),
        KNOWLEDGE.patterns.to_domain(),
    ),
    KNOWLEDGE.resistance.to_domain(),
    KNOWLEDGE.version,
    KNOWLEDGE.drugs.roles,
)
AS_OF = day(250)
ANTINEOPLASTIC = ("osimertinib", "gefitinib", "carboplatin", "pemetrexed", "pembrolizumab", "savolitinib")
SUPPORTIVE = ("dexamethasone", "prednisone", "ondansetron", "pegfilgrastim", "denosumab", "amoxicillin")
STATUSES = ("active", "completed", "stopped", "on-hold", "unknown", "entered-in-error", "cancelled", "draft")
STATUSES += ("not-taken", "intended", "not-done", "in-progress", "recorded")
INTENTS = ("order", "plan", "proposal", "option", None)
# Lung 20 + liver 25 + adrenal 22 (T44's lesions), scanned from day -7 every 8 weeks; the adrenal grows.
SCANS = {-7: (20, 25, 22), 49: (14, 17, 18), 105: (12, 15, 18), 161: (12, 15, 33), 217: (12, 14, 40)}


def drug_class(drug: str) -> str:
    known = KNOWLEDGE.drugs.by_name(drug)
    return known.class_ if known else "antibacterial"  # amoxicillin: J01, known by its ATC group only


@st.composite
def records(draw: st.DrawFn, drugs: tuple[str, ...]) -> f.TherapyFact:
    """One medication record with a random kind, status, intent and dates (R1, R2)."""
    drug = draw(st.sampled_from(drugs))
    kind = draw(st.sampled_from(list(f.TherapyRecordKind)))
    start = draw(st.one_of(st.none(), st.integers(-400, 260).map(day)))
    length = draw(st.one_of(st.none(), st.integers(0, 300)))
    serial = draw(st.integers(0, 10**6))
    return f.TherapyFact(
        patient=PATIENT,
        source=f"{kind.value}/{drug}-{serial}",
        record=kind,
        drug=drug,
        drug_class=drug_class(drug),
        codes=(),
        status=draw(st.sampled_from(STATUSES)),
        started_on=start,
        ended_on=start + dt.timedelta(days=length) if start and length is not None else None,
        authored_on=draw(st.one_of(st.none(), st.integers(-400, 260).map(day))),
        intent=draw(st.sampled_from(INTENTS)) if kind is f.TherapyRecordKind.REQUEST else None,
        groups=tuple(draw(st.lists(st.sampled_from(["g1", "g2"]), max_size=1))),
    )


def lesion(name: str, on: int, size: int) -> f.LesionObservation:
    return f.LesionObservation(
        PATIENT,
        f"Observation/{name}-{on}",
        f"lesion|{name}",
        None,
        day(on),
        None,
        f"study-{on}",
        f.TimepointBasis.IMAGING_STUDY,
        Decimal(size),
        None,
        (),
        False,
        LesionRole.TARGET,
        LesionStatus.PRESENT,
        None,
        None,
        "CT",
    )


LESIONS = tuple(
    lesion(name, on, size)
    for on, sizes in SCANS.items()
    for name, size in zip(("lung", "liver", "adrenal"), sizes, strict=True)
)
BACKBONE = f.TherapyFact(
    PATIENT, "MedicationRequest/osimertinib", f.TherapyRecordKind.REQUEST, "osimertinib",
    drug_class("osimertinib"), (), "active", DAY_0, None, None, "order",
)  # fmt: skip


def outcome(therapies: list[f.TherapyFact]) -> tuple[object, ...]:
    """What a supportive drug must never change (R3): response, status, baseline, lines, suggestions."""
    facts = PatientFacts.of([*LESIONS, *therapies]).up_to(AS_OF)
    try:
        a: Assessment = assess(PATIENT, facts, AS_OF, POLICY)
    except NotAssessableError as error:
        return ("not assessable", str(error))
    lines = tuple((line.drugs, line.started_on, line.outcome) for line in a.therapy.lines)
    return (a.response_category, a.progression, a.sums[0], a.criteria, lines, a.suggestions, a.dropped)


@given(
    st.lists(records(ANTINEOPLASTIC), max_size=4),
    st.lists(records(SUPPORTIVE), min_size=1, max_size=6),
    st.booleans(),
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_supportive_drugs_never_change_the_assessment(
    history: list[f.TherapyFact], supportive: list[f.TherapyFact], with_backbone: bool
) -> None:
    """R3: dexamethasone, prednisone, ondansetron, pegfilgrastim, denosumab and antibiotics, whatever their
    status, intent and dates, never define, end or reset a line, so nothing the report says changes."""
    base = [BACKBONE, *history] if with_backbone else history
    assert outcome([*base, *supportive]) == outcome(base)

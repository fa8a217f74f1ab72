"""Therapy context (CLINICAL-RULES.md section 10, R1-R11): medication records → lines of therapy.

The drug classes and roles are the committed drugs.yaml, so these tests check the data as well as the model.
"""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_R7_...), as issue 14 asks

from __future__ import annotations

import datetime as dt

import pytest

from service.domain import facts as f
from service.domain.rules import Flag, Rule
from service.domain.therapy_lines import (
    DrugRole,
    LineOutcome,
    ProgressionFinder,
    TherapyContext,
    therapy_context,
)
from service.knowledge.drugs import Drugs
from service.knowledge.loader import load_mapping
from tests.conftest import REPO

D = dt.date
DRUGS = load_mapping(REPO / "mappings" / "drugs.yaml", Drugs)
AS_OF = D(2025, 6, 1)
Kind = f.TherapyRecordKind


def record(  # one argument per element a sender fills in
    drug: str,
    start: dt.date | None,
    *,
    status: str = "active",
    intent: str | None = "order",
    kind: Kind = Kind.REQUEST,
    end: dt.date | None = None,
    authored: dt.date | None = None,
    groups: tuple[str, ...] = (),
    source: str | None = None,
) -> f.TherapyFact:
    known = DRUGS.by_name(drug)
    return f.TherapyFact(
        patient="Patient/p",
        source=source or f"{kind.value}/{drug}-{start or authored}-{status}",
        record=kind,
        drug=drug,
        drug_class=known.class_ if known else "unmapped",
        codes=(),
        status=status,
        started_on=start,
        ended_on=end,
        authored_on=authored,
        intent=intent if kind is Kind.REQUEST else None,
        groups=groups,
    )


def no_pd(start: dt.date, until: dt.date) -> dt.date | None:
    return None


def pd_on(day: dt.date) -> ProgressionFinder:
    """A PD dated ``day``: found by any line that started before it and looks that far."""
    return lambda start, until: day if start < day <= until else None


def context(
    *records: f.TherapyFact, as_of: dt.date = AS_OF, progression: ProgressionFinder = no_pd
) -> TherapyContext:
    return therapy_context(records, DRUGS.roles, as_of, progression)


def test_R1_start_is_the_dosage_bounds_else_authored_on() -> None:
    """A request's own start (its dosage bounds, read into started_on) wins over authoredOn."""
    ctx = context(record("osimertinib", D(2025, 1, 20), authored=D(2025, 1, 10)))
    assert ctx.current is not None and ctx.current.started_on == D(2025, 1, 20)
    ctx = context(record("osimertinib", None, authored=D(2025, 1, 10)))
    assert ctx.current is not None and ctx.current.started_on == D(2025, 1, 10)


def test_R1_cycles_within_42_days_are_one_episode() -> None:
    """Repeated completed orders of one drug no more than 42 days apart are one component of one line."""
    cycles = [
        record("carboplatin", D(2025, 1, 1) + dt.timedelta(days=21 * i), status="completed") for i in range(4)
    ]
    ctx = context(*cycles)
    assert len(ctx.lines) == 1 and len(ctx.lines[0].components) == 1
    assert len(ctx.lines[0].components[0].sources) == 4


def test_R1_stopped_without_end_is_flagged_unknown() -> None:
    """A stopped order with no end and no administration: the end is unknown (THERAPY_END_UNKNOWN)."""
    ctx = context(record("gefitinib", D(2024, 1, 1), status="stopped"))
    assert Flag.THERAPY_END_UNKNOWN in ctx.flags
    assert not ctx.active


def test_R1_stopped_order_ends_at_its_last_administration() -> None:
    """A completed order without an end ends at the drug's last administration."""
    ctx = context(
        record("pemetrexed", D(2025, 1, 1), status="completed"),
        record("pemetrexed", D(2025, 2, 10), kind=Kind.ADMINISTRATION, status="completed"),
    )
    assert ctx.current is not None and ctx.current.ended_on == D(2025, 2, 10)
    assert Flag.THERAPY_END_UNKNOWN not in ctx.flags


def test_R1_an_administration_never_closes_an_active_order() -> None:
    """A dose given under an active order dates the episode; the order keeps it running."""
    ctx = context(
        record("osimertinib", D(2025, 1, 1)),
        record("osimertinib", D(2025, 2, 1), kind=Kind.ADMINISTRATION, status="completed"),
    )
    assert ctx.current is not None and ctx.current.ended_on is None and ctx.active


def test_R1_administrations_only_run_while_doses_are_recent() -> None:
    """Infusions every 3 weeks with no order sent: still given 3 weeks after the last dose, not 3 months."""
    doses = [
        record(
            "pembrolizumab",
            D(2025, 1, 1) + dt.timedelta(days=21 * i),
            kind=Kind.ADMINISTRATION,
            status="completed",
        )
        for i in range(4)
    ]
    assert context(*doses, as_of=D(2025, 3, 26)).active
    stopped = context(*doses, as_of=D(2025, 6, 30))
    assert not stopped.active and stopped.current is not None
    assert stopped.current.ended_on == D(2025, 3, 5)


@pytest.mark.parametrize(
    ("status", "intent"),
    [("entered-in-error", "order"), ("cancelled", "order"), ("draft", "order"), ("active", "proposal"),
     ("active", "option"), ("unknown", "plan")],
)  # fmt: skip
def test_R2_orders_that_do_not_count(status: str, intent: str) -> None:
    """T47: erroneous, cancelled, draft, proposed and optional orders never make or change a line."""
    ctx = context(
        record("gefitinib", D(2024, 2, 1)), record("osimertinib", D(2025, 3, 1), status=status, intent=intent)
    )
    assert ctx.current is not None and ctx.current.drugs == ("gefitinib",)
    assert [(i.drug, i.rule) for i in ctx.ignored] == [("osimertinib", Rule.R2)]


def test_R2_statements_not_taken_and_records_after_as_of_are_ignored() -> None:
    """A statement not taken, and anything starting after the assessment date, is set aside."""
    ctx = context(
        record("gefitinib", D(2024, 2, 1), kind=Kind.STATEMENT, status="not-taken"),
        record("erlotinib", D(2025, 7, 1)),
        record("afatinib", D(2024, 2, 1), kind=Kind.ADMINISTRATION, status="not-done"),
    )
    assert ctx.current is None and {i.rule for i in ctx.ignored} == {Rule.R2}


def test_R2_a_plan_counts_when_active() -> None:
    """intent=plan with an active status is therapy."""
    assert context(record("osimertinib", D(2025, 1, 1), intent="plan")).current is not None


def test_R2_on_hold_keeps_the_line() -> None:
    """A hold is not a new line: the drug stays in its line, flagged THERAPY_ON_HOLD."""
    ctx = context(record("osimertinib", D(2025, 1, 1), status="on-hold"))
    assert ctx.current is not None and ctx.current.drugs == ("osimertinib",)
    assert Flag.THERAPY_ON_HOLD in ctx.flags and ctx.active


def test_R3_supportive_drugs_never_define_a_line() -> None:
    """T46: steroids, antiemetics, growth factors, bone agents started later are ignored (R3)."""
    supportive = ["dexamethasone", "ondansetron", "denosumab", "pegfilgrastim", "prednisone"]
    ctx = context(record("osimertinib", D(2025, 1, 10)), *(record(d, D(2025, 4, 2)) for d in supportive))
    assert ctx.current is not None and ctx.current.drugs == ("osimertinib",)
    assert ctx.current.started_on == D(2025, 1, 10)
    assert {i.drug: i.rule for i in ctx.ignored} == dict.fromkeys(supportive, Rule.R3)


def test_R3_supportive_roles_come_from_atc_groups() -> None:
    """An unlisted antibacterial (J01) or corticosteroid (H02) is supportive by its ATC group."""
    atc = DRUGS.systems.atc
    assert DRUGS.roles[DRUGS.atc_group(atc, "J01CA04") or ""] is DrugRole.SUPPORTIVE
    assert DRUGS.roles[DRUGS.atc_group(atc, "H02AB06") or ""] is DrugRole.SUPPORTIVE
    assert DRUGS.roles[DRUGS.atc_group(atc, "L01FF99") or ""] is DrugRole.IMMUNOTHERAPY
    assert DRUGS.roles[DRUGS.atc_group(atc, "L01XX99") or ""] is DrugRole.ANTINEOPLASTIC
    assert DRUGS.atc_group("http://example.org", "L01XX99") is None
    assert DRUGS.atc_group(atc, "Z99") is None


def test_R4_an_unknown_drug_is_flagged_never_a_line() -> None:
    """A record whose drug is not in the knowledge base is flagged UNMAPPED_MEDICATION."""
    ctx = context(record("mystery-mab", D(2025, 1, 1)))
    assert ctx.current is None and Flag.UNMAPPED_MEDICATION in ctx.flags


@pytest.mark.parametrize(
    ("drug", "role"),
    [("lazertinib", DrugRole.TARGETED), ("entrectinib", DrugRole.TARGETED),
     ("amivantamab", DrugRole.TARGETED), ("tislelizumab", DrugRole.IMMUNOTHERAPY),
     ("ipilimumab", DrugRole.IMMUNOTHERAPY),
     ("bevacizumab", DrugRole.ANTIANGIOGENIC), ("gemcitabine", DrugRole.CHEMOTHERAPY),
     ("奥希替尼", DrugRole.TARGETED)],
)  # fmt: skip
def test_R4_classes_of_the_drugs_of_today(drug: str, role: DrugRole) -> None:
    """Entrectinib, lazertinib and amivantamab are known; Chinese generic names are recognised."""
    known = DRUGS.by_name(drug)
    assert known is not None and DRUGS.roles[known.class_] is role


def test_R5_flaura2_is_one_line_with_osimertinib_as_backbone() -> None:
    """T45: osimertinib, then carboplatin + pemetrexed 7 days later: one line, backbone osimertinib."""
    ctx = context(
        record("osimertinib", None, authored=D(2025, 1, 10)),
        record("carboplatin", D(2025, 1, 17)),
        record("pemetrexed", D(2025, 1, 17)),
    )
    line = ctx.current
    assert line is not None and len(ctx.lines) == 1
    assert line.drugs == ("osimertinib", "carboplatin", "pemetrexed")
    assert line.backbone is not None and line.backbone.drug == "osimertinib"
    assert not line.immunotherapy


def test_R5_a_shared_order_group_is_one_line_whatever_the_dates() -> None:
    """Orders with one groupIdentifier form one regimen even 30 days apart."""
    ctx = context(
        record("amivantamab", D(2025, 1, 1), groups=("urn:rg|1",)),
        record("lazertinib", D(2025, 1, 31), groups=("urn:rg|1",)),
    )
    assert len(ctx.lines) == 1 and ctx.current is not None
    assert ctx.current.backbone is not None and ctx.current.backbone.drug == "amivantamab"


def test_R6_off_treatment_when_every_component_ended() -> None:
    """The last line still gives the context, but it is not active."""
    ctx = context(record("gefitinib", D(2024, 1, 1), status="completed", end=D(2024, 12, 1)))
    assert ctx.current is not None and not ctx.active
    assert ctx.current.outcome is LineOutcome.COMPLETED


def test_R7_a_new_drug_after_pd_is_a_new_line() -> None:
    """T48: gefitinib stopped after PD, osimertinib started: two lines; gefitinib progressed."""
    ctx = context(
        record("gefitinib", D(2023, 3, 1), status="stopped", end=D(2024, 6, 10)),
        record("osimertinib", D(2024, 6, 20)),
        progression=pd_on(D(2024, 5, 2)),
    )
    assert [line.drugs for line in ctx.lines] == [("gefitinib",), ("osimertinib",)]
    assert ctx.prior[0].outcome is LineOutcome.PROGRESSED and ctx.prior[0].progression_on == D(2024, 5, 2)
    assert ctx.progressed_on == {"gefitinib"}
    assert Flag.SWITCH_WITHOUT_PD not in ctx.flags
    assert {Rule.R7, Rule.R11} <= set(ctx.rules)


def test_R7_a_switch_without_pd_is_flagged() -> None:
    """Every component stopped around the new drug's start and no PD: a new line, SWITCH_WITHOUT_PD."""
    ctx = context(
        record("gefitinib", D(2024, 1, 1), status="stopped", end=D(2024, 3, 1)),
        record("afatinib", D(2024, 3, 5)),
    )
    assert len(ctx.lines) == 2 and Flag.SWITCH_WITHOUT_PD in ctx.flags
    assert ctx.prior[0].outcome is LineOutcome.STOPPED_TOXICITY
    assert not ctx.progressed_on


def test_R7_adding_a_drug_after_pd_is_a_new_line_with_the_same_backbone() -> None:
    """Osimertinib → osimertinib + savolitinib after PD: a new line whose backbone is still osimertinib."""
    ctx = context(
        record("osimertinib", D(2024, 1, 1)),
        record("savolitinib", D(2025, 2, 1)),
        progression=pd_on(D(2025, 1, 10)),
    )
    assert len(ctx.lines) == 2 and ctx.current is not None
    assert ctx.current.drugs == ("osimertinib", "savolitinib")
    assert ctx.current.started_on == D(2025, 2, 1)
    assert ctx.current.backbone is not None and ctx.current.backbone.drug == "osimertinib"
    assert "osimertinib" in ctx.progressed_on


def test_R11_a_completed_line_replaced_without_pd_is_completed() -> None:
    """Four completed cycles of carboplatin-pemetrexed, then docetaxel months later without PD."""
    ctx = context(
        record("carboplatin", D(2024, 1, 1), status="completed", end=D(2024, 3, 4)),
        record("pemetrexed", D(2024, 1, 1), status="completed", end=D(2024, 3, 4)),
        record("docetaxel", D(2024, 9, 1)),
    )
    assert ctx.prior[0].outcome is LineOutcome.COMPLETED and not ctx.progressed_on
    assert ctx.prior[0].sources == (
        "request/carboplatin-2024-01-01-completed",
        "request/pemetrexed-2024-01-01-completed",
    )


def test_R7_a_partner_added_without_pd_joins_the_line() -> None:
    """Bevacizumab added to a continuing line without PD is no new line and resets nothing."""
    ctx = context(record("erlotinib", D(2025, 1, 1)), record("bevacizumab", D(2025, 3, 1)))
    assert len(ctx.lines) == 1 and ctx.current is not None
    assert ctx.current.started_on == D(2025, 1, 1)


def test_R8_met_tki_is_the_partner_of_an_egfr_backbone() -> None:
    """Osimertinib + savolitinib started together: the resistance context is osimertinib."""
    ctx = context(record("osimertinib", D(2025, 1, 1)), record("savolitinib", D(2025, 1, 1)))
    assert ctx.current is not None and ctx.current.backbone is not None
    assert ctx.current.backbone.drug == "osimertinib"


def test_R9_an_ici_with_chemotherapy_selects_irecist_and_amivantamab_does_not() -> None:
    """T49: pembrolizumab + carboplatin + pemetrexed contains an ICI; amivantamab is not one."""
    ici = context(*(record(d, D(2025, 2, 3)) for d in ("pembrolizumab", "carboplatin", "pemetrexed")))
    assert ici.current is not None and ici.current.immunotherapy and ici.current.backbone is None
    ami = context(record("amivantamab", D(2025, 2, 3)), record("lazertinib", D(2025, 2, 3)))
    assert ami.current is not None and not ami.current.immunotherapy


def test_R9_an_ici_in_a_previous_line_does_not_count() -> None:
    """Pembrolizumab that progressed, then docetaxel: the current line has no ICI."""
    ctx = context(
        record("pembrolizumab", D(2024, 1, 1), status="stopped", end=D(2024, 9, 1)),
        record("docetaxel", D(2024, 9, 10)),
        progression=pd_on(D(2024, 8, 20)),
    )
    assert ctx.current is not None and not ctx.current.immunotherapy


def test_R11_the_last_line_progressed_when_pd_falls_within_28_days_of_its_end() -> None:
    """A PD 20 days after the last line ended is progression on it."""
    ctx = context(
        record("gefitinib", D(2024, 1, 1), status="stopped", end=D(2025, 1, 1)),
        progression=pd_on(D(2025, 1, 21)),
    )
    assert ctx.current is not None and ctx.current.outcome is LineOutcome.PROGRESSED
    assert ctx.progressed_on == {"gefitinib"}


def test_no_records_no_lines() -> None:
    """Without medication there is no line and no therapy rule."""
    ctx = context()
    assert ctx.current is None and ctx.started_on is None and ctx.rules == () and not ctx.active

"""The therapy context's types (CLINICAL-RULES.md section 10): drug roles, lines and their components, the
records set aside, and the context an assessment takes (R6, R8, R9, R11). Built by ``therapy_lines.py``
from the records ``therapy_records.py`` keeps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from service.domain.rules import Flag, Rule

UNMAPPED = "unmapped"  # the drugs.yaml class of a record whose drug is not known (R4)


class DrugRole(StrEnum):
    """What a drug class is in a line (drugs.yaml ``classes[].role``)."""

    TARGETED = "targeted"
    IMMUNOTHERAPY = "immunotherapy"
    CHEMOTHERAPY = "chemotherapy"
    ANTIANGIOGENIC = "antiangiogenic"
    ANTINEOPLASTIC = "antineoplastic"
    SUPPORTIVE = "supportive"
    UNMAPPED = "unmapped"


class LineOutcome(StrEnum):
    """R11: how a line ended (``ongoing`` while it runs)."""

    ONGOING = "ongoing"
    PROGRESSED = "progressed"
    STOPPED_TOXICITY = "stopped-toxicity"
    COMPLETED = "completed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Component:
    """One drug of a line: an episode of its records (R1)."""

    drug: str
    drug_class: str
    role: DrugRole
    started_on: dt.date
    ended_on: dt.date | None  # None: still given on ``as_of``
    on_hold: bool
    sources: tuple[str, ...]
    groups: frozenset[str] = frozenset()
    completed: bool = False  # every record of the episode says ``completed``


@dataclass(frozen=True, slots=True)
class TherapyLine:
    """A line of therapy: its components, dates and outcome; ``backbone`` is the resistance context (R8)."""

    number: int
    components: tuple[Component, ...]
    started_on: dt.date
    outcome: LineOutcome = LineOutcome.ONGOING
    progression_on: dt.date | None = None
    switch_without_pd: bool = False

    @property
    def drugs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.drug for c in self.components))

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for c in self.components for s in c.sources))

    @property
    def ended_on(self) -> dt.date | None:
        ends = [c.ended_on for c in self.components]
        return None if any(e is None for e in ends) else max(e for e in ends if e is not None)

    @property
    def backbone(self) -> Component | None:
        """R8: the targeted component; an EGFR-MET bispecific antibody leads its line (X28), a MET TKI
        added to another targeted drug is its partner (osimertinib + savolitinib is "EGFR; osimertinib")."""
        targeted = [c for c in self.components if c.role is DrugRole.TARGETED]
        return min(targeted, key=lambda c: (_backbone_rank(c.drug_class), c.started_on), default=None)

    @property
    def immunotherapy(self) -> bool:
        """R9: the line contains an immune checkpoint inhibitor (amivantamab is not one: its class is
        targeted)."""
        return any(c.role is DrugRole.IMMUNOTHERAPY for c in self.components)

    @property
    def on_hold(self) -> bool:
        return any(c.on_hold for c in self.components)


def _backbone_rank(drug_class: str) -> int:
    if drug_class == "egfr-met-bispecific-antibody":
        return 0
    return 2 if drug_class.startswith("met-tki") else 1


@dataclass(frozen=True, slots=True)
class IgnoredRecord:
    """A medication record that did not count, and the rule that set it aside (R12)."""

    source: str
    drug: str
    rule: Rule
    reason: str


@dataclass(frozen=True, slots=True)
class TherapyContext:
    """The lines up to ``as_of``: the current (last) one, the ones before it, and what was ignored."""

    lines: tuple[TherapyLine, ...] = ()
    ignored: tuple[IgnoredRecord, ...] = ()
    flags: tuple[Flag, ...] = ()
    active: bool = False  # R6: a component of the last line is active, on hold or covers ``as_of``

    @property
    def current(self) -> TherapyLine | None:
        return self.lines[-1] if self.lines else None

    @property
    def prior(self) -> tuple[TherapyLine, ...]:
        return self.lines[:-1]

    @property
    def started_on(self) -> dt.date | None:
        return self.current.started_on if self.current else None

    @property
    def progressed_on(self) -> frozenset[str]:
        """R11: every drug of a line the patient progressed on."""
        return frozenset(
            d for line in self.lines if line.outcome is LineOutcome.PROGRESSED for d in line.drugs
        )

    @property
    def rules(self) -> tuple[Rule, ...]:
        used = [Rule.R1, Rule.R2, Rule.R5, Rule.R6] if self.lines else []
        used += [r.rule for r in self.ignored]
        used += [Rule.R7, Rule.R10, Rule.R11] if len(self.lines) > 1 else []
        return tuple(dict.fromkeys(used))


# A PD dated on a line: (line start, up to) → the first PD date after the start and on or before ``up to``.
ProgressionFinder = Callable[[dt.date, dt.date], dt.date | None]

"""Patient identification for the report page and ``presentedForm`` (issue 18): the name, identifiers, birth
date and gender as the sender posted them in the Patient resource (the page), or the identifiers alone (the
stored ``presentedForm``); the patient's reference when no identifier was posted. Shown only in the HTML,
never logged, and never cached."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape  # not markup.escape: no name or identifier is kept in its cache
from typing import Any

# Names and identifiers are shown as posted, never translated (HTML's translate="no"; CLINICAL-RULES Z2 is
# about the service's words, not the sender's data).
_AS_POSTED = ' translate="no"'


@dataclass(frozen=True, slots=True)
class PatientBanner:
    name: str | None
    identifiers: tuple[str, ...]
    birth_date: str | None
    gender: str | None

    @classmethod
    def of(cls, patient: dict[str, Any]) -> PatientBanner:
        names = [n for n in patient.get("name", []) if isinstance(n, dict)]
        identifiers = [i for i in patient.get("identifier", []) if isinstance(i, dict) and i.get("value")]
        return cls(
            _name(names[0]) if names else None,
            tuple(_identifier(i) for i in identifiers),
            patient.get("birthDate") if isinstance(patient.get("birthDate"), str) else None,
            patient.get("gender") if isinstance(patient.get("gender"), str) else None,
        )

    @classmethod
    def unknown(cls) -> PatientBanner:
        """No Patient resource at hand: the banner shows the patient's reference as its identifier."""
        return cls(None, (), None, None)

    def identifiers_only(self) -> PatientBanner:
        """The identifiers without name, birth date and gender: for the stored ``presentedForm``, which
        travels further than the page (write-back, subscriptions) and needs no more to be matched."""
        return PatientBanner(None, self.identifiers, None, None)

    def html(self, labels: dict[str, str], reference: str) -> str:
        rows = [
            (labels["name"], self.name),
            (labels["identifier"], ", ".join(self.identifiers) or reference),
            (labels["birth-date"], self.birth_date),
            (labels["gender"], self.gender),
        ]
        verbatim = {labels["name"], labels["identifier"]}
        cells = "".join(
            f"<div><dt>{escape(k)}</dt><dd{_AS_POSTED if k in verbatim else ''}>{escape(v)}</dd></div>"
            for k, v in rows
            if v
        )
        return f'<dl class="patient">{cells}</dl>'


def _name(name: dict[str, Any]) -> str:
    if isinstance(name.get("text"), str):
        return str(name["text"])
    given = " ".join(g for g in name.get("given", []) if isinstance(g, str))
    family = name.get("family") if isinstance(name.get("family"), str) else ""
    return f"{family.upper()}, {given}".strip(", ") if family else given


def _identifier(identifier: dict[str, Any]) -> str:
    kind = identifier.get("type", {}).get("text") if isinstance(identifier.get("type"), dict) else None
    return f"{kind} {identifier['value']}" if kind else str(identifier["value"])

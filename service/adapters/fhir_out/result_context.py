"""What every result builder needs: the Assessment, the knowledge, the language, the FHIR version, and the
deterministic ids of the results (FHIR-CONTRACT.md section 4: the same input gives the same identifiers, so a
resent write-back can never create a duplicate)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import structlog

from service import __version__
from service.adapters.fhir_out.code_systems import code_system_url
from service.domain.assessment import Assessment
from service.knowledge import Knowledge
from service.knowledge.code_systems import CodeRef

Texts = Callable[[str, str], str]
"""(text code, language) → text in that language; raises KeyError for an unknown code."""

SERVICE_NAME = "oncoresponse"
log = structlog.get_logger("service.texts")


@dataclass(frozen=True)
class ResultContext:
    assessment: Assessment
    knowledge: Knowledge
    canonical_base: str
    language: str
    fhir_version: str
    issued: dt.datetime
    texts: Texts

    @property
    def r5(self) -> bool:
        return self.fhir_version.startswith("5")

    @property
    def service_version(self) -> str:
        return __version__

    @cached_property
    def report_key(self) -> str:
        """The value of the ``CANON/report-id`` identifier: patient, time point date and criteria."""
        a = self.assessment
        return f"{a.patient}:{a.time_point.date.isoformat()}:{a.criteria.value}"

    def id_for(self, part: str) -> str:
        """A deterministic resource id: a name-based UUID of the report key and the part it names."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.canon('report-id')}|{self.report_key}|{part}"))

    @cached_property
    def device_id(self) -> str:
        name = f"{self.canon('device')}|{SERVICE_NAME}|{self.service_version}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    def canon(self, path: str) -> str:
        return f"{self.canonical_base.rstrip('/')}/{path}"

    def full_url(self, resource: dict[str, Any]) -> str:
        return self.canon(f"{resource['resourceType']}/{resource['id']}")

    # --- codings -------------------------------------------------------------------------------------

    def canon_coding(self, system_id: str, code: str) -> dict[str, str]:
        """A coding from the service's own CodeSystem; the code must be defined in code-systems.yaml."""
        display = self.knowledge.code_systems.display(system_id, code)
        return {"system": code_system_url(self.canonical_base, system_id), "code": code, "display": display}

    def external_coding(self, ref: CodeRef) -> dict[str, str]:
        code = self.knowledge.output_codes.resolve(ref)
        return {"system": code.system, "code": code.code, "display": code.display}

    def concept(self, system_id: str, code: str) -> dict[str, Any]:
        """A CodeableConcept from a CANON CodeSystem, its text in the requested language."""
        return {"coding": [self.canon_coding(system_id, code)], "text": self.display(system_id, code)}

    # --- texts ---------------------------------------------------------------------------------------

    def text(self, code: str) -> str:
        return self.texts(code, self.language)

    def display(self, system_id: str, code: str) -> str:
        """The display of a coded finding in the language: text ``{system_id}.{code}``; where the texts lack
        it, the English display of code-systems.yaml (a code is never shown without words), but in zh-CN
        never English (CLINICAL-RULES Z2): the key in full-width brackets, logged."""
        try:
            return self.texts(f"{system_id}.{code}", self.language)
        except KeyError:
            if self.language == "en":
                return self.knowledge.code_systems.display(system_id, code)
            return self.missing(f"{system_id}.{code}")

    def translated(self, key: str) -> str:
        """The text of ``key``; without one, the key in full-width brackets (Z2)."""
        try:
            return self.text(key)
        except KeyError:
            return self.missing(key)

    def missing(self, key: str) -> str:
        """Z2: a missing translation is never replaced by English; it is shown as the key in full-width
        brackets and logged as MISSING_TRANSLATION."""
        log.warning("MISSING_TRANSLATION", key=key, language=self.language)
        return f"\uff3b{key}\uff3d"

    # --- references ----------------------------------------------------------------------------------

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": self.assessment.patient}

    @property
    def device_reference(self) -> dict[str, str]:
        return {"reference": f"Device/{self.device_id}", "display": f"{SERVICE_NAME} {self.service_version}"}


def references(sources: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    """``Type/id`` sources as References, each once, in order."""
    return [{"reference": source} for source in dict.fromkeys(sources)]

"""What every result builder needs: the Assessment, the knowledge, the language, the FHIR version, and the
deterministic ids of the results (FHIR-CONTRACT.md section 4: the same input gives the same identifiers, so a
resent write-back can never create a duplicate)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
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
# Observation.derivedFrom may point only at these types (R4 and R5); other inputs go to the Provenance.
DERIVABLE_TYPES = frozenset(
    {
        "Observation",
        "ImagingStudy",
        "DocumentReference",
        "MolecularSequence",
        "QuestionnaireResponse",
        "Media",
    }
)
# Observation first: nearly every source is one, and the first prefix that matches ends the search.
_DERIVABLE_PREFIXES = tuple(f"{t}/" for t in sorted(DERIVABLE_TYPES, key=lambda t: (t != "Observation", t)))
log = structlog.get_logger("service.texts")


@dataclass(slots=True)
class Lookups:
    """What results look up that depends only on the knowledge, the canonical base, the texts and the
    language (issue 19): texts by code (None where there is none), displays of coded findings, the
    service's codings by system and code, and the external codings by the knowledge's reference to them
    (by identity: the entry holds the reference, so its id is not reused while it is there). A context
    has its own unless it is given one; the service's renderer keeps one per language for all its results.
    Each is emptied past ``LIMIT`` entries (codes come from posted data too, e.g. ``site.<SNOMED code>``)."""

    texts: dict[str, str | None] = field(default_factory=dict)
    displays: dict[tuple[str, str], str] = field(default_factory=dict)
    codings: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    externals: dict[int, tuple[CodeRef, dict[str, str]]] = field(default_factory=dict)

    LIMIT = 10_000

    def remember(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        if len(table) >= self.LIMIT:
            table.clear()
        table[key] = value


@dataclass(frozen=True)
class ResultContext:
    assessment: Assessment
    knowledge: Knowledge
    canonical_base: str
    language: str
    fhir_version: str
    issued: dt.datetime
    texts: Texts
    lookups: Lookups = field(default_factory=Lookups, repr=False, compare=False)

    @property
    def r5(self) -> bool:
        return self.fhir_version.startswith("5")

    @property
    def service_version(self) -> str:
        return __version__

    @cached_property
    def issued_text(self) -> str:
        """``issued`` as every resource of the result writes it (made once, not once per resource)."""
        return self.issued.isoformat()

    @cached_property
    def report_key(self) -> str:
        """The value of the ``CANON/report-id`` identifier: patient, time point date and criteria."""
        a = self.assessment
        return f"{a.patient}:{a.time_point.date.isoformat()}:{a.criteria.value}"

    def id_for(self, part: str) -> str:
        """A deterministic resource id: a name-based UUID of the report key and the part it names."""
        return name_uuid(self._id_prefix + part)

    @cached_property
    def _id_prefix(self) -> str:
        return f"{self.canon('report-id')}|{self.report_key}|"

    @cached_property
    def device_id(self) -> str:
        return name_uuid(f"{self.canon('device')}|{SERVICE_NAME}|{self.service_version}")

    @cached_property
    def _base(self) -> str:
        return self.canonical_base.rstrip("/")

    def canon(self, path: str) -> str:
        return f"{self._base}/{path}"

    def full_url(self, resource: dict[str, Any]) -> str:
        return self.canon(f"{resource['resourceType']}/{resource['id']}")

    @cached_property
    def unique_evidence(self) -> tuple[str, ...]:
        """The assessment's evidence, each source once in order: for the Provenance's entities and the
        Observations' ``derivedFrom`` alike (a long history has thousands of sources)."""
        return tuple(dict.fromkeys(self.assessment.evidence))

    @cached_property
    def derivable_evidence(self) -> list[str]:
        """The evidence that ``derivedFrom`` may name, each source once: sifted once for the two
        Observations that name it."""
        return derivable(self.unique_evidence)

    @cached_property
    def derivable_imaging_evidence(self) -> list[str]:
        return derivable(self.assessment.imaging_evidence)

    # --- codings -------------------------------------------------------------------------------------

    def canon_coding(self, system_id: str, code: str) -> dict[str, str]:
        """A coding from the service's own CodeSystem; the code must be defined in code-systems.yaml."""
        found = self.lookups.codings.get((system_id, code))
        if found is None:
            display = self.knowledge.code_systems.display(system_id, code)
            found = (code_system_url(self.canonical_base, system_id), display)
            self.lookups.remember(self.lookups.codings, (system_id, code), found)
        return {"system": found[0], "code": code, "display": found[1]}

    def external_coding(self, ref: CodeRef) -> dict[str, str]:
        found = self.lookups.externals.get(id(ref))
        if found is None or found[0] is not ref:
            code = self.knowledge.output_codes.resolve(ref)
            found = (ref, {"system": code.system, "code": code.code, "display": code.display})
            self.lookups.remember(self.lookups.externals, id(ref), found)
        return dict(found[1])  # a copy: a result's codings are its own

    def concept(self, system_id: str, code: str) -> dict[str, Any]:
        """A CodeableConcept from a CANON CodeSystem, its text in the requested language."""
        return {"coding": [self.canon_coding(system_id, code)], "text": self.display(system_id, code)}

    # --- texts ---------------------------------------------------------------------------------------

    def text(self, code: str) -> str:
        seen = self.lookups.texts
        found = seen[code] if code in seen else self.lookup(code)  # a report's labels: mostly seen before
        if found is None:
            raise KeyError(code)
        return found

    def lookup(self, code: str) -> str | None:
        """The text of ``code`` in the language, None without one (looked up once: see ``Lookups``)."""
        seen = self.lookups.texts
        if code in seen:
            return seen[code]
        try:
            found: str | None = self.texts(code, self.language)
        except KeyError:
            found = None
        self.lookups.remember(seen, code, found)
        return found

    def display(self, system_id: str, code: str) -> str:
        """The display of a coded finding in the language: text ``{system_id}.{code}``; where the texts lack
        it, the English display of code-systems.yaml (a code is never shown without words), but in zh-CN
        never English (CLINICAL-RULES Z2): the key in full-width brackets, logged (each time)."""
        found = self.lookups.displays.get((system_id, code))
        if found is not None:
            return found
        found = self.lookup(f"{system_id}.{code}")
        if found is None:
            if self.language != "en":
                return self.missing(f"{system_id}.{code}")
            found = self.knowledge.code_systems.display(system_id, code)
        self.lookups.remember(self.lookups.displays, (system_id, code), found)
        return found

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


_NAMESPACE = uuid.NAMESPACE_URL.bytes


@lru_cache(maxsize=8192)
def name_uuid(name: str) -> str:
    """``str(uuid.uuid5(uuid.NAMESPACE_URL, name))`` without the UUID object, cached: a result names about
    twenty resources, and a stored patient's results are made again and again with the same names."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def derivable(sources: tuple[str, ...] | list[str]) -> list[str]:
    """The sources whose type ``Observation.derivedFrom`` allows (``Type/id``), in order."""
    return [s for s in sources if s.startswith(_DERIVABLE_PREFIXES) or s in DERIVABLE_TYPES]


def references(sources: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    """``Type/id`` sources as References, each once, in order."""
    return [{"reference": source} for source in dict.fromkeys(sources)]

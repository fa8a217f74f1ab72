"""Which time point a lesion observation belongs to, and its imaging context (FHIR-CONTRACT.md
section 3, rows "time point" and "imaging context").

The ImagingStudy in ``derivedFrom`` or ``partOf``; else the imaging DiagnosticReport whose ``result`` lists
the Observation; else the calendar date. Modality: R4 ``ImagingStudy.modality`` is a list of Coding, R5 a
list of CodeableConcept (FHIR R5 imagingstudy.html). Scanner: ``Observation.device`` or an ImagingStudy
extension that references a Device.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Issues, Node
from service.adapters.fhir_in.references import Entry, References, resource_key
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.fhir_in.when import When
from service.domain.facts import TimepointBasis
from service.knowledge.vocabularies import ResolvedLocalCodes


@dataclass(frozen=True, slots=True)
class Imaging:
    key: str
    basis: TimepointBasis
    scanner: str | None = None
    modality: str | None = None


def imaging_context(node: Node, when: When, ctx: Context) -> Imaging:
    for link in (*node.objs("derivedFrom"), *node.objs("partOf")):
        reference = link.text("reference")
        name = ctx.references.name(reference, node.data)
        if name and name.startswith("ImagingStudy/"):
            resolved = ctx.references.resolve(reference, node.data)
            key = (name, id(resolved) if resolved is not None else None)  # the same name, the same resource
            found: Imaging | None = ctx.studies.get(key)
            if found is None:
                found = ctx.studies[key] = _from_study(name, ctx.resolve(node, reference), ctx)
            return found
    report = ctx.imaging_reports.get(f"Observation/{node.data.get('id')}")
    if report is not None:
        return Imaging(report, TimepointBasis.IMAGING_REPORT)
    return Imaging(f"date:{when.on.isoformat()}", TimepointBasis.CALENDAR_DATE)


def quiet_study(name: str, study: dict[str, Any] | None, ctx: Context) -> Imaging | None:
    """What an ImagingStudy tells when reading it reports nothing; else None, and nothing is reported (the
    checked reading, :func:`imaging_context`, then reads it again and reports)."""
    scratch = Issues()
    found = _from_study(name, None if study is None else Node(study, "", scratch), ctx)
    return None if scratch.items else found


def _from_study(name: str, study: Node | None, ctx: Context) -> Imaging:
    if study is None:
        return Imaging(name, TimepointBasis.IMAGING_STUDY)
    return Imaging(name, TimepointBasis.IMAGING_STUDY, _scanner(study, ctx), _modality(study, ctx.version))


def _modality(study: Node, version: FhirVersion) -> str | None:
    """The first modality code of the study, else of its series."""
    for holder in (study, *study.objs("series")):
        single = holder.obj("modality") if holder is not study else None
        modalities = holder.objs("modality") if holder is study else [single] if single else []
        for modality in modalities:
            codings = (
                [c.coding() for c in modality.objs("coding")]
                if version is FhirVersion.R5
                else [modality.coding()]
            )
            found = next((c.code for c in codings if c.code), None)
            if found:
                return found
    return None


def _scanner(study: Node, ctx: Context) -> str | None:
    for extension in study.objs("extension"):
        name = (
            ctx.name(extension, "valueReference", study.data) if "valueReference" in extension.data else None
        )
        if name and name.startswith("Device/"):
            return name
    return None


class ImagingReports(Mapping[str, str]):
    """:func:`imaging_reports`, worked out when first asked (issue 19): a lesion that names its
    ImagingStudy never asks, and most do."""

    def __init__(self, entries: Sequence[Entry], local: ResolvedLocalCodes, refs: References) -> None:
        self._sources = entries, local, refs
        self._listed: dict[str, str] | None = None

    def _reports(self) -> dict[str, str]:
        if self._listed is None:
            self._listed = imaging_reports(*self._sources)
        return self._listed

    def __getitem__(self, key: str) -> str:
        return self._reports()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._reports())

    def __len__(self) -> int:
        return len(self._reports())


def imaging_reports(entries: Sequence[Entry], local: ResolvedLocalCodes, refs: References) -> dict[str, str]:
    """Observation ``Type/id`` → the imaging DiagnosticReport that lists it, for the whole posted set."""
    listed: dict[str, str] = {}
    for entry in entries:
        report = entry.resource
        if report.get("resourceType") != "DiagnosticReport":
            continue
        key = resource_key(report)
        if key is None or not _is_imaging(report, local):
            continue
        results = report.get("result")
        for result in results if isinstance(results, list) else []:  # a number there is no list of results
            reference = result.get("reference") if isinstance(result, dict) else None
            name = refs.name(reference if isinstance(reference, str) else None, report)
            if name:
                listed.setdefault(name, key)
    return listed


def _is_imaging(report: dict[str, Any], local: ResolvedLocalCodes) -> bool:
    """A radiology category, or an ``imagingStudy`` link (FHIR R4 diagnosticreport.html)."""
    if report.get("imagingStudy"):
        return True
    categories = report.get("category")
    codings = [
        coding
        for category in (categories if isinstance(categories, list) else [])
        if isinstance(category, dict) and isinstance(category.get("coding"), list)
        for coding in category["coding"]
        if isinstance(coding, dict)
    ]
    pairs = [(c.get("system"), c.get("code")) for c in codings]
    wanted = local.imaging_report_categories  # a list or an object sent as a system or code matches none
    return any(type(s) is str and type(c) is str and (s, c) in wanted for s, c in pairs)

"""The fast path for lesion Observations (issue 19): one typed decode (msgspec, in C) of the elements the
lesion reading uses, then the same rules as :mod:`lesions` without a Node per element.

Taken only when the checked reading would report nothing: any wrong JSON type fails the decode, and any
other problem (no Patient, no usable date, unit or value, an unknown role or status, an ImagingStudy or
BodyStructure that reports anything) gives None, and the caller reads the resource the checked way, which
reports every issue at its FHIRPath as before (the two agree: tests/adapters/fhir_in/test_plain_lesions.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import msgspec

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding
from service.adapters.fhir_in.imaging import Imaging, quiet_study
from service.adapters.fhir_in.lesion_shapes import (
    BodyStructureShape,
    Concept,
    Extension,
    Focus,
    Identifier,
    ObservationShape,
    Quantity,
    codings,
)
from service.adapters.fhir_in.lesions import (
    Sizes,
    component_concept,
    joined_texts,
    short_axis,
    sorted_sites,
)
from service.adapters.fhir_in.plain_studies import plain_study
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.fhir_in.when import When, plain_when
from service.domain.facts import LesionObservation, SourceCode, TimepointBasis
from service.domain.model import LesionRole, LesionStatus


class _Body(msgspec.Struct, frozen=True, gc=False):
    """What a BodyStructure tells a lesion observation."""

    located: list[Coding]
    role: LesionRole | None
    identifier: Identifier | None  # the first with a value
    texts: list[str | None]


_ROLES = {role.value: role for role in LesionRole}  # a dict lookup, where an Enum call costs a Python call
_STATUSES = {status.value: status for status in LesionStatus}
_UNUSABLE = "unusable"  # the cached answer for a BodyStructure the checked reading must read
_Focused = tuple[_Body | str | None, str | None]  # what a BodyStructure tells, and its name


def read_plain_lesion(data: dict[str, Any], concept: str, ctx: Context) -> LesionObservation | None:
    """The lesion observation of a well-formed resource; None when the checked reading must read it."""
    if "effectivePeriod" in data:  # read by the checked reading only
        return None
    try:
        obs = msgspec.convert(data, ObservationShape)
    except msgspec.ValidationError:
        return None
    patient = ctx.references.name(obs.subject.reference, data) if obs.subject else None
    when = plain_when(obs.effective_date_time, ctx.today) if obs.effective_date_time is not None else None
    sizes = _sizes(obs, concept, ctx)
    status = _status(obs, concept, sizes, ctx)
    role = _role(obs.extension, ctx)
    if patient is None or not patient.startswith("Patient/") or when is None or sizes is None:
        return None
    focus = obs.focus[0] if obs.focus else None
    body, body_structure = _focus(focus.reference, data, ctx) if focus else (None, None)
    imaging = _imaging(obs, data, when, ctx)
    if status is None or role is False or isinstance(body, str) or imaging is None:
        return None
    sites, nodal, site_text = _where(obs.body_site, body, ctx)
    device = ctx.references.name(obs.device.reference, data) if obs.device else None
    performer = obs.performer[0] if obs.performer else None
    return LesionObservation(
        patient=patient,
        source=f"Observation/{data.get('id')}",
        lesion_id=_lesion_id(obs, focus, body, ctx),
        body_structure=body_structure,
        observed_on=when.on,
        observed_at=when.at,
        timepoint_key=imaging.key,
        timepoint_basis=imaging.basis,
        longest_diameter_mm=sizes.get("longest-diameter"),
        short_axis_mm=short_axis(sizes, nodal),
        sites=sites,
        nodal=nodal,
        role=role or (body.role if body else None),
        status=status,
        reader=ctx.references.name(performer.reference, data) if performer else None,
        scanner=device or imaging.scanner,
        modality=imaging.modality,
        site_text=site_text,
    )


def _where(
    site: Concept | None, body: _Body | None, ctx: Context
) -> tuple[tuple[SourceCode, ...], bool, str | None]:
    """The lesion's sites, whether it is a lymph node and the words sent about it, worked out once per call
    for each bodySite and BodyStructure: every time point sends the same."""
    sent = codings(site)
    key = ("where", *sent, site.text if site else None, id(body))
    found = ctx.worked_out.get(key)
    if found is None:
        sites = tuple(sorted_sites(sent + body.located if body else sent))
        nodal = any(ctx.knowledge.snomed_sites.is_lymph_node(s.system, s.code) for s in sites)
        texts = [site.text if site else None, *(body.texts if body else [None])]
        found = ctx.worked_out[key] = (sites, nodal, joined_texts(texts))
    return found


def _sizes(obs: ObservationShape, concept: str, ctx: Context) -> Sizes | None:
    if concept == "longest-diameter":
        size = _millimetres(obs.value_quantity, ctx) if obs.value_quantity is not None else None
        return None if size is None else {"longest-diameter": size}
    sizes: Sizes = {}
    for component in obs.component:
        part = component_concept(codings(component.code), ctx)
        if part is None or component.value_quantity is None:
            continue
        size = _millimetres(component.value_quantity, ctx)
        if size is None:
            return None
        sizes[part] = size
    return sizes


def _millimetres(quantity: Quantity, ctx: Context) -> Decimal | None:
    """As :func:`lesions._millimetres`, once per call for each value and unit (by the value's text: ``-0.0``
    and ``0`` are different Decimals)."""
    if quantity.value is None:
        return None
    key = ("mm", str(quantity.value), quantity.system, quantity.code)
    if key in ctx.worked_out:
        found: Decimal | None = ctx.worked_out[key]
        return found
    factor = ctx.knowledge.units.factor_to_mm(quantity.system, quantity.code)
    value = Decimal(key[1])
    found = ctx.worked_out[key] = None if factor is None or value < 0 else value * factor
    return found


def _status(obs: ObservationShape, concept: str, sizes: Sizes | None, ctx: Context) -> LesionStatus | None:
    if concept != "lesion-assessment":
        if sizes is None or "longest-diameter" not in sizes:
            return None
        return LesionStatus.ABSENT if sizes["longest-diameter"] == 0 else LesionStatus.PRESENT
    for coding in codings(obs.value_codeable_concept):
        if coding.system == ctx.local.lesion_status_system and coding.code in ctx.local.lesion_statuses:
            return _STATUSES[coding.code]
    return None


def _role(extensions: list[Extension], ctx: Context) -> LesionRole | Literal[False] | None:
    """The first lesion-role extension's role; False when it holds an unknown role (a warning)."""
    for extension in extensions:
        if extension.url == ctx.local.lesion_role_url:
            role = extension.value_code
            return _ROLES[role] if role in ctx.local.lesion_roles else False
    return None


def _focus(reference: str | None, data: dict[str, Any], ctx: Context) -> _Focused:
    """What the BodyStructure a focus names tells, and its name; once per call for each reference but a
    contained one (``#id``), which depends on the resource."""
    found: _Focused | None = ctx.worked_out.get(("focus", reference))
    if found is None:
        resource = ctx.references.resolve(reference, data)
        found = (_body(resource, ctx) if resource is not None else None, ctx.references.name(reference, data))
        if not (reference and reference.startswith("#")):
            ctx.worked_out[("focus", reference)] = found
    return found


def _body(resource: dict[str, Any], ctx: Context) -> _Body | str:
    """What a BodyStructure tells, read once per call; :data:`_UNUSABLE` when reading it reports anything."""
    key = (_body, id(resource), "")
    found = ctx.read.get(key)
    if found is None:
        found = ctx.read[key] = _read_body(resource, ctx)
    return found


def _read_body(resource: dict[str, Any], ctx: Context) -> _Body | str:
    try:
        body = msgspec.convert(resource, BodyStructureShape)
    except msgspec.ValidationError:
        return _UNUSABLE
    role = _role(body.extension, ctx)
    if role is False:
        return _UNUSABLE
    included = [i.structure for i in body.included_structure]
    if ctx.version is FhirVersion.R5:
        located = [c for structure in included if structure is not None for c in structure.coding]
        concepts = included
    else:
        located, concepts = codings(body.location), [body.location]
    return _Body(
        located=located,
        role=role or None,
        identifier=next((i for i in body.identifier if i.value), None),
        texts=[c.text for c in (*concepts, body.morphology) if c is not None] + [body.description],
    )


def _imaging(obs: ObservationShape, data: dict[str, Any], when: When, ctx: Context) -> Imaging | None:
    """As :func:`imaging.imaging_context`; None when the ImagingStudy named reports anything."""
    for link in (*obs.derived_from, *obs.part_of):
        reference = link.reference or ""  # name and resolve read "" as they read None
        known: Imaging | None = ctx.worked_out.get(("study", reference))
        if known is not None:  # what this study told another lesion (below)
            return known
        name = ctx.references.name(reference, data)
        if name and name.startswith("ImagingStudy/"):
            resolved = ctx.references.resolve(reference, data)
            key = (name, id(resolved) if resolved is not None else None)
            found: Imaging | None = ctx.studies.get(key)
            if found is None:
                found = plain_study(name, resolved, ctx) or quiet_study(name, resolved, ctx)
                if found is not None:
                    ctx.studies[key] = found
            if found is not None and not reference.startswith("#"):  # a name and resource of its own
                ctx.worked_out[("study", reference)] = found
            return found
    report = ctx.imaging_reports.get(f"Observation/{data.get('id')}")
    if report is not None:
        return Imaging(report, TimepointBasis.IMAGING_REPORT)
    return Imaging(f"date:{when.on.isoformat()}", TimepointBasis.CALENDAR_DATE)


def _lesion_id(obs: ObservationShape, focus: Focus | None, body: _Body | None, ctx: Context) -> str | None:
    """As :func:`lesions._lesion_id`: the BodyStructure's, else focus.identifier, else a typed one."""
    ident = body.identifier if body else None
    if ident is None and focus is not None:
        ident = focus.identifier
    if ident is None:
        wanted = ctx.local.lesion_identifier_type
        typed = (i for i in obs.identifier if any((c.system, c.code) == wanted for c in codings(i.type)))
        ident = next(typed, None)
    if ident is None or ident.value is None:
        return None
    return f"{ident.system}|{ident.value}" if ident.system else ident.value

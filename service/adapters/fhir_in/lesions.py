"""Lesion measurements and statuses → ``LesionObservation`` (FHIR-CONTRACT.md section 3, rows "lesion
measurement" to "imaging context").

An mCODE TumorSize (21889-1 with components), a bare 33728-7 with ``valueQuantity``, or a
``lesion-assessment`` status. A size without a usable UCUM length unit is an error (a 422), never guessed.
What a lesion's BodyStructure tells (identifier, role, sites, words) is read once per call, however many time
points name it (``Context.once``).
"""

from __future__ import annotations

from decimal import Decimal

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding, Node, first_of
from service.adapters.fhir_in.imaging import imaging_context
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.fhir_in.when import When, read_effective
from service.domain.facts import LesionObservation, SourceCode
from service.domain.model import LesionRole, LesionStatus

Sizes = dict[str, Decimal]  # concept (longest-diameter, other-dimension, short-axis) → mm


def read_lesion(node: Node, concept: str, ctx: Context) -> list[LesionObservation]:
    patient = ctx.patient(node)
    when = read_effective(node, "effective", ctx.today)
    if when is None and not {"effectiveDateTime", "effectivePeriod"} & node.data.keys():
        node.issues.error(node.at("effectiveDateTime"), "a lesion observation needs a date", "processing")
    sizes = _sizes(node, concept, ctx)
    status = _status(node, concept, sizes, ctx)
    if patient is None or when is None or sizes is None or status is None:
        return []
    return [_observation(node, patient, when, sizes, status, ctx)]


def _observation(
    node: Node, patient: str, when: When, sizes: Sizes, status: LesionStatus, ctx: Context
) -> LesionObservation:
    focus = node.first("focus")
    focus_reference = focus.text("reference") if focus else None
    body = ctx.resolve(node, focus_reference) if focus else None
    performer = node.first("performer")
    sites = _sites(node, body, ctx)
    nodal = any(ctx.knowledge.snomed_sites.is_lymph_node(s.system, s.code) for s in sites)
    imaging = imaging_context(node, when, ctx)
    return LesionObservation(
        patient=patient,
        source=f"Observation/{node.data.get('id')}",
        lesion_id=_lesion_id(node, focus, body, ctx),
        body_structure=ctx.references.name(focus_reference, node.data) if focus else None,
        observed_on=when.on,
        observed_at=when.at,
        timepoint_key=imaging.key,
        timepoint_basis=imaging.basis,
        longest_diameter_mm=sizes.get("longest-diameter"),
        short_axis_mm=short_axis(sizes, nodal),
        sites=tuple(sites),
        nodal=nodal,
        role=_role(node, body, ctx),
        status=status,
        reader=ctx.named(performer, node.data) if performer else None,
        scanner=ctx.name(node, "device", node.data) or imaging.scanner,
        modality=imaging.modality,
        site_text=_site_text(node, body, ctx),
    )


def _sizes(node: Node, concept: str, ctx: Context) -> Sizes | None:
    """Diameters in mm by concept; None when one of them is unusable (already reported as an error)."""
    if concept == "longest-diameter":
        quantity = node.obj("valueQuantity")
        if quantity is None:
            node.issues.error(node.at("valueQuantity"), "a lesion size needs a valueQuantity", "processing")
            return None
        size = _millimetres(quantity, ctx)
        return None if size is None else {"longest-diameter": size}
    sizes: Sizes = {}
    for component in node.objs("component"):
        part = component_concept(component.codings("code"), ctx)
        quantity = component.obj("valueQuantity")
        if part is None or quantity is None:
            continue
        size = _millimetres(quantity, ctx)
        if size is None:
            return None
        sizes[part] = size
    return sizes


def component_concept(codings: list[Coding], ctx: Context) -> str | None:
    for coding in codings:
        concept = ctx.concept(coding)
        if concept in ("longest-diameter", "other-dimension", "short-axis"):
            return concept
    return None


def _millimetres(quantity: Node, ctx: Context) -> Decimal | None:
    value = quantity.number("value")
    system, code = quantity.text("system"), quantity.text("code")
    factor = ctx.knowledge.units.factor_to_mm(system, code)
    if factor is None:
        accepted = ", ".join(u.code for u in ctx.knowledge.units.length)
        quantity.issues.error(
            quantity.at("unit"),
            f"a lesion size needs a UCUM length unit ({accepted}); got code '{code}' in system '{system}'",
            "processing",
        )
        return None
    if value is None or value < 0:
        quantity.issues.error(quantity.at("value"), "a lesion size needs a value of 0 or more", "value")
        return None
    return value * factor


def short_axis(sizes: Sizes, nodal: bool) -> Decimal | None:
    """An explicit short axis; for a node without one, the smaller of its two dimensions (contract sec. 3)."""
    if "short-axis" in sizes:
        return sizes["short-axis"]
    if nodal and "longest-diameter" in sizes and "other-dimension" in sizes:
        return min(sizes["longest-diameter"], sizes["other-dimension"])
    return None


def _status(node: Node, concept: str, sizes: Sizes | None, ctx: Context) -> LesionStatus | None:
    if concept != "lesion-assessment":
        if sizes is not None and "longest-diameter" not in sizes:
            node.issues.error(node.at("component"), "a tumour size needs a longest diameter (33728-7)")
            return None
        zero = sizes is not None and sizes["longest-diameter"] == 0
        return LesionStatus.ABSENT if zero else LesionStatus.PRESENT
    for coding in node.codings("valueCodeableConcept"):
        if coding.system == ctx.local.lesion_status_system and coding.code in ctx.local.lesion_statuses:
            return LesionStatus(coding.code)
    node.issues.not_recognised(node.at("valueCodeableConcept"), "lesion status")
    return None


def _role(node: Node, body: Node | None, ctx: Context) -> LesionRole | None:
    """The Observation's lesion-role extension, else its BodyStructure's."""
    return _own_role(node, ctx) or (ctx.once(_own_role, body) if body else None)


def _own_role(holder: Node, ctx: Context) -> LesionRole | None:
    for extension in holder.objs("extension"):
        if extension.text("url") != ctx.local.lesion_role_url:
            continue
        role = extension.text("valueCode")
        if role in ctx.local.lesion_roles:
            return LesionRole(role)
        extension.issues.not_recognised(extension.at("valueCode"), f"lesion role '{role}'")
    return None


def _lesion_id(node: Node, focus: Node | None, body: Node | None, ctx: Context) -> str | None:
    """BodyStructure identifier, else focus.identifier, else an Observation identifier typed lesion id."""
    ident = ctx.once(_valued_identifier, body) if body else None
    if ident is None and focus is not None:
        ident = focus.obj("identifier")
    if ident is None:
        wanted = ctx.local.lesion_identifier_type
        typed = [i for i in node.objs("identifier") if _has_type(i, wanted)]
        ident = first_of(typed)
    value = ident.text("value") if ident else None
    if ident is None or value is None:
        return None
    system = ident.text("system")
    return f"{system}|{value}" if system else value


def _valued_identifier(body: Node, ctx: Context) -> Node | None:
    return first_of([i for i in body.objs("identifier") if i.text("value")])


def _has_type(identifier: Node, wanted: tuple[str, str]) -> bool:
    return any((c.system, c.code) == wanted for c in identifier.codings("type"))


def _sites(node: Node, body: Node | None, ctx: Context) -> list[SourceCode]:
    codings = node.codings("bodySite")
    if body is not None:
        codings = codings + ctx.once(_located, body)
    return sorted_sites(codings)


def sorted_sites(codings: list[Coding]) -> list[SourceCode]:
    """The distinct complete codings, by system and code."""
    unique = {c.source_code() for c in codings} - {None}
    return sorted((s for s in unique if s is not None), key=lambda s: (s.system, s.code))


def _located(body: Node, ctx: Context) -> list[Coding]:
    """The codings of a BodyStructure's location (R5: of each includedStructure's structure)."""
    if ctx.version is not FhirVersion.R5:
        return body.codings("location")
    return [c for included in body.objs("includedStructure") for c in included.codings("structure")]


def _site_text(node: Node, body: Node | None, ctx: Context) -> str | None:
    """The words sent about the site and kind of lesion, for P5-P7 (CNS, leptomeningeal, diffuse sites):
    the text of bodySite and of the BodyStructure's location (R5 includedStructure) and morphology, and
    the BodyStructure's description."""
    site = node.obj("bodySite")
    if body is not None:
        ctx.once(_body_concepts, body)  # read before the texts, as the issues of each come in that order
    texts = [site.text("text") if site else None]
    texts += ctx.once(_body_texts, body) if body is not None else [None]
    return joined_texts(texts)


def joined_texts(texts: list[str | None]) -> str | None:
    """The distinct words sent, each once, in the order sent."""
    kept = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
    return " ; ".join(kept) or None


def _body_concepts(body: Node, ctx: Context) -> list[Node]:
    located = [i.obj("structure") for i in body.objs("includedStructure")]
    concepts = located if ctx.version is FhirVersion.R5 else [body.obj("location")]
    return [c for c in (*concepts, body.obj("morphology")) if c is not None]


def _body_texts(body: Node, ctx: Context) -> list[str | None]:
    """The texts of the BodyStructure's location (R5: includedStructure) and morphology; its description."""
    return [c.text("text") for c in ctx.once(_body_concepts, body)] + [body.text("description")]

"""The Provenance of a result (FHIR-CONTRACT.md section 5: "records the service version, the criteria and
knowledge-base versions, and every input used") and the Device that stands for the service (section 4:
the report's performer).

Every suggestion the coherence rules dropped (CLINICAL-RULES.md section 6 step 6: "never silently") is an
``entity`` with role ``removal`` (R4 and R5): ``what.display`` says it in words, and the
``dropped-suggestion`` extension carries its care-suggestion code, its drugs and the rule that dropped it."""

from __future__ import annotations

from typing import Any

from service.adapters.fhir_out.result_context import SERVICE_NAME, ResultContext
from service.adapters.fhir_out.wording import chinese, suggestion
from service.domain.coherence import DroppedSuggestion

VERSION_EXTENSIONS = {  # CANON-relative extension URLs
    "service": "StructureDefinition/service-version",
    "knowledge_base": "StructureDefinition/knowledge-base-version",
    "criteria": "StructureDefinition/response-criteria",
}
DROPPED_EXTENSION = "StructureDefinition/dropped-suggestion"  # CANON-relative (section 6 step 6)


def provenance(ctx: ResultContext, targets: list[dict[str, Any]]) -> dict[str, Any]:
    """``targets`` are the resources made (report, observations, care plan); entities every input."""
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": ctx.id_for("provenance"),
        "extension": _versions(ctx),
        "target": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in targets],
        "recorded": ctx.issued_text,
        "agent": [{"who": ctx.device_reference}],
    }
    entities = [{"role": "source", "what": {"reference": s}} for s in ctx.unique_evidence]
    entities += [_removal(ctx, dropped) for dropped in ctx.assessment.dropped]
    if entities:
        resource["entity"] = entities
    return resource


def _removal(ctx: ResultContext, dropped: DroppedSuggestion) -> dict[str, Any]:
    """A dropped suggestion: "Continue current therapy. Rules: C1" (zh-CN: its table 11.3 text)."""
    action = dropped.action
    colon, end = ctx.text("format.colon"), ctx.text("format.sentence-end")
    rule = f"{ctx.text('label.rules')}{colon}{dropped.rule.value}"
    words = suggestion(ctx, action)
    parts = [
        {"url": "code", "valueCoding": ctx.canon_coding("care-suggestion", action.code.value)},
        {"url": "rule", "valueCode": dropped.rule.value},
        *({"url": "drug", "valueString": drug} for drug in action.drugs),
    ]
    return {
        "extension": [{"url": ctx.canon(DROPPED_EXTENSION), "extension": parts}],
        "role": "removal",
        "what": {"display": f"{words}{end}{rule}" if chinese(ctx) else f"{words}. {rule}"},
    }


def service_device(ctx: ResultContext) -> dict[str, Any]:
    """The service as a Device: its name and version (R4 ``deviceName``, R5 ``name``)."""
    device: dict[str, Any] = {
        "resourceType": "Device",
        "id": ctx.device_id,
        "identifier": [{"system": ctx.canon("device-id"), "value": SERVICE_NAME}],
        "status": "active",
        "version": [{"value": ctx.service_version}],
    }
    if ctx.r5:
        device["name"] = [{"value": SERVICE_NAME, "type": "user-friendly-name"}]
    else:
        device["deviceName"] = [{"name": SERVICE_NAME, "type": "user-friendly-name"}]
    return device


def _versions(ctx: ResultContext) -> list[dict[str, Any]]:
    a = ctx.assessment
    return [
        {"url": ctx.canon(VERSION_EXTENSIONS["service"]), "valueString": ctx.service_version},
        {"url": ctx.canon(VERSION_EXTENSIONS["knowledge_base"]), "valueString": a.knowledge_base_version},
        {
            "url": ctx.canon(VERSION_EXTENSIONS["criteria"]),
            "valueCoding": ctx.canon_coding("response-criteria", a.criteria.value),
        },
    ]

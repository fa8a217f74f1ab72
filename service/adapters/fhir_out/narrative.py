"""The narrative of every result resource (issue 15: EHR inboxes show ``text`` where they cannot render the
codes): ``status = generated``, XHTML made from the resource's own content in the requested language
(https://hl7.org/fhir/R4/narrative.html). It never shows the subject, so no patient's name or identifier
appears in it; contained resources carry none (dom-4). Coded content is shown by its ``text`` (already in
the language), else by the text ``external.<system key>.<code>`` or the service's own code system display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from itertools import repeat
from typing import Any

from service.adapters.fhir_out.code_systems import code_system_url
from service.adapters.fhir_out.markup import escape
from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.wording import chinese, date, percent

XHTML = "http://www.w3.org/1999/xhtml"
JsonObject = dict[str, Any]
_FIRST_KEYS = ("resourceType", "id", "meta")  # the narrative follows them, as in the specification's examples


def with_narrative(ctx: ResultContext, resource: JsonObject) -> JsonObject:
    """The resource with its ``text``, placed after ``resourceType``, ``id`` and ``meta`` (a ``text`` it had
    is replaced, in that place)."""
    text = narrative(ctx, resource)
    placed = {key: resource[key] for key in _FIRST_KEYS if key in resource} | {"text": text}
    placed.update(resource)  # the rest in order; keys already placed keep their place
    placed["text"] = text
    return placed


def narrative(ctx: ResultContext, resource: JsonObject) -> JsonObject:
    body = _BODIES[resource["resourceType"]](ctx, resource)
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _report(ctx: ResultContext, report: JsonObject) -> str:
    effective = dt.date.fromisoformat(report["effectiveDateTime"][:10])
    return "".join(
        [
            _heading(ctx.text("report.title")),
            _line(ctx, ctx.text("label.date"), date(ctx, effective)),
            _paragraph(report.get("conclusion", "")),
            _paragraph(ctx.text("report.disclaimer")),
        ]
    )


def _observation(ctx: ResultContext, observation: JsonObject) -> str:
    title = concept_text(ctx, observation["code"])
    value = value_text(ctx, observation)
    colon = _colon(ctx)
    rows = [
        _item(f"{concept_text(ctx, c['code'])}{colon}{value_text(ctx, c)}")
        for c in observation.get("component", [])
    ]
    heading = _line(ctx, title, value) if value else _heading(title)
    return heading + (f"<ul>{''.join(rows)}</ul>" if rows else "")


def _care_plan(ctx: ResultContext, plan: JsonObject) -> str:
    requests = {f"#{r['id']}": r for r in plan.get("contained", [])}
    actions = [_activity_text(activity, requests) for activity in plan.get("activity", [])]
    listed = "".join(_item(action) for action in actions if action)
    return _heading(plan.get("description", "")) + (f"<ol>{listed}</ol>" if listed else "")


def _activity_text(activity: JsonObject, requests: dict[str, JsonObject]) -> str:
    """R4: the activity's detail description; R5: the note of the contained request it names."""
    if "detail" in activity:
        return str(activity["detail"].get("description", ""))
    request = requests.get(activity.get("plannedActivityReference", {}).get("reference", ""), {})
    return " ".join(str(note.get("text", "")) for note in request.get("note", []))


def _provenance(ctx: ResultContext, provenance: JsonObject) -> str:
    a = ctx.assessment
    entities = provenance.get("entity", [])  # a long history has thousands: counted without a Python loop
    inputs = list(map(dict.get, entities, repeat("role"))).count("source")
    lines = [
        (ctx.text("label.service-version"), ctx.service_version),
        (ctx.text("label.knowledge-base"), a.knowledge_base_version),
        (ctx.text("label.criteria"), ctx.display("response-criteria", a.criteria.value)),
        (ctx.text("label.inputs"), str(inputs)),
    ]
    return "".join(_line(ctx, label, value) for label, value in lines)


def _device(ctx: ResultContext, _device: JsonObject) -> str:
    return _heading(ctx.text("device.description")) + _line(
        ctx, ctx.text("label.service-version"), ctx.service_version
    )


_BODIES: dict[str, Callable[[ResultContext, JsonObject], str]] = {
    "DiagnosticReport": _report,
    "Observation": _observation,
    "CarePlan": _care_plan,
    "Provenance": _provenance,
    "Device": _device,
}


# --- values --------------------------------------------------------------------------------------------


def concept_text(ctx: ResultContext, concept: JsonObject) -> str:
    """A CodeableConcept in the language: its text, else its first coding's text or display."""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding", [])
    return coding_text(ctx, codings[0]) if codings else ""


def coding_text(ctx: ResultContext, coding: JsonObject) -> str:
    system, code = coding.get("system", ""), str(coding.get("code", ""))
    own = code_system_url(ctx.canonical_base, "")  # the service's own: CANON/CodeSystem/<id>
    if system.startswith(own) and ctx.knowledge.code_systems.get(system[len(own) :]) is not None:
        return ctx.display(system[len(own) :], code)
    keys = [key for key, url in ctx.knowledge.output_codes.systems.items() if url == system]
    if keys:
        return ctx.translated(f"external.{keys[0]}.{code}")
    return str(coding.get("display", code))


def value_text(ctx: ResultContext, node: JsonObject) -> str:
    """The ``value[x]`` of an Observation or component in words ("" without one)."""
    if "valueCodeableConcept" in node:
        return concept_text(ctx, node["valueCodeableConcept"])
    if "valueQuantity" in node:
        return quantity_text(ctx, node["valueQuantity"])
    if "valueBoolean" in node:
        return ctx.text("label.yes" if node["valueBoolean"] else "label.no")
    if "valueDateTime" in node:
        return date(ctx, dt.date.fromisoformat(node["valueDateTime"][:10]))
    for key in ("valueInteger", "valueString"):
        if key in node:
            return str(node[key])
    return ""


def quantity_text(ctx: ResultContext, quantity: JsonObject) -> str:
    value, unit = Decimal(str(quantity["value"])), str(quantity.get("code") or quantity.get("unit", ""))
    if unit == "%":
        return percent(ctx, value)
    return f"{value}{'' if chinese(ctx) else ' '}{unit}"


# --- markup --------------------------------------------------------------------------------------------


def _colon(ctx: ResultContext) -> str:
    return ctx.text("format.colon")


def _heading(text: str) -> str:
    return f"<p><b>{escape(text)}</b></p>" if text else ""


def _paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>" if text else ""


def _line(ctx: ResultContext, label: str, value: str) -> str:
    return f"<p><b>{escape(label)}</b>{escape(_colon(ctx))}{escape(value)}</p>"


def _item(text: str) -> str:
    return f"<li>{escape(text)}</li>"

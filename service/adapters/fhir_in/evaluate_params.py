"""The input of ``POST /fhir/$evaluate`` (FHIR-CONTRACT section 2): a Bundle, or Parameters with ``bundle``
and/or ``patient``, ``asOf``, ``criteria``, ``language``, ``persist``, ``presentedForm`` (issue 19: the
report's HTML rendering is built only when asked for)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.errors import BadRequest

LANGUAGES = ("en", "zh-CN")
CRITERIA = ("recist-1.1", "irecist")


@dataclass(frozen=True, slots=True)
class EvaluateParams:
    bundle: dict[str, Any] | None = None
    patient: str | None = None
    as_of: dt.date | None = None
    criteria: str | None = None
    language: str = "en"
    persist: bool = False
    presented_form: bool = False


def read_evaluate_params(body: dict[str, Any]) -> EvaluateParams:
    if body["resourceType"] == "Bundle":
        return EvaluateParams(bundle=body)
    if body["resourceType"] != "Parameters":
        raise BadRequest("$evaluate takes a Bundle or a Parameters resource", expression="resourceType")
    values = {p.get("name"): (i, p) for i, p in enumerate(body.get("parameter", [])) if isinstance(p, dict)}
    params = EvaluateParams(
        bundle=_resource(values, "bundle"),
        patient=_patient(values),
        as_of=_date(values),
        criteria=_code(values, "criteria", CRITERIA),
        language=_code(values, "language", LANGUAGES) or "en",
        persist=_boolean(values, "persist"),
        presented_form=_boolean(values, "presentedForm"),
    )
    if params.bundle is None and params.patient is None:
        raise BadRequest("Parameters need a 'bundle' or a 'patient'", expression="Parameters.parameter")
    return params


Values = dict[Any, tuple[int, dict[str, Any]]]


def _where(values: Values, name: str, element: str) -> str:
    return f"Parameters.parameter[{values[name][0]}].{element}"


def _resource(values: Values, name: str) -> dict[str, Any] | None:
    if name not in values:
        return None
    resource = values[name][1].get("resource")
    if not isinstance(resource, dict) or resource.get("resourceType") != "Bundle":
        raise BadRequest(
            "'bundle' must hold a Bundle in 'resource'", expression=_where(values, name, "resource")
        )
    return resource


def _patient(values: Values) -> str | None:
    if "patient" not in values:
        return None
    parameter = values["patient"][1]
    reference = (parameter.get("valueReference") or {}).get("reference") or parameter.get("valueString")
    if not isinstance(reference, str) or not reference:
        raise BadRequest(
            "'patient' needs valueReference.reference", expression=_where(values, "patient", "value")
        )
    return reference if reference.startswith("Patient/") else f"Patient/{reference}"


def _date(values: Values) -> dt.date | None:
    if "asOf" not in values:
        return None
    text = values["asOf"][1].get("valueDate") or values["asOf"][1].get("valueDateTime")
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise BadRequest(
            f"asOf '{text}' is not a date", expression=_where(values, "asOf", "valueDate")
        ) from None


def _code(values: Values, name: str, allowed: tuple[str, ...]) -> str | None:
    if name not in values:
        return None
    code = values[name][1].get("valueCode") or values[name][1].get("valueString")
    if code not in allowed:
        raise BadRequest(
            f"{name} '{code}' is not one of {', '.join(allowed)}",
            expression=_where(values, name, "valueCode"),
        )
    return str(code)


def _boolean(values: Values, name: str) -> bool:
    if name not in values:
        return False
    value = values[name][1].get("valueBoolean")
    if not isinstance(value, bool):
        raise BadRequest(f"{name} needs valueBoolean", expression=_where(values, name, "valueBoolean"))
    return value

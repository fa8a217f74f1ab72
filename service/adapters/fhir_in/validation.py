"""Full structural validation with fhir.resources: R4 and R4B data with the R4B classes, R5 with R5.

R4 JSON is never read with the R5 classes: they reject or silently drop real R4 content
(../shared/corpus/PARSE.md). This costs about 0.4 ms per resource, so it serves ``$validate`` and strict
mode, not the hot path.
"""

from __future__ import annotations

from typing import Any

import fhir.resources
import fhir.resources.R4B
from pydantic import ValidationError

from service.adapters.fhir_in.versions import FhirVersion
from service.errors import Issue


def validate_resource(data: dict[str, Any], version: FhirVersion) -> list[Issue]:
    """Every problem fhir.resources finds, each with a FHIRPath; an empty list means valid."""
    resource_type = str(data.get("resourceType"))
    models = fhir.resources if version is FhirVersion.R5 else fhir.resources.R4B
    try:
        model = models.get_fhir_model_class(resource_type)
    except ValueError:  # fhir.resources: "X is not a valid FHIR Model"
        return [
            Issue(
                f"Unknown resourceType '{resource_type}' in FHIR {version}",
                "invalid",
                "error",
                "resourceType",
            )
        ]
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [_issue(resource_type, err) for err in exc.errors(include_url=False)]
    except (ValueError, TypeError) as exc:  # fhir.resources raises these for some malformed shapes
        return [Issue(str(exc), "structure", "error", resource_type)]
    return []


def _issue(resource_type: str, err: Any) -> Issue:
    return Issue(_readable(err), "structure", "error", fhirpath(resource_type, err["loc"]))


def _readable(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "Unknown element"
    if err["type"] == "missing":
        return "Required element is missing"
    return message


def fhirpath(resource_type: str, loc: tuple[int | str, ...]) -> str:
    """``("entry", 0, "resource", "code")`` → ``Bundle.entry[0].resource.code``."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith("__"):
            path += f".{part}"
    return path

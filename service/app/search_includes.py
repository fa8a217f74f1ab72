"""``_include`` and ``_revinclude`` (https://hl7.org/fhir/R4/search.html#include): which references each
supports, and reading them out of a resource. Pure: the store fetches, the API checks the compartment.

Supported are the references of the resources the contract stores and produces: a report's results and
subject, an Observation's ``derivedFrom``, ``hasMember`` and ``focus``, a CarePlan's subject, ``addresses``
and ``supportingInfo`` (``supporting-info`` is the service's own name: R4 defines no search parameter for
it), and a Provenance's ``target``. A ``_revinclude`` follows the same references backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANY = ("*",)  # a reference that may point at any type

# (source type, search parameter) -> (the elements holding the reference, the types it may point at)
REFERENCES: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("DiagnosticReport", "result"): (("result",), ("Observation",)),
    ("DiagnosticReport", "subject"): (("subject",), ("Patient",)),
    ("DiagnosticReport", "patient"): (("subject",), ("Patient",)),
    ("Observation", "subject"): (("subject",), ("Patient",)),
    ("Observation", "patient"): (("subject",), ("Patient",)),
    ("Observation", "derived-from"): (("derivedFrom",), ANY),
    ("Observation", "has-member"): (("hasMember",), ("Observation", "MolecularSequence")),
    ("Observation", "focus"): (("focus",), ANY),
    ("CarePlan", "subject"): (("subject",), ("Patient",)),
    ("CarePlan", "patient"): (("subject",), ("Patient",)),
    ("CarePlan", "condition"): (("addresses",), ("Condition",)),
    ("CarePlan", "supporting-info"): (("supportingInfo",), ANY),
    ("Provenance", "target"): (("target",), ANY),
}


@dataclass(frozen=True, slots=True)
class Include:
    source: str  # the type whose element holds the reference
    name: str  # its search parameter
    target: str | None  # the type asked for (the optional third part), None: any it allows
    reverse: bool  # _revinclude: the source resources that point at the matches

    @property
    def elements(self) -> tuple[str, ...]:
        return REFERENCES[(self.source, self.name)][0]

    def allows(self, resource_type: str) -> bool:
        """Whether this include may bring (or, reversed, start from) a resource of that type."""
        types = REFERENCES[(self.source, self.name)][1]
        return (types == ANY or resource_type in types) and self.target in (None, resource_type)


def read_include(searched_type: str, value: str, *, reverse: bool) -> Include | str:
    """The include a ``_include`` / ``_revinclude`` value names, or why it is not supported."""
    parameter = "_revinclude" if reverse else "_include"
    parts = value.split(":")
    include = Include(parts[0], parts[1], parts[2], reverse) if len(parts) == 3 else None
    if len(parts) == 2:
        include = Include(parts[0], parts[1], None, reverse)
    if include is None or (include.source, include.name) not in REFERENCES:
        return f"Unsupported {parameter}={value}; supported: {', '.join(declared(searched_type, reverse))}"
    fits = include.allows(searched_type) if reverse else include.source == searched_type
    if not fits or (not reverse and include.target is not None and not include.allows(include.target)):
        return f"{parameter}={value} does not apply to {searched_type}"
    return include


def declared(searched_type: str, reverse: bool) -> list[str]:
    """What the CapabilityStatement lists as ``searchInclude`` / ``searchRevInclude`` for a type."""
    if not reverse:
        return [f"{source}:{name}" for source, name in REFERENCES if source == searched_type]
    return [
        f"{source}:{name}"
        for (source, name), (_, types) in REFERENCES.items()
        if types == ANY or searched_type in types
    ]


def referenced(resource: dict[str, Any], include: Include) -> list[str]:
    """The ``Type/id`` of each literal reference the include follows out of the resource."""
    found = []
    for element in include.elements:
        value = resource.get(element)
        for node in value if isinstance(value, list) else [value]:
            reference = node.get("reference") if isinstance(node, dict) else None
            key = type_and_id(reference) if isinstance(reference, str) else None
            if key is not None and include.allows(key.split("/")[0]):
                found.append(key)
    return found


def type_and_id(reference: str) -> str | None:
    """``Type/id`` of a relative, absolute or versioned literal reference; None for ``#contained``,
    ``urn:`` or a conditional reference, which name no stored resource."""
    parts = reference.split("?")[0].split("/")
    if "?" in reference or len(parts) < 2:
        return None
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    resource_type, resource_id = parts[-2], parts[-1]
    if not resource_type[:1].isupper() or not resource_id:
        return None
    return f"{resource_type}/{resource_id}"


def capability(searched_type: str) -> dict[str, list[str]]:
    """The CapabilityStatement's ``searchInclude`` and ``searchRevInclude`` of a type, where not empty."""
    found = {"searchInclude": False, "searchRevInclude": True}
    return {key: values for key, reverse in found.items() if (values := declared(searched_type, reverse))}

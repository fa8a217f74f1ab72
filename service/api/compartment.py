"""The patient compartment a ``patient/`` token is confined to: what it may post, and what of an answer it
may see. Conservative by design: a resource is in the compartment only when the service can show it is.

- A Patient is in it when it *is* the patient; another resource when its ``subject`` / ``patient`` is the
  patient and it names no other patient anywhere; a Provenance when what it targets is in it; the
  service's shared definitions (CodeSystem, topics, its Device) always.
- A posted Bundle is refused whole when any entry is outside the compartment, is conditional (which could
  match another patient's resource) or could update or delete a stored resource of another patient (by its
  ``request.url``, or by its resource's id, which a collection or message keeps).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.adapters.fhir_in.bundles import patient_reference
from service.api.interactions import as_dict, entries

SHARED_TYPES = frozenset(
    {"CodeSystem", "SubscriptionTopic", "Basic", "Device", "OperationOutcome", "Medication", "Organization",
     "Practitioner", "Location", "Substance"}
)  # fmt: skip

# The owner of a stored resource, by reference ("Type/id"): "Patient/x", "" when it is stored but no one
# patient's (a Provenance's targets answer for it), None when it is not stored.
Lookup = Callable[[str], Awaitable[str | None]]


def references(node: Any) -> list[str]:
    """Every ``reference`` string anywhere in a resource."""
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for key, value in node.items() if key != "reference" for r in references(value)]
    if isinstance(node, list):
        return [r for value in node for r in references(value)]
    return []


def as_patient(reference: str) -> str | None:
    """``Patient/x`` for a (possibly absolute or versioned) literal reference to a Patient, else None."""
    if "Patient/" not in reference:
        return None
    return "Patient/" + reference.rsplit("Patient/", 1)[1].split("/")[0]


def names_only(resource: dict[str, Any], patient: str) -> bool:
    """No reference in the resource points to another patient, or to a patient by search (``Patient?``)."""
    refs = references(resource)
    return all(as_patient(r) in (None, patient) and not r.startswith("Patient?") for r in refs)


async def belongs(resource: dict[str, Any], patient: str, lookup: Lookup) -> bool:
    resource_type = resource.get("resourceType")
    if resource_type == "Patient":
        return f"Patient/{resource.get('id')}" == patient
    if not names_only(resource, patient):
        return False
    if resource_type in SHARED_TYPES:
        return True
    if resource_type == "Provenance":
        targets = [as_dict(t).get("reference") for t in resource.get("target") or []]
        for target in targets:
            if not isinstance(target, str) or await lookup(target) != patient:
                return False
        return bool(targets)
    return patient_reference(resource) == patient


async def visible(content: dict[str, Any], patient: str, lookup: Lookup) -> dict[str, Any] | None:
    """What of an answer the token may see: a Bundle keeps only its entries in the compartment (searches,
    ``_include``, histories, the $evaluate result); a single resource outside it is ``None`` (not found)."""
    if content.get("resourceType") != "Bundle":
        return content if await shown(content, patient, lookup) else None
    inside = {
        f"{r.get('resourceType')}/{r.get('id')}"
        for e in entries(content)
        if isinstance(r := e.get("resource"), dict) and r.get("resourceType") != "Provenance"
        and await shown(r, patient, lookup)
    }  # fmt: skip

    async def in_bundle_or_store(reference: str) -> str | None:
        return patient if reference in inside else await lookup(reference)

    kept = [
        e
        for e in entries(content)
        if not isinstance(r := e.get("resource"), dict) or await shown(r, patient, in_bundle_or_store)
    ]
    return {**content, "entry": kept} if "entry" in content else content


async def shown(resource: dict[str, Any], patient: str, lookup: Lookup) -> bool:
    """:func:`belongs`, for a resource in an answer. One subsetted by ``_elements`` (tagged ``SUBSETTED``) may
    have lost the element that names its patient: the stored resource's owner answers for it, and what the
    subset still holds must name no other patient."""
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    owned = resource_type not in SHARED_TYPES and resource_type != "Patient"  # those tell without the element
    if owned and _subsetted(resource) and isinstance(resource_id, str):
        return names_only(resource, patient) and await lookup(f"{resource_type}/{resource_id}") == patient
    return await belongs(resource, patient, lookup)


def _subsetted(resource: dict[str, Any]) -> bool:
    tags = as_dict(resource.get("meta")).get("tag")
    return isinstance(tags, list) and any(as_dict(tag).get("code") == "SUBSETTED" for tag in tags)


async def refusal(bundle: dict[str, Any], patient: str, lookup: Lookup) -> str | None:
    """Why a posted Bundle may not be written by a token confined to ``patient``, or None."""
    local = _local_ids(bundle)
    for index, entry in enumerate(entries(bundle)):
        request = as_dict(entry.get("request"))
        url = str(request.get("url", ""))
        if "?" in url or request.get("ifNoneExist"):
            return f"entry {index} is conditional, which could reach another patient's data"
        resource = entry.get("resource")
        for target in _targets(url, resource):  # stored, and not (only) this patient's
            if (await lookup(target)) not in (None, patient):
                return f"entry {index} changes a resource outside the patient's compartment"
        if isinstance(resource, dict) and not await belongs(_resolve(resource, local), patient, lookup):
            return f"entry {index} ({resource.get('resourceType')}) is not in the patient's compartment"
    return None


def _targets(url: str, resource: Any) -> list[str]:
    """The stored resources an entry could change: its ``request.url`` (``Type/id``, whatever the method),
    and its resource's own ``Type/id``, which a collection, document or message keeps (an upsert)."""
    found = [url] if "/" in url else []
    if isinstance(resource, dict) and isinstance(resource.get("id"), str) and resource.get("resourceType"):
        found.append(f"{resource['resourceType']}/{resource['id']}")
    return found


def _local_ids(bundle: dict[str, Any]) -> dict[str, str]:
    """``fullUrl`` → ``Type/id`` for entries that carry an id, so ``urn:uuid`` references can be followed."""
    found = {}
    for entry in entries(bundle):
        resource = entry.get("resource")
        if isinstance(resource, dict) and isinstance(entry.get("fullUrl"), str) and resource.get("id"):
            found[entry["fullUrl"]] = f"{resource.get('resourceType')}/{resource['id']}"
    return found


def _resolve(node: Any, local: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (local.get(v, v) if k == "reference" and isinstance(v, str) else _resolve(v, local))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_resolve(v, local) for v in node]
    return node

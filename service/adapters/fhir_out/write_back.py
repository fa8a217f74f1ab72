"""A result ``collection`` Bundle as the ``transaction`` Bundle the EHR's FHIR server is sent (issue 7).

A write-back may be resent after a timeout whose request did reach the server, so every resource with an
identifier is a conditional create (``ifNoneExist``; https://hl7.org/fhir/R4/http.html#ccreate): a second
send finds the first and creates nothing. An amended report replaces the one sent before with a conditional
update (``PUT DiagnosticReport?identifier=...``; https://hl7.org/fhir/R4/http.html#cond-update).

The EHR server assigns its own ids, so the resources refer to one another by ``urn:uuid:`` fullUrls, which
the server resolves within the transaction (https://hl7.org/fhir/R4/bundle.html#references). Those are
name-based UUIDs of type and id: the same result always gives the same bytes. Pure: no I/O.

A Provenance has no identifier (R4 and R5), so its key is what it is the Provenance of: ``target=`` the
``urn:uuid:`` of its first target, the report, which the server replaces with the report's id as it does in
every conditional URL of the transaction (issue 15: a resend creates no second Provenance; tried on Medplum's
FHIR server). When the report is amended the Provenance is replaced the same way (a conditional update).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

JsonObject = dict[str, Any]

URN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "http://oncoresponse.org/fhir/write-back")
# "amended" and its specialisations (https://hl7.org/fhir/R4/valueset-diagnostic-report-status.html).
AMENDED_STATUSES = frozenset({"amended", "corrected", "appended"})
# FHIR search escaping (https://hl7.org/fhir/R4/search.html#escaping): "," would mean "or", "|" a system.
SEARCH_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", ",": "\\,", "$": "\\$"})


def write_back_bundle(result_bundle: JsonObject, amended: set[tuple[str, str]] | None = None) -> JsonObject:
    """The transaction for a result, in the result's order. ``amended`` names (type, id) of resources sent
    before whose new content must replace the old; a report whose status says so is replaced as well."""
    resources: list[JsonObject] = [entry["resource"] for entry in result_bundle.get("entry", [])]
    urns = _urns(result_bundle)
    replaced = (amended or set()) | {_key(r) for r in resources if _is_amended(r, amended or set())}
    entries = [_entry(resource, urns, replaced) for resource in resources]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _urns(result_bundle: JsonObject) -> dict[str, str]:
    """Each resource's ``urn:uuid:``, under both names a reference to it may use: ``Type/id`` and the
    collection's fullUrl."""
    urns: dict[str, str] = {}
    for entry in result_bundle.get("entry", []):
        local = _local_reference(entry["resource"])
        urns[local] = f"urn:uuid:{uuid.uuid5(URN_NAMESPACE, local)}"
        if "fullUrl" in entry:
            urns[entry["fullUrl"]] = urns[local]
    return urns


def _entry(resource: JsonObject, urns: dict[str, str], amended: set[tuple[str, str]]) -> JsonObject:
    sent = {key: _rewritten(value, urns) for key, value in resource.items() if key != "id"}
    return {
        "fullUrl": urns[_local_reference(resource)],
        "resource": sent,
        "request": _request(resource, urns, amended),
    }


def _request(resource: JsonObject, urns: dict[str, str], amended: set[tuple[str, str]]) -> JsonObject:
    """Conditional create by the first identifier (a Provenance: by its first target); conditional update
    when amended (a Provenance: when its report is); a plain create for a resource with neither."""
    resource_type = resource["resourceType"]
    search = identifier_search(resource) or _target_search(resource, urns)
    if search is None:
        return {"method": "POST", "url": resource_type}
    if _is_amended(resource, amended) or _of_amended(resource, amended):
        return {"method": "PUT", "url": f"{resource_type}?{search}"}
    return {"method": "POST", "url": resource_type, "ifNoneExist": search}


def identifier_search(resource: JsonObject) -> str | None:
    """``identifier=system|value`` of the first identifier, escaped for FHIR search and for a query string;
    None without an identifier value."""
    identifiers = resource.get("identifier") or []
    first = identifiers[0] if isinstance(identifiers, list) and identifiers else {}
    if not isinstance(first, dict) or not first.get("value"):
        return None
    # Without a system, "|value" matches identifiers that have none (https://hl7.org/fhir/R4/search.html#token).
    token = "|".join(
        str(part).translate(SEARCH_ESCAPES) for part in (first.get("system", ""), first["value"])
    )
    return f"identifier={quote(token, safe='')}"


def _target_search(resource: JsonObject, urns: dict[str, str]) -> str | None:
    """``target=urn:uuid:...`` of a Provenance's first target within this result, else None."""
    targets = resource.get("target") or [{}] if resource["resourceType"] == "Provenance" else [{}]
    urn = urns.get(str(targets[0].get("reference", "")))
    return f"target={quote(urn, safe='')}" if urn else None


def _of_amended(resource: JsonObject, amended: set[tuple[str, str]]) -> bool:
    """A Provenance whose first target (its report) replaces the one sent before."""
    if resource["resourceType"] != "Provenance" or not resource.get("target"):
        return False
    target_type, _, target_id = str(resource["target"][0].get("reference", "")).partition("/")
    return (target_type, target_id) in amended


def _key(resource: JsonObject) -> tuple[str, str]:
    return resource["resourceType"], str(resource.get("id"))


def _is_amended(resource: JsonObject, amended: set[tuple[str, str]]) -> bool:
    if (resource["resourceType"], resource.get("id")) in amended:
        return True
    return resource["resourceType"] == "DiagnosticReport" and resource.get("status") in AMENDED_STATUSES


def _rewritten(value: Any, urns: dict[str, str]) -> Any:
    """A copy of ``value`` whose references to resources of this result name their ``urn:uuid:``; any other
    reference (the patient, the inputs, ``#contained``) is left as it is."""
    if isinstance(value, dict):
        return {
            key: urns.get(item, item)
            if key == "reference" and isinstance(item, str)
            else _rewritten(item, urns)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewritten(item, urns) for item in value]
    return value


def _local_reference(resource: JsonObject) -> str:
    return f"{resource['resourceType']}/{resource['id']}"

"""The result as a write-back ``transaction`` Bundle (issue 7): conditional creates by identifier so a resend
duplicates nothing, a conditional update for an amended report, ``urn:uuid:`` references between the
resources, byte-identical output for the same result, and valid FHIR."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model

from service.adapters.fhir_out.write_back import identifier_search, write_back_bundle
from tests.adapters.fhir_out.assessment_factory import build, progression, resources

URN_UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def requests_by_type(transaction: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["request"] for e in transaction["entry"] if e["resource"]["resourceType"] == resource_type]


def references_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for item in value.values() for r in references_in(item)]
    if isinstance(value, list):
        return [r for item in value for r in references_in(item)]
    return []


def searched_identifier(query: str) -> str:
    """The decoded value of the one ``identifier`` parameter of a query string."""
    parsed = parse_qs(query, strict_parsing=True)
    assert list(parsed) == ["identifier"] and len(parsed["identifier"]) == 1
    return parsed["identifier"][0]


def test_transaction_keeps_the_result_order_report_first() -> None:
    """A transaction Bundle with one entry per result resource, the DiagnosticReport first."""
    result = build(progression())
    transaction = write_back_bundle(result)
    assert (transaction["resourceType"], transaction["type"]) == ("Bundle", "transaction")
    sent = [e["resource"]["resourceType"] for e in transaction["entry"]]
    assert sent == [e["resource"]["resourceType"] for e in result["entry"]]
    assert sent[0] == "DiagnosticReport"


def test_every_identified_resource_is_a_conditional_create_on_its_first_identifier() -> None:
    """ifNoneExist ``identifier=system|value`` for each resource with an identifier, so a resent
    transaction finds what the first one created instead of creating it again."""
    result = build(progression())
    transaction = write_back_bundle(result)
    identified = [
        (source["resource"], sent["request"])
        for source, sent in zip(result["entry"], transaction["entry"], strict=True)
        if source["resource"].get("identifier")
    ]
    assert {r["resourceType"] for r, _ in identified} >= {"DiagnosticReport", "CarePlan"}
    for resource, request in identified:
        first = resource["identifier"][0]
        assert (request["method"], request["url"]) == ("POST", resource["resourceType"])
        assert searched_identifier(request["ifNoneExist"]) == f"{first['system']}|{first['value']}"


def test_the_provenance_is_a_conditional_create_on_its_report() -> None:
    """A Provenance has no identifier: it is found by its first target, the report's urn:uuid, which the
    server resolves (issue 15: a resend creates no second Provenance); anything else without an identifier
    would be a plain POST."""
    transaction = write_back_bundle(build(progression()))
    report_urn = transaction["entry"][0]["fullUrl"]
    assert requests_by_type(transaction, "Provenance") == [
        {"method": "POST", "url": "Provenance", "ifNoneExist": f"target={quote(report_urn, safe='')}"}
    ]
    plain = write_back_bundle({"entry": [{"resource": {"resourceType": "Basic", "id": "b"}}]})
    assert plain["entry"][0]["request"] == {"method": "POST", "url": "Basic"}


def test_the_provenance_of_an_amended_report_replaces_the_one_sent_before() -> None:
    """When the report is amended its Provenance is a conditional update on the same key."""
    result = build(progression())
    result["entry"][0]["resource"]["status"] = "amended"
    transaction = write_back_bundle(result)
    report_urn = transaction["entry"][0]["fullUrl"]
    assert requests_by_type(transaction, "Provenance") == [
        {"method": "PUT", "url": f"Provenance?target={quote(report_urn, safe='')}"}
    ]


def test_the_same_result_always_gives_byte_identical_transactions() -> None:
    """Two builds of the same Assessment give the same bytes: the urn:uuids are name-based, not random."""
    first = json.dumps(write_back_bundle(build(progression())))
    second = json.dumps(write_back_bundle(build(progression())))
    assert first == second


def test_another_patients_result_gets_other_urn_uuids() -> None:
    """The urn:uuids come from each resource's type and id; only the service's Device is shared."""
    one = write_back_bundle(build(progression()))["entry"]
    other = write_back_bundle(build(progression(patient="Patient/p2")))["entry"]
    shared = {e["fullUrl"] for e in one} & {e["fullUrl"] for e in other}
    assert shared == {e["fullUrl"] for e in one if e["resource"]["resourceType"] == "Device"}


def test_resources_refer_to_each_other_by_urn_uuid_full_urls() -> None:
    """Report results, CarePlan support, Provenance targets and the Device point at the entries'
    urn:uuid fullUrls; no ``Type/id`` of a result resource is left, since the EHR assigns its own ids."""
    result = build(progression())
    transaction = write_back_bundle(result)
    full_urls = {e["fullUrl"] for e in transaction["entry"]}
    assert all(URN_UUID.match(url) for url in full_urls)
    local = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in result["entry"]}
    references = references_in([e["resource"] for e in transaction["entry"]])
    assert not local & set(references)
    report = transaction["entry"][0]["resource"]
    observation_urls = {
        e["fullUrl"] for e in transaction["entry"] if e["resource"]["resourceType"] == "Observation"
    }
    assert {r["reference"] for r in report["result"]} == observation_urls
    (provenance,) = [
        e["resource"] for e in transaction["entry"] if e["resource"]["resourceType"] == "Provenance"
    ]
    assert {t["reference"] for t in provenance["target"]} <= full_urls
    assert len(provenance["target"]) == len(resources(result, "Provenance")[0]["target"])


def test_references_outside_the_result_are_left_alone() -> None:
    """The patient, the inputs and ``#contained`` references still name what they named."""
    result = build(progression())
    transaction = write_back_bundle(result)
    report = transaction["entry"][0]["resource"]
    assert report["subject"] == resources(result, "DiagnosticReport")[0]["subject"]
    before = {r for r in references_in(result) if r.startswith(("Patient/", "#"))}
    after = {r for r in references_in(transaction) if r.startswith(("Patient/", "#"))}
    assert before == after and before


def test_sent_resources_carry_no_id() -> None:
    """The server assigns ids (and rejects a mismatched one on a conditional update)."""
    transaction = write_back_bundle(build(progression()))
    assert all("id" not in e["resource"] for e in transaction["entry"])


def test_the_result_bundle_is_not_changed() -> None:
    """Pure: the collection Bundle given is left as it was."""
    result = build(progression())
    before = copy.deepcopy(result)
    write_back_bundle(result, amended={("DiagnosticReport", result["entry"][0]["resource"]["id"])})
    assert result == before


def test_an_amended_report_is_a_conditional_update_on_its_identifier() -> None:
    """A report named in ``amended`` replaces the one sent before: ``PUT DiagnosticReport?identifier=``."""
    result = build(progression())
    report = result["entry"][0]["resource"]
    transaction = write_back_bundle(result, amended={("DiagnosticReport", report["id"])})
    (request,) = requests_by_type(transaction, "DiagnosticReport")
    assert request["method"] == "PUT" and "ifNoneExist" not in request
    path, query = request["url"].split("?", 1)
    identifier = report["identifier"][0]
    assert (path, searched_identifier(query)) == (
        "DiagnosticReport",
        f"{identifier['system']}|{identifier['value']}",
    )
    assert requests_by_type(transaction, "CarePlan")[0]["method"] == "POST"


@pytest.mark.parametrize("status", ["amended", "corrected"])
def test_a_report_whose_status_says_amended_is_a_conditional_update(status: str) -> None:
    """``amended`` and its specialisation ``corrected`` need no ``amended`` argument."""
    result = build(progression())
    result["entry"][0]["resource"]["status"] = status
    (request,) = requests_by_type(write_back_bundle(result), "DiagnosticReport")
    assert request["method"] == "PUT" and request["url"].startswith("DiagnosticReport?identifier=")


def test_a_preliminary_report_not_named_amended_is_a_conditional_create() -> None:
    """Another report's (type, id) in ``amended`` changes nothing for this one."""
    transaction = write_back_bundle(build(progression()), amended={("DiagnosticReport", "other")})
    (request,) = requests_by_type(transaction, "DiagnosticReport")
    assert request["method"] == "POST" and "ifNoneExist" in request


@pytest.mark.parametrize(
    ("identifier", "decoded"),
    [
        ({"system": "http://x.org/id", "value": "Patient/1:2025"}, "http://x.org/id|Patient/1:2025"),
        ({"system": "http://x.org/id", "value": "a,b|c$d\\e"}, "http://x.org/id|a\\,b\\|c\\$d\\\\e"),
        ({"system": "http://x.org/id", "value": "a&b=c d+e#f"}, "http://x.org/id|a&b=c d+e#f"),
        ({"value": "no-system"}, "|no-system"),
    ],
    ids=["plain", "fhir-escapes", "query-characters", "without-system"],
)
def test_identifier_search_escapes_for_fhir_and_the_query_string(
    identifier: dict[str, str], decoded: str
) -> None:
    """FHIR search escapes (``\\,`` ``\\|`` ``\\$`` ``\\\\``) inside, percent-encoding outside, so ``&``,
    ``=``, ``+``, ``#`` and spaces in a value survive the query string."""
    query = identifier_search({"resourceType": "X", "identifier": [identifier]})
    assert query is not None and query.startswith("identifier=")
    assert not set(query.removeprefix("identifier=")) & set("&=+# |,")
    assert searched_identifier(query) == decoded


@pytest.mark.parametrize("identifiers", [None, [], [{"system": "http://x.org/id"}]])
def test_no_identifier_value_means_no_identifier_search(identifiers: list[dict[str, str]] | None) -> None:
    resource: dict[str, Any] = {"resourceType": "X"}
    if identifiers is not None:
        resource["identifier"] = identifiers
    assert identifier_search(resource) is None


@pytest.mark.parametrize(("version", "model"), [("4.0", r4b_model), ("5.0", r5_model)])
@pytest.mark.parametrize("amended", [False, True])
def test_transaction_bundle_is_valid_fhir(version: str, model: Any, amended: bool) -> None:
    """The transaction parses with fhir.resources (R4B for R4 output, R5 for R5), entries and all."""
    result = build(progression(), version)
    report_id = result["entry"][0]["resource"]["id"]
    transaction = write_back_bundle(result, amended={("DiagnosticReport", report_id)} if amended else None)
    model("Bundle").model_validate(transaction)

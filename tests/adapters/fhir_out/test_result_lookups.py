"""What the result builders remember between results (issue 19) gives what they would work out afresh: the
name-based ids are RFC 4122 version-5 UUIDs, and the remembered texts stay bounded."""

from __future__ import annotations

import uuid

import pytest

from service.adapters.fhir_out.result_context import Lookups, name_uuid


@pytest.mark.parametrize(
    "name",
    [
        "",
        "http://oncoresponse.org/fhir/report-id|Patient/p1:2026-01-05:recist-1.1|timepoint-response",
        "http://example.org/fhir/device|oncoresponse|0.1.0",
        "report|Patient/患者-7:2026-03-02:irecist|therapeutic-implication|X1|EGFR-T790M",
    ],
)
def test_name_uuid_is_uuid5_of_the_url_namespace(name: str) -> None:
    assert name_uuid(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def test_remembered_lookups_are_emptied_past_the_limit() -> None:
    lookups = Lookups()
    for index in range(Lookups.LIMIT):
        lookups.remember(lookups.texts, f"site.{index}", None)
    assert len(lookups.texts) == Lookups.LIMIT
    lookups.remember(lookups.texts, "label.date", "Date")
    assert lookups.texts == {"label.date": "Date"}

"""References within the posted set: the paths of posted resources (spelled out when first asked for, issue
19) and which entry a reference names when a fullUrl and a Type/id agree."""

from __future__ import annotations

from service.adapters.fhir_in.references import Entry, References


def test_paths_are_those_of_the_entries_given() -> None:
    """Each posted resource's path is its entry's, the last entry's when one resource is given twice; a
    resource not posted (contained) has none; changing the list afterwards changes nothing."""
    first, second, contained = {"resourceType": "Patient", "id": "p"}, {"resourceType": "Observation"}, {}
    entries = [Entry(0, None, first), Entry(1, "urn:uuid:1", second), Entry(2, None, first)]
    refs = References(entries)
    entries.append(Entry(3, None, contained))
    assert refs.path_of(first) == "Bundle.entry[2].resource"
    assert refs.path_of(second) == "Bundle.entry[1].resource"
    assert refs.path_of(contained) is None


def test_a_full_url_wins_over_a_type_and_id() -> None:
    """A fullUrl names its entry even when another entry is that Type/id, before or after it; of two
    entries with one Type/id the first is named."""
    patient = {"resourceType": "Patient", "id": "p"}
    again = {"resourceType": "Patient", "id": "p"}
    named = {"resourceType": "Observation", "id": "o"}
    for entries in (
        [Entry(0, None, patient), Entry(1, "Patient/p", named)],
        [Entry(0, "Patient/p", named), Entry(1, None, patient)],
    ):
        assert References(entries).resolve("Patient/p") is named
    assert References([Entry(0, None, patient), Entry(1, None, again)]).resolve("Patient/p") is patient

"""Which knowledge made a report, and whether a new report's result differs from the stored one (issue 17).

A report prints the knowledge-base version that made it (the Provenance's extension, the CarePlan's
description, the report page inside the DiagnosticReport's ``presentedForm``). Compared as it is, every
report would differ after a version bump, and re-evaluating 10,000 patients would amend 10,000 reports and
notify every subscriber of each. So a resource's *fingerprint* is a hash of its content without the elements
that change on every run (``VOLATILE``) and with every occurrence of the knowledge-base version replaced by a
byte the serialised JSON never holds (orjson escapes control characters), the ``presentedForm`` attachments
decoded first so their text is compared too. Replacing a version by a byte found nowhere else can be undone,
so two results that differ anywhere but in the version still differ.

The rules version is recorded but printed in no report (nothing to leave out). The service's own version is
printed (Device, Provenance) and is not left out: a new release is a new producer.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from service.adapters.fhir_in.bundles import content_hash
from service.app.store_records import EvaluatedWith

if TYPE_CHECKING:
    from service.app.ports import Reader

REPORT, NOT_ASSESSABLE = "report", "not-assessable"  # the outcomes an evaluation records

# Elements that change on every run without changing the result: left out when comparing versions.
VOLATILE = ("meta", "issued", "recorded", "created", "status")
_HIDDEN = ("id", *VOLATILE)  # the id is the key the stored version was found by
_VERSION_MARK = b"\x00"


@dataclass(frozen=True, slots=True)
class Versions:
    """The versions an evaluation is made with: the knowledge base's and its rule specification's."""

    knowledge: str
    rules: str

    def evaluated(self, patient: str, outcome: str) -> EvaluatedWith:
        return EvaluatedWith(patient, self.knowledge, self.rules, outcome)

    def as_log(self) -> dict[str, str]:
        return {"knowledge_version": self.knowledge, "rules_version": self.rules}


def fingerprint(resource: dict[str, Any], knowledge_version: str) -> str:
    """The result a resource states, without what changes each run and without the knowledge version."""
    return _digest(_text(resource), knowledge_version.encode())


@dataclass(frozen=True, slots=True)
class Printed:
    """What a resource's comparable text says, the text made once for both questions asked of it."""

    fingerprint: str
    names_version: bool


def printed(resource: dict[str, Any], knowledge_version: str) -> Printed:
    text, mark = _text(resource), knowledge_version.encode()
    marked = text.replace(mark, _VERSION_MARK)
    # Replaced by one byte, a mark of another length changes the text's length wherever it is found:
    # that answers whether it is printed without a second search of the text (a report page is ~20 kB).
    names = len(marked) != len(text) if len(mark) != 1 else mark in text
    return Printed(hashlib.sha256(marked).hexdigest(), names)


def _digest(text: bytes, version: bytes) -> str:
    return hashlib.sha256(text.replace(version, _VERSION_MARK)).hexdigest()


def names_version(resource: dict[str, Any], knowledge_version: str) -> bool:
    """Whether the resource prints this knowledge-base version (its report page included)."""
    return knowledge_version.encode() in _text(resource)


async def with_version_text(
    reader: Reader,
    reports: Sequence[tuple[list[dict[str, Any]], list[dict[str, Any]]]],
    knowledge_version: str,
    prints: Mapping[int, Printed] | None = None,
) -> list[list[dict[str, Any]]]:
    """For each report (all its resources, the changed ones): its result changed, so the resources that
    print the knowledge-base version join the new version unless theirs names it already, and the new report
    names one version throughout (its Provenance too, though its content may not have changed otherwise).
    The stored versions of such resources, unchanged and so stored, are read in one go for the batch.
    ``prints``: what is known of the resources already, by ``id()`` (they are alive for the call)."""
    changed_keys = [{_key(r) for r in changed} for _, changed in reports]

    def names(resource: dict[str, Any]) -> bool:
        known = prints.get(id(resource)) if prints is not None else None
        return known.names_version if known is not None else names_version(resource, knowledge_version)

    printing = [
        _key(r)
        for (resources, _), keys in zip(reports, changed_keys, strict=True)
        for r in resources
        if _key(r) not in keys and names(r)
    ]
    stale: set[tuple[str, str]] = set()
    if printing:
        found = await reader.current_of(f"{t}/{i}" for t, i in printing)
        stale = {
            (s.resource_type, s.resource_id) for s in found if not names_version(s.content, knowledge_version)
        }
    return [
        [r for r in resources if _key(r) in keys or _key(r) in stale]
        for (resources, _), keys in zip(reports, changed_keys, strict=True)
    ]


def _key(resource: dict[str, Any]) -> tuple[str, str]:
    return resource["resourceType"], resource["id"]


def _text(resource: dict[str, Any]) -> bytes:
    body = {k: v for k, v in resource.items() if k not in _HIDDEN}
    if "presentedForm" in body:
        body["presentedForm"] = [_decoded(form) for form in body["presentedForm"]]
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def unchanged(
    stored_hash: str | None, resource: dict[str, Any], knowledge_version: str, known: Printed | None = None
) -> bool:
    """Whether the stored version states the same result. A version stored before fingerprints (its hash
    still holds the version text) matches when it is the same in every byte but the volatile elements.
    ``known``: the resource's ``printed``, when made already."""
    if stored_hash is None:
        return False
    if stored_hash == (known.fingerprint if known else fingerprint(resource, knowledge_version)):
        return True
    return stored_hash == _hash_with_versions(resource)


def _hash_with_versions(resource: dict[str, Any]) -> str:
    return content_hash({k: v for k, v in resource.items() if k not in VOLATILE})


def _decoded(form: Any) -> Any:
    if not isinstance(form, dict) or not isinstance(form.get("data"), str):
        return form
    return {**form, "data": base64.b64decode(form["data"]).decode("utf-8", "replace")}

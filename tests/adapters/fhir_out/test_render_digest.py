"""The rendering of assessments into FHIR, pinned (issues 17 and 19): a broad set of assessments (the shared
examples at every scan, the golden inputs, synthetic patients of 1, 6 and 60 time points) each rendered in
en and zh-CN, R4 and R5, with and without the HTML ``presentedForm``, plus the report page with the posted
patient's banner; the JSON of every result (orjson, sorted keys) is hashed into one digest. A faster renderer
must give the same digest; a change that means to change the output updates ``EXPECTED`` in the same commit
and says why.

The assessments are made in process without the store (what ``$evaluate`` of a posted Bundle does), with
today and the issue time fixed. The ``presentedForm`` is hashed as its HTML; the service version and the
Device id made from it are replaced by placeholders, so a release does not move the digest (the knowledge
base's version is part of it)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any, cast

import orjson

from benchmarks.synthetic import collection
from service import __version__
from service.adapters.fhir_in.bundles import plan_bundle, rewrite_references
from service.adapters.fhir_in.normalise import normalise
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import detect_version
from service.adapters.fhir_out.html import report_html
from service.adapters.fhir_out.patient_banner import PatientBanner
from service.adapters.fhir_out.report import ResultRenderer
from service.adapters.fhir_out.result_context import ResultContext
from service.app.evaluate import Evaluate, merge
from service.app.ports import Store
from service.config import default_mappings_dir
from service.domain.assess import NotAssessableError, assess
from service.domain.assessment import Assessment, Criteria
from service.domain.facts import Fact, LesionObservation
from service.knowledge import Knowledge, load_knowledge
from tests.conftest import REPO, SHARED

EXPECTED = "b4c3d3327eddc1e551c9d2d174fe6ecf78605c96f9fd2f5389ebc1dcb5ef50c6"
CANON = "http://oncoresponse.org/fhir"
TODAY = dt.date(2026, 12, 1)
ISSUED = dt.datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=dt.UTC)
LANGUAGES = ("en", "zh-CN")
VERSIONS = ("4.0", "5.0")
EXAMPLES = (
    "seed-slightly-larger",
    "seed-t790m-progression",
    "irecist-iupd-icpd",
    "oligoprogression",
    "r5-shapes",
)
GOLDEN = REPO / "tests" / "golden"
SYNTHETIC_POINTS = (1, 6, 60)
_VERSION = re.compile(rb"(?<![\d.])" + re.escape(__version__.encode()) + rb"(?![\d.])")


@cache
def knowledge() -> Knowledge:
    return load_knowledge(default_mappings_dir())


def read(bundle: dict[str, Any]) -> tuple[str, list[Fact]]:
    """The Bundle's one patient and its facts, as ``$evaluate`` reads a posted Bundle (today fixed)."""
    transactional = bundle.get("type") in ("transaction", "batch")
    planned, problems = plan_bundle(bundle, transactional, hashed=False)
    assert not problems, problems
    rewrite_references(planned)
    entries = [Entry(p.index, p.full_url, p.resource) for p in planned]
    result = normalise(entries, knowledge(), CANON, detect_version(bundle), today=TODAY)
    (patient,) = result.patients
    return patient, [f for f in result.facts if f.patient == patient]


def assessed(patient: str, facts: list[Fact], as_of: dt.date | None, criteria: str | None) -> Assessment:
    """As ``Evaluate`` does with nothing stored: as of the given date, else the latest fact's."""
    merged = merge([], facts)
    day = as_of or merged.latest_date or TODAY
    policy = Evaluate(cast("Store", None), knowledge()).policy  # the policy is made from the knowledge only
    return assess(patient, merged.up_to(day), day, policy, criteria=Criteria(criteria) if criteria else None)


def inputs() -> Iterator[tuple[str, dict[str, Any], dt.date | None, str | None]]:
    """(label, Bundle, as of, criteria): the examples, the golden inputs, the synthetic patients."""
    for name in EXAMPLES:
        yield name, orjson.loads((SHARED / "examples" / f"{name}.json").read_bytes()), None, None
    for expected_file in sorted(GOLDEN.glob("*/expected.json")):
        expected = json.loads(expected_file.read_text())
        source = REPO / expected["input"] if "input" in expected else expected_file.parent / "input.json"
        as_of = dt.date.fromisoformat(expected["as_of"]) if "as_of" in expected else None
        bundle = orjson.loads(source.read_bytes())
        yield expected_file.parent.name, bundle, as_of, expected.get("criteria")
    for points in SYNTHETIC_POINTS:
        yield f"synthetic-{points}", collection(1, points, spacing_days=14), None, None


def assessments() -> Iterator[tuple[str, Assessment, dict[str, Any]]]:
    """(label, assessment, the posted Patient): each input as of its date, each example also at every scan."""
    for label, bundle, as_of, criteria in inputs():
        patient, facts = read(bundle)
        posted = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        scans = sorted({f.observed_on for f in facts if isinstance(f, LesionObservation)})
        days = [as_of, *(scans if label in EXAMPLES else [])]
        for day in days:
            try:
                yield f"{label}@{day}", assessed(patient, facts, day, criteria), posted
            except NotAssessableError:
                continue  # the baseline scan alone: nothing to assess


def rendered(
    render: ResultRenderer, assessment: Assessment, posted: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    """Every rendering of one assessment: the result Bundles, then the report page with the banner."""
    for language in LANGUAGES:
        for version in VERSIONS:
            for with_html in (False, True):
                bundle = render(assessment, language, version, ISSUED, with_html=with_html)
                yield f"{language} {version} html={with_html}", _html_decoded(bundle)
        ctx = ResultContext(assessment, knowledge(), CANON, language, "4.0", ISSUED, knowledge().texts.text)
        yield f"{language} page", report_html(ctx, PatientBanner.of(posted))


def _html_decoded(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle with the ``presentedForm`` data as its HTML text (so the service version can be masked)."""
    for form in bundle["entry"][0]["resource"].get("presentedForm", []):
        form["data"] = base64.b64decode(form["data"]).decode("utf-8")
    return bundle


def render_digest() -> tuple[str, int]:
    digest, count = hashlib.sha256(), 0
    render = ResultRenderer(knowledge(), CANON)  # one for all, as served: what it remembers is shared
    for label, assessment, posted in assessments():
        ctx = ResultContext(assessment, knowledge(), CANON, "en", "4.0", ISSUED, knowledge().texts.text)
        device = ctx.device_id.encode()
        for kind, result in rendered(render, assessment, posted):
            data = orjson.dumps(result, option=orjson.OPT_SORT_KEYS).replace(device, b"DEVICE")
            digest.update(f"{label} {kind}\n".encode() + _VERSION.sub(b"VERSION", data) + b"\n")
            count += 1
    return digest.hexdigest(), count


def test_rendered_results_are_unchanged() -> None:
    """Every rendering of every assessment is byte for byte as pinned."""
    digest, count = render_digest()
    assert count > 500
    assert digest == EXPECTED, f"the rendered results changed: digest {digest} over {count} renderings"


if __name__ == "__main__":  # python -m tests.adapters.fhir_out.test_render_digest: print the digest to pin
    print(render_digest())  # noqa: T201  # the command's output

"""What the result resources say (FHIR-CONTRACT.md sections 4 and 5): response, components, disease status,
resistance findings, conclusion, CarePlan activities and Provenance."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from service.adapters.fhir_out.summary import TEXT_CODES
from tests.adapters.fhir_out.assessment_factory import (
    CANON,
    HOSTILE,
    build,
    fake_texts,
    knowledge,
    progression,
    resources,
    stable_without_sums,
    strict_texts,
)

NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"


def observation(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    """The result Observation whose first coding has this code."""
    return next(o for o in resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == code)


def component(resource: dict[str, Any], code: str) -> dict[str, Any]:
    return next(c for c in resource["component"] if c["code"]["coding"][0]["code"] == code)


def codes(concept: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["system"], c["code"]) for c in concept["coding"]]


def test_report_frame() -> None:
    """Preliminary; coded LOINC 88040-1 with the service's report-type beside it and a v2-0074 category
    (issue 15: what inboxes route on); the time point as effective date; the service as the performer, an
    Organization contained in the report (R4 allows no Device there), the Device named where R4 allows it."""
    bundle = build(progression())
    report = resources(bundle, "DiagnosticReport")[0]
    device = resources(bundle, "Device")[0]
    assert report["status"] == "preliminary"
    assert codes(report["code"]) == [
        ("http://loinc.org", "88040-1"),
        (f"{CANON}/CodeSystem/report-type", "response-resistance-assessment"),
    ]
    assert [codes(c) for c in report["category"]] == [
        [("http://terminology.hl7.org/CodeSystem/v2-0074", "OTH")]
    ]
    assert (report["effectiveDateTime"], report["issued"]) == ("2025-03-01", "2025-03-02T09:30:00+00:00")
    (organization,) = report["contained"]
    assert report["performer"] == [{"reference": f"#{organization['id']}", "display": "oncoresponse"}]
    assert (organization["resourceType"], organization["name"]) == ("Organization", "oncoresponse")
    device_reference = {"reference": f"Device/{device['id']}", "display": "oncoresponse 0.1.0"}
    assert all(o["device"] == device_reference for o in resources(bundle, "Observation"))
    assert resources(bundle, "Provenance")[0]["agent"] == [{"who": device_reference}]


def test_timepoint_response_value_method_and_ncit() -> None:
    """PD from response-category plus NCIt C35571, method RECIST 1.1, derived from the time point's inputs."""
    response = observation(build(progression()), "timepoint-response")
    assert codes(response["valueCodeableConcept"]) == [
        (f"{CANON}/CodeSystem/response-category", "PD"),
        (NCIT, "C35571"),
    ]
    assert codes(response["method"]) == [(f"{CANON}/CodeSystem/response-criteria", "recist-1.1")]
    assert [r["reference"] for r in response["derivedFrom"]] == [
        "Observation/lesion-1-d3",
        "ImagingStudy/ct-3",
    ]


def test_timepoint_components_in_ucum() -> None:
    """Target PD, NT non-CR/non-PD, no new lesion, 60 mm, -10.4 % from baseline, +33.3 % from nadir 45."""
    response = observation(build(progression()), "timepoint-response")
    assert component(response, "target-response")["valueCodeableConcept"]["coding"][0]["code"] == "PD"
    assert (
        component(response, "non-target-response")["valueCodeableConcept"]["coding"][0]["code"]
        == "NON-CR-NON-PD"
    )
    assert component(response, "new-lesions")["valueBoolean"] is False
    quantities = {
        c: component(response, c)["valueQuantity"] for c in ("sum-of-diameters", "nadir-sum-of-diameters")
    }
    assert [q["value"] for q in quantities.values()] == [60, 45]
    assert {(q["system"], q["code"]) for q in quantities.values()} == {("http://unitsofmeasure.org", "mm")}
    assert component(response, "percent-change-from-baseline")["valueQuantity"]["value"] == -10.4
    assert component(response, "percent-change-from-nadir")["valueQuantity"]["code"] == "%"
    assert component(response, "percent-change-from-nadir")["valueQuantity"]["value"] == 33.3


def test_no_sum_components_without_target_disease() -> None:
    """Non-target disease only: no target, sum or percentage components; no NCIt coding for Non-CR/non-PD."""
    response = observation(build(stable_without_sums()), "timepoint-response")
    assert [c["code"]["coding"][0]["code"] for c in response["component"]] == [
        "non-target-response",
        "new-lesions",
    ]
    assert len(response["valueCodeableConcept"]["coding"]) == 1


def test_best_overall_response_says_whether_confirmed() -> None:
    """Best overall response PR, with the confirmed component, derived from the time-point response."""
    bundle = build(progression())
    best = observation(bundle, "best-overall-response")
    assert best["valueCodeableConcept"]["coding"][1]["code"] == "C18058"
    assert component(best, "response-confirmed")["valueBoolean"] is True
    assert (
        best["derivedFrom"][0]["reference"]
        == f"Observation/{observation(bundle, 'timepoint-response')['id']}"
    )


def test_progression_assessment_value() -> None:
    """Value from progression-status; derivedFrom lists Observations and studies, not the Condition."""
    progression_obs = observation(build(progression()), "progression-assessment")
    assert codes(progression_obs["valueCodeableConcept"]) == [
        (f"{CANON}/CodeSystem/progression-status", "progression-supported")
    ]
    derived = [r["reference"] for r in progression_obs["derivedFrom"]]
    assert "Observation/cea-3" in derived and "Condition/nsclc" not in derived


def test_disease_status_is_mcode() -> None:
    """LOINC 97509-4, SNOMED worsened, one evidence-type extension per evidence type used."""
    status = observation(build(progression()), "97509-4")
    assert status["meta"]["profile"] == [
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-disease-status"
    ]
    assert codes(status["valueCodeableConcept"]) == [("http://snomed.info/sct", "271299001")]
    evidence = [e["valueCodeableConcept"]["coding"][0]["code"] for e in status["extension"]]
    assert evidence == ["363679005", "250724005"]


def test_therapeutic_implication_per_finding() -> None:
    """Genomics Reporting shape: Resistant, osimertinib assessed (RxNorm), mechanism, variant derivedFrom."""
    implication = observation(build(progression()), "therapeutic-implication")
    assert implication["meta"]["profile"][0].endswith("/therapeutic-implication")
    assert (
        component(implication, "therapeutic-implication")["valueCodeableConcept"]["coding"][0]["code"]
        == "LA6676-6"
    )
    drug = component(implication, "51963-7")["valueCodeableConcept"]
    assert (drug["text"], codes(drug)) == ("osimertinib", [(RXNORM, "1721560"), (ATC, "L01EB04")])
    mechanism = component(implication, "resistance-mechanism")["valueCodeableConcept"]
    assert codes(mechanism) == [(f"{CANON}/CodeSystem/resistance-mechanism", "MET-AMP-HIGH")]
    assert implication["derivedFrom"] == [{"reference": "Observation/met-cn"}]


def test_conclusion_codes_list_every_coded_finding() -> None:
    """Response, progression status, each flag and each mechanism, in that order."""
    report = resources(build(progression()), "DiagnosticReport")[0]
    assert [c["coding"][0]["code"] for c in report["conclusionCode"]] == [
        "PD",
        "progression-supported",
        "OLIGOPROGRESSION",
        "LOCAL_THERAPY_AMENABILITY_UNKNOWN",
        "CEA_RISE_SIGNIFICANT",
        "MET-AMP-HIGH",
    ]


@pytest.mark.parametrize(
    ("language", "mark", "other"), [("en", "[en]", "【中文】"), ("zh-CN", "【中文】", "[en]")]
)
def test_conclusion_in_the_requested_language(language: str, mark: str, other: str) -> None:
    """The conclusion, HTML and care-plan description come from the texts of the requested language."""
    bundle = build(progression(), language=language)
    report, plan = resources(bundle, "DiagnosticReport")[0], resources(bundle, "CarePlan")[0]
    assert mark in report["conclusion"] and other not in report["conclusion"]
    assert fake_texts("response-category.PD", language) in report["conclusion"]
    assert plan["description"].startswith(mark)
    assert report["presentedForm"][0]["language"] == language


def test_conclusion_falls_back_to_english_displays() -> None:
    """Texts without coded displays: the conclusion uses the displays of code-systems.yaml."""
    report = resources(build(progression(), texts=strict_texts), "DiagnosticReport")[0]
    assert (
        "Progressive disease" in report["conclusion"]
        and "MET amplification, high level" in report["conclusion"]
    )


def html_of(bundle: dict[str, Any]) -> str:
    form = resources(bundle, "DiagnosticReport")[0]["presentedForm"][0]
    assert form["contentType"] == "text/html"
    return base64.b64decode(form["data"]).decode("utf-8")


def test_html_escapes_every_text() -> None:
    """A note with markup is shown as text: no script element reaches the HTML."""
    html = html_of(build(progression()))
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert HOSTILE not in html


def test_html_has_the_sum_and_cea_charts() -> None:
    """An inline SVG of the sums with 4 reference lines, and one for CEA; none for absent ctDNA."""
    html = html_of(build(progression()))
    assert html.count("<svg") == 2
    assert html.count('stroke-dasharray="4 3"') == 4
    assert "label.ctdna" not in html and "label.cea" in html
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_html_without_sums_has_no_chart() -> None:
    """No target sums and no markers: no SVG at all."""
    assert "<svg" not in html_of(build(stable_without_sums()))


def real_texts(code: str, language: str) -> str:
    return knowledge().texts.text(code, language)


def test_texts_file_has_every_text_code_in_both_languages() -> None:
    """mappings/texts.yaml provides every TEXT_CODES entry the builders ask for, in en and zh-CN."""
    missing = [(code, lang) for code in TEXT_CODES for lang in ("en", "zh-CN") if not _has(code, lang)]
    assert missing == []


def test_chinese_report_with_the_real_texts() -> None:
    """With the committed texts, the zh-CN conclusion opens with the response as CLINICAL-RULES T66 does
    and uses full-width punctuation."""
    report = resources(build(progression(), language="zh-CN", texts=real_texts), "DiagnosticReport")[0]
    assert report["conclusion"].startswith(
        real_texts("response-category.PD", "zh-CN") + "\uff0c"
    )  # full-width comma
    assert real_texts("resistance-mechanism.MET-AMP-HIGH", "zh-CN") in report["conclusion"]
    assert report["conclusion"].endswith("。")


def _has(code: str, language: str) -> bool:
    try:
        return bool(real_texts(code, language))
    except KeyError:
        return False

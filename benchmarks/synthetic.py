"""Synthetic inbound Bundles shaped like the contract examples (``../shared/examples``), for benchmarks.

One patient: Patient, Condition, MedicationRequest, 3 lesions (BodyStructure), a tissue Specimen and a
baseline EGFR variant, a non-target bone lesion; then per time point an ImagingStudy, 3 TumorSize
Observations, the bone lesion's status, the imaging DiagnosticReport, a CEA and an ECOG, and on every other
time point a plasma Specimen with a variant. Six time points make 63 resources.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"
_ROLE = "http://oncoresponse.org/fhir/StructureDefinition/lesion-role"
_SITES = [
    ("A", "39607008", "Lung structure"),
    ("B", "10200004", "Liver structure"),
    ("C", "23451007", "Adrenal gland structure"),
]
_END = date(2026, 10, 12)  # the last time point; every date stays in the past
_CANON = "http://oncoresponse.org/fhir/CodeSystem"


def coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}


def patient_resources(pid: str, time_points: int, spacing_days: int = 56) -> list[dict[str, Any]]:
    start = _END - timedelta(days=spacing_days * (time_points - 1))
    subject = {"reference": f"Patient/{pid}"}
    out: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1961-03-02"},
        {
            "resourceType": "Condition",
            "id": f"{pid}-nsclc",
            "subject": subject,
            "code": coding(SNOMED, "254637007", "Non-small cell lung cancer"),
            "onsetDateTime": "2025-11-06",
        },
        {
            "resourceType": "MedicationRequest",
            "id": f"{pid}-rx",
            "status": "active",
            "intent": "order",
            "subject": subject,
            "authoredOn": start.isoformat(),
            "medicationCodeableConcept": {
                **coding("http://www.nlm.nih.gov/research/umls/rxnorm", "328134", "gefitinib"),
                "text": "gefitinib",
            },
        },
    ]
    out += [_lesion(pid, subject, *site) for site in [*_SITES, ("D", "272673000", "Bone structure")]]
    out += _variant(pid, subject, "tissue", start - timedelta(days=40), "L858R", 0.31)
    for tp in range(time_points):
        out += _time_point(pid, subject, tp, start + timedelta(days=spacing_days * tp))
    return out


def _lesion(pid: str, subject: dict[str, str], letter: str, code: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "BodyStructure",
        "id": f"{pid}-les-{letter}",
        "patient": subject,
        "identifier": [{"system": "urn:oncoresponse-bench:lesion", "value": f"{pid}-{letter}"}],
        "location": coding(SNOMED, code, display),
    }


def _time_point(pid: str, subject: dict[str, str], tp: int, day: date) -> list[dict[str, Any]]:
    study = f"{pid}-study-{tp}"
    out: list[dict[str, Any]] = [
        {
            "resourceType": "ImagingStudy",
            "id": study,
            "status": "available",
            "subject": subject,
            "started": f"{day}T09:00:00Z",
            "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
        },
        _lab(pid, subject, f"cea{tp}", "2039-6", day, 3.0 + 0.4 * tp, "ng/mL"),
        {
            "resourceType": "Observation",
            "id": f"{pid}-ecog{tp}",
            "status": "final",
            "subject": subject,
            "code": coding(LOINC, "89247-1"),
            "effectiveDateTime": f"{day}T08:00:00Z",
            "valueInteger": min(tp // 4, 1),
        },
    ]
    for i, (letter, code, display) in enumerate(_SITES):
        out.append(_tumour_size(pid, subject, study, letter, code, display, day, 20 + 5 * i + (tp % 3)))
    out.append(_lesion_status(pid, subject, study, day))
    out.append(
        {
            "resourceType": "DiagnosticReport",
            "id": f"{study}-report",
            "status": "final",
            "subject": subject,
            "code": coding(LOINC, "18748-4", "Diagnostic imaging study"),
            "effectiveDateTime": f"{day}T10:00:00Z",
            "imagingStudy": [{"reference": f"ImagingStudy/{study}"}],
            "result": [{"reference": f"Observation/{study}-{letter}"} for letter in ("A", "B", "C", "D")],
        }
    )
    if tp % 2 == 1:
        out += _variant(pid, subject, "plasma", day, "T790M", round(0.01 * (tp % 10 + 1), 2))
    return out


def _tumour_size(
    pid: str, subject: dict[str, str], study: str, letter: str, code: str, display: str, day: date, mm: float
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{study}-{letter}",
        "status": "final",
        "subject": subject,
        "effectiveDateTime": f"{day}T09:30:00Z",
        "focus": [{"reference": f"BodyStructure/{pid}-les-{letter}"}],
        "derivedFrom": [{"reference": f"ImagingStudy/{study}"}],
        "bodySite": coding(SNOMED, code, display),
        "extension": [{"url": _ROLE, "valueCode": "target"}],
        "code": coding(LOINC, "21889-1", "Size Tumor"),
        "component": [
            {
                "code": coding(LOINC, "33728-7"),
                "valueQuantity": {"value": mm, "unit": "mm", "system": UCUM, "code": "mm"},
            }
        ],
    }


def _lesion_status(pid: str, subject: dict[str, str], study: str, day: date) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{study}-D",
        "status": "final",
        "subject": subject,
        "effectiveDateTime": f"{day}T09:30:00Z",
        "focus": [{"reference": f"BodyStructure/{pid}-les-D"}],
        "derivedFrom": [{"reference": f"ImagingStudy/{study}"}],
        "extension": [{"url": _ROLE, "valueCode": "non-target"}],
        "code": coding(f"{_CANON}/observation-type", "lesion-assessment"),
        "valueCodeableConcept": coding(f"{_CANON}/lesion-status", "present"),
    }


def _lab(
    pid: str, subject: dict[str, str], key: str, code: str, day: date, value: float, unit: str
) -> dict[str, Any]:
    quantity = {"unit": unit, "system": UCUM, "code": unit}
    return {
        "resourceType": "Observation",
        "id": f"{pid}-{key}",
        "status": "final",
        "subject": subject,
        "code": coding(LOINC, code),
        "effectiveDateTime": f"{day}T08:00:00Z",
        "valueQuantity": {"value": round(value, 2), **quantity},
        "referenceRange": [{"high": {"value": 5, **quantity}}],
    }


def _variant(
    pid: str, subject: dict[str, str], kind: str, day: date, change: str, vaf: float
) -> list[dict[str, Any]]:
    specimen_code = ("119376003", "Tissue specimen") if kind == "tissue" else ("119361006", "Plasma specimen")
    spec_id = f"{pid}-spec-{kind}-{day}"
    return [
        {
            "resourceType": "Specimen",
            "id": spec_id,
            "subject": subject,
            "type": coding(SNOMED, *specimen_code),
            "collection": {"collectedDateTime": f"{day}T08:00:00Z"},
        },
        {
            "resourceType": "Observation",
            "id": f"{pid}-var-{change}-{day}",
            "status": "final",
            "subject": subject,
            "code": coding(LOINC, "69548-6"),
            "effectiveDateTime": f"{day}T08:00:00Z",
            "specimen": {"reference": f"Specimen/{spec_id}"},
            "valueCodeableConcept": coding(LOINC, "LA9633-4"),
            "component": [
                {
                    "code": coding(LOINC, "48018-6"),
                    "valueCodeableConcept": coding("http://www.genenames.org/geneId", "HGNC:3236", "EGFR"),
                },
                {
                    "code": coding(LOINC, "48005-3"),
                    "valueCodeableConcept": coding("http://varnomen.hgvs.org", f"p.{change}"),
                },
                {
                    "code": coding(LOINC, "81258-6"),
                    "valueQuantity": {"value": vaf, "system": UCUM, "code": "1"},
                },
            ],
        },
    ]


def collection(patients: int, time_points: int, spacing_days: int = 56) -> dict[str, Any]:
    resources = [
        r for p in range(patients) for r in patient_resources(f"bench-{p}", time_points, spacing_days)
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:bench:{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }

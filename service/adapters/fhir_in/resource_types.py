"""The resource types the service stores and serves for read and search (FHIR-CONTRACT section 2).

Every posted resource is kept, whatever its type; these are the types a client can read back.
"""

READABLE_TYPES = (
    "Patient",
    "Observation",
    "DiagnosticReport",
    "CarePlan",
    "ImagingStudy",
    "MolecularSequence",
    "BodyStructure",
    "Condition",
    "Specimen",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Provenance",
    "Device",  # the service's own, which every result names (issue 15: its references resolve)
)

"""The service's own CodeSystems as FHIR resources, served at ``CANON/CodeSystem/{id}`` (FHIR-CONTRACT.md
preamble and section 2). The shape is the same in R4, R4B and R5."""

from __future__ import annotations

from typing import Any

from service.knowledge.code_systems import CodeSystemDefinition, CodeSystems

PUBLISHER = "oncoresponse"


def code_system_url(canonical_base: str, system_id: str) -> str:
    return f"{canonical_base.rstrip('/')}/CodeSystem/{system_id}"


def code_system_resource(
    definition: CodeSystemDefinition, *, canonical_base: str, version: str
) -> dict[str, Any]:
    """One CodeSystem: ``status`` active, ``content`` complete, versioned with the knowledge base."""
    return {
        "resourceType": "CodeSystem",
        "id": definition.id,
        "url": code_system_url(canonical_base, definition.id),
        "version": version,
        "name": definition.name,
        "title": definition.title,
        "status": "active",
        "experimental": False,
        "publisher": PUBLISHER,
        "description": definition.description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(definition.concepts),
        "concept": [
            {"code": c.code, "display": c.display, "definition": c.definition} for c in definition.concepts
        ],
    }


def code_system_searchset(
    systems: CodeSystems, *, canonical_base: str, version: str, self_url: str
) -> dict[str, Any]:
    """Every CodeSystem the service defines, as a ``searchset`` Bundle."""
    resources = [
        code_system_resource(s, canonical_base=canonical_base, version=version) for s in systems.code_systems
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [{"fullUrl": r["url"], "resource": r, "search": {"mode": "match"}} for r in resources],
    }

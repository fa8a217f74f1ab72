"""Observation → the reader for its concept (FHIR-CONTRACT.md section 3). The concept comes from the first
coding of ``Observation.code`` found in loinc.yaml, observation-codes.yaml or the K16 neuroendocrine marker
codes of markers.yaml (NSE, ProGRP: LOINC or a site's local code); an unknown code is a warning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.adapters.fhir_in.conditions import read_histology
from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding, Node
from service.adapters.fhir_in.genomics import read_variant
from service.adapters.fhir_in.labs import (
    MarkerCoding,
    Scale,
    read_marker,
    read_mrd,
    read_performance,
    read_tumour_fraction,
)
from service.adapters.fhir_in.lesions import read_lesion
from service.adapters.fhir_in.plain_labs import read_plain_marker, read_plain_performance
from service.adapters.fhir_in.plain_lesions import read_plain_lesion
from service.adapters.fhir_in.plain_variants import read_plain_variant
from service.domain.facts import Fact

_LESION = frozenset({"tumour-size", "longest-diameter", "lesion-assessment"})
_MARKERS = frozenset({"cea", "nse", "progrp"})
# Recognised, but not an input fact: the service's own output, and component-only codes sent as a code.
_NOT_READ = frozenset({"disease-status"})


def read_observation(node: Node, ctx: Context) -> Sequence[Fact]:
    concept, entry = _concept(node, ctx)
    if concept is None:
        node.issues.not_recognised(node.at("code"), "Observation.code")
        return []
    if concept in _LESION:
        plain = read_plain_lesion(node.data, concept, ctx)  # the fast path, for a well-formed resource
        return [plain] if plain is not None else read_lesion(node, concept, ctx)
    if concept in _MARKERS and entry is not None:
        marker = read_plain_marker(node.data, entry, ctx)  # the fast path, for a well-formed resource
        return [marker] if marker is not None else read_marker(node, entry, ctx)
    if concept in ("ecog", "karnofsky"):
        scale: Scale = "ecog" if concept == "ecog" else "karnofsky"
        score = read_plain_performance(node.data, scale, ctx)
        return [score] if score is not None else read_performance(node, scale, ctx)
    return _other(node, concept, ctx)


def _other(node: Node, concept: str, ctx: Context) -> Sequence[Fact]:
    if concept == "variant":
        plain = read_plain_variant(node.data, ctx)  # the fast path, for a well-formed resource
        return [plain] if plain is not None else read_variant(node, ctx)
    if concept == "histology":
        return read_histology(node, ctx)
    if concept == "mrd":
        return read_mrd(node, ctx)
    if concept == "tumour-fraction":
        return read_tumour_fraction(node, ctx)
    if concept not in _NOT_READ:
        node.issues.not_recognised(
            node.at("code"), f"Observation.code ({concept} is only read as a component)"
        )
    return []


def _concept(node: Node, ctx: Context) -> tuple[str | None, MarkerCoding | None]:
    """The concept of ``Observation.code``, worked out once per call for each code sent (every time point
    sends the same codes): by its system and code for a single well-formed coding, else by every coding."""
    key: tuple[Any, ...] | None = _single_coding(node.data.get("code"))
    codings = None
    if key is None:
        codings = node.codings("code")  # the checked reading, which reports what is malformed
        key = ("concept", *codings)
    found: tuple[str | None, MarkerCoding | None] | None = ctx.worked_out.get(key)
    if found is None:
        codings = codings if codings is not None else [Coding(key[1], key[2])]
        found = ctx.worked_out[key] = _first_concept(codings, ctx)
    return found


def _single_coding(code: Any) -> tuple[str, str, str] | None:
    """``("concept", system, code)`` of a CodeableConcept of one coding, whose system and code are strings
    and whose display is absent or a string (``Node.codings`` reads it without an issue); else None."""
    items = code.get("coding") if type(code) is dict else None
    if type(items) is not list or len(items) != 1 or type(items[0]) is not dict:
        return None
    system, value, display = items[0].get("system"), items[0].get("code"), items[0].get("display")
    if type(system) is str and type(value) is str and (display is None or type(display) is str):
        return "concept", system, value
    return None


def _first_concept(codings: list[Coding], ctx: Context) -> tuple[str | None, MarkerCoding | None]:
    for coding in codings:
        entry = ctx.knowledge.loinc.entry(coding.system, coding.code)
        if entry is not None:
            return entry.concept, entry
        local = ctx.local.concepts.get((coding.system or "", coding.code or ""))
        if local is not None:
            return local, None
        marker = ctx.knowledge.markers.marker(coding.system, coding.code)  # K16
        if marker is not None:
            return marker.concept, marker
    return None, None

"""Observation → the reader for its concept (FHIR-CONTRACT.md section 3). The concept comes from the first
coding of ``Observation.code`` found in loinc.yaml, observation-codes.yaml or the K16 neuroendocrine marker
codes of markers.yaml (NSE, ProGRP: LOINC or a site's local code); an unknown code is a warning."""

from __future__ import annotations

from collections.abc import Sequence

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
    """The concept of ``Observation.code``, worked out once per call for each set of codings (every time
    point sends the same codes)."""
    codings = node.codings("code")
    key = ("concept", *codings)
    found: tuple[str | None, MarkerCoding | None] | None = ctx.worked_out.get(key)
    if found is None:
        found = ctx.worked_out[key] = _first_concept(codings, ctx)
    return found


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

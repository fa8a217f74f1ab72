"""The fast path for the ImagingStudy a lesion names (issue 19), as :mod:`plain_lesions` is for the lesion:
one typed decode of the elements :func:`imaging._from_study` reads (the modality of the study or of its
series, the scanner extension), then its rules without a Node per element.

Taken only when the checked reading would report nothing: any wrong JSON type fails the decode (also one the
checked reading would not reach, such as a series after the modality found), and the caller reads the study
the checked way (:func:`imaging.quiet_study`). The two readings are tested to agree
(tests/adapters/fhir_in/test_plain_studies.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding
from service.adapters.fhir_in.imaging import Imaging
from service.adapters.fhir_in.lesion_shapes import Reference, Shape
from service.adapters.fhir_in.versions import FhirVersion
from service.domain.facts import TimepointBasis


class _Extension(Shape):
    value_reference: Reference | None = None


class _Series(Shape):
    modality: Coding | None = None  # R4 and R4B: a Coding


class _Study(Shape):
    modality: list[Coding] = msgspec.field(default_factory=list)
    series: list[_Series] = msgspec.field(default_factory=list)
    extension: list[_Extension] = msgspec.field(default_factory=list)


class _Modality(Shape):
    """R5: a CodeableConcept, whose codings are read."""

    coding: list[Coding] = msgspec.field(default_factory=list)


class _SeriesR5(Shape):
    modality: _Modality | None = None


class _StudyR5(Shape):
    modality: list[_Modality] = msgspec.field(default_factory=list)
    series: list[_SeriesR5] = msgspec.field(default_factory=list)
    extension: list[_Extension] = msgspec.field(default_factory=list)


def plain_study(name: str, study: dict[str, Any] | None, ctx: Context) -> Imaging | None:
    """What an ImagingStudy tells, read from a well-formed one; None when the checked reading must read it."""
    if study is None:
        return Imaging(name, TimepointBasis.IMAGING_STUDY)
    try:
        if ctx.version is FhirVersion.R5:
            r5 = msgspec.convert(study, _StudyR5)
            modality = _first_code(
                [m.coding for m in r5.modality] + [s.modality.coding for s in r5.series if s.modality]
            )
            extensions = r5.extension
        else:
            r4 = msgspec.convert(study, _Study)
            modality = _first_code([r4.modality] + [[s.modality] for s in r4.series if s.modality])
            extensions = r4.extension
    except msgspec.ValidationError:
        return None
    return Imaging(name, TimepointBasis.IMAGING_STUDY, _scanner(extensions, study, ctx), modality)


def _first_code(groups: list[list[Coding]]) -> str | None:
    """The first code sent, in the order :func:`imaging._modality` reads the codings."""
    return next((c.code for codings in groups for c in codings if c.code), None)


def _scanner(extensions: list[_Extension], study: dict[str, Any], ctx: Context) -> str | None:
    """As :func:`imaging._scanner`: the first extension that references a Device."""
    for extension in extensions:
        reference = extension.value_reference
        name = ctx.references.name(reference.reference, study) if reference is not None else None
        if name and name.startswith("Device/"):
            return name
    return None

"""The shapes of the resources a lesion observation is read from, as the fast path (plain_lesions.py)
decodes them: msgspec structs of the elements the lesion reading uses, each typed as FHIR JSON types it
(a string, a number that is no bool, an object, an array of objects). A resource whose elements have other
JSON types fails to decode, and is read the checked way. Elements not listed are skipped. The general ones
(``Shape``, ``Concept``, ``Reference``, ``Quantity``) serve the other fast paths too (plain_variants.py,
plain_labs.py).
"""

from __future__ import annotations

import msgspec

from service.adapters.fhir_in.elements import Coding


class Shape(msgspec.Struct, gc=False, rename="camel"):
    """A part of a resource as the lesion reading uses it (``value_quantity`` decodes ``valueQuantity``); the
    elements it does not use are skipped."""


class Concept(Shape):
    coding: list[Coding] = []
    text: str | None = None


class Reference(Shape):
    reference: str | None = None


class Quantity(Shape):
    value: int | float | None = None  # msgspec takes no bool for a number, as Node.number does not
    system: str | None = None
    code: str | None = None


class Component(Shape):
    code: Concept | None = None
    value_quantity: Quantity | None = None


class Extension(Shape):
    url: str | None = None
    value_code: str | None = None


class Identifier(Shape):
    system: str | None = None
    value: str | None = None
    type: Concept | None = None


class Focus(Reference):
    identifier: Identifier | None = None


class ObservationShape(Shape):
    subject: Reference | None = None
    effective_date_time: str | None = None
    focus: list[Focus] = []
    derived_from: list[Reference] = []
    part_of: list[Reference] = []
    performer: list[Reference] = []
    device: Reference | None = None
    body_site: Concept | None = None
    extension: list[Extension] = []
    component: list[Component] = []
    value_quantity: Quantity | None = None
    value_codeable_concept: Concept | None = None
    identifier: list[Identifier] = []


class Included(Shape):
    structure: Concept | None = None


class BodyStructureShape(Shape):
    identifier: list[Identifier] = []
    location: Concept | None = None
    included_structure: list[Included] = []
    morphology: Concept | None = None
    description: str | None = None
    extension: list[Extension] = []


def codings(concept: Concept | None) -> list[Coding]:
    """The codings of a concept, none when it is absent."""
    return concept.coding if concept is not None else []

"""What the fast-path agreement tests share (issue 19: ``plain_lesions.py``, ``plain_variants.py``,
``plain_labs.py``): the Bundle normalised with the fast paths and without them, and every single edge change
of a set of resources, each element in turn dropped or set to each edge value."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from service.adapters.fhir_in import observations
from service.adapters.fhir_in.normalise import Normalised
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import run

DELETE = object()
EDGES: list[Any] = [None, -1, -0.5, 0, True, "", "x", "1850-01-01", "2999-01-01", {}, [], [{}], DELETE]


def both(
    knowledge: Knowledge,
    resources: list[dict[str, Any]],
    version: FhirVersion,
    taken: Counter[bool],
    fast_paths: Sequence[str],
) -> tuple[Normalised, Normalised]:
    """Normalised with the named fast paths of ``observations`` (counting in ``taken`` whether each read its
    resource), and without them."""

    def counted(plain: Any) -> Any:
        def read(*args: Any) -> Any:
            found = plain(*args)
            taken[found is not None] += 1
            return found

        return read

    def normalised() -> Normalised:
        return run(knowledge, [Entry(i, None, r) for i, r in enumerate(copy.deepcopy(resources))], version)

    with pytest.MonkeyPatch.context() as patch:
        for name in fast_paths:
            patch.setattr(observations, name, counted(getattr(observations, name)))
        fast = normalised()
        for name in fast_paths:
            patch.setattr(observations, name, lambda *_: None)
        return fast, normalised()


def paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    return [p for key, item in items for p in ((*path, key), *paths(item, (*path, key)))]


def edge_changes(make: Callable[[], list[dict[str, Any]]]) -> Iterator[tuple[list[dict[str, Any]], Any]]:
    """Fresh resources from ``make`` with one element of one resource (the first, the Patient, aside) dropped
    or set to one edge value, for each element and edge in turn; with where the change was made."""
    for index, resource in enumerate(make()[1:], start=1):
        for path in paths(resource):
            for edge in EDGES:
                resources = make()
                *parents, key = path
                container = resources[index]
                for step in parents:
                    container = container[step]
                if edge is DELETE and isinstance(container, dict):
                    del container[key]
                elif edge is not DELETE:
                    container[key] = copy.deepcopy(edge)
                yield resources, (index, path, edge)

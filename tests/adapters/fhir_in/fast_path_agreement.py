"""What the fast-path agreement tests share (issue 19: ``test_plain_*.py``): the Bundle normalised with the
fast paths and without them; every single edge change of a set of resources, each element in turn dropped or
set to each edge value; and the two loops that check the two normalisations give the same facts and issues,
in the same order, on every edge change and on seeded random mutations, counting how often the fast paths
read their resource."""

from __future__ import annotations

import copy
import random
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

Resources = list[dict[str, Any]]
# normalises resources with the fast paths and without them, counting in ``taken`` whether each was read
BothWays = Callable[[Resources, Counter[bool]], tuple[Normalised, Normalised]]

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


def agree_on_every_edge_change(make: Callable[[], Resources], both_ways: BothWays) -> Counter[bool]:
    """Both normalisations of each edge change of ``make``'s resources agree; how often the fast paths read
    their resource (``taken[True]``) or left it to the checked reading (``taken[False]``)."""
    taken: Counter[bool] = Counter()
    for resources, where in edge_changes(make):
        agree(*both_ways(resources, taken), f"edge change (resource, path, edge) {where}")
    return taken


def agree_on_mutations(
    make: Callable[[], Resources],
    mutate: Callable[[Resources, random.Random], None],
    both_ways: BothWays,
    *,
    seed: int,
    cases: int,
    mutations: Sequence[int] = (1, 1, 2, 3),
) -> Counter[bool]:
    """Both normalisations agree on ``cases`` fresh resources from ``make``, each mutated a number of times
    drawn from ``mutations`` by ``mutate``, all from one ``random.Random(seed)``; ``taken`` as above."""
    taken: Counter[bool] = Counter()
    rng = random.Random(seed)  # noqa: S311  # a seeded test sequence, not a secret
    for case in range(cases):
        resources = make()
        for _ in range(rng.choice(mutations)):
            mutate(resources, rng)
        agree(*both_ways(resources, taken), f"mutated case {case} of seed {seed}")
    return taken


def agree(fast: Normalised, checked: Normalised, where: str) -> None:
    """The same facts and the same issues, in the same order; else the first difference, and where."""
    for name in ("facts", "issues"):
        ours, theirs = getattr(fast, name), getattr(checked, name)
        assert ours == theirs, _first_difference(name, ours, theirs, where)


def _first_difference(name: str, fast: list[Any], checked: list[Any], where: str) -> str:
    at = next((i for i, pair in enumerate(zip(fast, checked, strict=False)) if pair[0] != pair[1]), None)
    if at is None:
        extra = max(fast, checked, key=len)[min(len(fast), len(checked))]  # the first past the common part
        return f"{where}: {len(fast)} {name} with the fast paths, {len(checked)} without; extra {extra!r}"
    return f"{where}: {name}[{at}] with the fast paths {fast[at]!r}, without {checked[at]!r}"

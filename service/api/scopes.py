"""SMART on FHIR scopes: what a token may do, per resource type and interaction.

SMART App Launch 2.x (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
``<context>/<type>.<cruds>`` with context ``system``, ``user`` or ``patient``, a type or ``*``, and the
permissions c (create), r (read), u (update), d (delete), s (search), e.g. ``system/Observation.cs``. The
1.0 forms ``.read`` (= ``rs``), ``.write`` (= ``cud``) and ``.*`` (= ``cruds``) are read as their 2.x
equivalents. Granular scopes with a query (``patient/Observation.rs?category=...``) grant nothing here:
the service cannot yet narrow by those parameters, so it refuses rather than over-grants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.errors import Forbidden

_V2 = re.compile(r"^(system|user|patient)/(\*|[A-Z][A-Za-z]+)\.([cruds]+)$")
_V1 = re.compile(r"^(system|user|patient)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*)$")
_V1_ACTIONS = {"read": "rs", "write": "cud", "*": "cruds"}


@dataclass(frozen=True, slots=True)
class Scope:
    context: str  # system | user | patient
    resource_type: str  # a type, or * for every type
    actions: frozenset[str]

    def grants(self, resource_type: str, action: str) -> bool:
        return self.resource_type in ("*", resource_type) and action in self.actions


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """The resource scopes in a space-separated ``scope`` claim; others (openid, launch, …) are skipped."""
    found = []
    for item in text.split():
        if match := _V2.match(item):
            context, resource_type, actions = match.groups()
            if len(set(actions)) == len(actions) and actions == "".join(c for c in "cruds" if c in actions):
                found.append(Scope(context, resource_type, frozenset(actions)))
        elif match := _V1.match(item):
            context, resource_type, verb = match.groups()
            found.append(Scope(context, resource_type, frozenset(_V1_ACTIONS[verb])))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Access:
    """Who is calling (for the audit trail) and what they may do.

    ``patient`` is the token's ``patient`` claim: the one compartment its ``patient/`` scopes open.
    """

    client_id: str
    scopes: tuple[Scope, ...]
    patient: str | None = None
    subject: str | None = None  # the token's ``sub``, when it names a user rather than the client

    def confinement(self, needs: list[tuple[str, str]], contexts: tuple[str, ...] = ()) -> str | None:
        """``None`` when system/ or user/ scopes grant every (type, action) in ``needs``; the token's patient
        when ``patient/`` scopes are needed for some; else :class:`Forbidden` (insufficient_scope).

        ``contexts`` limits the scope contexts that count (e.g. only ``system`` for the audit trail)."""
        confined = False
        for resource_type, action in needs:
            usable = [s for s in self.scopes if s.grants(resource_type, action)]
            usable = [s for s in usable if not contexts or s.context in contexts]
            if not usable:
                raise insufficient_scope(f"{resource_type}.{action}")
            confined = confined or all(s.context == "patient" for s in usable)
        if confined and self.patient is None:
            raise insufficient_scope("a patient/ scope needs the token's patient claim")
        return self.patient if confined else None


FULL_ACCESS = (Scope("system", "*", frozenset("cruds")),)


def insufficient_scope(needed: str) -> Forbidden:
    return Forbidden(
        f"The access token's scopes do not allow this ({needed})",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{_scope_text(needed)}"'},
    )


def _scope_text(needed: str) -> str:
    """The scope that would do, for the challenge (RFC 6750 section 3): quotes never inside it."""
    if "." in needed and " " not in needed:
        resource_type, action = needed.split(".", 1)
        return f"system/{resource_type}.{action}"
    return "patient/*.rs"

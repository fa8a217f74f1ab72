"""A posted Subscription's channel, checked (FHIR-CONTRACT.md section 6): delivery is by rest-hook only, to an
absolute http(s) endpoint, in JSON, with header lines that cannot split a request; counts and periods are 1
or more. Each check reports its problem at the element's FHIRPath and reads the element as absent or as its
default. Shared by the R4/R4B (Backport IG) and R5 readings of :mod:`service.adapters.fhir_in.subscriptions`.
"""

from __future__ import annotations

import re
from typing import Final, cast, get_args
from urllib.parse import urlsplit

from service.adapters.fhir_in.elements import Node
from service.adapters.fhir_out.subscriptions import Payload

MEDIA_TYPES: Final = frozenset({"application/fhir+json", "application/json"})  # the service sends JSON only
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # an HTTP field name (RFC 9110 section 5.1)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # no CR/LF: a header value must not split the request


def check_channel_type(node: Node, code: str | None, path: str) -> None:
    """Delivery is by rest-hook only (FHIR-CONTRACT.md section 6)."""
    if code is None:
        node.issues.error(path, "a channel type is needed: rest-hook", "required")
    elif code != "rest-hook":
        node.issues.error(path, f"channel '{code}' is not supported; use rest-hook", "not-supported")


def read_endpoint(node: Node, key: str) -> str | None:
    """An absolute http(s) URL: a rest-hook POSTs there, and nothing else may be reached from here."""
    url = node.text(key)
    if url is None:
        node.issues.error(node.at(key), "a rest-hook Subscription needs an endpoint", "required")
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        node.issues.error(node.at(key), f"endpoint '{url}' is not an http(s) URL", "value")
        return None
    return url


def read_content_type(node: Node, key: str) -> str:
    content_type = (node.text(key) or "application/fhir+json").strip()
    if content_type.split(";")[0].strip().lower() not in MEDIA_TYPES:
        node.issues.error(node.at(key), f"'{content_type}' is not supported; use application/fhir+json")
    return content_type


def read_payload(node: Node, key: str) -> Payload:
    content = node.text(key) or "id-only"
    if content not in get_args(Payload):
        node.issues.error(node.at(key), f"payload '{content}' is not empty, id-only or full-resource")
        return "id-only"
    return cast(Payload, content)


def read_headers(node: Node) -> tuple[tuple[str, str], ...]:
    """R4 ``channel.header``: each a ``Name: value`` line."""
    return tuple(h for i, text in enumerate(_strings(node, "header")) for h in _header(node, i, text))


def _header(node: Node, index: int, text: str) -> list[tuple[str, str]]:
    name, colon, value = text.partition(":")
    return _checked_header(
        node, f"{node.at('header')}[{index}]", name.strip() if colon else "", value.strip()
    )


def read_parameter(node: Node) -> list[tuple[str, str]]:
    """R5 ``parameter`` entries are sent as HTTP headers on rest-hook (R5 subscription.html#channels)."""
    return _checked_header(node, node.path, node.text("name") or "", (node.text("value") or "").strip())


def _checked_header(node: Node, path: str, name: str, value: str) -> list[tuple[str, str]]:
    if not _TOKEN.match(name) or not value or _CONTROL.search(value):
        node.issues.error(path, "a header must be 'Name: value' with a token name and a one-line value")
        return []
    return [(name, value)]


def read_positive(node: Node, key: str) -> int | None:
    value = node.integer(key)
    if value is not None and value <= 0:
        node.issues.error(node.at(key), f"{value} is not allowed here: it must be 1 or more")
        return None
    return value


def _strings(node: Node, key: str) -> list[str]:
    values = node.data.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        node.issues.error(node.at(key), f"{key} must be an array of strings")
        return []
    return values

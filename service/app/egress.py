"""Where the service may send patient events (``ONCO_SUBSCRIPTION_ENDPOINTS``): a Subscription names any URL,
so without a list a client with a token could make the service POST notifications anywhere it can reach.

The list is matched against the URL the HTTP client will actually request, never the text as written:
httpx removes dot segments (RFC 3986 section 5.2.4), lower-cases the scheme and host and drops a default
port, so ``/hooks/../admin`` would be sent to ``/admin``. A server may go further and decode ``%2e%2e`` or
``..%2F`` into a step up. So an endpoint is refused unless it is already in its normal form: httpx
leaves it unchanged, it has no percent-encoded unreserved character (RFC 3986 section 6.2.2.2), no
encoded ``/``, ``\\``, ``%`` or control character, no ``..;`` segment, and an IPv6 literal is canonical.
Userinfo and fragments are refused too. Only then are scheme, host, port and path compared with the
prefixes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import unquote

import httpx

# RFC 3986 section 2.3: percent-encoding these is never needed, and normalisation decodes them.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint_allowed(url: str, prefixes: Sequence[str]) -> bool:
    """True with no prefixes; otherwise the URL must be in normal form (see the module docstring) and its
    scheme, host and port must be one prefix's, and its path the prefix's path or below it (``/hooks``
    allows ``/hooks`` and ``/hooks/x``, not ``/hooks-evil``)."""
    if not prefixes:
        return True
    target = normal_url(url)
    if target is None:
        return False
    return any(_within(target, allowed) for allowed in _prefixes(prefixes))


def normal_url(url: str) -> httpx.URL | None:
    """The URL as httpx will request it, or None when that differs from what was given (or is unsafe)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if str(parsed) != url or parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        return None
    if parsed.userinfo or parsed.fragment or not _normal_host(parsed.host):
        return None
    return parsed if _normal_path(_path(parsed)) else None


def _normal_host(host: str) -> bool:
    if ":" not in host:  # a name or an IPv4 address: httpx has lower-cased it already
        return True
    try:
        return str(ipaddress.IPv6Address(host)) == host
    except ValueError:  # a zone id, or not an address at all
        return False


def _normal_path(path: str) -> bool:
    if not path.startswith("/") or "\\" in path:
        return False
    for code in _PERCENT.findall(path):
        char = chr(int(code, 16))
        if char in _UNRESERVED or char in "/\\%" or ord(char) < 0x20 or code != code.upper():
            return False
    return all(_plain_segment(unquote(segment)) for segment in path.split("/"))


def _plain_segment(segment: str) -> bool:
    """Not a dot segment, nor one a server with path parameters reads as one (``..;x``)."""
    return segment.split(";", 1)[0] not in (".", "..")


def _path(url: httpx.URL) -> str:
    return url.raw_path.decode("ascii").split("?", 1)[0]


def _prefixes(prefixes: Sequence[str]) -> list[httpx.URL]:
    allowed = []
    for prefix in prefixes:
        try:
            allowed.append(httpx.URL(prefix))
        except (httpx.InvalidURL, ValueError, TypeError):  # refused by the settings; never a match here
            continue
    return allowed


def _within(target: httpx.URL, allowed: httpx.URL) -> bool:
    if (target.scheme, target.host, _port(target)) != (allowed.scheme, allowed.host, _port(allowed)):
        return False
    base = _path(allowed).rstrip("/")
    path = _path(target)
    return not base or path == base or path.startswith(base + "/")


def _port(url: httpx.URL) -> int | None:
    return url.port or _DEFAULT_PORTS.get(url.scheme)

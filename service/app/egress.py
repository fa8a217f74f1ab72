"""Where the service may send patient events (``ONCO_SUBSCRIPTION_ENDPOINTS``): a Subscription names any URL,
so without a list a client with a token could make the service POST notifications anywhere it can reach."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit


def endpoint_allowed(url: str, prefixes: Sequence[str]) -> bool:
    """True with no prefixes; otherwise the URL's scheme, host and port must be one prefix's, and its path the
    prefix's path or below it (``/hooks`` allows ``/hooks`` and ``/hooks/x``, not ``/hooks-evil``)."""
    if not prefixes:
        return True
    try:
        target = urlsplit(url)
        return any(_within(target, urlsplit(prefix)) for prefix in prefixes)
    except ValueError:  # e.g. a port that is not a number
        return False


def _within(target: SplitResult, allowed: SplitResult) -> bool:
    if (target.scheme.lower(), target.hostname, _port(target)) != (
        allowed.scheme.lower(),
        allowed.hostname,
        _port(allowed),
    ):
        return False
    base = allowed.path.rstrip("/")
    return not base or target.path == base or target.path.startswith(base + "/")


def _port(parts: SplitResult) -> int | None:
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())

"""HTML escaping for the narratives, the report page and its charts, remembered (issue 19): a report
escapes the same labels, displays and dates again and again, and a stored patient's reports are made again
with the same words. Quotes are escaped too, as ``html.escape`` does by default. The patient banner does
not use it: a patient's name or identifiers are not kept beyond the page they are shown on."""

from __future__ import annotations

import html
from functools import lru_cache


@lru_cache(maxsize=4096)
def escape(text: str) -> str:
    return html.escape(text)

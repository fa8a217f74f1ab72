"""The ports the use cases need (HOUSE-STYLE rule 4): one production adapter and one fake each."""

from __future__ import annotations

from typing import Protocol


class Store(Protocol):
    @property
    def backend(self) -> str:
        """The database kind, e.g. ``sqlite`` or ``postgresql``."""

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    async def close(self) -> None:
        """Release connections."""

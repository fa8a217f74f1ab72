"""The ports the use cases need (HOUSE-STYLE rule 4): one production adapter and one fake each."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from service.adapters.store.outbox import Outbox
    from service.adapters.store.repository import Reader
    from service.adapters.store.writer import Writer


class Store(Protocol):
    @property
    def backend(self) -> str:
        """The database kind, e.g. ``sqlite`` or ``postgresql``."""

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    async def migrate(self) -> None:
        """Bring the schema up to date."""

    def reading(self) -> AbstractAsyncContextManager[Reader]:
        """A read-only connection."""

    def writing(self, patient_refs: set[str]) -> AbstractAsyncContextManager[Writer]:
        """One transaction holding the write lock of each patient."""

    def outbox(self) -> Outbox:
        """The durable outbox, as the delivery worker uses it."""

    async def close(self) -> None:
        """Release connections."""

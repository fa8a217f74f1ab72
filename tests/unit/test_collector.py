"""The collector tuned once start-up is done (issues 17, 19): the served app, import and reevaluate."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from service import collector
from service.api.app import create_app
from service.config import Settings


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored")
def test_settle_freezes_and_raises_only_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    collector.settle()
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, 10, 10)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("restored")
async def test_the_served_app_settles_the_collector_at_start_up(tmp_path) -> None:
    gc.set_threshold(700, 10, 10)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/c.db", delivery_worker=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD

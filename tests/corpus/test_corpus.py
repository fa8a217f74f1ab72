"""Every real FHIR file in ../shared/corpus is accepted or rejected with an OperationOutcome: never a 5xx."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.corpus.walk import corpus_files, post_all


@pytest.mark.slow
async def test_every_corpus_file_is_answered_without_a_server_error(app: FastAPI) -> None:
    """No 5xx; a rejection is an OperationOutcome with at least one error issue that says what is wrong;
    a failed entry inside an accepted Bundle carries its own OperationOutcome."""
    files = corpus_files()
    assert len(files) > 700, "the shared corpus is missing"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        async for posted in post_all(client, files):
            where = f"{posted.folder}/{posted.name}"
            assert posted.status < 500, where
            if posted.status >= 400:
                assert posted.body["resourceType"] == "OperationOutcome", where
                assert posted.body["issue"][0]["diagnostics"], where
                continue
            for entry in posted.body["entry"]:
                if not entry["response"]["status"].startswith(("200", "201")):
                    assert entry["response"]["outcome"]["issue"][0]["severity"] == "error", where

"""The report page (``/view/Patient/{id}``) shows a patient's data and identification: it needs a valid
token with read scopes, and a ``patient/`` token opens only its own patient's page (issues 16 and 18)."""

from __future__ import annotations

import httpx

from tests.api.security.conftest import KeyServer, bearer
from tests.api.security.test_compartment_audit import two_patients  # noqa: F401  # the fixture


async def test_the_page_needs_a_token(api: httpx.AsyncClient, two_patients: None) -> None:  # noqa: F811
    """No token: 401 with a Bearer challenge, never the page."""
    answer = await api.get("/view/Patient/p1")
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")


async def test_a_patient_token_never_opens_another_patients_page(
    api: httpx.AsyncClient,
    keys: KeyServer,
    two_patients: None,  # noqa: F811
) -> None:
    """patient/*.rs for p1: p2's page is a 404, as a read outside the compartment; a token without read
    scopes is a 403."""
    p1 = bearer(keys.token("patient/*.rs", patient="p1"))
    assert (await api.get("/view/Patient/p2", headers=p1)).status_code == 404
    assert (await api.get("/view/Patient/p1", headers=p1)).status_code != 403
    writer_only = bearer(keys.token("system/Observation.c"))
    assert (await api.get("/view/Patient/p1", headers=writer_only)).status_code == 403

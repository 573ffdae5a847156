"""Status writes check what they keep: the status; the spec they carry is ignored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inprocess import InProcessAPI, inprocess_api

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
async def api() -> AsyncIterator[InProcessAPI]:
    async with inprocess_api() as api:
        yield api


async def test_a_status_write_checks_status_and_ignores_spec(api: InProcessAPI) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    created = (await api.http.post(PODS, json=pod)).json()
    body = {
        **created,
        "spec": {"containers": "not a list"},  # ignored by a status write
        "status": {"phase": "Running", "podIP": "10.0.0.1"},
    }
    done = await api.http.put(f"{PODS}/p/status", json=body)
    assert done.status_code == 200, done.text
    stored = done.json()
    assert stored["status"]["phase"] == "Running"
    assert stored["spec"]["containers"][0]["name"] == "c"

    bad = {**stored, "status": {"phase": "Running", "startTime": 12}}
    refused = await api.http.put(f"{PODS}/p/status", json=bad)
    assert refused.status_code == 422
    assert refused.json()["details"]["causes"][0]["field"] == "status.startTime"

"""The service as a Python host mounts it in its own process (docs/http.md: ``create_app``), rather
than running ``jiedai serve``."""

from __future__ import annotations

import asyncio
import importlib
import json
import warnings

import httpx
from litestar.testing import TestClient

from jiedai_flow.domain.model import Actor, Role
from jiedai_flow.server.tokens import tokens_for
from jiedai_flow.testing import make_engine
from tests._http_server import reception_body


def test_a_host_builds_and_calls_the_app_with_warnings_as_errors() -> None:
    """A host whose tests turn warnings into errors (``filterwarnings = ["error"]``, as the county
    plugin tutorial's do) could not build the app: Litestar 2.25 warned over 200 times — every
    dependency, request body, path and query parameter it had to infer from its name, and the Jinja
    engine imported from ``litestar.contrib``."""
    engine = make_engine()
    actors = {"zhang.wei": Actor("zhang.wei", "张伟", frozenset({Role.HANDLER}), "县政府办公室")}
    token = tokens_for(engine).create("zhang.wei")[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from jiedai_flow.server import app as module

        importlib.reload(module)  # its imports run again, as on a host's first import
        app = module.create_app(engine=engine, actors=actors)
        with TestClient(app) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            created = client.post("/api/v1/receptions", json=reception_body())
            rid = created.json()["reception"]["id"]
            answers = [
                created,
                client.get(f"/api/v1/receptions/{rid}"),
                client.get("/api/v1/receptions", params={"state": "draft", "limit": 10}),
                client.post(f"/api/v1/receptions/{rid}/operations/comment", json={"reason": "请核对"}),
                client.get("/api/v1/tasks/counts"),
                client.get("/schema/openapi.json"),
                client.get("/web/login"),
                client.get("/readyz"),
            ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 200, 200, 200, 200]


def test_a_host_that_passes_no_start_up_event_serves_the_same_document() -> None:
    """Starlette's ``Mount`` and FastAPI's ``app.mount`` do not pass start-up events to a mounted
    app: the document (its required answer properties, its header order) is made whole when the
    app is built, so such a host serves what ``jiedai serve`` serves."""
    from jiedai_flow.server.app import create_app

    async def fetched() -> bytes:
        app = create_app(engine=make_engine(), actors={})
        transport = httpx.ASGITransport(app=app)  # calls the app, never its start-up
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            return (await client.get("/schema/openapi.json")).content

    mounted = asyncio.run(fetched())
    with TestClient(create_app(engine=make_engine(), actors={})) as client:  # start-up runs
        served = client.get("/schema/openapi.json").content
    assert mounted == served
    required = json.loads(mounted)["components"]["schemas"]["Reception"]["required"]
    assert "reception_list" in required


def test_a_location_names_the_prefix_a_host_mounted_the_app_at() -> None:
    """Mounted at ``/jiedai`` (ASGI ``root_path``), a command's ``Location`` is the address a client
    reaches it at, not the app's own path."""
    from jiedai_flow.server.app import create_app

    engine = make_engine()
    actors = {"zhang.wei": Actor("zhang.wei", "张伟", frozenset({Role.HANDLER}), "县政府办公室")}
    token = tokens_for(engine).create("zhang.wei")[1]

    async def created() -> httpx.Response:
        app = create_app(engine=engine, actors=actors)
        transport = httpx.ASGITransport(app=app, root_path="/jiedai")
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            answer = await client.post(
                "/jiedai/api/v1/receptions",
                json=reception_body(),
                headers={"Authorization": f"Bearer {token}"},
            )
            read = await client.get(answer.headers["location"], headers={"Authorization": f"Bearer {token}"})
            assert read.status_code == 200, read.text
            return answer

    answer = asyncio.run(created())
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == f"/jiedai/api/v1/receptions/{answer.json()['reception']['id']}"

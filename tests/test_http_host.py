"""The service as a Python host mounts it in its own process (docs/http.md: ``create_app``), rather
than running ``jiedai serve``."""

from __future__ import annotations

import importlib
import warnings

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

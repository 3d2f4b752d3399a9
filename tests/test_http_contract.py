"""The whole OpenAPI document against the running server, property-based (schemathesis): for every
operation, generated requests never get a 500, every status is one the operation declares and every
response matches its documented schema. The approval operations get a real reception (awaiting
approval) for every other request, so generated bodies reach the engine rather than stopping at 404."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest

from tests._http_server import running

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests._http_server import Server

schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-contract")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder) as found:
        with found.client("zhang.wei") as c:
            from tests._http_server import reception_body

            created = c.post("/api/v1/receptions", json=reception_body())
            assert created.status_code == 201
            rid = created.json()["reception"]["id"]
            assert c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}).status_code == 200
        found.reception_id = rid  # type: ignore[attr-defined]
        yield found


def _checker(operation: Any, token: str, real: str | None) -> Callable[[], None]:
    """The property of one operation: no 500, every status declared, every response as documented
    (its schema, its required headers). With ``real``, every other generated request is sent to
    that reception instead of the generated reference."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    calls = itertools.count()

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        if real is not None and next(calls) % 2 == 0:
            case.path_parameters["ref"] = real
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                response_schema_conformance,
                response_headers_conformance,
            ],
        )

    return check


def test_every_operation_keeps_its_contract(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.base}/schema/openapi.json")
    token = server.token("zhang.wei")
    real = server.reception_id  # type: ignore[attr-defined]
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            _checker(operation, token, real if "/operations/" in operation.path else None)()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
    import httpx

    metrics = httpx.get(f"{server.base}/metrics", timeout=30).text
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("jiedai_http_requests_total{")
    )
    assert counted > 100, "the generated requests reached the server"
    decided = [line for line in metrics.splitlines() if line.startswith("jiedai_commands_total{")]
    assert any('outcome="task_refused"' in line or 'outcome="accepted"' in line for line in decided), (
        "generated operation bodies reached the engine"
    )


def test_every_success_response_has_a_media_type_and_a_schema(server: Server) -> None:
    """A client generated from the document (OpenAPI Generator for a Java host) gets a typed
    reception, event or report from every call, not an untyped body of no media type."""
    import httpx

    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    untyped = [
        f"{method.upper()} {path} {code} {media!r}"
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        for code, response in operation["responses"].items()
        if code.startswith("2")
        for media, content in (response.get("content") or {}).items()
        if not media or not content.get("schema")
    ]
    assert untyped == []
    created = document["paths"]["/api/v1/receptions"]["post"]["responses"]["201"]["content"]
    assert created == {"application/json": {"schema": {"$ref": "#/components/schemas/CommandResult"}}}

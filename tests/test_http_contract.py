"""The whole OpenAPI document against the running server, property-based (schemathesis): for every
operation, generated requests never get a 500 and every response matches its documented schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests._http_server import running

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server

schemathesis = pytest.importorskip("schemathesis")
pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-contract")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder) as found:
        with found.client("zhang.wei") as c:
            from tests._http_server import reception_body

            assert c.post("/api/v1/receptions", json=reception_body()).status_code == 201
        yield found


def test_every_operation_keeps_its_contract(server: Server) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_url(f"{server.base}/schema/openapi.json")
    token = server.token("zhang.wei")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: object) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})  # type: ignore[attr-defined]
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])  # type: ignore[attr-defined]

        try:
            check()
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

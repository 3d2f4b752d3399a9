"""The OpenAPI document as a vendor generating a typed client reads it, and the bodies as that client
decodes them, against a real ``jiedai serve`` on loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests._http_server import running

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-openapi")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder) as found:
        yield found


def _examples(node: Any, path: str = "$") -> list[str]:
    if isinstance(node, dict):
        return [
            found
            for key, value in node.items()
            for found in (
                [f"{path}.{key}"] if key in ("example", "examples") else _examples(value, f"{path}.{key}")
            )
        ]
    if isinstance(node, list):
        return [found for i, value in enumerate(node) for found in _examples(value, f"{path}[{i}]")]
    return []


def test_the_document_carries_no_made_up_examples(server: Server) -> None:
    """The framework made random examples for every problem response (a negative 80-digit budget, a
    ``code`` of random letters), new on every start: each worker served another document, so a
    client generated from one did not match the next, and the examples misled whoever read them."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    assert _examples(document) == []

"""The OpenAPI 3.0 rendering 3.0 版文档: each 3.1 construct said the 3.0 way, and a construct
:func:`~jiedai_flow.server.openapi30.downgrade` does not know refused (the real document is walked
against a running service in tests/test_http_openapi.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jiedai_flow.server.openapi30 import NotExpressible, downgrade, schema


def document(**schemas: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": schemas},
    }


REF = {"$ref": "#/components/schemas/Plan"}
NULL = {"type": "null"}


@pytest.mark.parametrize(
    ("given", "wanted"),
    [
        ({"oneOf": [{"type": "string"}, NULL]}, {"type": "string", "nullable": True}),
        (
            {"oneOf": [NULL, {"type": "string", "format": "date"}]},
            {"type": "string", "format": "date", "nullable": True},
        ),
        ({"type": ["integer", "null"]}, {"type": "integer", "nullable": True}),
        (
            {"anyOf": [{"type": "array", "items": REF}, NULL]},
            {"type": "array", "items": REF, "nullable": True},
        ),
        ({"oneOf": [REF, NULL]}, {"allOf": [REF], "nullable": True}),
        ({"oneOf": [REF, NULL], "description": "d"}, {"description": "d", "allOf": [REF], "nullable": True}),
        ({"oneOf": [REF, {"type": "string"}, NULL]}, {"oneOf": [REF, {"type": "string"}], "nullable": True}),
        ({"$ref": "#/components/schemas/Plan", "description": "d"}, {"description": "d", "allOf": [REF]}),
        ({"const": "ok"}, {"enum": ["ok"]}),
        ({"type": "string", "examples": ["a", "b"]}, {"type": "string", "example": "a"}),
        (
            {"type": "integer", "exclusiveMinimum": 0},
            {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
        ),
        ({"exclusiveMaximum": 10, "maximum": 20}, {"maximum": 10, "exclusiveMaximum": True}),
        ({"exclusiveMinimum": 0, "minimum": 5}, {"minimum": 5}),
        ({"type": "string", "contentEncoding": "base64"}, {"type": "string", "format": "byte"}),
        ({"type": "string", "contentMediaType": "image/png"}, {"type": "string", "format": "binary"}),
        ({"type": "object", "required": [], "$schema": "x", "$comment": "c"}, {"type": "object"}),
        ({"type": "array"}, {"type": "array", "items": {}}),
        (
            {"properties": {"a": {"oneOf": [REF, NULL]}}},
            {"properties": {"a": {"allOf": [REF], "nullable": True}}},
        ),
        (True, {}),
    ],
)
def test_a_3_1_schema_is_said_the_3_0_way(given: Any, wanted: dict[str, Any]) -> None:
    """Null as ``nullable`` (a ``$ref`` inside ``allOf``, whose siblings 3.0 would ignore), ``const`` as
    a one-value ``enum``, ``examples`` as ``example``, numeric exclusive bounds as the bound and a flag."""
    assert schema(given) == wanted


@pytest.mark.parametrize(
    ("given", "where"),
    [
        (
            {"type": "object", "properties": {"a": {"prefixItems": [{"type": "string"}]}}},
            "$.properties.a.prefixItems",
        ),
        ({"if": {"type": "string"}, "then": {}}, "$.if"),
        ({"type": ["string", "integer"]}, "$.type"),
        ({"type": "null"}, "$"),
        ({"properties": {"a": {"const": None}}}, "$.properties.a.const"),
        ({"oneOf": [NULL]}, "$.oneOf"),
        ({"oneOf": [{"type": "null", "default": None}, {"type": "string"}]}, "$.oneOf"),
        ({"items": [{"type": "string"}]}, "$.items"),
        ({"type": "string", "contentEncoding": "base32"}, "$.contentEncoding"),
        ({"unevaluatedProperties": False}, "$.unevaluatedProperties"),
        (False, "$"),
    ],
)
def test_a_construct_3_0_cannot_say_is_refused_where_it_is(given: Any, where: str) -> None:
    """Rather than serve a document a generator misreads, the conversion stops at the construct it
    does not know, naming it: a new 3.1-only construct breaks a test, not a vendor's client."""
    with pytest.raises(NotExpressible) as raised:
        schema(given)
    assert raised.value.where == where


def test_the_document_becomes_3_0_3_and_the_3_1_one_is_left_as_it_was() -> None:
    given = {
        **document(Plan={"type": "object", "properties": {"note": {"type": ["string", "null"]}}}),
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "webhooks": {},
        "info": {
            "title": "t",
            "version": "1",
            "summary": "s",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
    }
    given["components"]["pathItems"] = {}
    kept = copy.deepcopy(given)
    found = downgrade(given)
    assert given == kept
    assert found["openapi"] == "3.0.3"
    assert "jsonSchemaDialect" not in found
    assert "webhooks" not in found
    assert "pathItems" not in found["components"]
    assert found["info"] == {
        "title": "t",
        "version": "1",
        "license": {"name": "MIT", "url": "https://spdx.org/licenses/MIT.html"},
    }
    assert found["components"]["schemas"]["Plan"]["properties"]["note"] == {
        "type": "string",
        "nullable": True,
    }


def test_schemas_are_converted_wherever_the_document_holds_them() -> None:
    """Parameters, headers, bodies and answers carry schemas; examples, extensions and the security
    schemes' ``type`` are not schemas and stay as they are."""
    nullable = {"oneOf": [{"type": "string"}, NULL]}
    given = document()
    given["paths"] = {
        "/r": {
            "get": {
                "parameters": [
                    {"name": "q", "in": "query", "schema": nullable, "examples": {"a": {"value": None}}}
                ],
                "requestBody": {
                    "content": {"application/json": {"schema": nullable, "example": {"const": 1}}}
                },
                "responses": {
                    "200": {
                        "description": "ok",
                        "headers": {"ETag": {"schema": nullable}},
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/P", "description": "d"}
                            }
                        },
                    },
                    "404": {"$ref": "#/components/responses/NotFound", "description": "gone"},
                },
                "x-extra": {"type": ["string", "null"]},
            }
        }
    }
    given["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    found = downgrade(given)
    operation = found["paths"]["/r"]["get"]
    wanted = {"type": "string", "nullable": True}
    assert operation["parameters"][0]["schema"] == wanted
    assert operation["parameters"][0]["examples"] == {"a": {"value": None}}
    assert operation["requestBody"]["content"]["application/json"] == {
        "schema": wanted,
        "example": {"const": 1},
    }
    assert operation["responses"]["200"]["headers"]["ETag"]["schema"] == wanted
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"description": "d", "allOf": [{"$ref": "#/components/schemas/P"}]}
    # a Reference (not a schema) with a description: 3.1 only, and 3.0 readers would ignore it anyway
    assert operation["responses"]["404"] == {"$ref": "#/components/responses/NotFound"}
    assert operation["x-extra"] == {"type": ["string", "null"]}
    assert found["components"]["securitySchemes"] == given["components"]["securitySchemes"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"openapi": "3.0.3"}, "$.openapi"),
        ({"webhooks": {"made": {"post": {"responses": {}}}}}, "$.webhooks"),
        ({"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema"}, "$.jsonSchemaDialect"),
    ],
)
def test_a_document_3_0_cannot_carry_is_refused(change: dict[str, Any], where: str) -> None:
    """Webhooks would be left out without a word, and schemas of another dialect misread."""
    with pytest.raises(NotExpressible) as raised:
        downgrade({**document(), **change})
    assert raised.value.where == where
    assert "OpenAPI 3.0 cannot express" in str(raised.value)

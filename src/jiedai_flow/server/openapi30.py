"""OpenAPI 3.0 for older generators 给旧生成器的 OpenAPI 3.0: ``/schema/openapi-3.0.json``.

The service's document is OpenAPI 3.1 (``/schema/openapi.json``). NSwag does not read 3.1 and
Microsoft.OpenApi 1.x refuses it, so a .NET host could not generate a client. :func:`downgrade`
derives the 3.0.3 rendering from the 3.1 document at run time — one source, no second schema — and
raises :class:`NotExpressible` on a construct it does not know rather than serve a document a
generator misreads: tests/test_http_openapi.py converts the served document, so a new 3.1-only
construct fails a test, not a vendor's build.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get

if TYPE_CHECKING:
    from collections.abc import Callable

PATH = "/schema/openapi-3.0.json"

OAS_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"
"""The schema dialect a 3.1 document uses unless it names another (``jsonSchemaDialect``)."""

KEPT = frozenset(
    {
        "title", "description", "format", "default", "enum", "pattern", "multipleOf",
        "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties", "required", "readOnly", "writeOnly", "deprecated",
        "discriminator", "xml", "externalDocs", "example", "$ref",
    }
)  # fmt: skip
"""Schema keywords that read the same in 3.0 and 3.1, copied as they are."""

DROPPED = frozenset({"$schema", "$comment"})
"""Schema keywords without meaning for a 3.0 reader."""

SUBSCHEMAS = frozenset({"items", "not", "additionalProperties", "properties", "allOf", "oneOf", "anyOf"})


class NotExpressible(ValueError):
    """The 3.1 document uses something :func:`downgrade` cannot say in 3.0 (or does not know yet)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(
            f"OpenAPI 3.0 无法表达 {where}：{what} / OpenAPI 3.0 cannot express {where}: {what}"
            " (jiedai_flow.server.openapi30.downgrade)"
        )
        self.where = where


def downgrade(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.0.3 rendering of the 3.1 ``document`` (left unchanged).

    In schemas: ``type: [X, "null"]`` and a ``oneOf``/``anyOf`` branch ``{"type": "null"}`` become
    ``nullable: true`` (around a ``$ref`` as ``allOf: [{$ref}]``, since 3.0 ignores a ``$ref``'s
    siblings); ``const`` becomes a one-value ``enum``; ``examples`` its first as ``example``; a
    numeric ``exclusiveMinimum``/``exclusiveMaximum`` the bound with the boolean; ``contentEncoding:
    base64`` ``format: byte`` and ``contentMediaType`` ``format: binary``; ``$schema`` and
    ``$comment`` go. Elsewhere: ``info.summary`` and a Reference's ``summary``/``description`` go, a
    licence's SPDX ``identifier`` becomes its ``url``. Anything else 3.1-only raises
    :class:`NotExpressible`: webhooks, path items in ``components``, another ``jsonSchemaDialect``.
    """
    version = str(document.get("openapi", ""))
    if not version.startswith("3.1."):
        raise NotExpressible("$.openapi", f"expected a 3.1 document, got {version!r}")
    found = copy.deepcopy(document)
    if found.pop("jsonSchemaDialect", OAS_DIALECT) != OAS_DIALECT:
        raise NotExpressible("$.jsonSchemaDialect", "schemas written in another JSON Schema dialect")
    if found.pop("webhooks", None):
        raise NotExpressible("$.webhooks", "3.0 has no webhooks")
    if found.get("components", {}).pop("pathItems", None):
        raise NotExpressible("$.components.pathItems", "3.0 has no reusable path items")
    found["openapi"] = "3.0.3"
    found.setdefault("paths", {})  # optional in 3.1, required in 3.0
    info = found.get("info", {})
    info.pop("summary", None)
    licence = info.get("license", {})
    if "identifier" in licence:
        licence.setdefault("url", f"https://spdx.org/licenses/{licence.pop('identifier')}.html")
    return _structure(found, "$")  # type: ignore[no-any-return]


def _structure(node: Any, where: str) -> Any:
    """The document outside schemas: every ``schema`` (and ``components.schemas``) converted."""
    if isinstance(node, list):
        return [_structure(item, f"{where}[{i}]") for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and set(node) <= {"$ref", "summary", "description"}:
        return {"$ref": node["$ref"]}  # a Reference: 3.1 lets it carry a summary and description
    if where.endswith(".securitySchemes") and any(s.get("type") == "mutualTLS" for s in node.values()):
        raise NotExpressible(where, "a mutualTLS security scheme")
    out: dict[str, Any] = {}
    for key, value in node.items():
        at = f"{where}.{key}"
        if key.startswith("x-") or key in ("example", "examples"):  # values, not document structure
            out[key] = value
        elif key == "schema":
            out[key] = schema(value, at)
        elif key == "schemas" and where == "$.components":
            out[key] = {name: schema(s, f"{at}.{name}") for name, s in value.items()}
        elif key == "paths" and where == "$":  # a path item's $ref keeps its siblings, in 3.0 too
            out[key] = {p: _fields(item, f"{at}.{p}") for p, item in value.items()}
        else:
            out[key] = _structure(value, at)
    return out


def _fields(node: dict[str, Any], where: str) -> dict[str, Any]:
    return {k: v if k.startswith("x-") else _structure(v, f"{where}.{k}") for k, v in node.items()}


def schema(node: Any, where: str = "$", *, branch: bool = False) -> Any:
    """The 3.0 form of one 3.1 Schema Object (``where`` names it in an error; a ``branch`` of a
    ``oneOf``/``anyOf`` may be the null its parent makes ``nullable``)."""
    if isinstance(node, bool):  # 3.1 allows true / false as a schema
        if node:
            return {}
        raise NotExpressible(where, "the schema `false`")
    if not isinstance(node, dict):
        raise NotExpressible(where, f"a schema that is a {type(node).__name__}")
    out: dict[str, Any] = {}
    nullable = False
    for key, value in node.items():
        at = f"{where}.{key}"
        if key in KEPT or key.startswith("x-") or key in DROPPED:
            if key not in DROPPED:
                out[key] = value
        elif key in SUBSCHEMAS:
            out[key] = _subschemas(key, value, at)
        elif key in CONVERTED:
            nullable |= CONVERTED[key](value, out, at)
        else:
            raise NotExpressible(at, f"the 3.1 keyword {key!r}")
    _bounds(node, out, where)
    if out.get("required") == []:  # 3.0's JSON Schema wants at least one name here
        del out["required"]
    for combinator in ("oneOf", "anyOf"):
        if combinator in out:
            out, none = _without_null(out, combinator, where)
            nullable |= none
    if out.get("type") == "null" and not branch:
        raise NotExpressible(where, "a value that is always null")
    if out.get("type") == "array" and "items" not in out:  # 3.0 wants items with every array
        out["items"] = {}
    if nullable:
        out = _wrapped(out) if "$ref" in out else out
        out["nullable"] = True
    elif "$ref" in out and len(out) > 1:
        out = _wrapped(out)
    return out


def _subschemas(key: str, value: Any, where: str) -> Any:
    if key == "properties":
        return {name: schema(s, f"{where}.{name}") for name, s in value.items()}
    if key in ("oneOf", "anyOf"):
        return [schema(s, f"{where}[{i}]", branch=True) for i, s in enumerate(value)]
    if key == "allOf":
        return [schema(s, f"{where}[{i}]") for i, s in enumerate(value)]
    if key == "additionalProperties" and isinstance(value, bool):
        return value
    if key == "items" and isinstance(value, list):
        raise NotExpressible(where, "items as a list (a tuple)")
    return schema(value, where)


def _type(value: Any, out: dict[str, Any], where: str) -> bool:
    kinds = [value] if isinstance(value, str) else list(value)
    rest = [k for k in kinds if k != "null"]
    if len(rest) > 1:
        raise NotExpressible(where, f"a value of several types {kinds}")
    # a lone null stays, for the parent of a oneOf/anyOf branch to read (_without_null)
    out["type"] = rest[0] if rest else "null"
    return bool(rest) and len(rest) < len(kinds)


def _const(value: Any, out: dict[str, Any], where: str) -> bool:
    if value is None:
        raise NotExpressible(where, "const null")
    out["enum"] = [value]
    return False


def _examples(value: Any, out: dict[str, Any], where: str) -> bool:
    if not isinstance(value, list):
        raise NotExpressible(where, "examples that are not a list")
    if value:
        out.setdefault("example", value[0])
    return False


def _content(value: Any, out: dict[str, Any], where: str) -> bool:
    if where.endswith("contentEncoding"):
        if value != "base64":
            raise NotExpressible(where, f"the content encoding {value!r}")
        out["format"] = "byte"
    else:
        out.setdefault("format", "binary")
    return False


def _later(value: Any, out: dict[str, Any], where: str) -> bool:
    return False  # read by _bounds, beside the inclusive bound of the same side


CONVERTED: dict[str, Callable[[Any, dict[str, Any], str], bool]] = {
    "type": _type,
    "const": _const,
    "examples": _examples,
    "contentEncoding": _content,
    "contentMediaType": _content,
    "exclusiveMinimum": _later,
    "exclusiveMaximum": _later,
}
"""3.1 schema keywords said another way in 3.0; each writes into the 3.0 schema and answers
whether the value may also be null."""


def _bounds(node: dict[str, Any], out: dict[str, Any], where: str) -> None:
    """A numeric ``exclusiveMinimum: 5`` is 3.0's ``minimum: 5, exclusiveMinimum: true``; beside an
    inclusive bound the stricter of the two wins."""
    sides = (("minimum", "exclusiveMinimum", max), ("maximum", "exclusiveMaximum", min))
    for side, exclusive, stricter in sides:
        if exclusive not in node:
            continue
        bound = node[exclusive]
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise NotExpressible(f"{where}.{exclusive}", f"a bound that is not a number: {bound!r}")
        inclusive = node.get(side)
        if inclusive is None or stricter(bound, inclusive) == bound:
            out[side] = bound
            out[exclusive] = True


def _without_null(out: dict[str, Any], combinator: str, where: str) -> tuple[dict[str, Any], bool]:
    """``out`` without the null branch of its ``combinator``, and whether it had one."""
    branches = out[combinator]
    rest = [b for b in branches if b.get("type") != "null"]
    if len(rest) == len(branches):
        return out, False
    if any(set(b) - {"type", "title", "description"} for b in branches if b not in rest):
        raise NotExpressible(f"{where}.{combinator}", "a null branch with more to it than the null")
    if not rest:
        raise NotExpressible(f"{where}.{combinator}", "only null")
    if len(rest) > 1:
        return {**out, combinator: rest}, True
    outer = {k: v for k, v in out.items() if k != combinator}
    (inner,) = rest
    if "$ref" in inner or outer.keys() & inner.keys():
        return {**outer, "allOf": [inner]}, True
    return {**outer, **inner}, True


def _wrapped(out: dict[str, Any]) -> dict[str, Any]:
    """A ``$ref`` with siblings: 3.0 ignores a ``$ref``'s siblings, so it goes in an ``allOf``."""
    rest = {k: v for k, v in out.items() if k != "$ref"}
    return {**rest, "allOf": [{"$ref": out["$ref"]}, *rest.get("allOf", ())]}


@get(PATH, include_in_schema=False, sync_to_thread=False)
def serve(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``/schema/openapi-3.0.json``: beside ``/schema/openapi.json`` and, like it, without a token."""
    from litestar.serialization import encode_json

    state = request.app.state
    if "openapi30" not in state:  # the document is fixed once the application is built
        state["openapi30"] = encode_json(downgrade(request.app.openapi_schema.to_schema()))
    return Response(state["openapi30"], media_type="application/vnd.oai.openapi+json")

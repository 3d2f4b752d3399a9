"""OpenAPI from the library's own attrs classes 由 attrs 值对象生成 OpenAPI.

Litestar reads attrs classes, but through ``typing.get_type_hints``, which cannot see the names
the library imports only for type checking (``date``, ``Finding`` …). :class:`AttrsSchema` resolves
each class's annotations once against the library's modules and hands Litestar the resolved field
types, so the OpenAPI document describes exactly the classes the engine returns — no second set of
hand-written schemas. :class:`LibraryDTO` makes requests and responses go through the library's own
converter (:func:`~jiedai_flow.domain.loading.load` with its bilingual field paths, and
:func:`~jiedai_flow.domain.loading.dump`: money as ``"180.00"``, dates ISO 8601, sets sorted).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

import attrs
from litestar import Response
from litestar.dto import AbstractDTO
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType
from litestar.openapi.spec import Schema as OpenAPISchema
from litestar.plugins import OpenAPISchemaPluginProtocol
from litestar.typing import FieldDefinition

from jiedai_flow.domain import findings, model, records
from jiedai_flow.domain import loading as convert
from jiedai_flow.domain.records import ONE_OF, OneOf
from jiedai_flow.process import engine, lifecycle
from jiedai_flow.storage.codec import parse

if TYPE_CHECKING:
    from collections.abc import Collection, Generator

    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.dto.data_structures import DTOFieldDefinition
    from litestar.openapi.spec import OpenAPI, Operation, Reference, Schema
    from litestar.types.serialization import LitestarEncodableType

T = TypeVar("T")

_MODULES: list[Any] = [model, findings, lifecycle, records, engine]


def register_module(module: Any) -> None:
    """Make the names of ``module`` known when resolving annotations (the server's own models)."""
    if module not in _MODULES:
        _MODULES.append(module)
        _fields.cache_clear()


def _namespace() -> dict[str, Any]:
    found: dict[str, Any] = {"date": date, "datetime": datetime, "Decimal": Decimal}
    found.update({"Mapping": Mapping, "Sequence": Sequence})
    for module in _MODULES:
        found.update(vars(module))
    return found


@functools.cache
def _fields(cls: type[Any]) -> tuple[tuple[str, Any, bool, OneOf | None], ...]:
    """(name, resolved type, required, values) of each attrs field of ``cls``; the values of a
    ``str`` field that takes a few (:class:`~jiedai_flow.domain.records.OneOf`), else None."""
    attrs.resolve_types(cls, globalns=_namespace())
    # why only init fields: the converter writes no other (cattrs skips init=False), nor reads one,
    # so an answer is the declared properties exactly (see require_answer_fields)
    return tuple(
        (a.name, a.type, a.default is attrs.NOTHING, a.metadata.get(ONE_OF))
        for a in attrs.fields(cls)
        if a.init
    )


DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
"""A decimal as the converter writes it (``format(d, "f")``): money ``"180.00"``, a rate ``"0.56"``."""


class AttrsSchema(OpenAPISchemaPluginProtocol):
    """An OpenAPI component per attrs class, its properties from the resolved field types; a
    ``Decimal`` (money, rates) as the string the converter writes, with its pattern, so a generated
    client can tell it from free text; and a ``str`` field that takes a few values
    (:class:`~jiedai_flow.domain.records.OneOf`) as an ``enum`` of them."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is Decimal or (isinstance(value, type) and attrs.has(value))

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        if field_definition.annotation is Decimal:
            return OpenAPISchema(type=OpenAPIType.STRING, pattern=DECIMAL_PATTERN)
        fields = _fields(field_definition.type_)
        return schema_creator.create_component_schema(
            field_definition,
            required=sorted(name for name, _type, required, _v in fields if required),
            property_fields={
                name: FieldDefinition.from_kwarg(kind if values is None else self._literal(values), name)
                for name, kind, _r, values in fields
            },
        )

    def _literal(self, values: OneOf) -> Any:
        """The type the framework writes as an ``enum`` of ``values``."""
        return Literal[values.among()]


COMPONENTS = "#/components/schemas/"
PROBLEM_JSON = "application/problem+json"


def _operations(document: OpenAPI) -> Iterator[Operation]:
    """Every operation in ``document``."""
    for item in (document.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method)
            if operation is not None:
                yield operation


def _answers(document: OpenAPI) -> Iterator[tuple[str, OpenAPIResponse]]:
    """(status, answer) of every operation in ``document``."""
    for operation in _operations(document):
        for status, answer in (operation.responses or {}).items():
            if isinstance(answer, OpenAPIResponse):
                yield status, answer


def sort_answer_headers(document: OpenAPI) -> None:
    """Sort each answer's headers in ``document`` by name: the framework keeps a handler's response
    headers in a set, so their order followed the interpreter's hash seed and every worker (and
    every start) served a document of its own."""
    for _status, answer in _answers(document):
        if answer.headers:
            answer.headers = dict(sorted(answer.headers.items()))


def drop_framework_400(document: OpenAPI) -> None:
    """Drop the 400 the framework declares, in a shape of its own, on every operation with a
    parameter or a body (for its ``ValidationException``): the service answers a bad parameter
    422 problem details (:func:`~jiedai_flow.server.problems.of_http`), which the operation
    declares itself. A 400 an operation declares (an ambiguous ``{ref}``) is problem details and
    stays."""
    for operation in _operations(document):
        answers = operation.responses or {}
        answer = answers.get("400")
        if isinstance(answer, OpenAPIResponse) and PROBLEM_JSON not in (answer.content or {}):
            del answers["400"]


RETRY_AFTER = OpenAPIHeader(
    schema=OpenAPISchema(type=OpenAPIType.INTEGER, minimum=1),
    required=True,
    description="几秒后可以再试 / the seconds to wait before trying again",
)


def declare_retry_after(document: OpenAPI) -> None:
    """Give every 429 answer in ``document`` its ``Retry-After`` (whole seconds): the service sends
    it with each, but the framework declares no header on a problem response, and a generated
    client reads only the headers an answer declares."""
    for status, answer in _answers(document):
        if status == "429":
            answer.headers = {**(answer.headers or {}), "Retry-After": RETRY_AFTER}


def require_answer_fields(document: OpenAPI) -> None:
    """Mark every property of a component that only answers carry as required.

    The plugin marks a property required when its attrs field has no default, which is what a
    request must send; but the converter writes every field of an answer (no ``omit_if_default``),
    a value it does not have as ``null``. A client generated from the document (NSwag, OpenAPI
    Generator) made every such property optional — ``int?`` for a count that is always there. A
    component a request may carry (:func:`sent`: ``Plan``, ``Meal`` … are in answers too) keeps the
    request's reading, a field with a default left out: one class both ways, so a plan read with
    ``GET`` goes back in a command as it is."""
    asked = sent(document.to_schema())
    for name, component in document.components.schemas.items():
        if name not in asked and component.properties:
            component.required = sorted(component.properties)


def sent(document: Mapping[str, Any]) -> set[str]:
    """The schema components a request may carry: those its body and parameters name, and every
    component those name in turn."""
    schemas = document.get("components", {}).get("schemas", {})
    asked = [
        name
        for item in document.get("paths", {}).values()
        for key, part in item.items()
        # why the whole operation but its answers: a body, a parameter at the path or the operation
        for name in _named({k: v for k, v in part.items() if k != "responses"} if key in _METHODS else part)
    ]
    found: set[str] = set()
    while asked:
        name = asked.pop()
        if name not in found:
            found.add(name)
            asked.extend(_named(schemas.get(name, {})))
    return found


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _named(node: Any) -> Iterator[str]:
    """The names of the schema components ``node`` refers to, at any depth."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(COMPONENTS):
            yield ref.removeprefix(COMPONENTS)
        for value in node.values():
            yield from _named(value)
    elif isinstance(node, list):
        for value in node:
            yield from _named(value)


class LibraryDTO(AbstractDTO[T], Generic[T]):
    """Request bodies through :func:`~jiedai_flow.domain.loading.load` (every problem with its path, in
    Chinese and English), responses through :func:`~jiedai_flow.domain.loading.dump`; the schema is the
    attrs class's (:class:`AttrsSchema`)."""

    @classmethod
    def generate_field_definitions(cls, model_type: type[Any]) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def is_supported_model_type_field(cls, field_definition: FieldDefinition) -> bool:
        """Also ``LibraryDTO[list[X]]`` on a handler returning ``list[X]``: the framework matches a
        class or a collection of it, so a DTO of a list was dropped without a word and the framework
        encoded the list itself (cached properties included, moments written its own way)."""
        return field_definition.annotation == cls.model_type or super().is_supported_model_type_field(
            field_definition
        )

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        """Nothing to build: the library's converter does the work."""

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        if field_definition.is_subclass_of(Response) and field_definition.inner_types:
            # why: a handler that sets headers returns Response[CommandResult]; the body is the class
            field_definition = field_definition.inner_types[0]
        return schema_creator.for_field_definition(
            FieldDefinition.from_annotation(field_definition.annotation)
        )

    def decode_bytes(self, value: bytes) -> Any:
        from jiedai_flow.errors import Problem, ValidationError

        try:
            plain = parse(value) if value.strip() else {}
        except (ValueError, RecursionError):  # not JSON, or nested deeper than any request is
            raise ValidationError(
                [Problem("$", "请求体不是有效的 JSON", "the request body is not valid JSON")],
                source="请求体 request body",
            ) from None
        return self.decode_builtins(plain)

    def decode_builtins(self, value: Any) -> Any:
        return convert.load(self.model_type, value, source="请求体 request body")

    def data_to_encodable_type(self, data: T | Collection[T]) -> LitestarEncodableType:
        if isinstance(data, Response):
            # why: a handler that sets headers (ETag, Location) returns a Response; its body goes
            # through the converter too, or the framework encodes the attrs value itself: with a
            # plan's cached totals when something had asked for them (not on a replay), sets unsorted
            data.content = convert.dump(data.content)
            return cast("LitestarEncodableType", data)
        # why the casts: the framework's encodable union names pydantic's BaseModel, which is Any
        # unless pydantic is installed (the test extra brings it, through openapi-spec-validator)
        return cast("LitestarEncodableType", convert.dump(data))

"""What every request handler shares: the engine, the tokens, the authenticator, the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIType
from litestar.params import HeaderParameter

from jiedai_flow.errors import Problem, ValidationError

if TYPE_CHECKING:
    from litestar import Request

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.process.engine import Engine
    from jiedai_flow.server.auth import Authenticator, Principal
    from jiedai_flow.server.settings import Settings
    from jiedai_flow.server.tokens import TokenStore

MAX_REQUEST_ID = 128
"""The longest ``Idempotency-Key`` kept (the request id column)."""

# The headers of a command, declared for a client generated from the OpenAPI document (which sends
# only the headers an operation declares). The handlers read and check them themselves
# (expected_version, request_id), so the parameters are documentation: no second set of rules.
# A header is a string or absent, never JSON null: the schema says a string (not the framework's
# oneOf string/null of an optional value), the handler gets None when it is absent.
_STRING = {"one_of": None, "type": OpenAPIType.STRING}
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        schema_extra=_STRING,
        description='接待的版本，即上次应答的 ETag（如 "3"）；不符时 412；服务以 --require-if-match 运行时'
        "必须带，否则 428 / the reception's version as the last answer's ETag (like \"3\"), compared "
        "strongly; 412 when it changed; required (else 428) when the service runs with --require-if-match",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        schema_extra=_STRING,
        description=f"请求号，1–{MAX_REQUEST_ID} 个可打印字符：重试返回第一次的结果 / the request's key, "
        f"1 to {MAX_REQUEST_ID} printable characters: a retry returns the first result",
    ),
]
WRITE_HEADERS = (
    ResponseHeader(
        name="ETag",
        documentation_only=True,
        value='"4"',  # documentation only: the schema of the value (a string)
        required=True,
        description="接待的新版本，下一个 If-Match 原样用它 / the reception's new version (like "
        '"4"), for the next If-Match as is',
    ),
    ResponseHeader(
        name="Location",
        documentation_only=True,
        value="/api/v1/receptions/ID",
        required=True,
        description="接待的地址，末段是接待 ID / the reception's URL; its last segment is the id",
    ),
    ResponseHeader(
        name="Idempotent-Replayed",
        documentation_only=True,
        value="true",
        description="`true` 时这是重试，应答与第一次相同 / `true` on a retry answered as the first time",
    ),
)
"""The headers of a command's answer (registration, trigger, approval operation)."""
PROXY_HEADERS = (
    ResponseHeader(
        name="Location",
        documentation_only=True,
        value="/api/v1/proxies/ID",
        required=True,
        description="代理的地址，末段是代理 ID / the stand-in's URL; its last segment is the id",
    ),
    ResponseHeader(
        name="Idempotent-Replayed",
        documentation_only=True,
        value="true",
        description="`true`（200）时同一代理已经设过，应答就是它 / `true` (with 200) when the same "
        "designation was set already and is what is answered",
    ),
)
"""The headers of setting a stand-in: a designation has no version, so no ETag."""
READ_HEADERS = (
    ResponseHeader(
        name="ETag",
        documentation_only=True,
        value='"3"',
        required=True,
        description='接待的版本，写操作的 If-Match 用它 / the reception\'s version (like "3"), for If-Match',
    ),
)
"""The headers of a reception's answer."""


class Service:
    """A plain class, not attrs: the framework would try to validate an attrs dependency."""

    def __init__(
        self,
        engine: Engine,
        tokens: TokenStore,
        auth: Authenticator,
        actors: dict[str, Actor],
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.tokens = tokens
        self.auth = auth
        self.actors = actors
        self.settings = settings


def client_of(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client is not None else "?"


def api_principal(request: Request[Any, Any, Any], service: NamedDependency[Service]) -> Principal:
    """The caller of an API request, from ``Authorization: Bearer …`` only (no cookies)."""
    return service.auth.authenticate(request.headers.get("authorization"), client_of(request))


def expected_version(request: Request[Any, Any, Any], *, required: bool = False) -> int | None:
    """``If-Match: "7"`` → 7 (the reception's version is its ETag); None without the header, or
    428 when ``required`` (``jiedai serve --require-if-match``). ``*`` is a condition the caller
    chose: it matches any version."""
    raw = request.headers.get("if-match")
    if raw is None:
        if required:
            raise HTTPException(
                status_code=428,
                detail='须带 If-Match 请求头：值为上次读到的 ETag（如 "3"），先 GET 这件接待'
                ' / the If-Match header is required: the ETag last read (like "3"); GET the reception first',
            )
        return None
    text = raw.strip()
    if text == "*":
        return None
    # If-Match compares strongly (HTTP semantics): a weak tag never matches
    text = text.strip('"') if not text.startswith("W/") else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise HTTPException(
            status_code=412,
            detail='If-Match 应为接待的强 ETag（如 "3"，不带 W/）'
            ' / If-Match must be a reception\'s strong ETag, like "3"',
        )
    return int(text)


def request_id(request: Request[Any, Any, Any]) -> str | None:
    """``Idempotency-Key`` → the command's request id: a retry returns the first result."""
    raw = request.headers.get("idempotency-key")
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_REQUEST_ID or not key.isprintable():
        raise ValidationError(
            [
                Problem(
                    "$.headers.Idempotency-Key",
                    f"Idempotency-Key 应为 1–{MAX_REQUEST_ID} 个可打印字符",
                    f"Idempotency-Key must be 1 to {MAX_REQUEST_ID} printable characters",
                )
            ]
        )
    return key


def id_of(engine: Engine, ref: str) -> str:
    """The id ``ref`` names, as :meth:`Engine.resolve` finds it, without its two lookups when ``ref``
    is a whole id (what API clients send): for a command, whose first read says 404 when there is
    no such reception, that saves two round trips to the database."""
    if len(ref) == ID_LENGTH and all(c in HEX for c in ref):
        return ref
    return engine.resolve(ref)


ID_LENGTH = 32
HEX = frozenset("0123456789abcdef")


def etag(version: int) -> str:
    return f'"{version}"'

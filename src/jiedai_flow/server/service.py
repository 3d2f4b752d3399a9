"""What every request handler shares: the engine, the tokens, the authenticator, the settings."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import attrs
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIType
from litestar.params import HeaderParameter

from jiedai_flow.errors import PreconditionFailedError, Problem, ValidationError
from jiedai_flow.server.problems import HeaderError

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
        description='接待的版本，即上次应答的 ETag（如 "3"），可以列几个（"3", "4"），'
        '其中之一是当前版本即可；按强比较，W/"3" 这样的弱标签从不相符；都不符时 412，格式不对 400；'
        "`*` 表示不比版本（任何现有版本都行）。服务以 --require-if-match 运行时必须带且不能是 `*`，"
        "否则 428 / the reception's version as the last answer's ETag (like \"3\"), or a list of them "
        '("3", "4"): the condition holds when one is the current version. Compared strongly: a weak tag '
        'like W/"3" never matches. None matching is 412, a malformed value 400; `*` matches any current '
        "version (no comparison). When the service runs with --require-if-match it is required and `*` "
        "is refused (428)",
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


def expected_version(request: Request[Any, Any, Any], service: Service, reception_id: str) -> int | None:
    """The version a command on ``reception_id`` is conditioned on, from ``If-Match`` (as RFC
    9110 has it): a list of entity tags, compared strongly, that holds when one of them is the
    reception's ETag. That version is the command's expected version, so compare-and-set still
    decides a race; none matching is 412. None when there is no condition: no header, or ``*``
    (any current representation). Under ``jiedai serve --require-if-match`` both are 428, so that
    no client updates what it has not read — but 404 first for a reception that does not exist
    (a precondition of a request that would fail anyway is not looked at)."""
    tags = if_match(request)
    engine = service.engine
    request.state.conditioned = isinstance(tags, EntityTags)  # a lost race is then a 412, not a 409
    if not isinstance(tags, EntityTags):  # no header, or `*`
        if service.settings.require_if_match:
            engine.get(reception_id)  # 404 before 428
            raise HTTPException(status_code=428, detail=_STAR_REFUSED if tags == ANY else _MISSING)
        return None
    versions = {int(tag) for tag in tags.strong if _VERSION.fullmatch(tag)}
    if len(versions) == 1 and not tags.weak:
        return versions.pop()  # the common case reads nothing more: compare-and-set is the check
    current = engine.get(reception_id)
    if current.version in versions:
        return current.version
    raise PreconditionFailedError(current.id, current.version, weak=bool(tags.weak), number=current.number)


@attrs.frozen
class EntityTags:
    """The entity tags of an ``If-Match`` list, as sent (without their quotes)."""

    strong: tuple[str, ...]
    weak: tuple[str, ...]
    """Weak tags (``W/"3"``): If-Match compares strongly, so these never match."""


ANY = "*"
_VERSION = re.compile(r"0|[1-9][0-9]{0,17}")
"""A version as its ETag writes it: strong comparison is character by character, so ``"03"`` is
not ``"3"``."""
_TAG = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|\Z)')
"""One element of the list (RFC 9110's ``entity-tag``, with obs-text as the server decodes it),
with the optional whitespace around it and its comma."""
_EMPTY = re.compile(r"[ \t]*(?:,|\Z)")
"""An empty element of the list, which a recipient must accept (RFC 9110's list rule)."""
_MISSING = (
    '须带 If-Match 请求头：值为上次读到的 ETag（如 "3"），先 GET 这件接待'
    ' / the If-Match header is required: the ETag last read (like "3"); GET the reception first'
)
_STAR_REFUSED = (
    '本服务要求 If-Match 给出读到的版本，不接受 *：先 GET 这件接待，把 ETag（如 "3"）原样放进去'
    " / this service requires If-Match to name the version read, not *: GET the reception and send its"
    ' ETag (like "3") as is'
)


def if_match(request: Request[Any, Any, Any]) -> EntityTags | str | None:
    """``If-Match`` as sent: None without it, :data:`ANY` for ``*``, else its entity tags (every
    field of the name, as one list). 400 at ``$.headers.If-Match`` when it is neither."""
    fields = request.headers.getall("if-match", None)
    if not fields:
        return None
    text = ",".join(fields)
    if text.strip(" \t") == ANY:
        return ANY
    strong: list[str] = []
    weak: list[str] = []
    at = 0
    while at < len(text):
        found = _TAG.match(text, at) or _EMPTY.match(text, at)
        if found is None or found.end() == at:  # the empty match is only at the end
            raise HeaderError("If-Match", _MALFORMED_ZH, _MALFORMED_EN)
        if found.re is _TAG:
            (weak if found[1] else strong).append(found[2])
        at = found.end()
    if not strong and not weak:
        raise HeaderError("If-Match", _MALFORMED_ZH, _MALFORMED_EN)
    return EntityTags(tuple(strong), tuple(weak))


_MALFORMED_ZH = 'If-Match 应为 * 或用逗号分隔的 ETag，每个带双引号（如 "3" 或 "3", "4"）'
_MALFORMED_EN = 'If-Match must be * or a comma-separated list of quoted ETags (like "3", or "3", "4")'


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

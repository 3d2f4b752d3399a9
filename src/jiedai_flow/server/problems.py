"""Errors as RFC 9457 problem details 错误响应 (``application/problem+json``).

Every error the library raises on purpose keeps its stable ``code``, its Chinese and English
messages, every finding with its rule id (refusals by rules) and every problem with its field path
(bad input). The HTTP status follows what the error means: 404 not found, 409 the state or version
does not allow it, 412 ``If-Match`` no longer matches (400 when it is no list of entity tags),
428 ``If-Match`` missing or ``*`` where the service requires it (``jiedai serve
--require-if-match``), 422 the request was understood and refused (an approval operation that
cannot be done as asked: ``task_refused``), 429 too soon (催办 the same task again within the
hour: ``rate_limited``, with ``Retry-After``).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import attrs
from litestar import Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.exceptions import ValidationException as LitestarValidation
from litestar.openapi.datastructures import ResponseSpec

from jiedai_flow.domain.findings import Finding
from jiedai_flow.domain.loading import dump
from jiedai_flow.errors import (
    AmbiguousReferenceError,
    BudgetExceededError,
    ConflictError,
    DuplicateError,
    IdempotencyError,
    InvalidTransitionError,
    InvalidValueError,
    JiedaiFlowError,
    MigrationRefusedError,
    NotAuthorizedError,
    NotFoundError,
    PreconditionFailedError,
    Problem,
    RateLimitedError,
    ReasonRequiredError,
    RetryAfter,
    RuleViolationError,
    StorageError,
    TaskError,
    UnknownOperationError,
    UnknownTriggerError,
    ValidationError,
    VetoError,
)
from jiedai_flow.reports.common import ListNotFiledError, ReportsNeedSQLError

if TYPE_CHECKING:
    from litestar import Request

log = logging.getLogger("jiedai_flow.server")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://github.com/jiedai-flow/jiedai-flow/blob/main/docs/http.md#"


@attrs.frozen
class ProblemDetails:
    """An error response (RFC 9457) with the library's code and messages in Chinese and English."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    message_zh: str
    message_en: str
    instance: str = ""
    findings: tuple[Finding, ...] = ()
    """Every finding of a refusal, each with its rule id, severity, field path and citation."""
    explained: tuple[str, ...] = ()
    """For ``rule_violation``: the rule ids among ``findings`` whose explanation was given (now, or
    accepted before) — they did not refuse the command."""
    unused_explanations: dict[str, str] = attrs.field(factory=dict)
    """For ``rule_violation``: explanations for rule ids that have no finding needing one, each
    with the nearest rule id that has ("" when none is near) — a misspelt id."""
    problems: tuple[Problem, ...] = ()
    """Every problem of bad input, each with its field path (``$.plan.meals[0].cost``)."""
    allowed: tuple[str, ...] = ()
    """For ``invalid_transition`` and ``unknown_trigger``: the triggers that can fire now; for
    ``unknown_operation``: the approval operations' path segments (``add-signers``)."""
    current_version: int | None = None
    """For ``conflict`` and ``precondition_failed``: the version stored now (its ETag)."""


STATUS: tuple[tuple[int, tuple[type[Exception], ...]], ...] = (
    (404, (NotFoundError, ListNotFiledError, UnknownTriggerError, UnknownOperationError)),
    (400, (AmbiguousReferenceError,)),
    (412, (PreconditionFailedError,)),  # before ConflictError, which it is
    (403, (NotAuthorizedError,)),
    (
        409,
        (ConflictError, InvalidTransitionError, DuplicateError, MigrationRefusedError),
    ),
    (429, (RateLimitedError,)),
    (
        422,
        (
            TaskError,
            ValidationError,
            InvalidValueError,  # a wrong value is the caller's, wherever it is found: never a 500
            RuleViolationError,
            ReasonRequiredError,
            IdempotencyError,
            BudgetExceededError,
            VetoError,
        ),
    ),
    (501, (ReportsNeedSQLError,)),
    (503, (StorageError,)),
)
"""The HTTP status of each library error, the first that matches (a rate-limited operation is also a
refused one); any other library error is a 500."""


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def status_of(error: JiedaiFlowError) -> int:
    for status, kinds in STATUS:
        if isinstance(error, kinds):
            return status
    return 500


def problem(
    status: int, code: str, zh: str, en: str, request: Request[Any, Any, Any] | None = None, **extra: Any
) -> ProblemDetails:
    return ProblemDetails(
        type=TYPE_BASE + code.replace("_", "-"),
        title=TITLES.get(status, "Error"),
        status=status,
        detail=f"{zh} / {en}",
        code=code,
        message_zh=zh,
        message_en=en,
        instance=str(request.url.path) if request is not None else "",
        **extra,
    )


def of_error(error: JiedaiFlowError, request: Request[Any, Any, Any] | None = None) -> ProblemDetails:
    """The problem details of a library error."""
    status = status_of(error)
    code = error.code
    extra: dict[str, Any] = {}
    if isinstance(error, RuleViolationError):
        extra["findings"] = error.findings
        extra["explained"] = error.explained_ids
        extra["unused_explanations"] = error.unused
    if error.problems:  # bad input, or a refusal about one field (a missing reason: $.reason)
        extra["problems"] = error.problems
    if isinstance(error, (InvalidTransitionError, UnknownOperationError)):
        extra["allowed"] = error.allowed
    if isinstance(error, ConflictError):
        extra["current_version"] = error.actual
        # why the request's state, not its header: only a command that read If-Match as a version
        # lost a precondition (`*` compares none; a create sent one by mistake has none to lose)
        if request is not None and getattr(request.state, "conditioned", False):
            status, code = 412, "precondition_failed"
    return problem(status, code, error.message_zh, error.message_en, request, **extra)


class HeaderError(HTTPException):
    """A request header its grammar does not allow: 400 ``invalid_header``, its path
    ``$.headers.<name>``."""

    status_code = 400

    def __init__(self, header: str, zh: str, en: str) -> None:
        super().__init__(detail=f"{zh} / {en}")
        self.header = header


def respond(details: ProblemDetails, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(dump(details), status_code=details.status, media_type=PROBLEM_JSON, headers=headers)


def library_error(request: Request[Any, Any, Any], error: JiedaiFlowError) -> Response[Any]:
    details = of_error(error, request)
    if details.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, error)
    return respond(details, headers_of(error))


def headers_of(error: Exception) -> dict[str, str] | None:
    """The headers an error response carries (``Retry-After`` of a rate limit)."""
    if isinstance(error, RetryAfter):
        return {"Retry-After": str(error.seconds)}
    if isinstance(error, HTTPException) and error.headers:
        return dict(error.headers)
    return None


_HTTP_MESSAGES = {
    400: ("请求有误", "bad request"),
    401: ("未认证：请提供有效的令牌", "not authenticated: give a valid token"),
    403: ("无权访问", "forbidden"),
    404: ("没有这个地址", "no such resource"),
    405: ("不支持这个请求方法", "method not allowed"),
    413: ("请求体过大（上限 10 MB）", "request body too large (10 MB at most)"),
    415: ("不支持的请求体类型", "unsupported media type"),
    429: ("认证失败次数过多，请稍后再试", "too many failed authentications; retry later"),
}


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """The framework's own errors (no such route, bad query parameter …) as problem details."""
    return respond(of_http(request, error), dict(error.headers or {}))


def of_http(request: Request[Any, Any, Any], error: HTTPException) -> ProblemDetails:
    """The problem details of one of the framework's errors (a page's own refusal keeps its
    ``code``: ``csrf_failed``, ``read_only``)."""
    status = error.status_code
    zh, en = _HTTP_MESSAGES.get(status, ("请求未能完成", "request failed"))
    problems: tuple[Problem, ...] = ()
    if isinstance(error, LitestarValidation):
        status, code = 422, "validation"
        zh, en = "请求参数有误", "invalid request parameter"
        problems = tuple(
            Problem(
                f"$.{_source(item.get('source'))}.{item.get('key', '')}".rstrip("."),
                f"「{item.get('key', '')}」取值无效（{item.get('message', '')}）",
                str(item.get("message", "invalid value")),
            )
            for item in (error.extra if isinstance(error.extra, list) else [])
            if isinstance(item, dict)
        )
        missing = _MISSING.match(error.detail or "")
        if not problems and missing is not None:  # the framework says which in its detail only
            where, name = missing.groups()
            problems = (
                Problem(
                    f"$.{_source(where)}.{name}",
                    f"缺少必填参数「{name}」",
                    f"missing required {where} parameter {name!r}",
                ),
            )
    elif isinstance(error, HeaderError):
        code = "invalid_header"
        zh, en = _split(error.detail, zh, en)
        problems = (Problem(f"$.headers.{error.header}", zh, en),)
    elif isinstance(error, NotAuthorizedException):
        code = "not_authenticated"
        if error.detail and error.detail != "Unauthorized":
            zh, en = _split(error.detail, zh, en)
    elif isinstance(error, PermissionDeniedException):
        code = str(getattr(error, "code", "forbidden"))
        if error.detail and error.detail != "Forbidden":
            zh, en = _split(error.detail, zh, en)
    else:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            412: "precondition_failed",
            428: "precondition_required",
            429: "rate_limited",
        }.get(status, f"http_{status}")
        if error.detail and " / " in error.detail:
            zh, en = _split(error.detail, zh, en)
        if status == 428:  # the one header a command may be required to carry
            problems = (Problem("$.headers.If-Match", zh, en),)
    return problem(status, code, zh, en, request, problems=problems)


_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _source(where: object) -> str:
    """Where a parameter was read (``query``, ``path``, ``header``, ``cookie``): the framework
    gives its enum, whose ``str`` is the enum's name."""
    value = getattr(where, "value", where)
    return str(value or "query").lower()


def _split(detail: str, zh: str, en: str) -> tuple[str, str]:
    left, sep, right = detail.partition(" / ")
    return (left, right) if sep else (zh, en)


def internal_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """An exception nobody meant to raise: logged with its traceback, a 500 problem without it."""
    return respond(of_internal(request, error))


def of_internal(request: Request[Any, Any, Any], error: Exception) -> ProblemDetails:
    """The problem details of an unexpected exception, logged here with its traceback."""
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=error)
    kind = type(error).__name__
    return problem(
        500,
        "internal",
        f"内部错误（{kind}）：这是服务的问题，不是你的请求有误；详情见服务日志",
        f"internal error ({kind}): a bug of the service, not a mistake in the request; see the log",
        request,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    JiedaiFlowError: library_error,
    HTTPException: http_error,
    Exception: internal_error,
}
"""Litestar exception handlers: every error response is problem details."""


def _spec(description: str) -> ResponseSpec:
    # why no examples: the framework makes them up at random on every start (a code of random
    # letters, an 80-digit negative amount), so each worker served another document
    return ResponseSpec(
        data_container=ProblemDetails,
        media_type=PROBLEM_JSON,
        description=description,
        generate_examples=False,
    )


Declared = dict[int, ResponseSpec]
"""Problem responses by status, as an operation declares them (``responses=``)."""

# The problem responses of an API operation, in blocks: every operation names those that fit what it
# does (:func:`declared`), so a client generated from the document expects no status the operation
# cannot give — a list of tasks no 404, a reception read no 409. Chinese first, then English.

SERVED: Declared = {
    500: _spec("服务缺陷或部署配置有误（`internal`、`definition`、`plugin`……）a bug or a faulty deployment"),
    503: _spec("数据库不可用 the database is unavailable (`storage`)"),
}
"""Every API operation: its own failure, or the database's."""

AUTHENTICATED: Declared = {
    401: _spec("未认证 not authenticated (`not_authenticated`)"),
    429: _spec(
        "认证失败过多，`Retry-After` 秒后再试 too many failed authentications from this address; "
        "retry after `Retry-After` seconds (`rate_limited`)"
    ),
}
"""Every API operation: it asks who calls, and failed authentications are limited per address
(:class:`~jiedai_flow.server.auth.FailureLimiter`), whatever is asked."""

QUERY: Declared = {
    422: _spec("参数有误 an invalid query or path parameter (`validation`, `problems` at `$.query.…`)"),
}
"""An operation whose query or path parameters are checked (a number, a date, one of some values)."""

RECEPTION: Declared = {
    400: _spec(
        "`{ref}` 是多件接待共有的 id 前缀 `{ref}` is the start of more than one reception's id (`ambiguous`)"
    ),
    404: _spec("不存在 not found (`not_found`, `unknown_trigger`, `list_not_filed` …)"),
}
"""An operation on the reception ``{ref}`` names: an id, a number or the start of an id."""

FOUND: Declared = {404: _spec("不存在 not found (`not_found`)")}
"""An operation on a record named by its whole id or key (a stand-in, a process)."""

BODY: Declared = {
    413: _spec("请求体过大（上限 10 MB）request body over 10 MB (`http_413`)"),
    415: _spec("请求体应为 application/json / the body must be application/json (`http_415`)"),
    422: _spec("输入有误或被拒绝 bad input, or refused (`validation`, `task_refused` …)"),
}
"""An operation that reads a body: the body's size and type, and what it says."""

WRITE: Declared = {
    403: _spec("无权 forbidden (`not_authorized`; the supervisor writes nothing)"),
}
"""An operation that changes something: the supervisor 纪检 is read-only, and a role may be refused."""

COMMAND: Declared = {
    409: _spec("状态或版本冲突 conflict: state or version (`invalid_transition`, `conflict`, `duplicate`)"),
    422: _spec(
        "被拒绝：规则、理由、输入、审批操作 refused: rules, reason, input, an approval operation "
        "(`rule_violation`, `reason_required`, `validation`, `task_refused` …)"
    ),
}
"""A command the engine decides on a reception: its state, its version, its rules."""

GUARDED: Declared = {
    400: _spec(
        "`{ref}` 是多件接待共有的 id 前缀，或 If-Match 格式不对 `{ref}` is the start of more than one "
        "reception's id, or a malformed If-Match (`ambiguous`, `invalid_header`)"
    ),
    412: _spec("If-Match 不再相符 the version changed (`precondition_failed`)"),
    428: _spec(
        "缺少 If-Match 或为 *（服务以 --require-if-match 运行时）If-Match missing, or *, where "
        "the service requires it (`precondition_required`)"
    ),
}
"""A command on an existing reception: it may carry (or be required to carry) ``If-Match``."""

URGED: Declared = {
    429: _spec(
        "认证失败过多，或一小时内再次催办同一任务；`Retry-After` 秒后再试 too many failed authentications, "
        "or the same task urged again within the hour; retry after `Retry-After` seconds (`rate_limited`)"
    ),
}
"""催办: the same task once an hour."""

SQL_ONLY: Declared = {501: _spec("需要 SQL 数据库 this needs a SQL database (`reports_need_sql`)")}
"""Reports and the audit check, which a ``memory://`` store cannot give."""


def declared(*blocks: Declared) -> Declared:
    """The problem responses of an API operation: those of every one (:data:`SERVED`,
    :data:`AUTHENTICATED`) and of each of ``blocks``, by status. A later block's status replaces
    an earlier one's: it says more (:data:`COMMAND`'s 422 after :data:`BODY`'s)."""
    found = {**SERVED, **AUTHENTICATED}
    for block in blocks:
        found.update(block)
    return dict(sorted(found.items()))

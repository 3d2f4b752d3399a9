"""Task lists and approval operations 待办、已办与审批操作 (docs/http.md, docs/approvals.md).

- ``GET /tasks?view=mine|done|cc|started``: the caller's 待办, 已办, 抄送我的, 我发起的, filtered and
  paged by cursor; ``GET /tasks/counts``: how many lines each has.
- ``GET /receptions/{ref}/operations``: the operations the caller may use on a reception now.
- ``POST /receptions/{ref}/operations/{operation}``: one endpoint per operation of
  :mod:`jiedai_flow.process.tasks` (认领, 转办, 委派, 答复, 加签, 减签, 拿回, 驳回到环节, 票签反对, 跳转,
  终止, 催办, 抄送, 已阅, 沟通, 分派, 完成, 报告问题). The body is the operation's own command class plus
  ``reason``; ``If-Match`` and ``Idempotency-Key`` work as for triggers.
- ``GET /proxies``, ``POST /proxies``, ``GET /proxies/{id}``, ``DELETE /proxies/{id}``: stand-ins
  while away 代理.

The operations are the values of :class:`~jiedai_flow.process.lifecycle.Operation`; which trigger performs
one comes from the reception's process (``CompiledProcess.operations``), never from this module.
The supervisor reads the lists and writes nothing.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import attrs
from litestar import HttpMethod, Request, Response, delete, get, post, route
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIResponse
from litestar.openapi.spec import Operation as OpenAPIOperation
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter

from jiedai_flow.domain.records import (
    CommandResult,
    Proxy,
    ProxyPage,
    TaskCounts,
    TaskKind,
    TaskPage,
    TaskView,
    is_task_cursor,
    proxy_cursor,
)
from jiedai_flow.errors import (
    Problem,
    RateLimitedError,
    RetryAfter,
    TaskError,
    UnknownOperationError,
    ValidationError,
)
from jiedai_flow.process import tasks as task_ops
from jiedai_flow.process.authn import authenticated_by
from jiedai_flow.process.engine import proxy_party
from jiedai_flow.process.lifecycle import Operation
from jiedai_flow.server import metrics
from jiedai_flow.server.api.receptions import located, outcome
from jiedai_flow.server.auth import Principal, refuse_supervisor
from jiedai_flow.server.models import OperationInfo, Operations, ProxyRequest
from jiedai_flow.server.problems import (
    BODY,
    COMMAND,
    FOUND,
    GUARDED,
    QUERY,
    RECEPTION,
    URGED,
    WRITE,
    Declared,
    declared,
)
from jiedai_flow.server.schema import LibraryDTO
from jiedai_flow.server.service import (
    PROXY_HEADERS,
    WRITE_HEADERS,
    IdempotencyKey,
    IfMatch,
    Service,
    expected_version,
    id_of,
    request_id,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from jiedai_flow.process.engine import Engine

API = "/api/v1"
MAX_PAGE = 1000


# -- task lists 待办/已办/抄送我的/我发起的 -----------------------------------------------------------


@get(
    "/tasks",
    operation_id="listTasks",
    summary="任务列表 the caller's task lists: 待办 mine, 已办 done, 抄送我的 cc, 我发起的 started",
    description="待办 (`view=mine`, the default) holds the caller's open tasks, their principals' while they "
    "stand in, and the unclaimed pool tasks of their levels and department, due first; the other lists "
    "are newest first. Pages by cursor: `after` = the previous page's `next_cursor`.",
    return_dto=LibraryDTO[TaskPage],
    tags=["tasks"],
    sync_to_thread=True,
    responses=declared(QUERY),
)
def task_list(
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    view: FromQuery[TaskView] = TaskView.MINE,
    kind: FromQuery[TaskKind | None] = None,
    jurisdiction: FromQuery[str | None] = None,
    due_by: Annotated[date | None, Parameter(description="待办 only: due on or before this day")] = None,
    limit: int = Parameter(default=50, ge=1, le=MAX_PAGE),
    after: str | None = Parameter(default=None, description="the next_cursor of the previous page"),
) -> TaskPage:
    problems = []
    if due_by is not None and view is not TaskView.MINE:
        problems.append(Problem("$.query.due_by", "due_by 只用于待办", "due_by applies to view=mine only"))
    if after is not None and not is_task_cursor(after):
        problems.append(Problem("$.query.after", "游标无效", "not a cursor of this list"))
    if problems:
        raise ValidationError(problems)
    filters: dict[str, Any] = {"kind": kind, "jurisdiction": jurisdiction, "limit": limit, "after": after}
    if due_by is not None:
        filters["due_by"] = due_by
    engine = service.engine
    listing: dict[TaskView, Callable[..., TaskPage]] = {
        TaskView.MINE: engine.tasks_for,
        TaskView.DONE: engine.done_by,
        TaskView.CC: engine.copied_to,
        TaskView.STARTED: engine.started_by,
    }
    return listing[view](principal.actor, **filters)


@get(
    "/tasks/counts",
    operation_id="countTasks",
    summary="各列表条数 how many lines each of the caller's task lists has",
    return_dto=LibraryDTO[TaskCounts],
    tags=["tasks"],
    sync_to_thread=True,
    responses=declared(),
)
def task_counts(service: NamedDependency[Service], principal: NamedDependency[Principal]) -> TaskCounts:
    return service.engine.task_counts(principal.actor)


# -- the approval operations 审批操作 ----------------------------------------------------------------


def segment(operation: Operation) -> str:
    """The operation's path segment: ``add_signers`` → ``add-signers``."""
    return operation.value.replace("_", "-")


def path_of(reception_id: str, operation: Operation) -> str:
    return f"{API}/receptions/{reception_id}/operations/{segment(operation)}"


OPERATION_IDS: dict[Operation, str] = {
    Operation.CLAIM: "claimTask",
    Operation.TRANSFER: "transferTask",
    Operation.DELEGATE: "delegateTask",
    Operation.REPLY: "replyToDelegation",
    Operation.ADD_SIGNERS: "addSigners",
    Operation.REMOVE_SIGNER: "removeSigner",
    Operation.TAKE_BACK: "takeBackSignature",
    Operation.SEND_BACK: "sendBackToStep",
    Operation.AGAINST: "voteAgainst",
    Operation.JUMP: "jumpReception",
    Operation.TERMINATE: "terminateReception",
    Operation.URGE: "urgeTasks",
    Operation.COPY: "copyReception",
    Operation.READ: "markRead",
    Operation.COMMENT: "addComment",
    Operation.ASSIGN: "assignItems",
    Operation.COMPLETE: "completeTask",
    Operation.PROBLEM: "reportProblem",
}
"""The operationId of each operation's endpoint: the method name a generated client gets. Written
out, not derived from the value or the command class (``against``, ``problem`` are no verbs, and a
rename there would rename every vendor's method); a new operation without one fails at import."""


@get(
    "/receptions/{ref:str}/operations",
    operation_id="listOperations",
    summary="可用的审批操作 approval operations the caller may use now",
    description="What the caller can usefully do now: allowed by role and state, with something of "
    "theirs to act on (a task, a delegated task, a signer they added, a signature to take back). "
    "Each operation has its endpoint (`path`).",
    return_dto=LibraryDTO[Operations],
    tags=["tasks"],
    sync_to_thread=True,
    responses=declared(RECEPTION),
)
def operations(
    ref: FromPath[str], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> Operations:
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    return Operations(
        reception.id,
        reception.state,
        reception.version,
        available(engine, reception.id, principal),  # the supervisor: 已阅 of a copy at most
    )


def available(engine: Engine, reception_id: str, principal: Principal) -> tuple[OperationInfo, ...]:
    """The operations ``principal`` may use on the reception now, in the process's order."""
    process = engine.process_of(engine.get(reception_id))
    found = []
    for trigger in engine.available_operations(reception_id, principal.actor):
        declared = process.trigger_defs[trigger]
        if declared.operation is None:
            continue
        found.append(
            OperationInfo(
                declared.operation.value,
                trigger,
                declared.label,
                declared.label_en,
                declared.reason_required,
                path_of(reception_id, declared.operation),
            )
        )
    return tuple(found)


def request_class(command: type[task_ops.TaskCommand]) -> type[Any]:
    """The body of an operation's endpoint: its command class, plus the ``reason`` of the command."""
    body = attrs.make_class(
        f"{command.__name__}Request",
        {"reason": attrs.field(default="", kw_only=True, type=str)},
        bases=(command,),
        frozen=True,
    )
    reason = (
        "`reason`: 理由或意见 / the reason or opinion."
        if command.takes_reason
        else "`reason`: 不附意见，须留空 / must be left empty: it carries no text."
    )
    body.__doc__ = (
        f"{(command.__doc__ or '').strip()}\n\n"
        "`task`: 任务 id 或唯一前缀，只有一个待办时可省 / the task id or a unique prefix (may be left out "
        f"when the caller has one open task here); {reason}"
    )
    # the command's annotations name the task module's types: resolve them there, once
    attrs.resolve_types(body, globalns={**vars(task_ops), "date": date, "datetime": datetime})
    return body


def command_of(command: type[task_ops.TaskCommand], body: Any) -> task_ops.TaskCommand:
    """The library's own command value from a request body (the body less its reason)."""
    return command(**{f.name: getattr(body, f.name) for f in attrs.fields(command)})


def _retry_after(engine: Engine, reception_id: str, task_ref: str) -> int:
    """Seconds until a task a refused 催办 named may be urged again (the one urged longest ago)."""
    reception = engine.get(reception_id)
    urged = [
        t.urged_at
        for t in reception.tasks
        if t.urged_at is not None and t.live and (not task_ref or t.id.startswith(task_ref))
    ]
    if not urged:
        return 1
    left = task_ops.URGE_INTERVAL - (engine.clock.now() - min(urged))
    return max(1, math.ceil(left.total_seconds()))


def summary_of(doc: str) -> str:
    """The first sentence of a docstring, for the OpenAPI summary: whole (its first line cut
    「驳回到环节」 and 「跳转」 mid-sentence) and without Sphinx roles (``:class:`Reply```)."""
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    sentence = paragraph.split(". ", 1)[0].rstrip(".") + "."
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", sentence).replace("``", "`")


OWN_PROBLEMS: dict[Operation, Declared] = {Operation.URGE: URGED}
"""The problem responses an operation gives beyond every operation's (催办's 429 when too soon)."""


def _operation_route(operation: Operation) -> Any:
    command = task_ops.COMMANDS[operation]
    body_class = request_class(command)
    summary = summary_of(command.__doc__ or operation.value)

    def operate(
        request: Request[Any, Any, Any],
        ref: FromPath[str],
        data: JSONBody[Any],
        service: NamedDependency[Service],
        principal: NamedDependency[Principal],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CommandResult]:
        del if_match, idempotency_key  # read and checked by expected_version and request_id
        if operation is not Operation.READ:  # 已阅 of a copy sent to them is all the supervisor does
            refuse_supervisor(principal, operation.value)
        engine = service.engine
        reception_id = id_of(engine, ref)
        version = expected_version(request, service, reception_id)
        value = command_of(command, data)
        label = operation.value
        with authenticated_by(principal.method):
            try:
                label = engine.operation_trigger(operation, reception_id)
                result = engine.operate(
                    reception_id,
                    value,
                    principal.actor,
                    reason=data.reason,
                    request_id=request_id(request),
                    expected_version=version,
                )
            except RateLimitedError as error:
                metrics.COMMANDS.labels(label, error.code).inc()
                raise RetryAfter(error, _retry_after(engine, reception_id, value.task)) from None
            except Exception as error:
                metrics.COMMANDS.labels(label, getattr(error, "code", "error")).inc()
                raise
        metrics.COMMANDS.labels(label, "accepted").inc()
        return outcome(request, result, 200)

    operate.__name__ = f"operate_{operation.value}"
    # the body class is made here, not importable by name: give the framework the class itself
    operate.__annotations__["data"] = JSONBody[body_class]  # type: ignore[misc,valid-type]
    return post(
        f"/receptions/{{ref:str}}/operations/{segment(operation)}",
        summary=summary,
        description=f"Body: `{body_class.__name__}` — the fields of "
        f"`jiedai_flow.process.tasks.{command.__name__}` "
        "and `reason`. `If-Match` carries the version the caller saw, or a list of versions (412 "
        "when none is current; 428 without it, or with `*`, when the service runs with "
        "`--require-if-match`); "
        "`Idempotency-Key` makes a retry return the first result. A refused operation is 422 "
        "`task_refused` (or 403 `not_authorized`); 催办 again within the hour is 429 `rate_limited` "
        "with `Retry-After`.",
        dto=LibraryDTO[body_class],  # type: ignore[valid-type]
        return_dto=LibraryDTO[CommandResult],
        media_type=MediaType.JSON,
        tags=["operations"],
        sync_to_thread=True,
        responses=declared(RECEPTION, BODY, WRITE, COMMAND, GUARDED, OWN_PROBLEMS.get(operation, {})),
        response_headers=WRITE_HEADERS,
        status_code=200,
        operation_id=OPERATION_IDS[operation],
        name=f"operate_{operation.value}",
    )(operate)


OPERATION_ROUTES = tuple(_operation_route(op) for op in Operation)
"""One POST per operation, in the order :class:`~jiedai_flow.process.lifecycle.Operation` lists them."""


@post(
    "/receptions/{ref:str}/operations/{operation:str}",
    include_in_schema=False,  # no operation of its own: the named routes above match first
    status_code=404,
)
async def unknown_operation(
    ref: FromPath[str], operation: FromPath[str], principal: NamedDependency[Principal]
) -> None:
    """A POST to an operation there is not: a 404 naming it and the operations there are (the
    framework's own 404 said only "no such resource")."""
    del ref, principal  # authenticated like any operation, before anything is said
    raise _no_such(operation)


@route(
    "/receptions/{ref:str}/operations/{operation:str}",
    http_method=[HttpMethod.GET, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE],
    include_in_schema=False,
    status_code=404,
)
async def unknown_operation_read(
    ref: FromPath[str], operation: FromPath[str], principal: NamedDependency[Principal]
) -> None:
    """Any other method on an operation there is not: the same 404 as a POST there (the
    framework said 405, as if the operation existed and only the method were wrong). An
    operation's own path answers other methods with 405 before this is reached."""
    del ref, principal
    raise _no_such(operation)


def _no_such(operation: str) -> UnknownOperationError:
    return UnknownOperationError(operation, [segment(op) for op in Operation])


# -- stand-ins 代理 -------------------------------------------------------------------------------


def _visible(service: Service, principal: Principal, proxy_id: str) -> Proxy:
    """The stand-in ``proxy_id`` (exactly), if ``principal`` may read it; else 404, as for an id that
    is not there: one not theirs is as unknown as in the list."""
    try:
        found: Proxy | None = service.engine.proxy(proxy_id)
    except TaskError:  # no such stand-in: a 404 here, not a refused operation
        found = None
    if found is None or found.id != proxy_id or not _sees(principal, found):
        raise NotFoundException(f"没有代理 {proxy_id} / no stand-in {proxy_id}")
    return found


def _sees(principal: Principal, proxy: Proxy) -> bool:
    """Whether ``principal`` may read ``proxy``: theirs, as principal or stand-in, or they see all
    (the rule :meth:`~jiedai_flow.process.engine.Engine.proxies_for` lists by)."""
    party = proxy_party(principal.actor)
    return party is None or party in (proxy.principal, proxy.stand_in)


@get(
    "/proxies",
    operation_id="listProxies",
    summary="代理 stand-ins: the caller's (as principal or stand-in); the office, administrators and the "
    "supervisor see all",
    description="The latest set first, revoked ones too (`revoked`); `active_on` keeps those in force "
    "that day, `principal` those for one person, `stand_in` those by one. Pages by cursor: `after` = "
    "the previous page's `next_cursor`.",
    return_dto=LibraryDTO[ProxyPage],
    tags=["tasks"],
    sync_to_thread=True,
    responses=declared(QUERY),
)
def proxy_list(
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    active_on: FromQuery[date | None] = None,
    for_principal: Annotated[
        str | None,
        QueryParameter(name="principal", description="只列为此人设的 / only those for this person"),
    ] = None,
    stand_in: Annotated[
        str | None, Parameter(description="只列由此人代理的 / only those by this person")
    ] = None,
    limit: int = Parameter(default=50, ge=1, le=MAX_PAGE),
    after: str | None = Parameter(default=None, description="the next_cursor of the previous page"),
) -> ProxyPage:
    if after is not None and proxy_cursor(after) is None:
        raise ValidationError([Problem("$.query.after", "游标无效", "not a cursor of this list")])
    return service.engine.proxies_for(
        principal.actor,
        principal=for_principal,
        stand_in=stand_in,
        active_on=active_on,
        limit=limit,
        after=after,
    )


@get(
    "/proxies/{proxy_id:str}",
    operation_id="getProxy",
    summary="代理详情 one stand-in: the caller's (as principal or stand-in); the office, administrators "
    "and the supervisor see all",
    return_dto=LibraryDTO[Proxy],
    tags=["tasks"],
    sync_to_thread=True,
    responses=declared(FOUND),
)
def proxy_show(
    proxy_id: FromPath[str], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> Proxy:
    return _visible(service, principal, proxy_id)


def _known(service: Service, actor_id: str, path: str) -> None:
    if service.actors and actor_id not in service.actors:
        raise ValidationError(
            [Problem(path, f"参与人名录中没有 {actor_id}", f"{actor_id} is not in the actors directory")]
        )


@dataclasses.dataclass
class _AnsweredTwoWays(OpenAPIOperation):
    """An operation whose 200 carries the headers of its 201 (the framework declares a handler's
    response headers on its own status only): setting a stand-in made or found."""

    def __post_init__(self) -> None:
        made, found = (self.responses or {}).get("201"), (self.responses or {}).get("200")
        if isinstance(made, OpenAPIResponse) and isinstance(found, OpenAPIResponse):
            found.headers = dict(made.headers or {})


@post(
    "/proxies",
    operation_id="setProxy",
    summary="设置代理 set a stand-in while away (for oneself; the office or an administrator for others)",
    description="201 with `Location` when the designation is made; the same principal, stand-in and "
    "period in force already is answered with it: 200, `Idempotent-Replayed: true`, so a retry is "
    "safe with or without `Idempotency-Key`. The key is kept with the designation it made: sent "
    "again with the same body it is answered so too (revoked since or not), with another body it "
    "is 422 `idempotency`.",
    dto=LibraryDTO[ProxyRequest],
    return_dto=LibraryDTO[Proxy],
    tags=["tasks"],
    sync_to_thread=True,
    media_type=MediaType.JSON,
    responses={
        200: ResponseSpec(
            data_container=Proxy,
            description="同一代理已经设过，应答就是它 the same designation, set already",
            generate_examples=False,
        ),
        **declared(BODY, WRITE),
    },
    response_headers=PROXY_HEADERS,
    status_code=201,
    operation_class=_AnsweredTwoWays,
)
def proxy_set(
    request: Request[Any, Any, Any],
    data: JSONBody[ProxyRequest],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    idempotency_key: IdempotencyKey = None,
) -> Response[Proxy]:
    del idempotency_key  # read by request_id, which checks it
    refuse_supervisor(principal, "set_proxy")
    key = request_id(request)
    _known(service, data.stand_in, "$.stand_in")
    if data.principal:
        _known(service, data.principal, "$.principal")
    result = service.engine.set_proxy(
        data.principal or principal.actor.id,
        data.stand_in,
        data.start,
        data.end,
        principal.actor,
        reason=data.reason,
        request_id=key,
    )
    proxy = result.proxy
    headers = {"Location": located(request, f"{API}/proxies/{proxy.id}")}
    if result.created:
        return Response(proxy, status_code=201, headers=headers)
    return Response(proxy, status_code=200, headers={**headers, "Idempotent-Replayed": "true"})


@delete(
    "/proxies/{proxy_id:str}",
    operation_id="revokeProxy",
    summary="撤销代理 revoke a stand-in (its principal, the office or an administrator)",
    return_dto=LibraryDTO[Proxy],
    tags=["tasks"],
    sync_to_thread=True,
    responses=declared(FOUND, WRITE),
    status_code=200,
)
def proxy_revoke(
    proxy_id: FromPath[str], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> Proxy:
    refuse_supervisor(principal, "revoke_proxy")
    engine = service.engine
    _visible(service, principal, proxy_id)  # why: as GET, another's stand-in is not told of
    return engine.revoke_proxy(proxy_id, principal.actor)


ROUTES: tuple[Any, ...] = (
    task_list,
    task_counts,
    operations,
    *OPERATION_ROUTES,
    unknown_operation,
    unknown_operation_read,
    proxy_list,
    proxy_show,
    proxy_set,
    proxy_revoke,
)
"""The task-list, approval-operation and stand-in endpoints."""

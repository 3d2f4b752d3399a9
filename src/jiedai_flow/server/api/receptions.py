"""Receptions 接待: create, show, list, fire a trigger, available triggers, dry-run check, history and
explanations. Trigger names come from the reception's process definition, never from this module."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter

from jiedai_flow.cli.inputs import ReceptionFile, unsaved_reception
from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.model import ReceptionType
from jiedai_flow.domain.records import AuditEvent, CommandResult, Page, Reception, ReceptionQuery
from jiedai_flow.errors import NotAuthorizedError, Problem, TaskError, ValidationError
from jiedai_flow.process.authn import authenticated_by
from jiedai_flow.process.tasks import TaskCommand
from jiedai_flow.server import metrics
from jiedai_flow.server.auth import Principal, refuse_supervisor
from jiedai_flow.server.models import CheckResult, Explanations, FireRequest, TriggerInfo, Triggers
from jiedai_flow.server.problems import BODY, COMMAND, GUARDED, QUERY, RECEPTION, WRITE, declared
from jiedai_flow.server.schema import LibraryDTO
from jiedai_flow.server.service import (
    READ_HEADERS,
    WRITE_HEADERS,
    IdempotencyKey,
    IfMatch,
    Service,
    etag,
    expected_version,
    id_of,
    request_id,
)

CREATE = "create"


def outcome(request: Request[Any, Any, Any], result: CommandResult, status: int) -> Response[CommandResult]:
    """A command's result with its ETag and Location. A replay of an accepted command answers as the
    first answer did (201 for a registration), marked ``Idempotent-Replayed: true``: a client that
    retries after a lost response sees what it would have seen."""
    headers = {
        "ETag": etag(result.reception.version),
        "Location": located(request, f"/api/v1/receptions/{result.reception.id}"),
    }
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(result, status_code=status, headers=headers)


def located(request: Request[Any, Any, Any], path: str) -> str:
    """``path`` as a client reaches it: under the prefix a host mounted the app at (``root_path``)."""
    return str(request.scope.get("root_path", "")).rstrip("/") + path


@post(
    "/receptions",
    operation_id="createReception",
    summary="登记接待 register a reception",
    description="Body: the same shape as a `jiedai new` file — `reception`, `letter`, `plan`. "
    "The handler is the caller; a body naming another handler is refused.",
    dto=LibraryDTO[ReceptionFile],
    return_dto=LibraryDTO[CommandResult],
    media_type=MediaType.JSON,
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(BODY, WRITE, COMMAND),
    response_headers=WRITE_HEADERS,
    status_code=201,
)
def create(
    request: Request[Any, Any, Any],
    data: JSONBody[ReceptionFile],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandResult]:
    del idempotency_key  # read and checked by request_id
    refuse_supervisor(principal, CREATE)
    head = data.reception
    if head.handler and head.handler != principal.actor.id:
        raise NotAuthorizedError(
            head.id or "",
            CREATE,
            principal.actor.id,
            f"经办人是令牌的持有人，不能代 {head.handler} 登记",
            f"the handler is the token's actor; you may not register for {head.handler}",
        )
    with authenticated_by(principal.method):
        result = service.engine.create_reception(
            data.letter,
            data.plan,
            handler=principal.actor,
            host_unit=head.host_unit,
            jurisdiction=head.jurisdiction,
            reception_type=head.type,
            start=head.start,
            end=head.end,
            reception_id=head.id,
            request_id=request_id(request),
        )
    metrics.COMMANDS.labels(CREATE, "accepted").inc()
    return outcome(request, result, 201)


@get(
    "/receptions",
    operation_id="listReceptions",
    summary="查询接待 list receptions (cursor pages)",
    return_dto=LibraryDTO[Page],
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(QUERY),
)
def list_receptions(
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    states: Annotated[list[str] | None, QueryParameter(name="state")] = None,
    jurisdiction: FromQuery[str | None] = None,
    host_unit: FromQuery[str | None] = None,
    reception_type: Annotated[ReceptionType | None, QueryParameter(name="type")] = None,
    start_from: FromQuery[date | None] = None,
    start_to: FromQuery[date | None] = None,
    number: FromQuery[str | None] = None,
    limit: int = Parameter(default=50, ge=1, le=1000),
    after: str | None = Parameter(default=None, description="the next_cursor of the previous page"),
) -> Page:
    del principal
    known = {s.name for p in service.engine.processes for s in p.states}
    unknown = [s for s in states or () if s not in known]
    if unknown:
        raise ValidationError(
            [
                Problem(
                    "$.query.state",
                    f"未知状态：{'、'.join(unknown)}",
                    f"unknown state(s): {', '.join(unknown)}",
                )
            ]
        )
    if after is not None and not _is_cursor(after):
        raise ValidationError([Problem("$.query.after", "游标无效", "not a cursor of this list")])
    query = ReceptionQuery(
        states=frozenset(states or ()),
        jurisdiction=jurisdiction,
        host_unit=host_unit,
        reception_type=reception_type,
        start_from=start_from,
        start_to=start_to,
        number=number,
        limit=limit,
        after=after,
    )
    return service.engine.query(query)


def _is_cursor(text: str) -> bool:
    start, sep, last_id = text.partition("|")
    try:
        date.fromisoformat(start)
    except ValueError:
        return False
    return bool(sep and last_id) and "|" not in last_id


@get(
    "/receptions/{ref:str}",
    operation_id="getReception",
    summary="接待详情 show a reception (ETag = version)",
    description="`ref` is the id, the reception number (341502-2026-00001) or the start of the id.",
    return_dto=LibraryDTO[Reception],
    media_type=MediaType.JSON,
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(RECEPTION),
    response_headers=READ_HEADERS,
)
def show(
    ref: FromPath[str], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> Response[Reception]:
    del principal
    reception = service.engine.get(id_of(service.engine, ref))
    return Response(reception, headers={"ETag": etag(reception.version)})


@get(
    "/receptions/{ref:str}/triggers",
    operation_id="listTriggers",
    summary="可执行的操作 triggers the caller may fire now",
    return_dto=LibraryDTO[Triggers],
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(RECEPTION),
)
def triggers(
    ref: FromPath[str], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> Triggers:
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    process = engine.process_of(reception)
    names = () if principal.read_only else engine.available_triggers(reception.id, principal.actor)
    defs = [process.trigger_defs[n] for n in names]
    return Triggers(
        reception.id,
        reception.state,
        process.label(reception.state),
        reception.version,
        tuple(
            TriggerInfo(d.name, d.label, d.label_en, d.reason_required, d.carries_plan, d.carries_list)
            for d in defs
        ),
    )


@post(
    "/receptions/{ref:str}/triggers/{trigger:str}",
    operation_id="fireTrigger",
    summary="执行操作 fire a trigger (If-Match, Idempotency-Key)",
    description="`trigger` is a trigger of the reception's process (see `/triggers`). `If-Match` carries the "
    "version the caller saw, or a list of versions (412 when none is current; 428 without it, or with "
    "`*`, when the service runs with `--require-if-match`); `Idempotency-Key` makes a retry return the "
    "first result. "
    "For the approval trigger, `task` names which of the caller's tasks they sign (when they hold several); "
    "approval operations have their own endpoints (see `/operations`). A `plan` replaces the whole plan: "
    "a field left out takes its default (no meals, no lodging, a zero budget …), so send the plan as `GET` "
    "shows it with your changes, never only the changed fields.",
    dto=LibraryDTO[FireRequest],
    return_dto=LibraryDTO[CommandResult],
    media_type=MediaType.JSON,
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(RECEPTION, BODY, WRITE, COMMAND, GUARDED),
    response_headers=WRITE_HEADERS,
    status_code=200,
)
def fire(
    request: Request[Any, Any, Any],
    ref: FromPath[str],
    trigger: FromPath[str],
    data: JSONBody[FireRequest],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandResult]:
    del if_match, idempotency_key  # read and checked by expected_version and request_id
    refuse_supervisor(principal, trigger)
    engine = service.engine
    reception_id = id_of(engine, ref)
    version = expected_version(request, service, reception_id)
    with authenticated_by(principal.method):
        try:
            result = engine.fire(
                reception_id,
                trigger,
                principal.actor,
                reason=data.reason,
                request_id=request_id(request),
                expected_version=version,
                plan=data.plan,
                reception_list=data.reception_list,
                explanations=data.explanations or None,
                follow_up=data.follow_up,
                command=TaskCommand(task=data.task) if data.task else None,
            )
        except Exception as error:
            metrics.COMMANDS.labels(
                _label(engine, reception_id, trigger), getattr(error, "code", "error")
            ).inc()
            if isinstance(error, TaskError):
                _elsewhere(engine, ref, reception_id, trigger, error)
            raise
    metrics.COMMANDS.labels(trigger, "accepted").inc()
    return outcome(request, result, 200)


def _elsewhere(engine: Any, ref: str, reception_id: str, trigger: str, error: TaskError) -> None:
    """An approval operation fired as a trigger is refused (it needs its own command): the
    refusal points to the operation's own endpoint."""
    from jiedai_flow.server.api.tasks import path_of

    declared = engine.process_of(engine.get(reception_id)).trigger_defs.get(trigger)
    if declared is None or declared.operation is None:
        return
    endpoint = f"POST {path_of(ref, declared.operation)}"
    raise TaskError(
        reception_id,
        error.operation,
        f"这是审批操作，有它自己的端点：{endpoint}",
        f"an approval operation has an endpoint of its own: {endpoint}",
        number=error.number,
        operation_en=trigger,
    ) from None


def _label(engine: Any, reception_id: str, trigger: str) -> str:
    """A bounded metrics label: the trigger if some process knows it."""
    known = any(t.name == trigger for p in engine.processes for t in p.triggers)
    return trigger if known else "unknown"


@get(
    "/receptions/{ref:str}/check",
    operation_id="checkReception",
    summary="合规预检 dry-run the rules (nothing saved)",
    return_dto=LibraryDTO[CheckResult],
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(RECEPTION, QUERY),
)
def check(
    ref: FromPath[str],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    stage: FromQuery[list[str] | None] = None,
    all_stages: Annotated[bool, QueryParameter(name="all")] = False,
) -> CheckResult:
    del principal
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    process = engine.process_of(reception)
    stages: Any = None
    if all_stages:
        stages = "all"
    elif stage:
        unknown = [s for s in stage if s not in process.trigger_defs]
        if unknown:
            raise ValidationError(
                [
                    Problem(
                        "$.query.stage",
                        f"未知环节：{'、'.join(unknown)}",
                        f"unknown stage(s): {', '.join(unknown)}",
                    )
                ]
            )
        stages = [process.trigger_defs[s].rule_stage for s in stage]
    report = engine.check(reception, stages)
    return CheckResult(
        reception.id, report.ok and not any(f.refuses for f in report.findings), report.by_stage
    )


@post(
    "/checks",
    operation_id="checkUnsavedReception",
    summary="预检未登记的接待 dry-run a reception not registered",
    dto=LibraryDTO[ReceptionFile],
    return_dto=LibraryDTO[CheckResult],
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(BODY),
    status_code=200,
)
def check_unsaved(
    data: JSONBody[ReceptionFile], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> CheckResult:
    reception = unsaved_reception(service.engine, data, principal.actor)
    report = service.engine.check(reception)
    return CheckResult(reception.id, not any(f.refuses for f in report.findings), report.by_stage)


@get(
    "/receptions/{ref:str}/history",
    operation_id="getHistory",
    summary="时间线 the audit trail, oldest first",
    return_dto=LibraryDTO[list[AuditEvent]],
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(RECEPTION),
)
def history(
    ref: FromPath[str], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> list[AuditEvent]:
    del principal
    engine = service.engine
    return list(engine.history(engine.resolve(ref)))


@get(
    "/receptions/{ref:str}/explanations",
    operation_id="getExplanations",
    summary="情况说明 explanations given, and findings that need one",
    return_dto=LibraryDTO[Explanations],
    tags=["receptions"],
    sync_to_thread=True,
    responses=declared(RECEPTION),
)
def explanations(
    ref: FromPath[str], service: NamedDependency[Service], principal: NamedDependency[Principal]
) -> Explanations:
    del principal
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    given = {(e.rule_id, e.path) for e in reception.explanations}
    needed = tuple(
        f
        for f in engine.check(reception).findings
        if f.severity is Severity.NEEDS_EXPLANATION and (f.rule_id, f.path) not in given
    )
    return Explanations(reception.id, reception.explanations, needed)


ROUTES = (create, list_receptions, show, triggers, fire, check, check_unsaved, history, explanations)

"""Web pages 网页 for clerks and approvers: server-rendered templates, plain forms, no JavaScript build.

Sign in with a token (an API token or an SSO JWT); it opens a session cookie (encrypted, HttpOnly,
SameSite=Strict) that carries the actor and a CSRF token every form posts back. The pages call the
same engine as the API, with the same authorization, and record ``web/…`` as the way the actor was
authenticated. 待办、已办、抄送我的、我发起的 are the engine's task lists; the reception page offers the
approval operations the actor may use (:mod:`.operations`), each a form with a reason box.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from litestar import Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader, Cookie, ResponseHeader
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from jiedai_flow import reports
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.loading import load
from jiedai_flow.domain.model import (
    Actor,
    Itinerary,
    MealKind,
    Purpose,
    ReceptionType,
    Role,
    RoomType,
    VenueType,
)
from jiedai_flow.domain.records import ReceptionQuery, TaskState, TaskView, is_task_cursor
from jiedai_flow.errors import JiedaiFlowError, ValidationError
from jiedai_flow.process import diagram
from jiedai_flow.process.authn import authenticated_by
from jiedai_flow.process.engine import CREATE
from jiedai_flow.process.lifecycle import CREATE_LABEL, Operation
from jiedai_flow.reports.common import ListNotFiledError
from jiedai_flow.server import problems
from jiedai_flow.server.api import tasks
from jiedai_flow.server.api.reports import list_of
from jiedai_flow.server.auth import Principal
from jiedai_flow.server.service import Service, client_of, id_of
from jiedai_flow.server.web import errors, forms, operations

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jiedai_flow.server.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
_DAYS = attrs.fields(Itinerary)
"""The itinerary's field names, read from the class (its ``start`` is a date, not the trigger)."""
Form = URLEncodedBody[dict[str, str]]
SESSION_HOURS = 8
WEB_SESSION = "网页会话 web session"
"""The label of the token row a sign-in opens: the cookie names the row, signing out revokes it
(in every worker at once: they all read the row), ``jiedai token revoke`` ends it too."""


def _principal(request: Request[Any, Any, Any], service: Service) -> Principal:
    """Who the signed-in session is: the actor the sign-in named (from the actors file, or from the
    single sign-on token's claims, kept in the session, which the service encrypts), while the
    session and its token are active, fewer than :data:`SESSION_HOURS` have passed since sign-in
    (however busy the session: the cookie is sent again on every page), and a JWT's ``exp`` has not
    passed — whichever ends first."""
    session = request.session if "session" in request.scope else {}
    actor = service.actors.get(str(session.get("actor", ""))) or _claimed(session.get("claimed"))
    token_id = str(session.get("token_id", ""))
    session_id = str(session.get("session_id", ""))
    until = session.get("until")
    if (
        actor is None
        or not session_id
        or (isinstance(until, int | float) and time.time() > until)
        or not _session_open(service, session_id)
        or (token_id and not service.auth.token_active(token_id))
    ):
        raise NotAuthorizedException("请先登录 / sign in first")
    return Principal(actor, str(session.get("method", "web")))


class SessionEnded(NotAuthorizedException):
    """A form posted after its session ended: the sign-in page shows what was typed, to copy."""

    def __init__(self, service: Service, typed: tuple[tuple[str, str], ...]) -> None:
        super().__init__("请先登录 / sign in first")
        self.service = service
        self.typed = typed


def _poster(request: Request[Any, Any, Any], service: Service, data: dict[str, str]) -> Principal:
    """Who posts ``data`` (:func:`_principal`); when the session has ended, :class:`SessionEnded`
    with the text typed, so a long form is not lost on the way to the sign-in page."""
    try:
        return _principal(request, service)
    except NotAuthorizedException:
        raise SessionEnded(service, _shown_back(request, data)) from None


def _shown_back(request: Request[Any, Any, Any], data: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """:func:`typed_text` of a form the pages themselves sent (the browser says so: ``Sec-Fetch-Site``
    or ``Origin``); nothing for one another site posted, whose text would otherwise appear on the
    genuine sign-in page ("系统升级，请到某网址登录")."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    ours = site == "same-origin" if site else origin == f"{request.url.scheme}://{request.url.netloc}"
    return typed_text(data) if ours else ()


_UNTYPED = frozenset({"csrf", "request_id", "version", "operation", "trigger", "token"})
"""A form's fields nobody types (hidden, buttons, the sign-in token)."""


def typed_text(data: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """What a posted form's user typed or chose, (label, value) in form order, for a page that could
    not take the form to show back (a session that ended, a form that expired): ticked boxes and
    hidden fields left out."""
    labels = {**operations.FIELD_LABELS, **LABELS}
    return tuple(
        (labels.get(name, name), value)
        for name, value in data.items()
        if name not in _UNTYPED and value.strip() and not (":" in name and not name.startswith("explain:"))
    )


def _session_open(service: Service, session_id: str) -> bool:
    """Whether the session's row is there, not revoked, and made (at sign-in) less than
    :data:`SESSION_HOURS` ago: an absolute limit the server keeps, whatever the cookie says."""
    found = service.auth.tokens.get(session_id)
    return (
        found is not None
        and found.active
        and datetime.now(UTC).replace(tzinfo=None) - found.created_at < timedelta(hours=SESSION_HOURS)
    )


def _claimed(found: object) -> Actor | None:
    """The actor a single sign-on token described (not in the actors file), as the session keeps it."""
    if not isinstance(found, dict):
        return None
    try:
        return Actor(
            str(found["id"]),
            str(found["name"]),
            frozenset(Role(r) for r in found["roles"]),
            unit=str(found.get("unit", "")),
            levels=frozenset(str(level) for level in found.get("levels", ())),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _csrf(request: Request[Any, Any, Any], form: dict[str, str]) -> None:
    expected = str(request.session.get("csrf", ""))
    if not expected or not hmac.compare_digest(expected, form.get("csrf", "")):
        raise errors.csrf_failed(_shown_back(request, form))


def when(moment: datetime | None, shape: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as the pages show it: China time (the task lists read UTC from the store)."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(CHINA_TZ).strftime(shape)


def _page(name: str, request: Request[Any, Any, Any], status: int = 200, **context: Any) -> Template:
    session = request.session if "session" in request.scope else {}
    context.setdefault("me", session.get("name", ""))
    context.setdefault("csrf", session.get("csrf", ""))
    context.setdefault("read_only", bool(session.get("read_only")))
    context.setdefault("when", when)
    context.setdefault("new_request_id", forms.new_request_id)
    for key, choices in _CHOICES.items():
        context.setdefault(key, choices)
    return Template(template_name=name, context=context, status_code=status)


_CHOICES = {
    "purposes": [(p.value, p.label) for p in Purpose],
    "meal_kinds": [(k.value, k.label) for k in MealKind],
    "venue_types": [(v.value, v.label) for v in VenueType],
    "room_types": [(v.value, v.label) for v in RoomType],
}
"""The registration form's choices (value, Chinese label), made once."""


LOGIN_CSRF = "jiedai_login_csrf"
"""The sign-in form's CSRF cookie: its own, on the sign-in path only, so that opening the sign-in
page never touches a session (the session cookie is left as it is)."""


@get("/login", sync_to_thread=False, include_in_schema=False)
def login_page(request: Request[Any, Any, Any], service: NamedDependency[Service]) -> Template:
    return _login_page(request, service, 200, "")


def _login_page(
    request: Request[Any, Any, Any],
    service: Service,
    status: int,
    error: str,
    typed: tuple[tuple[str, str], ...] = (),
) -> Template:
    """The sign-in form with a CSRF token of its own (double submit: the cookie and the form field
    must agree), so a page elsewhere cannot sign a clerk in under another person's token. A token
    already set is reused: several tabs on the sign-in page all work."""
    token = request.cookies.get(LOGIN_CSRF) or secrets.token_urlsafe(24)
    cookie = Cookie(
        key=LOGIN_CSRF,
        value=token,
        path="/web/login",
        httponly=True,
        samesite="strict",
        secure=service.settings.secure_cookies,
        max_age=SESSION_HOURS * 3600,
    )
    page = _page("login.html", request, status, error=error, csrf=token, typed=typed)
    page.cookies.append(cookie)
    return page


@post("/login", sync_to_thread=True, include_in_schema=False)
def login(request: Request[Any, Any, Any], data: Form, service: NamedDependency[Service]) -> Response[Any]:
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, data.get("csrf", "")):
        raise errors.csrf_failed()
    try:
        found = service.auth.authenticate(
            f"Bearer {data.get('token', '').strip()}", client_of(request), web=True
        )
    except NotAuthorizedException:
        return _login_page(request, service, 401, "令牌无效或已吊销 / invalid or revoked token")
    token_id = found.method.removeprefix("web/api-token:") if "api-token:" in found.method else ""
    tokens = service.auth.tokens
    tokens.purge(WEB_SESSION, datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=SESSION_HOURS))
    opened, _secret = tokens.create(found.actor.id, WEB_SESSION)  # the secret is never handed out
    who = found.actor
    claimed = None
    if who.id not in service.actors:  # described by the single sign-on token only
        claimed = {
            "id": who.id,
            "name": who.name,
            "roles": sorted(who.roles),
            "unit": who.unit,
            "levels": sorted(who.levels),
        }
    request.set_session(
        {
            "session_id": opened.id,
            "actor": who.id,
            "claimed": claimed,
            "until": found.until,  # a JWT's exp: the session ends with the token
            "name": who.name,
            "method": found.method,
            "token_id": token_id,
            "read_only": found.read_only,
            "csrf": secrets.token_urlsafe(24),
        }
    )
    return Redirect("/web/")


@post("/logout", sync_to_thread=True, include_in_schema=False)
def logout(request: Request[Any, Any, Any], data: Form, service: NamedDependency[Service]) -> Redirect:
    _csrf(request, data)
    session_id = str(request.session.get("session_id", ""))
    if session_id:  # the cookie may be kept or copied: the session ends on the server
        service.auth.tokens.revoke(session_id)
    request.clear_session()
    return Redirect("/web/login")


VIEWS = {
    TaskView.MINE: "待办",
    TaskView.DONE: "已办",
    TaskView.CC: "抄送我的",
    TaskView.STARTED: "我发起的",
}
PAGE = 50


@get("/", sync_to_thread=True, include_in_schema=False)
def home(
    request: Request[Any, Any, Any],
    service: NamedDependency[Service],
    view: FromQuery[str] = "mine",
    after: FromQuery[str | None] = None,
) -> Template:
    """The actor's task lists, one tab each: 待办 (default), 已办, 抄送我的, 我发起的."""
    me = _principal(request, service)
    engine = service.engine
    chosen = next((v for v in TaskView if v.value == view), TaskView.MINE)
    listing = {
        TaskView.MINE: engine.tasks_for,
        TaskView.DONE: engine.done_by,
        TaskView.CC: engine.copied_to,
        TaskView.STARTED: engine.started_by,
    }[chosen]
    page = listing(me.actor, limit=PAGE, after=after if after and is_task_cursor(after) else None)
    return _page(
        "home.html",
        request,
        view=chosen,
        views=VIEWS,
        page=page,
        counts=engine.task_counts(me.actor),
        labels=_state_labels(service),
        task_states={s.value: s.label for s in TaskState},
        outcomes={**_trigger_labels(service), **operations.OUTCOMES},
        read_only=me.read_only,
        names={a.id: a.name for a in service.actors.values()},
    )


def _state_labels(service: Service) -> dict[str, str]:
    return {s.name: s.label for p in service.engine.processes for s in p.states}


def _trigger_labels(service: Service) -> dict[str, str]:
    return {t.name: t.label for p in service.engine.processes for t in p.triggers}


@get("/receptions/{ref:str}", sync_to_thread=True, include_in_schema=False)
def detail(
    request: Request[Any, Any, Any], ref: FromPath[str], service: NamedDependency[Service]
) -> Template:
    me = _principal(request, service)
    return _detail(request, service, me, ref)


def _detail(
    request: Request[Any, Any, Any], service: Service, me: Principal, ref: str, **extra: Any
) -> Template:
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    process = engine.process_of(reception)
    events = engine.history(reception.id)
    names = () if me.read_only else engine.available_triggers(reception.id, me.actor)
    frozen = process.phase(reception.state).plan_frozen
    infos = tasks.available(engine, reception.id, me)  # the supervisor: 已阅 of a copy at most
    actors = sorted(service.actors.values(), key=lambda a: a.id)
    context = {
        "r": reception,
        "state_label": process.label(reception.state),
        "findings": engine.check(reception).findings,
        "events": events,
        "triggers": [process.trigger_defs[n] for n in names],
        "trigger_forms": {n: forms.kind_of(process.trigger_defs[n], frozen) for n in names},
        "needs_explanation": Severity.NEEDS_EXPLANATION,
        "labels": {s.name: s.label for s in process.definition.states},
        "trigger_labels": {
            CREATE: CREATE_LABEL,
            **{t.name: t.label for t in process.definition.triggers},
        },
        "mermaid": diagram.mermaid(process.definition, diagram.trail(events)),
        "operations": operations.forms(infos, partial(engine.task_choices, reception, me.actor)),
        "steps": operations.steps(reception),
        "execution": operations.execution(reception),
        "actors": actors,
        "candidates": operations.candidates(
            reception, me.actor, actors, process.operation_roles(Operation.REPLY)
        ),
        "posted": {},
        "failed": "",
        "states": process.definition.states,
        "positions": operations.positions(reception),
        "default_position": operations.default_position(reception),
        "task_states": {s.value: s.label for s in TaskState},
        "outcomes": {**_trigger_labels(service), **operations.OUTCOMES},
        "names": {a.id: a.name for a in service.actors.values()},
        "error": "",
        "error_en": "",
        "problems": {},
        **extra,
    }
    offered = {o.info.operation for o in context["operations"]} | ({"fire"} if names else set())
    context["form_gone"] = bool(context["failed"]) and context["failed"] not in offered
    return _page("detail.html", request, status=422 if extra.get("error") else 200, **context)


@post("/receptions/{ref:str}/fire", sync_to_thread=True, include_in_schema=False)
def fire(
    request: Request[Any, Any, Any], ref: FromPath[str], data: Form, service: NamedDependency[Service]
) -> Response[Any]:
    me = _poster(request, service, data)
    _csrf(request, data)
    engine = service.engine
    reception_id = id_of(engine, ref)
    trigger = data.get("trigger", "")
    explanations = {
        k.removeprefix("explain:"): v for k, v in data.items() if k.startswith("explain:") and v.strip()
    }
    try:
        if me.read_only:
            raise errors.read_only()
        with authenticated_by(me.method):
            engine.fire(
                reception_id,
                trigger,
                me.actor,
                reason=data.get("reason", ""),
                request_id=forms.request_id(data),
                expected_version=forms.form_version(data),
                explanations=explanations or None,
            )
    except JiedaiFlowError as error:
        findings = getattr(error, "findings", ())
        return _detail(
            request,
            service,
            me,
            reception_id,
            error=error.message_zh,
            error_en=error.message_en,
            refused=findings,
            posted=dict(data),
            failed="fire",
        )
    return Redirect(f"/web/receptions/{reception_id}")


@post("/receptions/{ref:str}/operate", sync_to_thread=True, include_in_schema=False)
def operate(
    request: Request[Any, Any, Any], ref: FromPath[str], data: Form, service: NamedDependency[Service]
) -> Response[Any]:
    """One approval operation from its form: the command built from the fields, the reason typed."""
    me = _poster(request, service, data)
    _csrf(request, data)
    engine = service.engine
    reception_id = id_of(engine, ref)
    try:
        chosen = next((o for o in Operation if o.value == data.get("operation", "")), None)
        if me.read_only and chosen is not Operation.READ:  # 已阅 of their own copies only
            raise errors.read_only()
        if chosen is None:
            raise PermissionDeniedException("未知操作 / unknown operation")
        value = operations.command(chosen, data)
        with authenticated_by(me.method):
            engine.operate(
                reception_id,
                value,
                me.actor,
                reason=data.get("reason", ""),
                request_id=forms.request_id(data),
                expected_version=forms.form_version(data),
            )
    except JiedaiFlowError as error:
        said, said_en = error.message_zh, error.message_en
        if isinstance(error, ValidationError):
            said += "：" + "；".join(operations.labelled(p.message_zh, p.path) for p in error.problems)
            said_en += ": " + "; ".join(f"{p.message_en} ({p.path})" for p in error.problems)
        return _detail(
            request,
            service,
            me,
            reception_id,
            error=said,
            error_en=said_en,
            posted=dict(data),
            failed=data.get("operation", ""),
        )
    return Redirect(f"/web/receptions/{reception_id}")


def _payload_trigger(service: Service, me: Principal, ref: str, trigger: str) -> tuple[Any, Any, str]:
    """The reception, the trigger's definition and its form (``plan`` or ``list``); refused when the
    actor cannot fire it now or it carries neither."""
    if me.read_only:
        raise errors.read_only()
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    process = engine.process_of(reception)
    definition = process.trigger_defs.get(trigger)
    frozen = process.phase(reception.state).plan_frozen
    kind = forms.kind_of(definition, frozen) if definition else ""
    if not kind or trigger not in engine.available_triggers(reception.id, me.actor):
        raise errors.PageRefused(
            "trigger_not_available",
            f"此刻不能办理「{definition.label if definition else trigger}」，或它不带表单",
            f"{trigger} cannot be used now, or carries no form",
        )
    return reception, definition, kind


def _payload(
    request: Request[Any, Any, Any],
    found: tuple[Any, Any, str],
    form: dict[str, str],
    problems: dict[str, list[str]],
    **extra: Any,
) -> Template:
    reception, definition, kind = found
    status = 422 if problems or extra.get("error") else 200
    tables = {t.name: t for t in (forms.MEALS, forms.LODGINGS, forms.ITEMS, forms.INVOICES, forms.PAYMENTS)}
    form = forms.dates_shown(form, tables.values())
    return _page(
        "payload.html",
        request,
        status,
        r=reception,
        trigger=definition,
        kind=kind,
        form=form,
        problems=problems,
        tables=tables,
        rows=lambda table: forms.rows_shown(form, table),
        documents=forms.DOCUMENTS,
        **{"error": "", "error_en": "", "problems_en": [], **extra},
    )


@get("/receptions/{ref:str}/fire/{trigger:str}", sync_to_thread=True, include_in_schema=False)
def payload_page(
    request: Request[Any, Any, Any],
    ref: FromPath[str],
    trigger: FromPath[str],
    service: NamedDependency[Service],
) -> Template:
    """The plan form of 修改/变更, or the list form of 报销（提交清单）, prefilled from the reception."""
    found = _payload_trigger(service, _principal(request, service), ref, trigger)
    reception, _, kind = found
    values = forms.plan_values(reception) if kind == "plan" else forms.list_values(reception)
    return _payload(request, found, values, {})


@post("/receptions/{ref:str}/fire/{trigger:str}", sync_to_thread=True, include_in_schema=False)
def payload_fire(
    request: Request[Any, Any, Any],
    ref: FromPath[str],
    trigger: FromPath[str],
    data: Form,
    service: NamedDependency[Service],
) -> Response[Any]:
    me = _poster(request, service, data)
    _csrf(request, data)
    found = _payload_trigger(service, me, ref, trigger)
    reception, _, kind = found
    read = forms.read_plan(data, reception) if kind == "plan" else forms.read_list(data, reception)
    if read.problems:
        return _payload(
            request,
            found,
            data,
            read.problems,
            error="表单有误，请按字段旁的提示修改",
            error_en="the form has mistakes: see the notes beside the fields",
        )
    try:
        with authenticated_by(me.method):
            service.engine.fire(
                reception.id,
                trigger,
                me.actor,
                reason=data.get("reason", ""),
                request_id=forms.request_id(data),
                expected_version=forms.form_version(data),
                plan=read.value if kind == "plan" else None,
                reception_list=read.value if kind == "list" else None,
            )
    except ValidationError as error:
        at = read.at_fields((p.path, p.message_zh) for p in error.problems)
        english = {"error_en": error.message_en, "problems_en": _in_english(error)}
        return _payload(request, found, data, at, error=error.message_zh, **english)
    except JiedaiFlowError as error:
        refused = getattr(error, "findings", ())
        at = read.at_fields((f.path, f"[{f.rule_id}] {f.message_zh}") for f in refused)
        at.pop("_", None)
        english = {"error_en": error.message_en}
        return _payload(request, found, data, at, error=error.message_zh, refused=refused, **english)
    return Redirect(f"/web/receptions/{reception.id}")


@get("/receptions/{ref:str}/print", sync_to_thread=True, include_in_schema=False)
def print_list(
    request: Request[Any, Any, Any], ref: FromPath[str], service: NamedDependency[Service]
) -> Response[Any]:
    _principal(request, service)
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    try:
        doc = list_of(engine, reception)
    except ListNotFiledError as error:
        back = f"/web/receptions/{reception.id}"
        return errors.render(request, problems.of_error(error, request), back=back)
    html = reports.render_list_html(doc, templates=engine.hooks.jiedai_templates())
    return Response(html.encode(), media_type="text/html")


LABELS = {
    "number": "公函文号",
    "issued_on": "发函日期",
    "sending_unit": "来访单位",
    "purpose": "公务目的",
    "content": "事由",
    "start_day": "开始日期",
    "end_day": "结束日期",
    "places": "地点",
    "guests": "来宾",
    "meal_on": "工作餐日期",
    "meal_kind": "餐次",
    "meal_venue": "就餐地点",
    "meal_venue_type": "场所类型",
    "meal_cost": "餐费（元）",
    "meal_companions": "陪餐人数",
    "meal_dishes": "菜品",
    "lodging_hotel": "住宿酒店",
    "lodging_room_type": "房型",
    "lodging_nights": "晚数",
    "lodging_rooms": "房间数",
    "lodging_price_per_night": "房价（元/晚）",
    "budget": "预算（元）",
}
"""The registration form's fields and their labels (the messages name a field by its label)."""
FIELDS = tuple(LABELS)


@get("/new", sync_to_thread=True, include_in_schema=False)
def new_page(request: Request[Any, Any, Any], service: NamedDependency[Service]) -> Template:
    if _principal(request, service).read_only:
        raise errors.read_only()
    return _page("new.html", request, form={}, problems={}, error="")


def _document(form: dict[str, str], me: Principal) -> dict[str, Any]:
    """The form as the body of ``POST /api/v1/receptions`` (a ``jiedai new`` file)."""
    guests = []
    for line in form.get("guests", "").splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if any(parts):
            name, unit, post, rank = ([*parts, "", "", "", ""])[:4]
            guests.append({"name": name, "unit": unit, "post": post, **({"rank": rank} if rank else {})})
    start = form.get("start_day", "")
    meals = []
    if _typed(form, _MEAL_TYPED):  # any of it typed: what is missing is said at its field
        meals.append(
            {
                "on": form.get("meal_on") or start,
                "kind": form.get("meal_kind") or MealKind.LUNCH.value,
                "venue": form.get("meal_venue", ""),
                "venue_type": form.get("meal_venue_type") or VenueType.CANTEEN.value,
                "guests": len(guests),
                "companions": _int(form.get("meal_companions") or "0"),
                "cost": form.get("meal_cost", ""),
                "dishes": forms.items_of(form.get("meal_dishes", "")),
            }
        )
    lodging = []
    if _typed(form, _LODGING_TYPED):
        lodging.append(
            {
                "hotel": form.get("lodging_hotel", ""),
                "room_type": form.get("lodging_room_type") or RoomType.STANDARD.value,
                "nights": _int(form.get("lodging_nights") or "1"),
                "rooms": _int(form.get("lodging_rooms") or "1"),
                "price_per_night": form.get("lodging_price_per_night", ""),
            }
        )
    return {
        "reception": {
            "jurisdiction": form.get("jurisdiction", "341502"),
            "host_unit": form.get("host_unit", me.actor.unit),
        },
        "letter": {
            "kind": "公函",
            "number": form.get("number", ""),
            "sending_unit": form.get("sending_unit", ""),
            # the letter's own date; left empty, the day it is registered (as before this field)
            "issued_on": form.get("issued_on") or date.today().isoformat(),
            "purpose": form.get("purpose", ""),
            "content": form.get("content", ""),
            "itinerary": {
                _DAYS.start.name: start,
                _DAYS.end.name: form.get("end_day", ""),
                "places": forms.items_of(form.get("places", "")),
            },
            "personnel": guests,
            # why: a meal or a room the letter did not ask for is a finding; the clerk says
            "meal_requested": form.get("meal_requested") == "on",
            "lodging_requested": form.get("lodging_requested") == "on",
        },
        "plan": {"budget": form.get("budget") or "0", "meals": meals, "lodgings": lodging},
    }


_MEAL_TYPED = ("meal_on", "meal_venue", "meal_companions", "meal_cost", "meal_dishes")
_LODGING_TYPED = ("lodging_hotel", "lodging_rooms", "lodging_nights", "lodging_price_per_night")
"""The fields of the form's meal and room a clerk types (the kinds are choices, always sent)."""


def _typed(form: dict[str, str], names: tuple[str, ...]) -> bool:
    return any(form.get(name, "").strip() for name in names)


def _in_english(error: ValidationError) -> list[str]:
    """Each problem in English with its field path, for the banner above a form whose fields say it
    in Chinese."""
    return [f"{p.path}: {p.message_en}" for p in error.problems]


def _int(text: str) -> Any:
    return forms.whole(text)


@post("/new", sync_to_thread=True, include_in_schema=False)
def new(request: Request[Any, Any, Any], data: Form, service: NamedDependency[Service]) -> Response[Any]:
    from jiedai_flow.cli.inputs import ReceptionFile

    me = _poster(request, service, data)
    _csrf(request, data)
    try:
        if me.read_only:
            raise errors.read_only()
        source = load(ReceptionFile, _document(data, me), source="表单")
        with authenticated_by(me.method):
            result = service.engine.create_reception(
                source.letter,
                source.plan,
                handler=me.actor,
                host_unit=source.reception.host_unit,
                jurisdiction=source.reception.jurisdiction,
                reception_type=ReceptionType.DOMESTIC,
                request_id=forms.request_id(data),
            )
    except ValidationError as error:
        problems: dict[str, list[str]] = {}
        for p in error.problems:
            field = _field_of(p.path, p.message_zh)
            if field == "guests":
                text = forms.person_message(p.message_zh, p.path.removeprefix("$.letter.personnel"))
            elif field in LABELS and not data.get(field, "").strip():
                text = f"「{LABELS[field].split('（')[0]}」不能为空"  # not 「不是有效金额：''」
            else:
                text = forms.message(p.message_zh, LABELS.get(field, ""), data.get(field, ""))
            problems.setdefault(field, []).append(text)
        for name in _REQUIRED:  # said at once, even when other mistakes kept the letter from being read
            if not data.get(name, "").strip() and name not in problems:
                problems[name] = [f"「{LABELS[name]}」不能为空"]
        return _page(
            "new.html",
            request,
            422,
            form=_days_shown(data),
            problems=problems,
            error=error.message_zh,
            error_en=error.message_en,
            problems_en=_in_english(error),
        )
    except JiedaiFlowError as error:
        return _page(
            "new.html",
            request,
            422,
            form=_days_shown(data),
            problems={},
            error=error.message_zh,
            error_en=error.message_en,
        )
    return Redirect(f"/web/receptions/{result.reception.id}")


_PATHS = {
    "$.letter.number": "number",
    "$.letter.issued_on": "issued_on",
    "$.letter.sending_unit": "sending_unit",
    "$.letter.purpose": "purpose",
    "$.letter.content": "content",
    "$.letter.itinerary": "end_day",
    "$.letter.itinerary.start": "start_day",
    "$.letter.itinerary.end": "end_day",
    "$.letter.itinerary.places": "places",
    "$.letter.personnel": "guests",
    "$.plan.budget": "budget",
    "$.plan.meals": "meal_cost",
    "$.plan.lodgings": "lodging_price_per_night",
}


def _days_shown(form: dict[str, str]) -> dict[str, str]:
    """The registration form sent back with its full-width dates in ASCII (a date input blanks them)."""
    return forms.days_shown(form, ("issued_on", "start_day", "end_day", "meal_on"))


_REQUIRED = ("number", "sending_unit", "content", "start_day", "end_day")
"""The registration form's fields that may not be left empty."""


def _field_of(path: str, message: str = "") -> str:
    """The form field a problem points at: the field its message names at this path (「number」不能
    为空, from the letter's own checks), else the longest known prefix of its path."""
    named = re.match(r"「(\w+)」", message)
    if named and f"{path}.{named.group(1)}" in _PATHS:
        return _PATHS[f"{path}.{named.group(1)}"]
    for prefix in sorted(_PATHS, key=len, reverse=True):
        if path.startswith(prefix):
            if prefix in ("$.plan.meals", "$.plan.lodgings"):
                leaf = path.rsplit(".", 1)[-1]
                field = ("meal_" if "meals" in prefix else "lodging_") + leaf
                return field if field in FIELDS else _PATHS[prefix]
            return _PATHS[prefix]
    return "_"


@get("/list", sync_to_thread=True, include_in_schema=False)
def all_receptions(request: Request[Any, Any, Any], service: NamedDependency[Service]) -> Template:
    _principal(request, service)
    engine = service.engine
    page = engine.query(ReceptionQuery(limit=100))
    return _page("receptions.html", request, items=list(page.items), labels=_state_labels(service))


def _to_login(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if isinstance(error, SessionEnded) and error.typed:
        said = (
            "登录已过期，表单没有提交：请先复制下面填写的内容，重新登录后再填"
            " / your session ended and the form was not submitted:"
            " copy what you typed, sign in, fill it in again"
        )
        return _login_page(request, error.service, 401, said, typed=error.typed)
    return Redirect("/web/login")


def sessions(settings: Settings) -> CookieBackendConfig:
    """The session cookie of the pages (``/web`` only: the API takes bearer tokens, never cookies)."""
    return CookieBackendConfig(
        secret=bytes.fromhex(settings.session_secret),
        key="jiedai_session",
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=SESSION_HOURS * 3600,
        path="/web",
        exclude=["^/api", "^/schema", "^/healthz", "^/readyz", "^/metrics"],
    )


def router() -> Router:
    """The pages under ``/web``."""
    return Router(
        "/web",
        route_handlers=[
            login_page,
            login,
            logout,
            home,
            detail,
            fire,
            operate,
            print_list,
            payload_page,
            payload_fire,
            new_page,
            new,
            all_receptions,
        ],
        exception_handlers={NotAuthorizedException: _to_login},
        include_in_schema=False,
        # why: a shared office PC's Back button must not show a reception after sign-out, and no
        # other site may frame the pages to trick a click on 同意
        cache_control=CacheControlHeader(no_store=True),
        response_headers=[
            ResponseHeader(name="X-Frame-Options", value="DENY"),
            ResponseHeader(name="Content-Security-Policy", value="frame-ancestors 'none'"),
        ],
    )

"""Error pages 错误页 of the web pages: under ``/web`` an error is an HTML page in Chinese (English
beside it) with the library's stable code, the HTTP status, what to do and a link back; the API
keeps its problem details (:mod:`jiedai_flow.server.problems`), built by the same functions so the
code and messages are the same in both."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from litestar import Response
from litestar.exceptions import HTTPException, PermissionDeniedException

from jiedai_flow.errors import JiedaiFlowError
from jiedai_flow.server import problems

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Request

PREFIX = "/web"

TITLES = {
    400: "请求有误",
    403: "无权办理",
    404: "没有找到",
    405: "不支持的操作",
    409: "状态已变化",
    422: "未能办理",
    429: "请稍后再试",
    500: "服务出错",
    501: "暂不支持",
    503: "服务暂不可用",
}

HINTS = {
    "csrf_failed": "页面已过期或不是从本系统打开的：请返回，刷新页面后重新填写提交。"
    " / The form expired: go back, reload the page and submit again.",
    "read_only": "纪检监察人员可以查看、打印，不能办理。"
    " / The supervisor may read and print, never change anything.",
    "rate_limited": "登录失败次数过多，请稍候再用正确的令牌登录。"
    " / Too many failed sign-ins: wait, then sign in with a valid token.",
    "not_found": "地址或接待编号不存在：请从待办或全部接待进入。"
    " / No such page or reception: open it from your tasks or the list of receptions.",
    "list_not_filed": "接待结束后，经办人在接待页的「报销（提交清单）」填写接待清单；提交后即可打印。"
    " / The handler files the list with 报销（提交清单） on the reception page; then it prints.",
    "internal": "这是服务的问题，不是你的操作有误；请联系管理员。"
    " / A bug of the service, not your mistake; tell the administrator.",
}


class PageRefused(PermissionDeniedException):
    """A page's refusal with its own stable code (``csrf_failed``, ``read_only``); ``typed``: what
    the refused form's user typed, (label, value), shown back to copy."""

    def __init__(self, code: str, zh: str, en: str, typed: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(detail=f"{zh} / {en}")
        self.code = code
        self.typed = typed


def csrf_failed(typed: tuple[tuple[str, str], ...] = ()) -> PageRefused:
    return PageRefused(
        "csrf_failed", "表单已过期或来源不明（CSRF），请刷新后重试", "CSRF token missing or wrong", typed
    )


def read_only() -> PageRefused:
    return PageRefused("read_only", "纪检监察人员只读，不能办理", "the supervisor changes nothing")


_RECEPTION = re.compile(r"^/web/receptions/[^/]+")


def back_of(request: Request[Any, Any, Any]) -> str:
    """Where 返回 leads: the reception the failed page belongs to, else the task list."""
    path = str(request.url.path)
    found = _RECEPTION.match(path)
    if found and (request.method != "GET" or path != found.group(0)):
        return found.group(0)
    if path.startswith("/web/login"):
        return "/web/login"
    return "/web/"


def render(
    request: Request[Any, Any, Any],
    details: problems.ProblemDetails,
    headers: dict[str, str] | None = None,
    *,
    hint: str = "",
    back: str = "",
    typed: tuple[tuple[str, str], ...] = (),
) -> Response[Any]:
    """The error page of ``details`` (its status, code and messages); ``typed``: what the refused
    form held, shown back to copy."""
    session = request.scope.get("session") or {}
    context = {
        "me": session.get("name", "") if isinstance(session, dict) else "",
        "csrf": session.get("csrf", "") if isinstance(session, dict) else "",
        "read_only": bool(session.get("read_only")) if isinstance(session, dict) else False,
        "title": TITLES.get(details.status, "未能完成"),
        "d": details,
        "hint": hint or HINTS.get(details.code, ""),
        "back": back or back_of(request),
        "retry_after": (headers or {}).get("Retry-After", ""),
        "typed": typed,
    }
    templates = request.app.template_engine
    if templates is None:  # why: an app built without the pages' templates still answers
        return problems.respond(details, headers)
    html = templates.get_template("error.html").render(**context)
    return Response(html, status_code=details.status, media_type="text/html", headers=headers)


def _for_pages(
    api: Callable[[Request[Any, Any, Any], Any], Response[Any]],
    details: Callable[[Request[Any, Any, Any], Any], problems.ProblemDetails],
) -> Callable[[Request[Any, Any, Any], Any], Response[Any]]:
    def handle(request: Request[Any, Any, Any], error: Any) -> Response[Any]:
        path = str(request.url.path)
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return api(request, error)
        typed = getattr(error, "typed", ())
        return render(request, details(request, error), problems.headers_of(error), typed=typed)

    return handle


def handlers() -> dict[Any, Any]:
    """The application's exception handlers: problem details, or an error page under ``/web``."""
    return {
        JiedaiFlowError: _for_pages(problems.library_error, lambda r, e: problems.of_error(e, r)),
        HTTPException: _for_pages(problems.http_error, problems.of_http),
        Exception: _for_pages(problems.internal_error, problems.of_internal),
    }

"""The clerk's and the approver's pages through a real ``jiedai serve``, as a browser posts them (plain
HTTP, no browser needed): what a double press, a half-typed meal, a stale page and the print of the
list do. The browser tests (tests/test_http_browser.py) walk the same pages in Chromium."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests._http_server import list_body, reception_body, running

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-pages")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder) as found:
        yield found


@contextlib.contextmanager
def _signed_in(server: Server, actor_id: str) -> Iterator[httpx.Client]:
    """A client signed in to the pages as ``actor_id`` with a token of theirs, as the sign-in form
    does it (its CSRF token read from the page)."""
    with httpx.Client(base_url=server.base, timeout=30) as web:
        found = re.search(r'name="csrf" value="([^"]+)"', web.get("/web/login").text)
        assert found is not None
        signed = web.post("/web/login", data={"token": server.token(actor_id), "csrf": found.group(1)})
        assert signed.status_code in (302, 303), signed.text[:300]
        yield web


def _hidden(page: str, name: str, after: str = "") -> str:
    """The value of the hidden field ``name`` (in the form that follows ``after`` when given)."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page[page.index(after) :] if after else page)
    assert found is not None, name
    return found.group(1)


def _form(page: str, **typed: str) -> dict[str, str]:
    """The registration form as a clerk fills it in: its hidden fields from ``page``, then ``typed``."""
    start = date.today() + timedelta(days=14)
    return {
        "csrf": _hidden(page, "csrf"),
        "request_id": _hidden(page, "request_id"),
        "number": "皖农函〔2026〕88号",
        "issued_on": date.today().isoformat(),
        "sending_unit": "市农业农村局",
        "purpose": "research",
        "content": "调研高标准农田建设",
        "start_day": start.isoformat(),
        "end_day": start.isoformat(),
        "places": "县农业产业园",
        "guests": "刘建国, 市农业农村局, 副局长, 厅局级/司局级",
        "budget": "600",
        **typed,
    }


def _numbered(server: Server, number: str) -> list[dict[str, Any]]:
    with server.client("zhang.wei") as api:
        items = api.get("/api/v1/receptions", params={"limit": 100}).json()["items"]
    return [r for r in items if r["letter"]["number"] == number]


def test_pressing_register_twice_registers_one_reception(server: Server) -> None:
    """The second press of 登记 (or the browser sending the form again) shows the reception the
    first made: the form carries a request id, and the engine answers a repeated one with the first
    result."""
    with _signed_in(server, "zhang.wei") as web:
        form = _form(web.get("/web/new").text, number="皖农函〔2026〕101号")
        first = web.post("/web/new", data=form)
        again = web.post("/web/new", data=form)
    assert first.status_code == again.status_code == 302
    assert first.headers["location"] == again.headers["location"]
    assert len(_numbered(server, "皖农函〔2026〕101号")) == 1
    with _signed_in(server, "zhang.wei") as web:  # a new page is a new request: registered again
        web.post("/web/new", data=_form(web.get("/web/new").text, number="皖农函〔2026〕101号"))
    assert len(_numbered(server, "皖农函〔2026〕101号")) == 2


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"meal_venue": "县机关食堂", "meal_companions": "2", "meal_dishes": "家常豆腐、米饭"}, "meal_cost"),
        ({"lodging_rooms": "1", "lodging_nights": "1", "lodging_price_per_night": "300"}, "lodging_hotel"),
    ],
)
def test_a_meal_or_room_typed_in_part_is_refused_at_its_field_never_dropped(
    server: Server, typed: dict[str, str], field: str
) -> None:
    """A meal typed without its cost, a room without its hotel, was left out of the plan without a
    word and the reception registered; now the form comes back with the missing field marked and
    everything typed still in it, and nothing is registered."""
    number = f"皖农函〔2026〕{field}号"
    with _signed_in(server, "zhang.wei") as web:
        answer = web.post("/web/new", data=_form(web.get("/web/new").text, number=number, **typed))
    assert answer.status_code == 422
    assert re.search(rf'class="field-error" data-field="{field}">[^<]*不能为空', answer.text), answer.text
    for name, value in typed.items():
        assert f'name="{name}" type="text" value="{value}"' in answer.text
    assert 'lang="en"' in answer.text  # the banner says it in English too, with the field path
    assert _numbered(server, number) == []


def test_places_typed_apart_are_places_apart(server: Server) -> None:
    number = "皖农函〔2026〕102号"
    with _signed_in(server, "zhang.wei") as web:
        form = _form(web.get("/web/new").text, number=number, places="县农业产业园、县博物馆")
        assert web.post("/web/new", data=form).status_code == 302
    (found,) = _numbered(server, number)
    assert found["letter"]["itinerary"]["places"] == ["县农业产业园", "县博物馆"]


def _submitted(server: Server) -> str:
    with server.client("zhang.wei") as api:
        rid = str(api.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"])
        assert api.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}).is_success
    return rid


def test_a_reason_typed_on_a_stale_page_is_shown_back_when_its_form_is_gone(server: Server) -> None:
    """An approver types a long 转办 reason on a page another tab has since acted on: the operation
    is no longer offered, and the page keeps the text to copy instead of losing it (and links to no
    form that is not there)."""
    rid = _submitted(server)
    with _signed_in(server, "sun.hao") as web:
        page = web.get(f"/web/receptions/{rid}").text
        assert 'data-operation="transfer"' in page
        transfer = {
            "csrf": _hidden(page, "csrf"),
            "version": _hidden(page, "version", 'data-operation="transfer"'),
            "request_id": _hidden(page, "request_id", 'data-operation="transfer"'),
            "operation": "transfer",
            "to": "li.na",
            "reason": "这是一段很长的转办理由，写了好几分钟",
        }
        with server.client("sun.hao") as api:
            assert api.post(f"/api/v1/receptions/{rid}/triggers/approve", json={"reason": "同意"}).is_success
        answer = web.post(f"/web/receptions/{rid}/operate", data=transfer)
    assert answer.status_code == 422
    assert 'id="op-transfer"' not in answer.text
    assert 'href="#op-transfer"' not in answer.text
    assert re.search(r'id="unsent-reason"[^>]*>这是一段很长的转办理由，写了好几分钟</textarea>', answer.text)


def test_pressing_approve_twice_approves_once_and_shows_the_reception(server: Server) -> None:
    """The second press of 同意 on the same page returns to the reception as the first did, not a
    conflict: both carry the page's request id."""
    rid = _submitted(server)
    with _signed_in(server, "sun.hao") as web:
        page = web.get(f"/web/receptions/{rid}").text
        form = {
            "csrf": _hidden(page, "csrf"),
            "version": _hidden(page, "version", 'id="op-fire"'),
            "request_id": _hidden(page, "request_id", 'id="op-fire"'),
            "trigger": "approve",
            "reason": "同意",
        }
        first = web.post(f"/web/receptions/{rid}/fire", data=form)
        again = web.post(f"/web/receptions/{rid}/fire", data=form)
    assert first.status_code == again.status_code == 302
    with server.client("sun.hao") as api:
        history = api.get(f"/api/v1/receptions/{rid}/history").json()
    assert [e["trigger"] for e in history if e["trigger"] == "approve"] == ["approve"]


def test_an_operation_refused_for_its_input_names_the_widget_in_both_languages(server: Server) -> None:
    """转办 with nobody chosen: 「交给」 as the page labels it, not the field's name 「to」, with the
    path, and the same in English."""
    rid = _submitted(server)
    with _signed_in(server, "sun.hao") as web:
        page = web.get(f"/web/receptions/{rid}").text
        answer = web.post(
            f"/web/receptions/{rid}/operate",
            data={
                "csrf": _hidden(page, "csrf"),
                "version": _hidden(page, "version", 'data-operation="transfer"'),
                "operation": "transfer",
                "reason": "请他办",
            },
        )
    assert answer.status_code == 422
    assert "缺少必填字段「交给」（$.to）" in answer.text
    assert re.search(r'<p lang="en">[^<]*\(\$\.to\)', answer.text)


def test_the_printed_list_names_everyone_and_the_pages_are_not_kept_or_framed(server: Server) -> None:
    """The 接待清单 printed from the page is the one ``jiedai export`` makes: an execution item's owner
    by name, not by id. Signed-in pages are never cached (a shared PC's Back button after sign-out)
    nor framed by another site."""
    rid = _submitted(server)
    at = f"/api/v1/receptions/{rid}"
    with server.client("sun.hao") as api:
        assert api.post(f"{at}/triggers/approve", json={"reason": "同意"}).is_success
    with server.client("li.na") as api:
        assert api.post(f"{at}/triggers/approve", json={"reason": "同意"}).is_success
    item = {"title": "接站", "owner": {"kind": "person", "ref": "wang.fang"}, "place": "火车站"}
    with server.client("chen.jie") as api:
        assigned = api.post(f"{at}/operations/assign", json={"items": [item]})
        assert assigned.is_success, assigned.text
        task = next(t for t in assigned.json()["reception"]["tasks"] if t["title"] == "接站")
    with server.client("wang.fang") as api:
        done = api.post(f"{at}/operations/complete", json={"task": task["id"]})
        assert done.is_success, done.text
    with server.client("zhang.wei") as api:
        for trigger, body in [("start", {}), ("finish", {}), ("claim", {"reception_list": list_body()})]:
            assert api.post(f"{at}/triggers/{trigger}", json=body).is_success, trigger
    with _signed_in(server, "zhang.wei") as web:
        printed = web.get(f"/web/receptions/{rid}/print")
        detail = web.get(f"/web/receptions/{rid}")
    assert printed.status_code == 200
    assert "王芳" in printed.text
    assert "wang.fang" not in printed.text
    for answer in (printed, detail):
        assert "no-store" in answer.headers["cache-control"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_form_posted_after_the_session_ended_is_shown_back_to_copy(server: Server) -> None:
    """A clerk signs out in another tab (or the eight hours pass) while filling in a long form: the
    form is not taken, and the sign-in page shows what was typed, to copy, instead of landing on
    an empty task list."""
    with _signed_in(server, "zhang.wei") as web:
        form = _form(web.get("/web/new").text, content="一段写了很久的事由")
        home = web.get("/web/").text
        web.post("/web/logout", data={"csrf": _hidden(home, "csrf")})
        answer = web.post("/web/new", data=form, headers={"Origin": server.base})
        elsewhere = web.post("/web/new", data=form, headers={"Origin": "https://elsewhere.example"})
    assert elsewhere.status_code == 302  # to the sign-in page: no other site's text shown on it
    assert elsewhere.headers["location"] == "/web/login"
    assert answer.status_code == 401
    assert 'id="unsent"' in answer.text
    assert ">一段写了很久的事由</textarea>" in answer.text
    assert "事由" in answer.text
    assert form["csrf"] not in answer.text
    assert form["request_id"] not in answer.text
    assert 'name="token"' in answer.text  # the sign-in form itself


def test_a_form_refused_as_expired_shows_what_was_typed(server: Server) -> None:
    """A form whose CSRF token is stale (signed in again in another tab) is refused, and the error
    page shows its text to copy."""
    rid = _submitted(server)
    with _signed_in(server, "sun.hao") as web:
        page = web.get(f"/web/receptions/{rid}").text
        answer = web.post(
            f"/web/receptions/{rid}/fire",
            data={
                "csrf": "stale",
                "version": _hidden(page, "version"),
                "trigger": "return",
                "reason": "预算写错了",
            },
            headers={"Sec-Fetch-Site": "same-origin"},
        )
    assert answer.status_code == 403
    assert 'id="error-code">csrf_failed<' in answer.text
    assert ">预算写错了</textarea>" in answer.text

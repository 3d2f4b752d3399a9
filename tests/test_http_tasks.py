"""Task lists and approval operations through a real ``jiedai serve`` on SQLite and PostgreSQL: a
parallel countersign sent back to an earlier step, a transfer, a delegation and its reply, a carbon
copy read, the four lists with their counts and cursor pages, stand-ins, and the HTTP conventions of
the operation endpoints (If-Match, Idempotency-Key, problem details, 429 for a second 催办)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from jiedai_flow.cli import starter
from tests._http_server import COUNTERSIGN, reception_body, running
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from tests._http_server import Server


SECOND_HEAD = """
[[actor]]
id = "feng.yu"
name = "冯宇"
roles = ["approver"]
unit = "县政府办公室"
levels = ["部门负责人"]
"""
"""A second 部门负责人 beside 孙浩, so that the pool's task can be lost to a colleague."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"serve-tasks-{request.param}")
    for url in private_database(request.param, folder):
        with running(url, folder, countersign=True, extra_actors=SECOND_HEAD) as found:
            yield found


ONE_LEVEL = ('approval_levels = ["部门负责人", "分管领导"]', 'approval_levels = ["部门负责人"]')
DEPARTMENT_POOL = (
    starter.STANDARDS_TOML.replace(*ONE_LEVEL)
    + """
[[standards.countersigns]]
label = "财政局会签"
kind = "single"
units = ["县财政局"]
"""
)
"""The starter standards with one approval level, then the pool of 县财政局 (钱博 and 何平 may sign
it; 王芳 of the bureau is 财务)."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pool_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"serve-pool-{request.param}")
    for url in private_database(request.param, folder):
        with running(url, folder, countersign=True, standards=DEPARTMENT_POOL) as found:
            yield found


def _call(server: Server, actor: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    with server.client(actor) as c:
        return c.request(method, f"/api/v1{url}", **kwargs)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _fire(server: Server, actor: str, rid: str, trigger: str, **body: Any) -> Any:
    return _ok(_call(server, actor, "POST", f"/receptions/{rid}/triggers/{trigger}", json=body))


def _op(server: Server, actor: str, rid: str, operation: str, **body: Any) -> httpx.Response:
    return _call(server, actor, "POST", f"/receptions/{rid}/operations/{operation}", json=body)


def _list(server: Server, actor: str, view: str = "mine", **params: Any) -> list[dict[str, Any]]:
    page = _ok(_call(server, actor, "GET", "/tasks", params={"view": view, **params}))
    return page["items"]  # type: ignore[no-any-return]


def _mine(server: Server, actor: str, rid: str) -> list[dict[str, Any]]:
    return [row for row in _list(server, actor) if row["reception_id"] == rid]


def _submitted(server: Server) -> str:
    created = _ok(_call(server, "zhang.wei", "POST", "/receptions", json=reception_body()), 201)
    rid: str = created["reception"]["id"]
    _fire(server, "zhang.wei", rid, "submit")
    return rid


def test_a_countersign_sent_back_transferred_delegated_and_copied(server: Server) -> None:
    rid = _submitted(server)
    [first] = _mine(server, "sun.hao", rid)
    assert first["title"] == "部门负责人"
    assert all(_mine(server, p, rid) == [] for p in COUNTERSIGN)
    signed = _fire(server, "sun.hao", rid, "approve", reason="同意", task=first["task_id"][:8])
    assert signed["reception"]["approvals"][0]["task_id"] == first["task_id"]
    for person in COUNTERSIGN:
        assert [r["title"] for r in _mine(server, person, rid)] == ["财政局、分管领导会签（并行会签）"]
    _fire(server, "li.na", rid, "approve", reason="同意")

    offered = _ok(_call(server, "qian.bo", "GET", f"/receptions/{rid}/operations"))
    by_operation = {o["operation"]: o for o in offered["operations"]}
    assert by_operation["send_back"]["path"] == f"/api/v1/receptions/{rid}/operations/send-back"
    assert by_operation["send_back"]["reason_required"]
    back = _ok(_op(server, "qian.bo", rid, "send-back", step=0, reason="人数与公函不符，请重审"))
    assert back["reception"]["approvals"] == []
    assert back["reception"]["state"] == "submitted"
    assert len(_mine(server, "sun.hao", rid)) == 1
    assert all(_mine(server, p, rid) == [] for p in COUNTERSIGN)
    assert [r["outcome"] for r in _list(server, "qian.bo", "done") if r["reception_id"] == rid] == [
        "returned"
    ]
    _fire(server, "sun.hao", rid, "approve", reason="已核对")
    for person in COUNTERSIGN:  # the countersign is approved again, 李娜 too
        assert len(_mine(server, person, rid)) == 1

    _ok(_op(server, "zheng.li", rid, "transfer", to="wu.gang", reason="出差，请吴刚办理"))
    assert _mine(server, "zheng.li", rid) == []
    assert len(_mine(server, "wu.gang", rid)) == 1
    done = [r for r in _list(server, "zheng.li", "done") if r["reception_id"] == rid]
    assert [r["outcome"] for r in done] == ["transferred"]

    _ok(_op(server, "qian.bo", rid, "delegate", to="he.ping", reason="请看一下餐费"))
    assert _mine(server, "qian.bo", rid) == []
    assert len(_mine(server, "he.ping", rid)) == 1
    refused = _call(server, "he.ping", "POST", f"/receptions/{rid}/triggers/approve", json={"reason": "同意"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_authorized"
    _ok(_op(server, "he.ping", rid, "reply", reason="餐费在标准内"))
    assert len(_mine(server, "qian.bo", rid)) == 1
    shown = _ok(_call(server, "qian.bo", "GET", f"/receptions/{rid}"))
    notes = [n for t in shown["tasks"] if t["assignee"]["ref"] == "qian.bo" for n in t["notes"]]
    assert any("餐费在标准内" in n for n in notes)

    _ok(_op(server, "zhang.wei", rid, "copy", people=["chen.jie"]))
    assert [r["reception_id"] for r in _list(server, "chen.jie", "cc")] == [rid]
    assert _ok(_call(server, "chen.jie", "GET", "/tasks/counts"))["cc_unread"] == 1
    _ok(_op(server, "chen.jie", rid, "read"))
    assert _ok(_call(server, "chen.jie", "GET", "/tasks/counts"))["cc_unread"] == 0

    for person in ("li.na", "qian.bo", "wu.gang"):
        last = _fire(server, person, rid, "approve", reason="同意")
    assert last["reception"]["state"] == "approved"
    assert all(_mine(server, p, rid) == [] for p in (*COUNTERSIGN, "wu.gang", "sun.hao"))
    started = [r["reception_id"] for r in _list(server, "zhang.wei", "started")]
    assert rid in started
    events = _ok(_call(server, "liu.yang", "GET", f"/receptions/{rid}/history"))
    kinds = [e["trigger"] for e in events]
    for trigger in (
        "send_back",
        "transfer_task",
        "delegate_task",
        "reply_delegation",
        "carbon_copy",
        "mark_read",
    ):
        assert trigger in kinds
    assert all(e["auth_method"].startswith("api-token:") for e in events)
    assert _ok(_call(server, "liu.yang", "GET", "/audit/verify"))["ok"]


def test_lists_page_by_cursor_and_refuse_a_bad_query(server: Server) -> None:
    for _ in range(3):
        _submitted(server)
    first = _ok(_call(server, "zhang.wei", "GET", "/tasks", params={"view": "started", "limit": 2}))
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = _ok(
        _call(
            server,
            "zhang.wei",
            "GET",
            "/tasks",
            params={"view": "started", "limit": 2, "after": first["next_cursor"]},
        )
    )
    assert {r["reception_id"] for r in first["items"]}.isdisjoint(r["reception_id"] for r in rest["items"])
    counts = _ok(_call(server, "zhang.wei", "GET", "/tasks/counts"))
    assert counts["started"] >= 3
    moments = [
        r["at"]
        for view in ("mine", "started")
        for r in _list(server, "sun.hao" if view == "mine" else "zhang.wei", view)
    ]
    assert moments
    # RFC 3339 with the offset, in China time as every record the API returns
    assert all(m.endswith("+08:00") for m in moments), moments
    pending = _list(server, "sun.hao", due_by=(date.today() + timedelta(days=400)).isoformat())
    assert pending
    assert all(r["state"] == "open" for r in pending)
    bad = _call(server, "zhang.wei", "GET", "/tasks", params={"after": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["path"] == "$.query.after"
    wrong = _call(server, "zhang.wei", "GET", "/tasks", params={"view": "done", "due_by": "2026-01-01"})
    assert wrong.status_code == 422
    assert wrong.json()["problems"][0]["path"] == "$.query.due_by"
    unknown = _call(server, "zhang.wei", "GET", "/tasks", params={"view": "everything"})
    assert unknown.status_code == 422


def test_copies_keep_to_the_jurisdiction_asked_for(server: Server) -> None:
    """抄送我的 with ``jurisdiction`` lists the copies of that county's receptions only, as every
    list does (on SQL it listed them all)."""
    rid = _submitted(server)
    _ok(_op(server, "zhang.wei", rid, "copy", people=["liu.yang"]))
    assert rid in [r["reception_id"] for r in _list(server, "liu.yang", "cc", jurisdiction="341502")]
    assert _list(server, "liu.yang", "cc", jurisdiction="999999") == []


def test_operation_endpoints_keep_the_http_conventions(server: Server) -> None:
    rid = _submitted(server)
    version = _ok(_op(server, "sun.hao", rid, "comment", reason="请补充公函附件"))["reception"]["version"]
    with server.client("sun.hao") as c:
        url = f"/api/v1/receptions/{rid}/operations/comment"
        old = c.post(url, json={"reason": "再说一句"}, headers={"If-Match": f'"{version - 1}"'})
        assert old.status_code == 412
        assert old.json()["code"] == "precondition_failed"
        assert old.json()["current_version"] == version
        key = {"Idempotency-Key": f"comment-{rid}"}
        once = c.post(url, json={"reason": "附件已收到"}, headers={**key, "If-Match": f'"{version}"'})
        assert once.status_code == 200
        assert once.headers["etag"] == f'"{version + 1}"'
        again = c.post(url, json={"reason": "附件已收到"}, headers=key)
        assert again.status_code == 200
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["event"]["id"] == once.json()["event"]["id"]
        urge = f"/api/v1/receptions/{rid}/operations/urge"
    with server.client("zhang.wei") as c:
        assert c.post(urge, json={}).status_code == 200
        limited = c.post(urge, json={})
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        body = limited.json()
        assert body["code"] == "rate_limited"
        assert "催" in body["message_zh"]
        assert body["message_en"]
        assert 1 <= int(limited.headers["retry-after"]) <= 3600
        for people in ([], [""]):  # nobody named: said so at the field, not 「这些人 已经抄送过」
            nobody = c.post(f"/api/v1/receptions/{rid}/operations/copy", json={"people": people})
            assert nobody.status_code == 422
            assert nobody.json()["code"] == "task_refused"
            assert nobody.json()["message_zh"].endswith("未给出抄送人")
            assert [p["path"] for p in nobody.json()["problems"]] == ["$.people"]
        unknown_field = c.post(f"/api/v1/receptions/{rid}/operations/transfer", json={"to": "x", "who": 1})
        assert unknown_field.status_code == 422
        assert {p["path"] for p in unknown_field.json()["problems"]} == {"$.who"}
        missing = c.post("/api/v1/receptions/ffffffffffff/operations/comment", json={"reason": "x"})
        assert missing.status_code == 404
        misspelt = c.post(f"/api/v1/receptions/{rid}/operations/add_signers", json={"reason": "x"})
        assert misspelt.status_code == 404
        assert misspelt.headers["content-type"].startswith("application/problem+json")
        body = misspelt.json()
        assert body["code"] == "unknown_operation"
        assert "「add_signers」" in body["message_zh"]
        assert "'add_signers'" in body["message_en"]
        assert {"add-signers", "send-back", "comment", "urge"} <= set(body["allowed"])
        assert "add-signers" in body["message_en"]
        for method in ("GET", "DELETE"):  # not a 405, as if the operation existed
            other = c.request(method, f"/api/v1/receptions/{rid}/operations/add_signers")
            assert other.status_code == 404, method
            assert other.json()["code"] == "unknown_operation"
        wrong_method = c.get(f"/api/v1/receptions/{rid}/operations/add-signers")
        assert wrong_method.status_code == 405  # the operation is there; only POST
        assert wrong_method.json()["code"] == "method_not_allowed"
    with server.client() as anonymous:  # what exists is said to the signed-in only
        assert anonymous.post(f"/api/v1/receptions/{rid}/operations/add_signers").status_code == 401
    refused = _op(server, "sun.hao", rid, "transfer", to="zhang.wei", reason="请经办人自己批")
    assert refused.status_code == 422
    assert refused.json()["code"] == "task_refused"
    assert refused.json()["message_zh"]
    assert refused.json()["message_en"]


def test_a_pool_task_lost_to_a_colleague_is_refused_naming_who_claimed_it(server: Server) -> None:
    """Two heads of department claim the pool's task at once: one gets it, the other a 422
    ``task_refused`` saying who claimed it (not a 403 「无权」); signing it afterwards is refused the
    same way, while an approver outside the pool is still not authorized."""
    from concurrent.futures import ThreadPoolExecutor

    rid = _submitted(server)
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda who: _op(server, who, rid, "claim"), ("sun.hao", "feng.yu")))
    assert sorted(r.status_code for r in both) == [200, 422], [r.text for r in both]
    [lost] = [r for r in both if r.status_code == 422]
    [won] = [who for who, r in zip(("sun.hao", "feng.yu"), both, strict=True) if r.status_code == 200]
    loser = "feng.yu" if won == "sun.hao" else "sun.hao"
    assert lost.json()["code"] == "task_refused"
    assert f"的任务已由 {'孙浩' if won == 'sun.hao' else '冯宇'}（{won}） 认领" in lost.json()["message_zh"]
    assert f"claimed by {won}" in lost.json()["message_en"]
    late = _call(server, loser, "POST", f"/receptions/{rid}/triggers/approve", json={"reason": "同意"})
    assert (late.status_code, late.json()["code"]) == (422, "task_refused")
    outside = _call(server, "li.na", "POST", f"/receptions/{rid}/triggers/approve", json={"reason": "同意"})
    assert (outside.status_code, outside.json()["code"]) == (403, "not_authorized")


def test_refusals_name_the_field_they_are_about(server: Server) -> None:
    """A missing reason is a problem at ``$.reason`` (an operation's or a trigger's); a stand-in
    ending before it starts at ``$.end``."""
    rid = _submitted(server)
    for response in (
        _op(server, "sun.hao", rid, "transfer", to="wu.gang"),
        _call(server, "sun.hao", "POST", f"/receptions/{rid}/triggers/return", json={}),
    ):
        assert (response.status_code, response.json()["code"]) == (422, "reason_required"), response.text
        assert [p["path"] for p in response.json()["problems"]] == ["$.reason"]
    today = date.today()
    backwards = {"stand_in": "he.ping", "start": today.isoformat(), "end": (today - timedelta(1)).isoformat()}
    refused = _call(server, "qian.bo", "POST", "/proxies", json=backwards)
    assert (refused.status_code, refused.json()["code"]) == (422, "task_refused")
    assert [p["path"] for p in refused.json()["problems"]] == ["$.end"]


def test_a_stand_in_period_of_a_mistyped_year_is_a_422_problem_at_its_fields(server: Server) -> None:
    """``POST /proxies`` from 0001-01-01 to 9999-12-31 is bad input (422 problem+json ``validation``)
    at ``$.start`` and ``$.end``, Chinese first; nothing is set."""
    body = {"stand_in": "he.ping", "start": "0001-01-01", "end": "9999-12-31"}
    refused = _call(server, "qian.bo", "POST", "/proxies", json=body)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation"), refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problems = refused.json()["problems"]
    assert [p["path"] for p in problems] == ["$.start", "$.end"]
    assert "超过一年" in problems[0]["message_zh"]
    assert "more than a year before today" in problems[0]["message_en"]
    assert _ok(_call(server, "qian.bo", "GET", "/proxies"))["items"] == []


def test_an_approval_operation_posted_as_a_trigger_points_to_its_endpoint(server: Server) -> None:
    """``/triggers/transfer_task`` is refused (422) naming the operation's own endpoint, not a
    command class of the library (「需要操作值 Transfer」); with a ``task`` too, not a 500."""
    rid = _submitted(server)
    for trigger, segment in (("transfer_task", "transfer"), ("urge", "urge")):
        for body in ({"reason": "x"}, {"reason": "x", "task": "abc"}):
            fired = _call(server, "sun.hao", "POST", f"/receptions/{rid}/triggers/{trigger}", json=body)
            assert (fired.status_code, fired.json()["code"]) == (422, "task_refused"), fired.text
            said = fired.json()
            assert f"POST /api/v1/receptions/{rid}/operations/{segment}" in said["message_zh"]
            assert f"POST /api/v1/receptions/{rid}/operations/{segment}" in said["message_en"]
            assert "操作值" not in said["message_zh"]
            assert "needs a" not in said["message_en"]


def test_execution_items_are_assigned_done_and_a_problem_reaches_the_handler(server: Server) -> None:
    rid = _submitted(server)
    for person in ("sun.hao", *COUNTERSIGN):
        _fire(server, person, rid, "approve", reason="同意")
    items = [
        {"title": "接站", "owner": {"kind": "person", "ref": "chen.jie"}, "place": "高铁站"},
        {"title": "工作餐", "owner": {"kind": "unit", "ref": "县政府办公室"}},
    ]
    _ok(_op(server, "zhang.wei", rid, "assign", items=items))
    mine = {r["title"]: r for r in _list(server, "chen.jie", kind="execution") if r["reception_id"] == rid}
    assert sorted(mine) == ["工作餐", "接站"]  # 陈洁's own item, and her department's pool
    pickup = mine["接站"]
    _ok(_op(server, "chen.jie", rid, "problem", task=pickup["task_id"], reason="车辆临时检修，改派 2 号车"))
    shown = _ok(_call(server, "zhang.wei", "GET", f"/receptions/{rid}"))
    assert any("车辆临时检修" in n for t in shown["tasks"] for n in t["notes"])
    _ok(_op(server, "chen.jie", rid, "complete", task=pickup["task_id"], reason="已接到"))
    done = [r for r in _list(server, "chen.jie", "done") if r["reception_id"] == rid]
    assert [r["title"] for r in done] == ["接站"]
    bad = _op(server, "zhang.wei", rid, "assign", items=[{"title": "车辆"}])
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["path"] == "$.items[0].owner"


def test_a_handler_given_an_item_on_a_colleagues_reception_completes_it(server: Server) -> None:
    """The office hands 接站 on 张伟's reception to 赵敏, a handler (经办人) but not this one's: the
    item is in 赵敏's 待办, the operations offer 完成 and 报告问题, and both are accepted; 纪检,
    handed an item too, is still refused (read-only)."""
    rid = _submitted(server)
    for person in ("sun.hao", *COUNTERSIGN):
        _fire(server, person, rid, "approve", reason="同意")
    items = [
        {"title": "接站", "owner": {"kind": "person", "ref": "zhao.min"}, "place": "火车站"},
        {"title": "会场", "owner": {"kind": "person", "ref": "liu.yang"}},
    ]
    _ok(_op(server, "chen.jie", rid, "assign", items=items))
    [pickup] = [r for r in _list(server, "zhao.min", kind="execution") if r["reception_id"] == rid]
    offered = _ok(_call(server, "zhao.min", "GET", f"/receptions/{rid}/operations"))
    assert {"complete", "problem"} <= {o["operation"] for o in offered["operations"]}
    _ok(_op(server, "zhao.min", rid, "problem", task=pickup["task_id"], reason="列车晚点"))
    _ok(_op(server, "zhao.min", rid, "complete", task=pickup["task_id"], reason="已接到"))
    assert [r["title"] for r in _list(server, "zhao.min", "done") if r["reception_id"] == rid] == ["接站"]
    hall = next(
        t["id"]
        for t in _ok(_call(server, "liu.yang", "GET", f"/receptions/{rid}"))["tasks"]
        if t["title"] == "会场"
    )
    refused = _op(server, "liu.yang", rid, "complete", task=hall)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized"), refused.text


def test_nobody_acts_on_another_persons_task(server: Server) -> None:
    rid = _submitted(server)
    _fire(server, "sun.hao", rid, "approve", reason="同意")
    [theirs] = _mine(server, "qian.bo", rid)
    for operation, body in (
        ("transfer", {"to": "wu.gang", "reason": "代转"}),
        ("delegate", {"to": "he.ping"}),
        ("add-signers", {"people": ["wu.gang"]}),
    ):
        refused = _op(server, "li.na", rid, operation, task=theirs["task_id"], **body)
        assert refused.status_code == 403, (operation, refused.text)
        assert refused.json()["code"] == "not_authorized"
    signed = _call(
        server, "li.na", "POST", f"/receptions/{rid}/triggers/approve", json={"task": theirs["task_id"]}
    )
    assert signed.status_code == 403
    assert _mine(server, "qian.bo", rid) == [theirs]


def test_an_approver_outside_a_pool_cannot_transfer_its_task(server: Server) -> None:
    rid = _submitted(server)  # the first step is the 部门负责人 pool; 李娜 is 分管领导
    refused = _op(server, "li.na", rid, "transfer", to="wu.gang", reason="代转")
    assert refused.status_code == 403


def test_the_operations_listed_are_what_the_caller_can_do_now(server: Server) -> None:
    """The administrator is offered 跳转 (and it works), not 答复 or 减签 with nothing delegated or
    added; an approver outside the current pool is offered nothing that needs a task."""
    rid = _submitted(server)

    def offered(actor: str) -> set[str]:
        listed = _ok(_call(server, actor, "GET", f"/receptions/{rid}/operations"))
        return {o["operation"] for o in listed["operations"]}

    admin = offered("admin")
    assert {"jump", "terminate"} <= admin
    assert not {"reply", "remove_signer"} & admin
    assert offered("li.na") == {"urge", "copy", "comment"}  # 分管领导; the pool is 部门负责人
    assert {"transfer", "delegate", "add_signers", "claim"} <= offered("sun.hao")
    jumped = _ok(_op(server, "admin", rid, "jump", state="draft", reason="退回经办人重填"))
    assert jumped["reception"]["state"] == "draft"


def _proxy_ids(server: Server, actor: str, **params: Any) -> list[str]:
    page = _ok(_call(server, actor, "GET", "/proxies", params={"limit": 1000, **params}))
    return [p["id"] for p in page["items"]]


def test_stand_ins_are_set_listed_used_and_revoked(server: Server) -> None:
    today = date.today()
    body = {"stand_in": "he.ping", "start": today.isoformat(), "end": (today + timedelta(days=3)).isoformat()}
    proxy = _ok(_call(server, "qian.bo", "POST", "/proxies", json={**body, "reason": "出差"}), 201)
    assert (proxy["principal"], proxy["stand_in"], proxy["revoked"]) == ("qian.bo", "he.ping", False)
    for_other = _call(server, "zhang.wei", "POST", "/proxies", json={**body, "principal": "qian.bo"})
    assert for_other.status_code == 403
    nobody = _call(server, "qian.bo", "POST", "/proxies", json={**body, "stand_in": "nobody"})
    assert nobody.status_code == 422
    assert nobody.json()["problems"][0]["path"] == "$.stand_in"
    assert proxy["id"] in _proxy_ids(server, "he.ping")
    assert proxy["id"] not in _proxy_ids(server, "wang.fang")
    assert proxy["id"] in _proxy_ids(server, "liu.yang")

    rid = _submitted(server)
    _fire(server, "sun.hao", rid, "approve", reason="同意")
    assert len(_mine(server, "he.ping", rid)) == 1  # 钱博's countersign task, while 何平 stands in
    signed = _fire(server, "he.ping", rid, "approve", reason="代签同意")
    assert [a["on_behalf_of"] for a in signed["reception"]["approvals"]] == ["", "qian.bo"]

    assert _call(server, "he.ping", "DELETE", f"/proxies/{proxy['id']}").status_code == 403
    assert _call(server, "qian.bo", "DELETE", "/proxies/ffffffff").status_code == 404
    revoked = _ok(_call(server, "qian.bo", "DELETE", f"/proxies/{proxy['id']}"))
    assert revoked["revoked"]
    assert proxy["id"] not in _proxy_ids(server, "qian.bo", active_on=today.isoformat())


def _away(days: int, length: int = 1) -> dict[str, str]:
    """A period far enough ahead that no other test here sees the stand-in in force."""
    start = date.today() + timedelta(days=days)
    return {"start": start.isoformat(), "end": (start + timedelta(days=length)).isoformat()}


def test_setting_the_same_stand_in_again_answers_200_with_the_one_set(server: Server) -> None:
    """``POST /proxies`` is 201 with a ``Location`` that answers ``GET``; the same principal, stand-in
    and period again (a retry, with or without its ``Idempotency-Key``) is 200 with the same stand-in
    and ``Idempotent-Replayed: true`` — it was another 201, as if a second one had been made."""
    body = {"stand_in": "wu.gang", **_away(300), "reason": "出差"}
    key = {"Idempotency-Key": "proxy-zheng-300"}
    made = _call(server, "zheng.li", "POST", "/proxies", json=body, headers=key)
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == f"/api/v1/proxies/{made.json()['id']}"
    assert "Idempotent-Replayed" not in made.headers
    for headers in (key, {}):
        again = _call(server, "zheng.li", "POST", "/proxies", json=body, headers=headers)
        assert again.status_code == 200, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.headers["Location"] == made.headers["Location"]
        assert again.json() == made.json()
    with server.client("zheng.li") as c:
        assert c.get(made.headers["Location"]).json() == made.json()
    bad_key = _call(server, "zheng.li", "POST", "/proxies", json=body, headers={"Idempotency-Key": "x" * 129})
    assert (bad_key.status_code, bad_key.json()["code"]) == (422, "validation")
    assert [p["path"] for p in bad_key.json()["problems"]] == ["$.headers.Idempotency-Key"]


def test_one_stand_in_is_read_by_whoever_may_list_it(server: Server) -> None:
    """``GET /proxies/{id}``: its principal, its stand-in, the office and the supervisor read it;
    anyone else, like an unknown id, gets 404 problem+json — the list does not show it to them either."""
    made = _ok(_call(server, "zheng.li", "POST", "/proxies", json={"stand_in": "wu.gang", **_away(310)}), 201)
    for reader in ("zheng.li", "wu.gang", "chen.jie", "liu.yang", "admin"):
        assert _ok(_call(server, reader, "GET", f"/proxies/{made['id']}")) == made, reader
    for reader, proxy_id in (("qian.bo", made["id"]), ("zheng.li", "f" * 32), ("zheng.li", made["id"][:8])):
        unknown = _call(server, reader, "GET", f"/proxies/{proxy_id}")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found"), (reader, proxy_id)
        assert unknown.headers["content-type"].startswith("application/problem+json")
    # revoking another's stand-in does not tell it exists either: 404 as for an unknown id, not 403
    hidden = _call(server, "qian.bo", "DELETE", f"/proxies/{made['id']}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    stand_in = _call(server, "wu.gang", "DELETE", f"/proxies/{made['id']}")  # sees it, may not end it
    assert (stand_in.status_code, stand_in.json()["code"]) == (403, "not_authorized")


def test_stand_ins_are_listed_by_cursor_pages_the_latest_first(server: Server) -> None:
    """``GET /proxies`` pages like ``/receptions`` and ``/tasks`` (``items``, ``next_cursor``,
    ``limit``, ``after``), the latest set first: it was one unbounded array. A cursor of another
    shape is 422 at ``$.query.after``."""
    made = [
        _ok(_call(server, "wu.gang", "POST", "/proxies", json={"stand_in": "he.ping", **_away(320 + i)}), 201)
        for i in range(3)
    ]
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"after": after} if after else {})
        page = _ok(_call(server, "wu.gang", "GET", "/proxies", params=params))
        assert sorted(page) == ["items", "next_cursor"]
        assert len(page["items"]) <= 2
        seen += page["items"]
        after = page["next_cursor"]
        if after is None:
            break
    ids = [p["id"] for p in seen]
    assert ids == _proxy_ids(server, "wu.gang")  # every one once, in the order of one whole page
    assert len(ids) > 2
    assert {p["id"] for p in made} <= set(ids)
    order = [(datetime.fromisoformat(p["at"]), p["id"]) for p in seen]
    assert order == sorted(order, reverse=True)
    for bad in ("nonsense", "2026-01-01T00:00:00|x", "2026-01-01T00:00:00+08:00"):
        refused = _call(server, "wu.gang", "GET", "/proxies", params={"after": bad})
        assert (refused.status_code, refused.json()["code"]) == (422, "validation"), bad
        assert [p["path"] for p in refused.json()["problems"]] == ["$.query.after"]
    too_many = _call(server, "wu.gang", "GET", "/proxies", params={"limit": 1001})
    assert too_many.status_code == 422


def test_an_idempotency_key_is_kept_with_the_stand_in_it_made(server: Server) -> None:
    """``Idempotency-Key`` on ``POST /proxies`` is stored with the designation it made: the same key
    and body again is 200 with the same stand-in and ``Idempotent-Replayed`` (after a revocation
    too, answered as it is now); the same key with another body is 422 ``idempotency``, as a
    command's reused request id is, and nothing is made."""
    body = {"stand_in": "wu.gang", **_away(330), "reason": "出差"}
    key = {"Idempotency-Key": "proxy-zheng-330"}
    made = _ok(_call(server, "zheng.li", "POST", "/proxies", json=body, headers=key), 201)
    for other in ({**body, "reason": "休假"}, {**body, **_away(331)}, {**body, "stand_in": "he.ping"}):
        refused = _call(server, "zheng.li", "POST", "/proxies", json=other, headers=key)
        assert (refused.status_code, refused.json()["code"]) == (422, "idempotency"), other
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "proxy-zheng-330" in refused.json()["detail"]
    assert made["id"] in _proxy_ids(server, "zheng.li")
    assert len([p for p in _listed(server, "zheng.li") if p["start"] == body["start"]]) == 1
    revoked = _ok(_call(server, "zheng.li", "DELETE", f"/proxies/{made['id']}"))
    again = _call(server, "zheng.li", "POST", "/proxies", json=body, headers=key)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == revoked
    anew = _call(server, "zheng.li", "POST", "/proxies", json=body)  # no key: revoked, so made anew
    assert anew.status_code == 201, anew.text
    assert anew.json()["id"] != made["id"]


def _listed(server: Server, actor: str, **params: Any) -> list[dict[str, Any]]:
    page = _ok(_call(server, actor, "GET", "/proxies", params={"limit": 1000, **params}))
    assert page["next_cursor"] is None
    return list(page["items"])


def test_stand_in_pages_are_full_however_many_others_come_between(server: Server) -> None:
    """Whose a stand-in is is in the list's query, not picked out of a page afterwards: 何平's pages
    of two hold two while more of his are there, with others' set in between; ``principal`` and
    ``stand_in`` narrow the list as the office reads it."""
    for i in range(6):
        principal, stand_in = ("he.ping", "qian.bo") if i % 3 == 0 else ("zheng.li", "wu.gang")
        body = {"principal": principal, "stand_in": stand_in, **_away(340 + i)}
        _ok(_call(server, "chen.jie", "POST", "/proxies", json=body), 201)
    sizes, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"after": after} if after else {})
        page = _ok(_call(server, "he.ping", "GET", "/proxies", params=params))
        sizes.append(len(page["items"]))
        after = page["next_cursor"]
        if after is None:
            break
    mine = _listed(server, "he.ping")
    assert len(mine) >= 2
    assert sizes == [1] * len(mine)
    assert all("he.ping" in (p["principal"], p["stand_in"]) for p in mine)
    for_him = _listed(server, "chen.jie", principal="he.ping")
    assert {p["principal"] for p in for_him} == {"he.ping"}
    assert {p["id"] for p in for_him} <= {p["id"] for p in mine}
    by_wu = _listed(server, "chen.jie", stand_in="wu.gang", principal="zheng.li")
    assert len(by_wu) >= 4
    assert {(p["principal"], p["stand_in"]) for p in by_wu} == {("zheng.li", "wu.gang")}


@pytest.fixture(scope="module")
def vote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """部门负责人, then a 票签 of 李娜, 钱博 and 郑丽."""
    folder = tmp_path_factory.mktemp("serve-tasks-vote")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder, countersign=True, kind="vote") as found:
        yield found


def test_add_signers_without_a_position_adds_alongside_on_a_vote(vote_server: Server) -> None:
    """A body naming no ``position`` adds after the adder on an ordinary step and alongside on a
    票签, which takes nothing else: it was after everywhere, so on a vote it was refused (422). The
    OpenAPI document says ``position`` may be left out."""
    server = vote_server
    rid = _submitted(server)
    _ok(_op(server, "sun.hao", rid, "add-signers", people=["wu.gang"], reason="请吴刚在我之后审"))
    assert _mine(server, "wu.gang", rid) == []  # after 孙浩
    _fire(server, "sun.hao", rid, "approve", reason="同意")
    _fire(server, "wu.gang", rid, "approve", reason="同意")
    assert [r["title"] for r in _mine(server, "li.na", rid)] == ["党组会票签（票签）"]
    refused = _op(server, "li.na", rid, "add-signers", people=["he.ping"], position="after", reason="x")
    assert refused.status_code == 422
    assert "只能并加签" in refused.json()["message_zh"]
    added = _ok(_op(server, "li.na", rid, "add-signers", people=["he.ping"], reason="请何平也投票"))
    assert added["reception"]["state"] == "submitted"
    assert len(_mine(server, "he.ping", rid)) == 1  # alongside: at once
    assert len(_mine(server, "li.na", rid)) == 1
    with server.client() as c:
        schema = _ok(c.get("/schema/openapi.json"))
    body = schema["components"]["schemas"]["AddSignersRequest"]
    assert "position" in body["properties"]
    assert "position" not in body.get("required", [])


def test_a_departments_approval_task_is_listed_only_for_its_approvers(pool_server: Server) -> None:
    """王芳 (财务) of 县财政局 cannot claim or sign the bureau's approval task: it is not in her 待办
    nor counted, while 钱博 (审批人) of the bureau sees it; an item for the bureau is in both lists."""
    server = pool_server
    rid = _submitted(server)
    _fire(server, "sun.hao", rid, "approve", reason="同意")
    assert [r["title"] for r in _mine(server, "qian.bo", rid)] == ["财政局会签"]
    assert _mine(server, "wang.fang", rid) == []
    assert _list(server, "wang.fang", kind="approval") == []
    assert _ok(_call(server, "wang.fang", "GET", "/tasks/counts"))["mine"] == 0
    assert _op(server, "wang.fang", rid, "claim").status_code == 403
    _fire(server, "qian.bo", rid, "approve", reason="同意")
    item = {"title": "会场", "owner": {"kind": "unit", "ref": "县财政局"}}
    _ok(_op(server, "zhang.wei", rid, "assign", items=[item]))
    for member in ("wang.fang", "qian.bo"):
        assert [r["title"] for r in _mine(server, member, rid)] == ["会场"], member
    assert _ok(_call(server, "wang.fang", "GET", "/tasks/counts"))["mine"] == 1

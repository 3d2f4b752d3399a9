"""The web pages in a real headless Chromium (Debian's, driven by Playwright): sign in, register a
reception with a field error first, submit, approve as the two approvers, print the list."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import httpx
import pytest

from tests._http_server import list_body, reception_body, running
from tests.databases import REQUIRED

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests._http_server import Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-browser")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not shutil.which("chromium"):
        if REQUIRED:
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    with playwright_api.sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield found
        found.close()


def _sign_in(browser: object, server: Server, actor: str) -> object:
    page = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page.goto(f"{server.base}/web/")
    assert page.url.endswith("/web/login")
    page.fill("input[name=token]", server.token(actor))
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.base}/web/")
    return page


def test_register_submit_approve_and_print(browser: object, server: Server, tmp_path: Path) -> None:
    clerk = _sign_in(browser, server, "zhang.wei")
    cookies = clerk.context.cookies()  # type: ignore[attr-defined]
    session = next(c for c in cookies if c["name"] == "jiedai_session")
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    start = date.today() + timedelta(days=10)
    clerk.goto(f"{server.base}/web/new")  # type: ignore[attr-defined]
    for name, value in {
        "number": "皖财函〔2026〕12号",
        "sending_unit": "省财政厅",
        "content": "调研县级财政运行",
        "start_day": start.isoformat(),
        "end_day": (start + timedelta(days=1)).isoformat(),
        "places": "县政府",
        "guests": "王明, 省财政厅, 处长, 县处级\n李华, 省财政厅, 科员",
        "budget": "abc",
        "meal_cost": "240.00",
        "meal_companions": "2",
        "meal_venue": "机关食堂",
        "meal_dishes": "家常豆腐、清炒时蔬、米饭",
        "lodging_hotel": "县机关招待所",
        "lodging_rooms": "2",
        "lodging_nights": "1",
        "lodging_price_per_night": "200.00",
    }.items():
        clerk.fill(f"[name={name}]", value)  # type: ignore[attr-defined]
    clerk.check("[name=meal_requested]")  # type: ignore[attr-defined]
    clerk.check("[name=lodging_requested]")  # type: ignore[attr-defined]
    clerk.click("button[type=submit]")  # type: ignore[attr-defined]
    error = clerk.locator("[data-field=budget]")  # type: ignore[attr-defined]
    assert (error.count() == 1 and "金额" in error.inner_text()) or "数" in error.inner_text()
    clerk.fill("[name=budget]", "1000")  # type: ignore[attr-defined]
    clerk.click("button[type=submit]")  # type: ignore[attr-defined]
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    assert "/web/receptions/" in clerk.url, clerk.locator(".error, .field-error").all_inner_texts()  # type: ignore[attr-defined]
    clerk.wait_for_url("**/web/receptions/*")  # type: ignore[attr-defined]
    rid = clerk.url.rsplit("/", 1)[-1]  # type: ignore[attr-defined]
    with server.client("zhang.wei") as c:
        shown = c.get(f"/api/v1/receptions/{rid}").json()
    [lodging] = shown["plan"]["lodgings"]
    assert (lodging["hotel"], lodging["rooms"], lodging["price_per_night"]) == ("县机关招待所", 2, "200.00")
    assert shown["plan"]["meals"][0]["dishes"] == ["家常豆腐", "清炒时蔬", "米饭"]  # the planned menu
    assert (shown["letter"]["meal_requested"], shown["letter"]["lodging_requested"]) == (True, True)
    assert "公函未提出协助" not in clerk.content()  # type: ignore[attr-defined]  # no A-03 for what it asked
    clerk.click("button[value=submit]")  # type: ignore[attr-defined]
    assert clerk.inner_text("#state") == "待审批"  # type: ignore[attr-defined]

    for approver in ("sun.hao", "li.na"):
        page = _sign_in(browser, server, approver)
        assert page.locator(f"a[href='/web/receptions/{rid}']").count() == 1  # type: ignore[attr-defined]
        page.click(f"a[href='/web/receptions/{rid}']")  # type: ignore[attr-defined]
        page.fill("textarea[name=reason]", "同意")  # type: ignore[attr-defined]
        page.click("button[value=approve]")  # type: ignore[attr-defined]
        page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.inner_text("#state") == "已审批"  # type: ignore[attr-defined]

    with server.client("zhang.wei") as c:  # another reception, whose list is filed
        rid = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"]
    for actor, trigger, body in (
        ("zhang.wei", "submit", {}),
        ("sun.hao", "approve", {"reason": "同意"}),
        ("li.na", "approve", {"reason": "同意"}),
        ("zhang.wei", "start", {}),
        ("zhang.wei", "finish", {}),
        ("zhang.wei", "claim", {"reception_list": list_body()}),
    ):
        with server.client(actor) as c:
            assert c.post(f"/api/v1/receptions/{rid}/triggers/{trigger}", json=body).status_code == 200, (
                trigger
            )
    clerk.goto(f"{server.base}/web/receptions/{rid}/print")  # type: ignore[attr-defined]
    assert "接待清单" in clerk.content()  # type: ignore[attr-defined]
    pdf = clerk.pdf(path=str(tmp_path / "list.pdf"))  # type: ignore[attr-defined]
    assert pdf[:4] == b"%PDF"


def test_a_form_without_its_csrf_token_is_refused(browser: object, server: Server) -> None:
    page = _sign_in(browser, server, "zhang.wei")
    response = page.request.post(f"{server.base}/web/new", form={"number": "x"})  # type: ignore[attr-defined]
    assert response.status == 403
    # the sign-in form too: a page elsewhere cannot sign a clerk in under someone else's token
    login = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page.goto(f"{server.base}/web/login")  # type: ignore[attr-defined]
    page.goto(f"{server.base}/web/")  # type: ignore[attr-defined]
    assert page.url.endswith("/web/")  # opening the sign-in page signs nobody out
    login.goto(f"{server.base}/web/login")
    login.evaluate("document.querySelector('input[name=csrf]').value = 'forged'")
    login.fill("input[name=token]", server.token("zhang.wei"))
    login.click("button[type=submit]")
    login.wait_for_load_state()
    assert "刷新" in _error_page(login, "csrf_failed", 403)


def test_signing_out_ends_the_session_on_the_server(browser: object, server: Server) -> None:
    """A copied session cookie is worth nothing once its owner signed out: the session is a row
    every worker reads, and 退出 revokes it (other sessions of the same person stay open)."""
    from jiedai_flow.server.tokens import SQLTokens
    from jiedai_flow.server.web.pages import WEB_SESSION

    def sessions() -> dict[str, bool]:
        found = SQLTokens(server._sql).list("sun.hao")
        return {t.id: t.active for t in found if t.label == WEB_SESSION}

    before = sessions()
    page = _sign_in(browser, server, "sun.hao")
    opened = set(sessions()) - set(before)
    assert len(opened) == 1
    kept = page.context.cookies()  # type: ignore[attr-defined]
    page.click("form[action='/web/logout'] button")  # type: ignore[attr-defined]
    page.wait_for_url(f"{server.base}/web/login")  # type: ignore[attr-defined]
    other = browser.new_context()  # type: ignore[attr-defined]
    other.add_cookies(kept)
    thief = other.new_page()
    thief.goto(f"{server.base}/web/")
    assert thief.url.endswith("/web/login")  # not the task lists
    other.close()
    after = sessions()
    assert after[opened.pop()] is False
    assert {i: a for i, a in after.items() if i in before} == before


@pytest.fixture(scope="module")
def countersign_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-browser-countersign")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder, countersign=True) as found:
        yield found


def _open_from_list(page: object, server: Server, rid: str, view: str = "mine") -> None:
    page.goto(f"{server.base}/web/?view={view}")  # type: ignore[attr-defined]
    page.click(f"#tasks a[href='/web/receptions/{rid}']")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/web/receptions/{rid}")  # type: ignore[attr-defined]


def _approve(page: object, reason: str = "同意") -> None:
    page.fill("textarea[name=reason]", reason)  # type: ignore[attr-defined]
    page.click("button[value=approve]")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def test_a_countersign_with_a_transfer_and_a_copy_through_the_pages(
    browser: object, countersign_server: Server
) -> None:
    server = countersign_server
    with server.client("zhang.wei") as c:
        rid = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"]
    clerk = _sign_in(browser, server, "zhang.wei")
    _open_from_list(clerk, server, rid, "started")
    clerk.click("button[value=submit]")  # type: ignore[attr-defined]
    assert clerk.inner_text("#state") == "待审批"  # type: ignore[attr-defined]

    head = _sign_in(browser, server, "sun.hao")
    assert "待办（1）" in head.inner_text("#tab-mine")  # type: ignore[attr-defined]
    _open_from_list(head, server, rid)
    _approve(head)

    leader = _sign_in(browser, server, "li.na")
    _open_from_list(leader, server, rid)
    signers = leader.locator("tr.step-current td[data-signer]")  # type: ignore[attr-defined]
    assert sorted(signers.evaluate_all("cells => cells.map(c => c.dataset.signer)")) == [
        "li.na",
        "qian.bo",
        "zheng.li",
    ]
    transfer = leader.locator("form[data-operation=transfer]")  # type: ignore[attr-defined]
    offered = transfer.locator("select[name=to] option").evaluate_all("os => os.map(o => o.value)")
    assert "li.na" not in offered  # not oneself, not the handler: both would be refused
    assert "zhang.wei" not in offered
    transfer.locator("select[name=to]").select_option("qian.bo")  # on this step already: refused
    transfer.locator("textarea[name=reason]").fill("出差，请钱波办理")
    transfer.locator("button[type=submit]").click()
    leader.wait_for_load_state()  # type: ignore[attr-defined]
    transfer = leader.locator("form[data-operation=transfer]")  # type: ignore[attr-defined]
    assert "已在本审批链上" in transfer.locator(".field-error").inner_text()  # at the form, not only on top
    assert transfer.locator("textarea[name=reason]").input_value() == "出差，请钱波办理"  # nothing typed lost
    transfer.locator("select[name=to]").select_option("wu.gang")
    transfer.locator("textarea[name=reason]").fill("出差，请吴刚办理")
    transfer.locator("button[type=submit]").click()
    leader.wait_for_load_state()  # type: ignore[attr-defined]
    assert leader.locator(".error").count() == 0, leader.inner_text("main")  # type: ignore[attr-defined]
    assert "吴刚" in leader.inner_text("#steps")  # type: ignore[attr-defined]
    leader.goto(f"{server.base}/web/?view=done")  # type: ignore[attr-defined]
    assert "已转办" in leader.inner_text("#tasks")  # type: ignore[attr-defined]

    for person in ("wu.gang", "qian.bo", "zheng.li"):
        page = _sign_in(browser, server, person)
        _open_from_list(page, server, rid)
        _approve(page)
    assert page.inner_text("#state") == "已审批"
    steps = page.inner_text("#steps")
    assert steps.count("同意") >= 4
    assert "由 李娜 转办" in steps

    clerk.reload()  # type: ignore[attr-defined]
    assign = clerk.locator("form[data-operation=assign]")  # type: ignore[attr-defined]
    assign.locator("textarea[name=items]").fill("接站=chen.jie@高铁站\n横幅")
    assign.locator("button[type=submit]").click()
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    assert "事项=负责人" in clerk.inner_text(".error")  # type: ignore[attr-defined]
    assign = clerk.locator("form[data-operation=assign]")  # type: ignore[attr-defined]
    assert assign.locator("textarea[name=items]").input_value() == "接站=chen.jie@高铁站\n横幅"  # kept
    assign.locator("textarea[name=items]").fill("接站=chen.jie@高铁站")
    assign.locator("button[type=submit]").click()
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    assert "高铁站" in clerk.inner_text("#execution")  # type: ignore[attr-defined]
    copy = clerk.locator("form[data-operation=copy]")  # type: ignore[attr-defined]
    copy.locator("input[name='people:chen.jie']").check()
    copy.locator("button[type=submit]").click()
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    office = _sign_in(browser, server, "chen.jie")
    assert "未读 1" in office.inner_text("#tab-cc")  # type: ignore[attr-defined]
    _open_from_list(office, server, rid, "cc")
    office.locator("form[data-operation=read] button[type=submit]").click()  # type: ignore[attr-defined]
    office.wait_for_load_state()  # type: ignore[attr-defined]
    office.goto(f"{server.base}/web/?view=cc")  # type: ignore[attr-defined]
    assert "未读" not in office.inner_text("#tab-cc")  # type: ignore[attr-defined]
    with server.client("liu.yang") as c:
        events = c.get(f"/api/v1/receptions/{rid}/history").json()
    assert {"transfer_task", "carbon_copy", "mark_read"} <= {e["trigger"] for e in events}
    assert all(e["auth_method"].startswith("web/api-token:") for e in events[1:])


@pytest.fixture(scope="module")
def vote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """部门负责人, then a 票签 of 李娜, 钱博 and 郑丽."""
    folder = tmp_path_factory.mktemp("serve-browser-vote")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder, countersign=True, kind="vote") as found:
        yield found


def test_the_add_signer_form_offers_what_the_step_takes_and_a_vote_takes_alongside(
    browser: object, vote_server: Server
) -> None:
    """加签's form preselected 后加签 on every step, and a 票签 takes only 并加签: sent as offered,
    it was refused. An ordinary step offers all three, 后加签 chosen; the vote only 并加签, and
    sending it adds the voter."""
    server = vote_server
    rid = _new_reception(server, ("zhang.wei", "submit"))
    head = _sign_in(browser, server, "sun.hao")
    head.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    shown = "os => os.map(o => o.value)"
    position = head.locator("form[data-operation=add_signers] select[name=position]")  # type: ignore[attr-defined]
    assert position.locator("option").evaluate_all(shown) == ["before", "after", "alongside"]
    assert position.input_value() == "after"
    _approve(head)
    leader = _sign_in(browser, server, "li.na")
    leader.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    form = leader.locator("form[data-operation=add_signers]")  # type: ignore[attr-defined]
    position = form.locator("select[name=position]")
    assert position.locator("option").evaluate_all(shown) == ["alongside"]
    assert position.input_value() == "alongside"
    form.locator("input[name='people:he.ping']").check()
    form.locator("textarea[name=reason]").fill("请何平也投票")
    form.locator("button[type=submit]").click()
    leader.wait_for_load_state()  # type: ignore[attr-defined]
    assert leader.locator(".error, .field-error").count() == 0, leader.inner_text("main")  # type: ignore[attr-defined]
    assert "何平" in leader.inner_text("#steps")  # type: ignore[attr-defined]


def _new_reception(server: Server, *triggers: tuple[str, str]) -> str:
    """A reception of the starter sample, moved on by ``(actor, trigger)`` pairs through the API."""
    with server.client("zhang.wei") as c:
        rid: str = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"]
    for actor, trigger in triggers:
        body = {"reason": "同意"} if trigger == "approve" else {}
        with server.client(actor) as c:
            url = f"/api/v1/receptions/{rid}/triggers/{trigger}"
            assert c.post(url, json=body).status_code == 200, trigger
    return rid


def _error_page(page: object, code: str, status: int) -> str:
    """The error page's text, after checking it is a page in Chinese with its code and status."""
    assert page.locator("#error-code").inner_text() == code  # type: ignore[attr-defined]
    assert page.locator("#error-status").inner_text() == str(status)  # type: ignore[attr-defined]
    assert page.locator("a#back").count() == 1  # type: ignore[attr-defined]
    text: str = page.inner_text("main")  # type: ignore[attr-defined]
    assert '"type"' not in page.content()  # type: ignore[attr-defined]
    return text


def test_printing_a_list_not_yet_filed_is_a_page_that_says_what_to_do(
    browser: object, server: Server
) -> None:
    rid = _new_reception(server)
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    with clerk.expect_navigation() as navigation:  # type: ignore[attr-defined]
        clerk.click("#print-link")  # type: ignore[attr-defined]
    response = navigation.value
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    text = _error_page(clerk, "list_not_filed", 404)
    assert "尚未填报接待清单" in text
    assert "报销（提交清单）" in text
    clerk.click("a#back")  # type: ignore[attr-defined]
    clerk.wait_for_url(f"**/web/receptions/{rid}")  # type: ignore[attr-defined]


def test_page_errors_are_pages_and_the_api_keeps_problem_json(browser: object, server: Server) -> None:
    rid = _new_reception(server)
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    clerk.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'stale')")  # type: ignore[attr-defined]
    clerk.click("button[value=submit]")  # type: ignore[attr-defined]
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    assert "刷新" in _error_page(clerk, "csrf_failed", 403)
    assert clerk.locator("a#back").get_attribute("href") == f"/web/receptions/{rid}"  # type: ignore[attr-defined]

    clerk.goto(f"{server.base}/web/receptions/no-such-reception")  # type: ignore[attr-defined]
    _error_page(clerk, "not_found", 404)
    clerk.goto(f"{server.base}/web/no-such-page")  # type: ignore[attr-defined]
    _error_page(clerk, "not_found", 404)
    with server.client("zhang.wei") as c:
        refused = c.get("/api/v1/receptions/no-such-reception")
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"


def test_the_supervisor_sees_no_write_forms_and_a_post_gets_a_page(browser: object, server: Server) -> None:
    rid = _new_reception(server)
    supervisor = _sign_in(browser, server, "liu.yang")
    assert supervisor.locator("a[href='/web/new']").count() == 0  # type: ignore[attr-defined]
    supervisor.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    main = supervisor.locator("main")  # type: ignore[attr-defined]
    assert main.locator("form").count() == 0
    assert main.locator("button").count() == 0
    assert "审批操作" not in main.inner_text()
    assert "办理" not in main.locator("h2").all_inner_texts()
    supervisor.goto(f"{server.base}/web/new")  # type: ignore[attr-defined]
    assert "只读" in _error_page(supervisor, "read_only", 403)
    csrf = supervisor.evaluate("document.querySelector('input[name=csrf]').value")  # type: ignore[attr-defined]
    response = supervisor.request.post(  # type: ignore[attr-defined]
        f"{server.base}/web/receptions/{rid}/fire", form={"csrf": csrf, "trigger": "submit"}
    )
    assert response.status == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "read_only" in response.text()
    assert "纪检监察" in response.text()


def test_a_copied_supervisor_marks_it_read_from_a_form_without_a_reason_box(
    browser: object, server: Server
) -> None:
    """已阅 carries no text: the copied supervisor's one form, 已阅, had a 「理由或意见」 box whose
    every word was refused (422). It has none, and sending it marks the copy read."""
    rid = _new_reception(server, ("zhang.wei", "submit"))
    with server.client("zhang.wei") as c:
        assert c.post(f"/api/v1/receptions/{rid}/operations/copy", json={"people": ["liu.yang"]}).is_success
    supervisor = _sign_in(browser, server, "liu.yang")
    supervisor.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    assert _operations(supervisor) == ["read"]
    read = supervisor.locator("form[data-operation=read]")  # type: ignore[attr-defined]
    assert read.locator("textarea, [name=reason]").count() == 0
    assert "理由" not in read.inner_text()
    read.locator("button[type=submit]").click()
    supervisor.wait_for_load_state()  # type: ignore[attr-defined]
    assert supervisor.locator(".error, .field-error").count() == 0, supervisor.inner_text("main")  # type: ignore[attr-defined]
    assert _operations(supervisor) == []  # nothing left unread
    with server.client("liu.yang") as c:
        assert c.get("/api/v1/tasks/counts").json()["cc_unread"] == 0
        events = c.get(f"/api/v1/receptions/{rid}/history").json()
    assert (events[-1]["trigger"], events[-1]["reason"]) == ("mark_read", "")


def test_too_many_failed_sign_ins_get_a_page(browser: object, tmp_path: Path) -> None:
    with running(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, max_auth_failures=2) as server:
        page = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
        for _ in range(3):
            page.goto(f"{server.base}/web/login")
            page.fill("input[name=token]", "jd_wrong")
            page.click("button[type=submit]")
            page.wait_for_load_state()
        text = _error_page(page, "rate_limited", 429)
        assert "稍" in text
        assert "秒后再试" in text
        assert page.locator("a#back").get_attribute("href") == "/web/login"
        with httpx.Client(base_url=server.base) as c:
            limited = c.get("/api/v1/receptions", headers={"Authorization": "Bearer jd_wrong"})
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"


def test_the_claim_files_the_list_from_its_form_with_errors_at_their_fields(
    browser: object, server: Server
) -> None:
    steps = [("zhang.wei", "submit"), ("sun.hao", "approve"), ("li.na", "approve")]
    rid = _new_reception(server, *steps, ("zhang.wei", "start"), ("zhang.wei", "finish"))
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    clerk.click("a[data-trigger=claim]")  # type: ignore[attr-defined]
    clerk.wait_for_url(f"**/web/receptions/{rid}/fire/claim")  # type: ignore[attr-defined]
    assert "刘建国, 市农业农村局, 副局长" in clerk.input_value("[name=guests]")  # type: ignore[attr-defined]
    assert clerk.input_value("[name='meals.0.cost']") == "275.00"  # type: ignore[attr-defined]
    clerk.fill("[name='meals.0.companions']", "-2")  # type: ignore[attr-defined]
    clerk.fill("[name='invoices.0.number']", "0451207")  # type: ignore[attr-defined]
    clerk.click("button[value=claim]")  # type: ignore[attr-defined]
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    negative = clerk.inner_text("[data-field='meals.0.companions']")  # type: ignore[attr-defined]
    assert negative == "「陪餐人数」不能为负数，收到 -2"
    assert "开票日期" in clerk.inner_text("[data-field='invoices.0.issued_on']")  # type: ignore[attr-defined]
    assert "金额" in clerk.inner_text("[data-field='invoices.0.amount']")  # type: ignore[attr-defined]
    clerk.fill("[name='meals.0.companions']", "2")  # type: ignore[attr-defined]
    clerk.fill("[name='invoices.0.issued_on']", date.today().isoformat())  # type: ignore[attr-defined]
    clerk.fill("[name='invoices.0.issuer']", "县机关食堂")  # type: ignore[attr-defined]
    clerk.fill("[name='invoices.0.amount']", "275.00")  # type: ignore[attr-defined]
    clerk.select_option("[name='payments.0.method']", "official_card")  # type: ignore[attr-defined]
    clerk.fill("[name='payments.0.amount']", "275.00")  # type: ignore[attr-defined]
    clerk.fill("[name=signed_by]", "县政府办公室主任 孙浩")  # type: ignore[attr-defined]
    clerk.click("button[value=claim]")  # type: ignore[attr-defined]
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    assert "F-02" in clerk.inner_text("[data-field=signed_on]")  # type: ignore[attr-defined]
    clerk.fill("[name=signed_on]", date.today().isoformat())  # type: ignore[attr-defined]
    clerk.fill("[name=support_staff]", "张伟, 县政府办公室科员")  # type: ignore[attr-defined]
    clerk.fill("[name='meals.0.dishes']", "家常菜四菜一汤、米饭")  # type: ignore[attr-defined]
    assert not clerk.is_checked("[name='meals.0.alcohol']")  # type: ignore[attr-defined]
    clerk.click("button[value=claim]")  # type: ignore[attr-defined]
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    assert clerk.url.endswith(rid), clerk.inner_text("main")  # type: ignore[attr-defined]
    assert clerk.inner_text("#state") == "报销审核中", clerk.inner_text("main")  # type: ignore[attr-defined]
    with server.client("zhang.wei") as c:
        filed = c.get(f"/api/v1/receptions/{rid}").json()["reception_list"]
    assert filed["meals"][0]["dishes"] == ["家常菜四菜一汤", "米饭"]  # what the meal rules read
    assert filed["meals"][0]["alcohol"] is False
    assert (filed["invoices"][0]["amount"], filed["signed_by"]) == ("275.00", "县政府办公室主任 孙浩")
    clerk.click("#print-link")  # type: ignore[attr-defined]
    assert "接待清单" in clerk.content()  # type: ignore[attr-defined]


def test_amend_offers_the_plan_prefilled_and_keeps_what_the_form_does_not_show(
    browser: object, server: Server
) -> None:
    rid = _new_reception(server, ("zhang.wei", "submit"), ("sun.hao", "approve"), ("li.na", "approve"))
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    clerk.click("a[data-trigger=amend]")  # type: ignore[attr-defined]
    clerk.wait_for_url(f"**/web/receptions/{rid}/fire/amend")  # type: ignore[attr-defined]
    assert clerk.input_value("[name=budget]") == "400.00"  # type: ignore[attr-defined]
    assert clerk.input_value("[name='meals.0.venue']") == "县机关食堂"  # type: ignore[attr-defined]
    clerk.fill("[name='meals.0.cost']", "300.00")  # type: ignore[attr-defined]
    clerk.fill("[name='meals.1.venue']", "县机关食堂")  # type: ignore[attr-defined]
    clerk.fill("textarea[name=reason]", "增加一餐")  # type: ignore[attr-defined]
    clerk.click("button[value=amend]")  # type: ignore[attr-defined]
    clerk.wait_for_load_state()  # type: ignore[attr-defined]
    assert "「餐费（元）」" in clerk.inner_text("[data-field='meals.1.cost']")  # type: ignore[attr-defined]
    clerk.fill("[name='meals.1.venue']", "")  # type: ignore[attr-defined]
    clerk.click("button[value=amend]")  # type: ignore[attr-defined]
    clerk.wait_for_url(f"**/web/receptions/{rid}")  # type: ignore[attr-defined]
    assert clerk.inner_text("#state") == "待审批"  # type: ignore[attr-defined]
    with server.client("zhang.wei") as c:
        plan = c.get(f"/api/v1/receptions/{rid}").json()["plan"]
    assert [m["cost"] for m in plan["meals"]] == ["300.00"]
    assert plan["meals"][0]["dishes"] == ["家常豆腐", "清炒时蔬", "米饭"]
    assert [a["place"] for a in plan["activities"]] == ["县农业产业园"]
    draft = _new_reception(server)
    clerk.goto(f"{server.base}/web/receptions/{draft}")  # type: ignore[attr-defined]
    assert clerk.locator("button[value=edit]").count() == 0  # type: ignore[attr-defined]
    clerk.click("a[data-trigger=edit]")  # type: ignore[attr-defined]
    clerk.wait_for_url(f"**/web/receptions/{draft}/fire/edit")  # type: ignore[attr-defined]
    assert clerk.input_value("[name='meals.0.cost']") == "275.00"  # type: ignore[attr-defined]


def _operations(page: object) -> list[str]:
    found: list[str] = page.locator("form.operation").evaluate_all(  # type: ignore[attr-defined]
        "forms => forms.map(f => f.dataset.operation)"
    )
    return found


def test_only_operations_that_can_work_now_are_offered(browser: object, server: Server) -> None:
    draft = _new_reception(server)
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/receptions/{draft}")  # type: ignore[attr-defined]
    assert "urge" not in _operations(clerk)
    rid = _new_reception(server, ("zhang.wei", "submit"))
    clerk.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    head = _sign_in(browser, server, "sun.hao")
    head.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    assert "send_back" not in _operations(head)
    _approve(head)
    leader = _sign_in(browser, server, "li.na")
    leader.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    send_back = leader.locator("form[data-operation=send_back]")  # type: ignore[attr-defined]
    assert send_back.locator("select[name=step] option").all_inner_texts() == ["1. 部门负责人"]
    send_back.locator("textarea[name=reason]").fill("预算说明不清，请部门负责人重审")
    send_back.locator("button[type=submit]").click()
    leader.wait_for_load_state()  # type: ignore[attr-defined]
    assert leader.locator(".error").count() == 0, leader.inner_text("main")  # type: ignore[attr-defined]
    assert "部门负责人（当前）" in leader.inner_text("#steps")  # type: ignore[attr-defined]


def test_registration_errors_are_at_their_fields_with_their_labels(browser: object, server: Server) -> None:
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/new")  # type: ignore[attr-defined]
    start = date.today() + timedelta(days=10)
    for name, value in {  # no 公函文号 either: said at once with the rest
        "content": "调研",
        "start_day": start.isoformat(),
        "end_day": (start - timedelta(days=2)).isoformat(),
        "places": "县政府",
        "guests": "王明, 省财政厅, 处长\n李华",
        "budget": "1000",
        "meal_cost": "240.00",
        "meal_venue": "机关食堂",
        "meal_companions": "-3",
        "lodging_hotel": "县机关招待所",
        "lodging_rooms": "-1",
        "lodging_nights": "1",
        "lodging_price_per_night": "200.00",
    }.items():
        clerk.fill(f"[name={name}]", value)  # type: ignore[attr-defined]
    clerk.click("main button[type=submit]")  # type: ignore[attr-defined]
    clerk.wait_for_load_state()  # type: ignore[attr-defined]

    def at(field: str) -> str:
        return clerk.inner_text(f"[data-field={field}]")  # type: ignore[attr-defined,no-any-return]

    assert "早于开始日期" in at("end_day")
    assert " end（" not in at("end_day")
    assert at("sending_unit") == "「来访单位」不能为空"
    assert at("number") == "「公函文号」不能为空"
    assert at("meal_companions") == "「陪餐人数」不能为负数，收到 -3"
    assert at("lodging_rooms") == "「房间数」不能为负数，收到 -1"
    assert at("guests") == "第 2 行：「单位」不能为空"
    errors = " ".join(clerk.locator(".field-error").all_inner_texts())  # type: ignore[attr-defined]
    assert "sending_unit" not in errors
    assert "（str）" not in errors


def test_task_lists_show_china_time_and_who_copied_by_name(browser: object, server: Server) -> None:
    rid = _new_reception(server, ("zhang.wei", "submit"), ("sun.hao", "approve"), ("li.na", "approve"))
    with server.client("zhang.wei") as c:
        url = f"/api/v1/receptions/{rid}/operations/copy"
        assert c.post(url, json={"people": ["chen.jie"]}).status_code == 200
        events = c.get(f"/api/v1/receptions/{rid}/history").json()
    china = timezone(timedelta(hours=8))

    def shown(trigger: str) -> str:
        at = next(e["at"] for e in events if e["trigger"] == trigger)
        return datetime.fromisoformat(at).astimezone(china).strftime("%Y-%m-%d %H:%M")

    office = _sign_in(browser, server, "chen.jie")
    office.goto(f"{server.base}/web/?view=cc")  # type: ignore[attr-defined]
    row = office.locator(f"#tasks tr:has(a[href='/web/receptions/{rid}'])")  # type: ignore[attr-defined]
    assert "张伟 抄送" in row.inner_text()
    assert "zhang.wei" not in row.inner_text()
    assert shown("carbon_copy") in row.inner_text()
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/?view=started")  # type: ignore[attr-defined]
    row = clerk.locator(f"#tasks tr:has(a[href='/web/receptions/{rid}'])")  # type: ignore[attr-defined]
    assert shown("create") in row.inner_text()
    clerk.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    assert shown("create") in clerk.inner_text("#timeline")  # type: ignore[attr-defined]
    assert "抄送 陈洁（chen.jie）" in clerk.inner_text("#timeline")  # who was copied, not only that  # type: ignore[attr-defined]


LINES = """cells => cells.map(c => { const r = document.createRange(); r.selectNodeContents(c);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; })"""
"""How many lines each cell's text takes."""


def test_the_reception_page_prints_without_forms_and_keeps_names_whole(
    browser: object, server: Server, tmp_path: Path
) -> None:
    rid = _new_reception(server, *[("zhang.wei", t) for _ in range(7) for t in ("submit", "withdraw")])
    assert rid  # 15 events: registered, then submitted and withdrawn seven times
    clerk = _sign_in(browser, server, "zhang.wei")
    clerk.goto(f"{server.base}/web/receptions/{rid}")  # type: ignore[attr-defined]
    timeline = clerk.locator("#timeline tr")  # type: ignore[attr-defined]
    assert timeline.count() == 1 + 15
    for table in ("#findings", "#timeline"):
        lines = clerk.locator(f"{table} .nw").evaluate_all(LINES)  # type: ignore[attr-defined]
        assert set(lines) <= {0, 1}, (table, lines)
    clerk.emulate_media(media="print")  # type: ignore[attr-defined]
    headings = clerk.locator("main h2:visible").all_inner_texts()  # type: ignore[attr-defined]
    assert not {"办理", "审批操作 Operations", "流程图"} & set(headings), headings
    assert clerk.locator("main form:visible, #timeline .auth:visible").count() == 0  # type: ignore[attr-defined]
    pdf = tmp_path / "reception.pdf"
    clerk.pdf(path=str(pdf), format="A4")  # type: ignore[attr-defined]
    from pypdf import PdfReader

    assert len(PdfReader(pdf).pages) <= 2

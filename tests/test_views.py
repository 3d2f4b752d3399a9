"""Who signed each step and how, in every view: the printed 接待清单 and 审批单 (HTML, CSV, xlsx), the
HTML timeline, ``jiedai show`` and ``jiedai history``, and the diagram — countersign results, 票签
weights, delegated opinions, stand-ins signing "on behalf of", returns with their reasons, open
tasks with owner and due day, and the audit events' notes. Scenarios run on the in-memory store and
on SQLite, PostgreSQL and MariaDB; the command line on the sample SQLite site."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook

from jiedai_flow import Actor, ApprovalStep, Role, hookimpl
from jiedai_flow.domain.loading import dump
from jiedai_flow.domain.records import Assignee, StepKind
from jiedai_flow.process import diagram
from jiedai_flow.process.signoff import names_of, signoff
from jiedai_flow.process.tasks import Delegate, Reply, SendBack
from jiedai_flow.reports import (
    approval_document,
    list_document,
    render_approval_html,
    render_list_csv,
    render_list_html,
    write_list_xlsx,
)
from jiedai_flow.reports.render_html import render_timeline_html
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_list, sample_plan
from tests.test_cli import as_json, jiedai, site

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow import Engine, Reception
    from jiedai_flow.domain.standards import Standards
    from tests.test_cli import Site

__all__ = ["site"]

HANDLER = ACTORS["handler"]
START = date(2026, 3, 16)


def approver(actor_id: str, name: str) -> Actor:
    return Actor(actor_id, name, frozenset({Role.APPROVER}))


OFFICE_HEAD = approver("a", "周主任")
FINANCE = approver("b", "吴局长")
POLICE = approver("c", "郑局长")
LEADER = approver("d", "王副县长")
HEAD = approver("e", "县长")
DEPUTY = approver("x", "常务副县长")
MEMBER = approver("y", "党组成员")
AUDITOR = approver("z", "审计员")
STAND_IN = approver("w", "郑副局长")

CHAIN = (
    ApprovalStep("", "办公室主任", assignees=(Assignee.person("a", name="周主任"),)),
    ApprovalStep(
        "",
        "财政局、公安局、分管领导会签",
        kind=StepKind.PARALLEL,
        assignees=tuple(Assignee.person(i) for i in "bcd"),
    ),
    ApprovalStep(
        "",
        "党组会票签",
        kind=StepKind.VOTE,
        assignees=(Assignee.person("e", 3), Assignee.person("x", 2), Assignee.person("y", 2)),
    ),
)


class Chain:
    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return list(CHAIN)


def countersigned(engine: Engine, clock: FrozenClock) -> str:
    """Through the chain: a return to step 1 with its reason, a delegated opinion, a stand-in
    signing for 郑局长, and a 票签 that passes at 5 of 7."""
    rid = engine.create_reception(
        sample_letter(START),
        sample_plan(START),
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", OFFICE_HEAD, reason="同意")
    engine.operate(rid, SendBack(0), POLICE, reason="请补充安保方案")
    clock.advance(hours=2)
    engine.fire(rid, "approve", OFFICE_HEAD, reason="已补充，同意")
    engine.operate(rid, Delegate("z"), FINANCE)
    engine.operate(rid, Reply(), AUDITOR, reason="经费测算无误")
    engine.fire(rid, "approve", FINANCE, reason="同意")
    today = clock.now().date()
    engine.set_proxy("c", "w", today, today + timedelta(days=3), POLICE, reason="出差")
    engine.fire(rid, "approve", STAND_IN, reason="同意（代签）")
    engine.fire(rid, "approve", LEADER, reason="同意")
    engine.fire(rid, "approve", HEAD, reason="同意")
    engine.fire(rid, "approve", DEPUTY, reason="同意")
    return rid


def filed(engine: Engine, rid: str) -> Reception:
    engine.fire(rid, "start", HANDLER)
    engine.fire(rid, "finish", HANDLER)
    return engine.fire(rid, "claim", HANDLER, reception_list=sample_list(engine.get(rid))).reception


@pytest.fixture
def world(store_url: str) -> Iterator[tuple[Engine, str]]:
    clock = FrozenClock()
    engine = make_engine(Chain(), url=store_url, clock=clock)
    try:
        yield engine, countersigned(engine, clock)
    finally:
        engine.store.close()


def test_each_step_shows_its_kind_result_and_every_signer_with_stand_in_and_delegate(
    world: tuple[Engine, str],
) -> None:
    engine, rid = world
    reception = engine.get(rid)
    assert reception.state == "approved"
    view = signoff(reception, names=names_of(reception, engine.history(rid)))
    first, countersign, vote = view.steps
    assert (first.kind, first.result, [s.who for s in first.signers]) == (StepKind.SINGLE, "同意", ["周主任"])
    assert countersign.result == "3/3 同意，通过"
    assert [(s.shown, s.outcome) for s in countersign.signers] == [
        ("吴局长", "同意"),
        ("郑副局长（代 郑局长）", "同意"),
        ("王副县长", "同意"),
    ]
    assert countersign.signers[0].notes == ("审计员（z）委派意见：经费测算无误",)
    assert vote.result == "同意权重 5/7（须超过 50%），通过"
    assert [(s.who, s.outcome, s.weight) for s in vote.signers] == [
        ("县长", "同意", 3),
        ("常务副县长", "同意", 2),
        ("y", "未签（本环节已决定）", 2),
    ]
    (back,) = view.returns
    assert (back.step, back.how, back.who, back.reason) == (1, "驳回", "郑局长", "请补充安保方案")
    assert view.open_tasks == ()
    assert dump(view)["steps"][1]["kind"] == "parallel"  # JSON for programs (jiedai show --json)


def test_the_list_and_the_approval_form_print_every_signature(
    world: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, rid = world
    reception = filed(engine, rid)
    events = engine.history(rid)
    doc = list_document(reception, events=events)
    lines = [(a.step_shown, a.name, a.outcome) for a in doc.signatures.approvals]
    assert lines[1:4] == [
        ("财政局、公安局、分管领导会签（并行会签 3/3 同意，通过）", "吴局长", "同意"),
        ("财政局、公安局、分管领导会签", "郑副局长（代 郑局长）", "同意"),
        ("财政局、公安局、分管领导会签", "王副县长", "同意"),
    ]
    assert lines[4][0] == "党组会票签（票签 同意权重 5/7（须超过 50%），通过）"
    assert [(r.step, r.how, r.name, r.reason) for r in doc.returns] == [
        ("财政局、公安局、分管领导会签", "驳回", "郑局长", "请补充安保方案")
    ]
    html = text_of(render_list_html(doc))
    for expected in (
        "郑副局长（代 郑局长）",
        "审计员（z）委派意见：经费测算无误",
        "驳回：请补充安保方案",
        "3/3 同意",
    ):
        assert expected in html
    csv = render_list_csv(doc)
    assert "退回记录 returns" in csv
    assert "经费测算无误" in csv
    write_list_xlsx(doc, tmp_path / "list.xlsx")
    cells = [
        c for row in load_workbook(tmp_path / "list.xlsx").active.iter_rows(values_only=True) for c in row
    ]
    assert "郑副局长（代 郑局长）" in cells
    assert "请补充安保方案" in cells

    form = approval_document(reception, events=events)
    box = form.steps[1]
    assert (box.kind, box.result) == ("并行会签", "3/3 同意，通过")
    assert [(s.name, s.outcome) for s in box.signers] == [
        ("吴局长", "同意"),
        ("郑副局长（代 郑局长）", "同意"),
        ("王副县长", "同意"),
    ]
    assert form.steps[0].name == "周主任"
    printed = text_of(render_approval_html(form))
    assert "票签 同意权重 5/7" in printed
    assert "郑副局长（代 郑局长） 同意：同意（代签）" in printed


def test_the_html_timeline_shows_steps_returns_open_tasks_and_the_event_notes(
    world: tuple[Engine, str],
) -> None:
    engine, rid = world
    reception = engine.get(rid)
    html = render_timeline_html(reception, engine.history(rid), engine.process_of(reception).definition)
    text = text_of(html)
    for expected in (
        "审批情况",
        "并行会签",
        "3/3 同意，通过",
        "郑副局长（代 郑局长）",
        "审计员（z）委派意见：经费测算无误",
        "退回记录",
        "请补充安保方案",
        "驳回到第 1 环节",  # the note of the send-back event
        "代 c",  # the note of the stand-in's signature
        "委派 z 提出意见",
    ):
        assert expected in text, expected
    assert "<script" not in html


def test_the_diagram_notes_who_signed_which_step_beside_the_approval_state(world: tuple[Engine, str]) -> None:
    engine, rid = world
    reception = engine.get(rid)
    definition = engine.process_of(reception).definition
    path = diagram.trail(engine.history(rid), reception, definition)
    (state,) = path.notes  # approved: the note goes beside the state the signatures were given in
    assert state == "submitted"
    text = diagram.mermaid(definition, path)
    note = text[text.index("note right of submitted") : text.index("end note")]
    assert "第 2 环节「财政局、公安局、分管领导会签」并行会签 3/3 同意，通过" in note
    assert "郑副局长（代 郑局长） 同意" in note
    dot = diagram.dot(definition, path)
    assert '"submitted" -> "__note_submitted"' in dot
    assert "票签 同意权重 5/7" in dot


def test_a_pending_step_is_noted_on_the_current_state_with_who_is_to_sign(store_url: str) -> None:
    engine = make_engine(Chain(), url=store_url)
    try:
        rid = engine.create_reception(
            sample_letter(START),
            sample_plan(START),
            handler=HANDLER,
            host_unit="县政府办公室",
            jurisdiction="341502",
        ).reception.id
        engine.fire(rid, "submit", HANDLER)
        reception = engine.get(rid)
        path = diagram.trail(engine.history(rid), reception, engine.process_of(reception).definition)
        assert path.notes == {"submitted": tuple(signoff(reception, names=names_of(reception)).lines())}
        first = path.notes["submitted"][0]
        assert first.startswith("第 1 环节「办公室主任」单人审批 待签：周主任 待签，")
        assert "到期" in first
    finally:
        engine.store.close()


# -- the command line --------------------------------------------------------------------------------


def test_jiedai_show_history_and_diagram_show_the_steps_signers_and_open_tasks(
    site: Site, tmp_path: Path
) -> None:
    """On the sample site (部门负责人 → 分管领导, pools by level): a delegated opinion, a stand-in, a
    send-back with its reason, an open task with its owner and due day."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("claim-task", rid, "--as", "sun.hao")
    jiedai("delegate", rid, "--as", "sun.hao", "--to", "chen.jie", "--reason", "请核对人数")
    jiedai("reply", rid, "--as", "chen.jie", "--reason", "人数与公函一致")
    jiedai("approve", rid, "--as", "sun.hao", "--reason", "同意")
    jiedai("send-back", rid, "--as", "li.na", "--to-step", "1", "--reason", "请重新核对餐费")

    shown = jiedai("--lang", "zh", "show", rid).output
    assert "审批 1「部门负责人」" in shown
    assert "审批 2「分管领导」" in shown
    assert "驳回：李娜" in shown
    assert "请重新核对餐费" in shown
    owner = re.search(r"待办.*部门负责人 — (.+?)，(\d{4}-\d{2}-\d{2}) 到期", shown)
    assert owner is not None, shown
    assert owner[1] == "部门负责人（待认领）"  # sent back: a fresh pool task
    assert "驳回到第 1 环节" in shown  # the event's note in the timeline
    assert "委派 陈洁（chen.jie） 提出意见" in shown  # named from the actors file

    data = as_json("show", rid)
    steps = data["signoff"]["steps"]
    assert [s["label"] for s in steps] == ["部门负责人", "分管领导"]
    assert data["signoff"]["returns"][0]["reason"] == "请重新核对餐费"
    assert data["signoff"]["open_tasks"][0]["due"] == owner[2]

    jiedai("approve", rid, "--as", "sun.hao", "--reason", "已核对")
    history = jiedai("--lang", "zh", "history", rid).output
    assert "第 1 环节「部门负责人」同意" in history
    out = tmp_path / "timeline.html"
    jiedai("history", rid, "--format", "html", "--output", out)
    page = text_of(out.read_text(encoding="utf-8"))
    assert "人数与公函一致" in page  # the delegate's reply, in the timeline
    assert "分管领导（待认领）" in page
    assert "驳回" in page
    refused = jiedai("history", rid, "--output", out, code=2)
    assert "--format html" in refused.output

    mermaid = jiedai("diagram", rid).output
    assert "note right of submitted" in mermaid
    assert "第 1 环节「部门负责人」单人审批 同意：孙浩 同意" in mermaid


def text_of(html: str) -> str:
    """The visible text of an HTML page, tags dropped and whitespace collapsed."""
    from html import unescape

    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_an_unmade_signature_says_how_the_reception_ended_and_whose_it_was() -> None:
    """A reception terminated while a vote waits: the voter who never voted is shown by name (from
    the directory, though the chain named them by id) and as 「未签（已终止）」, not as if the
    reception had been held and finished."""
    from jiedai_flow.process.tasks import Terminate

    class Vote:
        @hookimpl
        def jiedai_approval_chain(self, reception: object, standards: object) -> list[ApprovalStep]:
            weights = (Assignee.person("a", 2), Assignee.person("b", 1))
            return [ApprovalStep("", "党组会票签", kind=StepKind.VOTE, threshold=50, assignees=weights)]

    people = {
        "a": Actor("a", "甲局长", frozenset({Role.APPROVER})),
        "b": Actor("b", "乙科长", frozenset({Role.APPROVER})),
    }

    class Directory:
        @hookimpl
        def jiedai_actor(self, actor_id: str) -> Actor | None:
            return people.get(actor_id)

    engine = make_engine(Vote(), Directory(), clock=FrozenClock())
    rid = engine.create_reception(
        sample_letter(),
        sample_plan(),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    engine.fire(rid, "submit", ACTORS["handler"])
    engine.operate(rid, Terminate(), Actor("admin", "管理员", frozenset({Role.ADMIN})), reason="来访取消")
    reception = engine.get(rid)
    assert reception.state == "terminated"
    view = signoff(reception, names=names_of(reception, engine.history(rid), engine.directory))
    assert [(s.shown, s.outcome) for s in view.steps[0].signers] == [
        ("甲局长", "未签（已终止）"),
        ("乙科长", "未签（已终止）"),
    ]

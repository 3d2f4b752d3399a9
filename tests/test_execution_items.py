"""Execution items 接待执行 at the end of the reception: ``finish`` warns (E-01, never refuses) about
each item still open and names its owner; the 接待清单, the HTML timeline and ``jiedai show`` say who
did each item. On the in-memory store and SQLite, PostgreSQL and MariaDB; the command line on the
sample SQLite site."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import Actor, Role, Severity
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.records import Assignee
from jiedai_flow.errors import NotAuthorizedError
from jiedai_flow.process.tasks import Assign, Complete, ExecutionItem, ReportProblem
from jiedai_flow.reports import list_document, render_list_html
from jiedai_flow.reports.render_html import render_timeline_html
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_list, sample_plan
from tests.test_cli import as_json, jiedai, site
from tests.test_views import text_of

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow import Engine
    from tests.test_cli import Site

__all__ = ["site"]

HANDLER, APPROVER = ACTORS["handler"], ACTORS["approver"]
OFFICE, FINANCE, SUPERVISOR = ACTORS["office"], ACTORS["finance"], ACTORS["supervisor"]
OTHER_HANDLER = ACTORS["handler2"]
"""赵敏: a handler (经办人) of the same office, but not the handler of these receptions."""
ITEM_OPERATIONS = {"complete_item", "report_problem"}
START = date(2026, 3, 16)
DRIVER = Actor("zhao.driver", "赵师傅", frozenset({Role.OFFICE}))
COOK = Actor("qian.cook", "钱师傅", frozenset({Role.OFFICE}), unit="机关食堂")


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    urls: Iterator[str]
    if request.param == "memory":
        urls = iter(["memory://"])
    else:
        from tests.databases import private_database

        urls = private_database(request.param, tmp_path)
    for url in urls:
        made = make_engine(url=url, clock=FrozenClock())
        try:
            yield made
        finally:
            made.store.close()


def approved(engine: Engine) -> str:
    """A reception registered, submitted and approved (its one step)."""
    rid = engine.create_reception(
        sample_letter(START),
        sample_plan(START),
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", APPROVER)
    return rid


def underway(engine: Engine) -> str:
    """Approved, three items handed out (one to a person, one to a department's pool, one more to
    the person), and started."""
    rid = approved(engine)
    items = (
        ExecutionItem(
            "接站", Assignee.person(DRIVER.id, name=DRIVER.name), datetime(2026, 3, 16, 9, tzinfo=CHINA_TZ)
        ),
        ExecutionItem("工作餐", Assignee.unit("机关食堂"), place="县机关食堂"),
        ExecutionItem("送站", Assignee.person(DRIVER.id, name=DRIVER.name), place="高铁站"),
    )
    engine.operate(rid, Assign(items), HANDLER)
    engine.fire(rid, "start", HANDLER)
    return rid


def task_of(engine: Engine, rid: str, title: str) -> str:
    return next(t.id for t in engine.get(rid).tasks if t.title == title)


def test_finish_warns_about_each_item_still_open_and_names_its_owner(engine: Engine) -> None:
    rid = underway(engine)
    engine.operate(rid, Complete(task=task_of(engine, rid, "接站")), DRIVER, reason="已接到")
    engine.operate(rid, ReportProblem(task=task_of(engine, rid, "送站")), DRIVER, reason="车辆检修")
    result = engine.fire(rid, "finish", HANDLER)
    assert result.reception.state == "completed"  # a warning, never a refusal
    warned = [f for f in result.findings if f.rule_id == "E-01"]
    assert [(f.severity, f.message_zh) for f in warned] == [
        (Severity.WARNING, "执行事项「工作餐」尚未完成（负责人 机关食堂（待认领））；接待结束前请确认办结"),
        (Severity.WARNING, "执行事项「送站」尚未完成（负责人 赵师傅，已报告问题）；接待结束前请确认办结"),
    ]
    assert {str(f.citation) for f in warned} == {"《党政机关国内公务接待管理规定》第七条"}
    tasks = result.reception.tasks
    assert [f.path for f in warned] == [
        f"$.tasks[{i}]" for i, t in enumerate(tasks) if t.title in ("工作餐", "送站")
    ]
    assert [f.rule_id for f in engine.history(rid)[-1].findings] == ["E-01", "E-01"]  # on the audit trail


def test_finish_with_every_item_done_says_nothing_of_them(engine: Engine) -> None:
    rid = underway(engine)
    engine.operate(rid, Complete(task=task_of(engine, rid, "接站")), DRIVER)
    engine.operate(rid, Complete(task=task_of(engine, rid, "送站")), DRIVER)
    engine.operate(rid, Complete(task=task_of(engine, rid, "工作餐")), COOK, reason="已备餐")  # claims it
    assert [f for f in engine.fire(rid, "finish", HANDLER).findings if f.rule_id == "E-01"] == []


def test_the_list_and_the_timeline_show_who_did_each_item(engine: Engine) -> None:
    rid = underway(engine)
    engine.operate(rid, Complete(task=task_of(engine, rid, "接站")), DRIVER, reason="已接到")
    engine.operate(rid, Complete(task=task_of(engine, rid, "工作餐")), COOK)
    engine.operate(rid, ReportProblem(task=task_of(engine, rid, "送站")), DRIVER, reason="车辆检修")
    engine.fire(rid, "finish", HANDLER)
    reception = engine.fire(rid, "claim", HANDLER, reception_list=sample_list(engine.get(rid))).reception
    events = engine.history(rid)
    doc = list_document(reception, events=events)
    assert [(e.title, e.owner, e.state, e.done_by) for e in doc.execution] == [
        ("接站", "赵师傅", "已完成", "赵师傅"),
        ("工作餐", "钱师傅", "已完成", "钱师傅"),
        ("送站", "赵师傅", "有问题", ""),
    ]
    assert doc.execution[0].when == "2026-03-16 09:00"
    assert doc.execution[2].notes == ("赵师傅（zhao.driver）报告问题：车辆检修",)
    printed = text_of(render_list_html(doc))
    assert "接待执行" in printed
    assert "已完成（钱师傅 " in printed
    timeline = text_of(render_timeline_html(reception, events, engine.process_of(reception).definition))
    for expected in (
        "执行任务「接站」交 赵师傅",
        "执行任务「接站」完成",
        "执行任务「工作餐」完成",
        "车辆检修",
    ):
        assert expected in timeline, expected


def test_jiedai_finish_prints_the_warning_and_show_lists_the_items(site: Site) -> None:
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("approve", rid, "--as", "sun.hao")
    jiedai("approve", rid, "--as", "li.na")
    jiedai(
        "assign", rid, "--as", "zhang.wei", "--item", "接站=chen.jie@县汽车站", "--item", "会场=unit:县接待办"
    )
    jiedai("start", rid, "--as", "zhang.wei")
    task = next(t["task_id"] for t in as_json("tasks", "--as", "chen.jie")["items"])
    jiedai("complete", rid, "--as", "chen.jie", "--task", task[:8], "--reason", "已接到")
    finished = jiedai("--lang", "zh", "finish", rid, "--as", "zhang.wei")
    assert "E-01" in finished.output
    assert "执行事项「会场」尚未完成（负责人 县接待办（待认领））" in " ".join(finished.output.split())
    shown = jiedai("--lang", "zh", "show", rid).output
    assert "接站 — 陈洁" in shown
    assert "已完成，陈洁" in shown
    assert "会场 — 县接待办（待认领）" in shown


@pytest.mark.parametrize("back", ["take_back", "amend"])
def test_items_handed_out_are_recalled_when_the_reception_goes_back_to_approval(
    engine: Engine, back: str
) -> None:
    """Approved, the items handed out; then the last signer takes the approval back, or the handler
    amends the plan (变更): the reception waits for approval again, so the items leave their owners'
    待办 (recalled, noted in the timeline) until they are handed out again once approved."""
    from jiedai_flow.process.tasks import RECALLED, TakeBack

    rid = approved(engine)
    engine.operate(
        rid, Assign((ExecutionItem("接站", Assignee.person(DRIVER.id, name=DRIVER.name)),)), HANDLER
    )
    assert [row.title for row in engine.tasks_for(DRIVER).items] == ["接站"]
    if back == "take_back":
        result = engine.operate(rid, TakeBack(), APPROVER)
    else:
        result = engine.fire(rid, "amend", HANDLER, reason="改期", plan=engine.get(rid).plan)
    assert result.reception.state == "submitted"
    assert "执行任务「接站」收回（重新审批）" in result.event.note
    assert engine.tasks_for(DRIVER).items == ()
    assert [t.outcome for t in result.reception.tasks if t.title == "接站"] == [RECALLED]


def handed_out(engine: Engine, assignee: Assignee) -> str:
    """An approved reception of 张伟's whose 接站 the office (陈洁) handed to ``assignee``."""
    rid = approved(engine)
    engine.operate(rid, Assign((ExecutionItem("接站", assignee, place="火车站"),)), OFFICE)
    return rid


def test_a_handler_completes_an_item_handed_to_them_on_another_handlers_reception(engine: Engine) -> None:
    """The holder of an execution item reports a problem with it and completes it whatever their
    role: a handler (经办人) given one on a colleague's reception is offered both and may do both."""
    rid = handed_out(engine, Assignee.person(OTHER_HANDLER.id, name=OTHER_HANDLER.name))
    assert set(engine.available_operations(rid, OTHER_HANDLER)) >= ITEM_OPERATIONS
    task = task_of(engine, rid, "接站")
    engine.operate(rid, ReportProblem(task=task), OTHER_HANDLER, reason="列车晚点")
    done = engine.operate(rid, Complete(task=task), OTHER_HANDLER, reason="已接到").reception
    [item] = done.tasks[-1:]
    assert (item.state.value, item.done_by, item.notes) == (
        "done",
        OTHER_HANDLER.id,
        ("赵敏（zhao.min）报告问题：列车晚点",),
    )
    assert not ITEM_OPERATIONS & set(engine.available_operations(rid, OTHER_HANDLER))


def test_an_item_is_no_licence_to_act_as_handler_on_the_reception(engine: Engine) -> None:
    """Holding an item there, a handler of another reception still fires none of its handler's
    triggers, and one holding no item there may neither complete nor report on another's item."""
    rid = handed_out(engine, Assignee.person(OTHER_HANDLER.id, name=OTHER_HANDLER.name))
    assert engine.available_triggers(rid, OTHER_HANDLER) == ()
    with pytest.raises(NotAuthorizedError, match="只有本接待的经办人"):
        engine.fire(rid, "start", OTHER_HANDLER)
    with pytest.raises(NotAuthorizedError, match="只有本接待的经办人"):
        engine.operate(
            rid, Assign((ExecutionItem("送站", Assignee.person(OTHER_HANDLER.id)),)), OTHER_HANDLER
        )
    third = Actor("qian.jun", "钱军", frozenset({Role.HANDLER}), unit="县政府办公室")
    assert not ITEM_OPERATIONS & set(engine.available_operations(rid, third))
    with pytest.raises(NotAuthorizedError):
        engine.operate(rid, Complete(task=task_of(engine, rid, "接站")), third)
    with pytest.raises(NotAuthorizedError):
        engine.operate(rid, ReportProblem(task=task_of(engine, rid, "接站")), third, reason="不知情")


def test_a_handler_in_a_departments_pool_takes_and_completes_its_item(engine: Engine) -> None:
    """An item handed to a department is its members' whatever their role: a handler of that
    department, not of this reception, is offered it, completes it and so claims it."""
    rid = handed_out(engine, Assignee.unit("县政府办公室"))
    assert set(engine.available_operations(rid, OTHER_HANDLER)) >= ITEM_OPERATIONS
    done = engine.operate(rid, Complete(task=task_of(engine, rid, "接站")), OTHER_HANDLER).reception
    assert [(t.state.value, t.owner) for t in done.tasks if t.title == "接站"] == [("done", OTHER_HANDLER.id)]
    outsider = Actor("qian.jun", "钱军", frozenset({Role.HANDLER}), unit="县财政局")
    assert not ITEM_OPERATIONS & set(
        engine.available_operations(handed_out(engine, Assignee.unit("县政府办公室")), outsider)
    )


def test_a_handler_standing_in_completes_the_principals_item(engine: Engine) -> None:
    """A stand-in 代理 acts on the principal's item as the principal would: a handler standing in
    for 王芳 (财务) completes the item handed to her on a reception that is not theirs."""
    rid = handed_out(engine, Assignee.person(FINANCE.id, name=FINANCE.name))
    assert not ITEM_OPERATIONS & set(engine.available_operations(rid, OTHER_HANDLER))
    today = engine.clock.now().date()
    engine.set_proxy(FINANCE.id, OTHER_HANDLER.id, today, today, FINANCE)
    assert set(engine.available_operations(rid, OTHER_HANDLER)) >= ITEM_OPERATIONS
    done = engine.operate(rid, Complete(task=task_of(engine, rid, "接站")), OTHER_HANDLER).reception
    assert [(t.state.value, t.done_by) for t in done.tasks if t.title == "接站"] == [
        ("done", OTHER_HANDLER.id)
    ]


def test_the_supervisor_never_completes_an_item_even_one_handed_to_them(engine: Engine) -> None:
    """纪检 is read-only: an item handed to them is not theirs to complete or report on."""
    rid = handed_out(engine, Assignee.person(SUPERVISOR.id, name=SUPERVISOR.name))
    assert not ITEM_OPERATIONS & set(engine.available_operations(rid, SUPERVISOR))
    with pytest.raises(NotAuthorizedError):
        engine.operate(rid, Complete(task=task_of(engine, rid, "接站")), SUPERVISOR)
    with pytest.raises(NotAuthorizedError):
        engine.operate(rid, ReportProblem(task=task_of(engine, rid, "接站")), SUPERVISOR, reason="x")

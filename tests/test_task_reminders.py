"""Reminders for tasks 待办催办: each open approval task and each open execution item that is due
or overdue is reminded to its owner by id (``Notification.people``) — or, for a pool's task nobody
has claimed, to the pool's roles — once per deadline; the dispatcher turns the people into contacts
through ``jiedai_person_contact``; ``jiedai remind`` mails them through a real SMTP server on
loopback, the addresses coming from the actors file. Memory, SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import trustme

from jiedai_flow import Actor, ApprovalStep, Role, hookimpl
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.records import Assignee, Notification, StepKind, new_id
from jiedai_flow.notify.channels import Contact
from jiedai_flow.notify.deadlines import (
    DeadlineKind,
    DeadlineStatus,
    deadlines,
    find_due,
    remind,
    reminder_id,
)
from jiedai_flow.notify.dispatch import Dispatcher
from jiedai_flow.process.tasks import Assign, Claim, Complete, ExecutionItem, Transfer
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_plan
from tests._notify_servers import SmtpServer
from tests.test_cli import as_json, jiedai, site
from tests.test_deadlines import Capture, County

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow import Engine, Reception
    from jiedai_flow.domain.standards import Standards
    from tests.test_cli import Site

__all__ = ["site"]

HANDLER, APPROVER = ACTORS["handler"], ACTORS["approver"]
VISIT = date(2026, 10, 12)
SUBMITTED = date(2026, 9, 30)  # 3 working days across 国庆: due 10-10 (a 调休 Saturday)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ)


def person(actor_id: str) -> Actor:
    return Actor(actor_id, f"审批人{actor_id}", frozenset({Role.APPROVER}))


class Chain:
    def __init__(self, *steps: ApprovalStep) -> None:
        self.steps = list(steps)

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return self.steps


class Directory:
    """A deployment's directory: everyone by id, and the approvers by role."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def jiedai_person_contact(self, actor_id: str, reception: Reception) -> Contact | None:
        del reception
        self.asked.append(actor_id)
        return None if actor_id == "nobody" else Contact(f"姓名{actor_id}", email=f"{actor_id}@county.gov.cn")

    @hookimpl
    def jiedai_contacts(self, role: Role, reception: Reception) -> list[Contact]:
        del reception
        return [Contact("审批人b", role, email="b@county.gov.cn")] if role is Role.APPROVER else []


PARALLEL = ApprovalStep(
    "", "会签", kind=StepKind.PARALLEL, assignees=tuple(Assignee.person(i) for i in ("b", "c", "d"))
)
SEQUENTIAL = ApprovalStep(
    "", "顺序会签", kind=StepKind.SEQUENTIAL, assignees=tuple(Assignee.person(i) for i in "ab")
)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at(SUBMITTED))


@pytest.fixture
def opened(store_url: str) -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.store.close()


def engine_on(url: str, opened: list[Engine], clock: FrozenClock, *plugins: object) -> Engine:
    engine = make_engine(*plugins, url=url, clock=clock)
    opened.append(engine)
    return engine


def submitted(engine: Engine) -> str:
    rid = engine.create_reception(
        sample_letter(VISIT),
        sample_plan(VISIT),
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    engine.fire(rid, "submit", HANDLER)
    return rid


def reminders(engine: Engine) -> list[Notification]:
    return [n for n in engine.store.pending_notifications(1000) if n.kind == "reminder"]


def test_each_open_task_of_a_countersign_is_reminded_to_its_owner_once(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    engine = engine_on(store_url, opened, clock, Chain(PARALLEL))
    rid = submitted(engine)
    clock.set(at(date(2026, 10, 12)))
    due = [d for d in deadlines(engine, engine.get(rid)) if d.kind is DeadlineKind.APPROVAL]
    assert sorted(d.people for d in due) == [("b",), ("c",), ("d",)]
    assert {(d.roles, d.due, d.status, d.counts_from) for d in due} == {
        ((), date(2026, 10, 10), DeadlineStatus.OVERDUE, SUBMITTED)
    }
    assert len({d.key for d in due}) == 3  # one deadline per task

    assert remind(engine, date(2026, 10, 12)) == 3  # the log channel
    rows = reminders(engine)
    assert sorted(r.people for r in rows) == [("b",), ("c",), ("d",)]
    assert {r.recipients for r in rows} == {()}
    assert {r.id for r in rows} == {reminder_id(d, "log") for d in due}
    assert rows[0].message_zh.startswith(
        f"接待 {engine.get(rid).number}：已超过审批时限——「会签」环节自 2026-09-30"
    )

    engine.fire(rid, "approve", person("b"))
    assert remind(engine, date(2026, 10, 12)) == 0  # c and d: the same deadlines, already reminded
    assert sorted(d.people for d in find_due(engine, date(2026, 10, 12))) == [("c",), ("d",)]


def test_a_pool_task_goes_to_its_roles_until_claimed_then_to_the_member(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    engine = engine_on(store_url, opened, clock)
    rid = submitted(engine)
    clock.set(at(date(2026, 10, 8)))
    assert remind(engine, date(2026, 10, 8)) == 1  # soon
    (pool,) = reminders(engine)
    assert (pool.recipients, pool.people) == ((Role.APPROVER,), ())
    engine.operate(rid, Claim(), APPROVER)
    assert remind(engine, date(2026, 10, 9)) == 0  # still soon: the same deadline
    clock.set(at(date(2026, 10, 12)))
    assert remind(engine, date(2026, 10, 12)) == 1  # overdue now: to the one who claimed it
    (claimed,) = [r for r in reminders(engine) if r.id != pool.id]
    assert (claimed.recipients, claimed.people) == ((), (APPROVER.id,))


def test_a_transferred_task_is_a_new_reminder_to_its_new_owner(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    engine = engine_on(store_url, opened, clock, Chain(PARALLEL))
    rid = submitted(engine)
    clock.set(at(date(2026, 10, 12)))
    assert remind(engine, date(2026, 10, 12)) == 3
    engine.operate(rid, Transfer("x"), person("c"), reason="出差，转 x 办理")
    assert remind(engine, date(2026, 10, 12)) == 1
    assert [r.people for r in reminders(engine)].count(("x",)) == 1


def test_a_sequential_signer_counts_from_the_day_their_turn_came(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    engine = engine_on(store_url, opened, clock, Chain(SEQUENTIAL))
    rid = submitted(engine)
    clock.set(at(date(2026, 10, 9)))
    engine.fire(rid, "approve", person("a"))
    (second,) = [d for d in deadlines(engine, engine.get(rid)) if d.kind is DeadlineKind.APPROVAL]
    assert (second.people, second.counts_from, second.due) == (("b",), date(2026, 10, 9), date(2026, 10, 13))
    assert second.basis_zh == "「顺序会签」环节自 2026-10-09 起 3 个工作日内审批"


def test_execution_items_are_reminded_to_their_owner_and_an_unclaimed_pool_to_the_handler(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    engine = engine_on(store_url, opened, clock)
    rid = submitted(engine)
    engine.fire(rid, "approve", APPROVER)
    items = (
        ExecutionItem("接站", Assignee.person("zhao.driver"), at(VISIT, 8), "高铁站"),
        ExecutionItem("工作餐", Assignee.unit("机关食堂"), due=VISIT),
        ExecutionItem("材料", Assignee.person("chen.jie"), due=VISIT + timedelta(days=10)),
    )
    engine.operate(rid, Assign(items), HANDLER)
    clock.set(at(VISIT))
    found = [d for d in find_due(engine, VISIT) if d.kind is DeadlineKind.EXECUTION]
    assert sorted((d.people, d.roles, d.status) for d in found) == [
        ((), (Role.HANDLER,), DeadlineStatus.SOON),
        (("zhao.driver",), (), DeadlineStatus.SOON),
    ]
    driver = next(d for d in found if d.people)
    assert driver.basis_zh == f"执行事项「接站」（zhao.driver，{VISIT}，高铁站）于 {VISIT} 前完成"
    assert driver.action_zh == "请完成执行事项「接站」"
    pool = next(d for d in found if not d.people)
    assert pool.action_zh == "执行事项「工作餐」尚无人认领，请督促「机关食堂」认领办理"
    assert remind(engine, VISIT) == 2
    assert {r.topic for r in reminders(engine)} == {"remind:execution"}

    driver_actor = Actor("zhao.driver", "赵师傅", frozenset({Role.OFFICE}))
    engine.operate(rid, Complete(task=driver.task_id), driver_actor)
    late = VISIT + timedelta(days=1)
    assert [d.people for d in find_due(engine, late) if d.kind is DeadlineKind.EXECUTION] == [()]


def test_the_dispatcher_reaches_the_people_through_jiedai_person_contact(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    """Each reminder row reaches its task's owner by id, through the directory."""
    capture, directory = Capture(), Directory()
    engine = engine_on(store_url, opened, clock, Chain(PARALLEL), capture, directory)
    submitted(engine)
    capture.messages.clear()
    directory.asked.clear()
    clock.set(at(date(2026, 10, 12)))
    remind(engine, date(2026, 10, 12))
    Dispatcher(engine).run_once()
    got = {m.notification.people: [c.email for c in m.contacts] for m in capture.reminders}
    assert got == {("b",): ["b@county.gov.cn"], ("c",): ["c@county.gov.cn"], ("d",): ["d@county.gov.cn"]}
    assert sorted(directory.asked) == ["b", "b", "c", "c", "d", "d"]  # one row per channel: capture, log


def test_people_and_roles_are_joined_each_address_once_and_unknown_people_left_out(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    directory = Directory()
    engine = engine_on(store_url, opened, clock, directory)
    rid = submitted(engine)
    named = Notification(
        id=new_id(),
        reception_id=rid,
        event_id=engine.history(rid)[-1].id,
        topic="urge",
        recipients=(Role.APPROVER,),
        message_zh="催办",
        message_en="urged",
        created_at=clock.now(),
        people=("b", "nobody", "x"),
    )
    message = Dispatcher(engine).message(named)
    assert [(c.name, c.email) for c in message.contacts] == [
        ("审批人b", "b@county.gov.cn"),  # by role first; 姓名b has the same address
        ("姓名x", "x@county.gov.cn"),
    ]


def test_without_a_directory_no_hook_is_asked_and_the_log_names_the_people(
    store_url: str, opened: list[Engine], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_on(store_url, opened, clock, Chain(PARALLEL))
    submitted(engine)
    clock.set(at(date(2026, 10, 12)))
    remind(engine, date(2026, 10, 12))
    with caplog.at_level(logging.INFO, logger="jiedai_flow.notify"):
        assert Dispatcher(engine).run_once().delivered == 3
    told = sorted(r.getMessage().split("→ ")[1].split(":")[0] for r in caplog.records)
    assert told == ["b", "c", "d"]


# -- jiedai remind, by e-mail ------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(trustme.CA(), tls="none")
    yield server
    server.stop()


def with_emails(site: Site) -> None:
    """The sample actors file, each actor with an e-mail address."""
    path = site.path / "jiedai-actors.toml"
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        lines.append(line)
        if line.startswith("id = "):
            actor_id = line.split('"')[1]
            lines.append(f'email = "{actor_id}@county.gov.cn"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_jiedai_remind_mails_each_task_owner_by_the_address_in_the_actors_file(
    site: Site, smtp: SmtpServer
) -> None:
    with_emails(site)
    notifiers = site.path / "notifiers.toml"
    notifiers.write_text(
        f'[[email]]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
        'sender = "jiedai@county.gov.cn"\n',
        encoding="utf-8",
    )
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("claim-task", rid, "--as", "sun.hao")
    later = (date.today() + timedelta(days=30)).isoformat()
    report = as_json("remind", "--today", later, "--write", "--notifiers", notifiers)
    assert (report["due"], report["delivered"]) == (1, 2)  # the log row and the e-mail
    (mail,) = smtp.received
    assert mail.rcpt_tos == ("sun.hao@county.gov.cn",)
    assert "请审批「部门负责人」环节" in mail.message.get_body().get_content()

    jiedai("approve", rid, "--as", "sun.hao")
    jiedai("approve", rid, "--as", "li.na")
    jiedai("assign", rid, "--as", "zhang.wei", "--item", f"接站=chen.jie@县汽车站#{date.today()}")
    assert as_json("remind", "--today", later, "--write", "--notifiers", notifiers)["delivered"] == 2
    last = smtp.received[-1]
    assert last.rcpt_tos == ("chen.jie@county.gov.cn",)
    assert "请完成执行事项「接站」" in last.message.get_body().get_content()
    assert as_json("remind", "--today", later, "--write", "--notifiers", notifiers)["written"] == 0  # once


def test_a_retroactive_approval_also_names_the_owner_of_the_open_task(
    store_url: str, opened: list[Engine], clock: FrozenClock
) -> None:
    engine = engine_on(store_url, opened, clock, County(retroactive_window_days=2))
    clock.set(at(date(2026, 3, 10), 8))
    rid = engine.create_reception(
        sample_letter(date(2026, 3, 10)),
        sample_plan(date(2026, 3, 10)),
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
    engine.operate(rid, Claim(), APPROVER)
    (late,) = [
        d
        for d in deadlines(engine, engine.get(rid), today=date(2026, 3, 11))
        if d.kind.value == "retroactive"
    ]
    assert (late.roles, late.people) == ((Role.APPROVER,), (APPROVER.id,))

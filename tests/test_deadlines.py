"""超时催办: approval, claim and 补办 deadlines in the Chinese working-day calendar, and reminders
written once per deadline to the outbox, delivered by the dispatcher."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from jiedai_flow import (
    ApprovalStep,
    DocumentKind,
    Invoice,
    Level,
    Payment,
    PaymentMethod,
    Person,
    ReceptionList,
    Role,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain.records import Page, ReceptionQuery
from jiedai_flow.domain.standards import DeadlineFrom
from jiedai_flow.notify.deadlines import (
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    deadlines,
    find_due,
    remind,
    reminder_id,
)
from jiedai_flow.notify.dispatch import Dispatcher
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, register_sample

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from jiedai_flow import Engine, Reception
    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.notify.channels import Message, RegisterNotifier

JURISDICTION = "341502"
HOST = "县政府办公室"
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
DIRECTOR = ACTORS["director"]
FINANCE = ACTORS["finance"]
LINK = "https://oa.example/jiedai/{id}?no={number}"

NATIONAL_DAY_VISIT = date(2026, 10, 12)  # a Monday after 国庆; submitted on 09-30
SPRING_VISIT = date(2026, 1, 30)  # 01-30 to 01-31: the claim month runs to 02-28


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=CHINA_TZ)


# -- plugins ------------------------------------------------------------------------------------


class County:
    """A county layer changing the deadline fields (and anything else) of the standards."""

    def __init__(self, **changes: Any) -> None:
        self.layer = StandardsLayer("某县时限", Level.COUNTY, JURISDICTION, changes)

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


class TwoStepChain:
    """部门负责人 signs first, then 分管领导."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return [ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导")]


class EveryDayCalendar:
    """A deployment calendar in which every day is a working day."""

    def is_workday(self, day: date) -> bool:
        del day
        return True

    @hookimpl
    def jiedai_calendar(self) -> EveryDayCalendar:
        return self


class Capture:
    """A notifier plugin keeping every message delivered to it (inline, like the log notifier)."""

    name = "capture"
    inline = True

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def deliver(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def reminders(self) -> list[Message]:
        return [m for m in self.messages if m.notification.kind == "reminder"]

    @hookimpl
    def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
        register(self)


# -- helpers ------------------------------------------------------------------------------------


def create(engine: Engine, start: date) -> str:
    return register_sample(engine, start=start, handler=HANDLER, host_unit=HOST, jurisdiction=JURISDICTION).id


def submitted(engine: Engine, clock: FrozenClock, on: date, start: date = NATIONAL_DAY_VISIT) -> str:
    """A reception submitted on ``on`` (created the same morning)."""
    clock.set(at(on))
    rid = create(engine, start)
    engine.fire(rid, "submit", HANDLER)
    return rid


def completed(engine: Engine, clock: FrozenClock, start: date = SPRING_VISIT) -> str:
    """A reception approved, held and finished (the claim deadline runs)."""
    clock.set(at(start - timedelta(days=10)))
    rid = create(engine, start)
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", APPROVER)
    clock.set(at(start))
    engine.fire(rid, "start", HANDLER)
    return engine.fire(rid, "finish", HANDLER).reception.id


def reception_list(reception: Reception, invoiced: date | None = None) -> ReceptionList:
    """A complete list: documents, companions, support staff, signed (as tests/test_engine.py)."""
    total = sum((m.cost for m in reception.plan.meals), Decimal(0))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=reception.plan.meals,
        invoices=(Invoice("No.0001", invoiced or reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡尾号 1234"),),
        companions=reception.plan.companions,
        support_staff=(Person("刘敏", "县政府办公室科员"),),
        signed_by="王强",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def only(engine: Engine, rid: str, today: date, kind: DeadlineKind, soon_days: int = 2) -> Deadline:
    (found,) = [
        d for d in deadlines(engine, engine.get(rid), today=today, soon_days=soon_days) if d.kind is kind
    ]
    return found


def kinds(engine: Engine, rid: str, today: date) -> list[DeadlineKind]:
    return [d.kind for d in deadlines(engine, engine.get(rid), today=today)]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


# -- 审批时限 -------------------------------------------------------------------------------------


def test_approval_submitted_on_09_30_is_due_on_the_make_up_saturday_10_10(clock: FrozenClock) -> None:
    """3 working days from 2026-09-30 across 国庆: 10-08, 10-09 and the 调休 Saturday 10-10."""
    engine = make_engine(clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    deadline = only(engine, rid, date(2026, 10, 8), DeadlineKind.APPROVAL)
    assert (deadline.counts_from, deadline.due) == (date(2026, 9, 30), date(2026, 10, 10))
    assert (deadline.basis, deadline.limit) == ("approval_deadline_workdays", 3)
    assert deadline.basis_zh == "「审批」环节自 2026-09-30 起 3 个工作日内审批"
    assert deadline.roles == (Role.APPROVER,)
    assert deadline.action_zh == "请审批「审批」环节"
    assert deadline.reception_id == rid
    assert deadline.number == engine.get(rid).number
    assert deadline.step == 0


@pytest.mark.parametrize(
    ("today", "status", "left", "late", "standing"),
    [
        (date(2026, 9, 30), DeadlineStatus.OK, 3, 0, "还剩 3 个工作日"),
        (date(2026, 10, 5), DeadlineStatus.OK, 3, 0, "还剩 3 个工作日"),  # the holiday counts nothing
        (date(2026, 10, 8), DeadlineStatus.SOON, 2, 0, "还剩 2 个工作日"),
        (date(2026, 10, 9), DeadlineStatus.SOON, 1, 0, "还剩 1 个工作日"),
        (date(2026, 10, 10), DeadlineStatus.SOON, 0, 0, "今天到期"),
        (date(2026, 10, 11), DeadlineStatus.OVERDUE, 0, 1, "已逾期 1 天"),
        (date(2026, 10, 14), DeadlineStatus.OVERDUE, 0, 4, "已逾期 4 天"),
    ],
)
def test_approval_status_is_ok_then_soon_within_two_working_days_then_overdue(
    clock: FrozenClock, today: date, status: DeadlineStatus, left: int, late: int, standing: str
) -> None:
    engine = make_engine(clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    deadline = only(engine, rid, today, DeadlineKind.APPROVAL)
    assert (deadline.status, deadline.workdays_left, deadline.days_late) == (status, left, late)
    assert deadline.standing_zh == standing
    assert deadline.due_now is (status is not DeadlineStatus.OK)
    assert deadline.today == today


def test_soon_days_widens_the_warning(clock: FrozenClock) -> None:
    engine = make_engine(clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    assert only(engine, rid, date(2026, 10, 1), DeadlineKind.APPROVAL).status is DeadlineStatus.OK
    assert (
        only(engine, rid, date(2026, 10, 1), DeadlineKind.APPROVAL, soon_days=3).status is DeadlineStatus.SOON
    )


def test_the_next_step_counts_from_the_approval_before_it(clock: FrozenClock) -> None:
    """Two steps: 部门负责人 signs on 10-09, so 分管领导 is due 3 working days later (10-13)."""
    engine = make_engine(TwoStepChain(), clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    first = only(engine, rid, date(2026, 10, 8), DeadlineKind.APPROVAL)
    assert (first.step, first.due, first.action_zh) == (0, date(2026, 10, 10), "请审批「部门负责人」环节")
    clock.set(at(date(2026, 10, 9)))
    engine.fire(rid, "approve", DIRECTOR)
    second = only(engine, rid, date(2026, 10, 9), DeadlineKind.APPROVAL)
    assert (second.step, second.counts_from, second.due) == (1, date(2026, 10, 9), date(2026, 10, 13))
    assert second.basis_zh == "「分管领导」环节自 2026-10-09 起 3 个工作日内审批"
    assert second.key != first.key


def test_a_resubmission_counts_from_the_last_submit(clock: FrozenClock) -> None:
    engine = make_engine(clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    clock.set(at(date(2026, 10, 8)))
    engine.fire(rid, "return", APPROVER, reason="请补充行程")
    assert kinds(engine, rid, date(2026, 10, 8)) == []  # back in draft: nothing due
    clock.set(at(date(2026, 10, 9)))
    engine.fire(rid, "submit", HANDLER)
    deadline = only(engine, rid, date(2026, 10, 9), DeadlineKind.APPROVAL)
    assert (deadline.counts_from, deadline.due) == (date(2026, 10, 9), date(2026, 10, 13))


def test_an_amendment_restarts_the_approval_clock(clock: FrozenClock) -> None:
    engine = make_engine(clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    engine.fire(rid, "approve", APPROVER)
    assert kinds(engine, rid, date(2026, 10, 8)) == []  # approved: nothing due
    clock.set(at(date(2026, 10, 8)))
    engine.fire(rid, "amend", HANDLER, reason="来宾增加一人")
    assert only(engine, rid, date(2026, 10, 8), DeadlineKind.APPROVAL).due == date(2026, 10, 12)


def test_no_approval_deadline_when_the_standards_set_none(clock: FrozenClock) -> None:
    engine = make_engine(County(approval_deadline_workdays=None), clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    assert kinds(engine, rid, date(2026, 10, 20)) == []


def test_a_county_limit_of_five_working_days(clock: FrozenClock) -> None:
    engine = make_engine(County(approval_deadline_workdays=5), clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    deadline = only(engine, rid, date(2026, 10, 8), DeadlineKind.APPROVAL)
    assert (deadline.limit, deadline.due) == (5, date(2026, 10, 13))


def test_a_deployment_calendar_changes_the_due_date(clock: FrozenClock) -> None:
    """Through ``jiedai_calendar``: every day worked, so 3 days from 09-30 is 10-03, not 10-10."""
    engine = make_engine(EveryDayCalendar(), clock=clock)
    rid = submitted(engine, clock, date(2026, 9, 30))
    deadline = only(engine, rid, date(2026, 10, 2), DeadlineKind.APPROVAL)
    assert deadline.due == date(2026, 10, 3)
    assert (deadline.status, deadline.workdays_left) == (DeadlineStatus.SOON, 1)
    assert only(engine, rid, date(2026, 10, 5), DeadlineKind.APPROVAL).status is DeadlineStatus.OVERDUE


def test_approval_across_spring_festival_counts_the_make_up_saturdays(clock: FrozenClock) -> None:
    """Submitted Friday 02-13: Saturday 02-14 (调休), then 02-24 and 02-25 after 春节."""
    engine = make_engine(clock=clock)
    rid = submitted(engine, clock, date(2026, 2, 13), start=date(2026, 3, 10))
    assert only(engine, rid, date(2026, 2, 13), DeadlineKind.APPROVAL).due == date(2026, 2, 25)


# -- 报销时限 -------------------------------------------------------------------------------------


def test_claim_one_month_from_01_31_is_due_02_28(clock: FrozenClock) -> None:
    """Lu'an: claim within 1 month of the end; 2026-01-31 + 1 month = 02-28 (a 调休 Saturday)."""
    engine = make_engine(County(claim_deadline_months=1), clock=clock)
    rid = completed(engine, clock)
    deadline = only(engine, rid, date(2026, 2, 26), DeadlineKind.CLAIM)
    assert (deadline.counts_from, deadline.due) == (date(2026, 1, 31), date(2026, 2, 28))
    assert (deadline.basis, deadline.limit) == ("claim_deadline_months", 1)
    assert deadline.basis_zh == "自接待结束 2026-01-31 起 1 个月内报销"
    assert (deadline.roles, deadline.action_zh) == ((Role.HANDLER,), "请提交接待清单和报销凭证")
    assert (deadline.status, deadline.workdays_left) == (DeadlineStatus.SOON, 2)  # 02-27, 02-28
    assert only(engine, rid, date(2026, 2, 25), DeadlineKind.CLAIM).status is DeadlineStatus.OK
    overdue = only(engine, rid, date(2026, 3, 2), DeadlineKind.CLAIM)
    assert (overdue.status, overdue.days_late) == (DeadlineStatus.OVERDUE, 2)


def test_claim_three_months_from_the_earliest_invoice(clock: FrozenClock) -> None:
    """UESTC: 3 months from the invoice date — the earliest invoice of the list."""
    engine = make_engine(
        County(claim_deadline_months=3, claim_deadline_from=DeadlineFrom.INVOICE), clock=clock
    )
    rid = completed(engine, clock)
    assert only(engine, rid, date(2026, 2, 1), DeadlineKind.CLAIM).counts_from == date(2026, 1, 31)  # no list
    listing = reception_list(engine.get(rid), invoiced=date(2026, 1, 30))
    engine.fire(rid, "edit", HANDLER, reception_list=listing)
    deadline = only(engine, rid, date(2026, 2, 1), DeadlineKind.CLAIM)
    assert (deadline.counts_from, deadline.due) == (date(2026, 1, 30), date(2026, 4, 30))
    assert deadline.basis_zh == "自发票日期 2026-01-30 起 3 个月内报销"


def test_claim_with_days_and_months_takes_the_earlier_and_names_it(clock: FrozenClock) -> None:
    other = FrozenClock()
    both = make_engine(County(claim_deadline_days=30, claim_deadline_months=1), clock=other)
    rid = completed(both, other)
    deadline = only(both, rid, date(2026, 2, 1), DeadlineKind.CLAIM)
    assert (deadline.basis, deadline.due) == ("claim_deadline_months", date(2026, 2, 28))
    days = make_engine(County(claim_deadline_days=20, claim_deadline_months=1), clock=clock)
    rid = completed(days, clock)
    deadline = only(days, rid, date(2026, 2, 1), DeadlineKind.CLAIM)
    assert (deadline.basis, deadline.limit, deadline.due) == ("claim_deadline_days", 20, date(2026, 2, 20))
    assert deadline.basis_zh == "自接待结束 2026-01-31 起 20 天内报销"


def test_claim_runs_once_an_unfinished_reception_has_ended(clock: FrozenClock) -> None:
    """In progress after its end: the claim deadline runs, and the handler is asked to finish."""
    engine = make_engine(County(claim_deadline_months=1), clock=clock)
    clock.set(at(date(2026, 1, 20)))
    rid = create(engine, SPRING_VISIT)
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", APPROVER)
    engine.fire(rid, "start", HANDLER)
    assert kinds(engine, rid, date(2026, 1, 31)) == []  # the last day of the visit
    deadline = only(engine, rid, date(2026, 2, 1), DeadlineKind.CLAIM)
    assert (deadline.due, deadline.action_zh) == (date(2026, 2, 28), "请结束接待并提交接待清单和报销凭证")


def test_no_claim_deadline_once_claimed_or_where_the_standards_set_none(clock: FrozenClock) -> None:
    engine = make_engine(County(claim_deadline_months=1), clock=clock)
    rid = completed(engine, clock)
    engine.fire(rid, "claim", HANDLER, reception_list=reception_list(engine.get(rid)))
    assert kinds(engine, rid, date(2026, 3, 20)) == []
    national = make_engine(clock=clock)
    assert kinds(national, completed(national, clock), date(2026, 3, 20)) == []


# -- 补办时限 -------------------------------------------------------------------------------------


def test_retroactive_approval_is_due_within_the_window_after_the_start(clock: FrozenClock) -> None:
    engine = make_engine(County(retroactive_window_days=2), clock=clock)
    clock.set(at(date(2026, 3, 10), 8))
    rid = create(engine, date(2026, 3, 10))
    engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
    deadline = only(engine, rid, date(2026, 3, 11), DeadlineKind.RETROACTIVE)
    assert (deadline.counts_from, deadline.due) == (date(2026, 3, 10), date(2026, 3, 12))
    assert (deadline.basis, deadline.limit) == ("retroactive_window_days", 2)
    assert deadline.basis_zh == "自接待开始 2026-03-10 起 2 日内补办审批"
    assert deadline.roles == (Role.APPROVER,)
    assert deadline.action_zh == "已先行接待，请补办「审批」环节审批"
    assert deadline.status is DeadlineStatus.SOON
    late = only(engine, rid, date(2026, 3, 13), DeadlineKind.RETROACTIVE)
    assert (late.status, late.days_late) == (DeadlineStatus.OVERDUE, 1)
    engine.fire(rid, "approve", APPROVER)
    assert kinds(engine, rid, date(2026, 3, 13)) == []


# -- find_due -----------------------------------------------------------------------------------


def test_find_due_pages_through_the_relevant_states_and_keeps_overdue_and_soon(
    clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(clock=clock)
    soon = [submitted(engine, clock, date(2026, 9, 30)) for _ in range(5)]
    later = submitted(engine, clock, date(2026, 10, 9))  # due 10-13: not yet soon on 10-08
    clock.set(at(date(2026, 9, 30)))
    draft = create(engine, NATIONAL_DAY_VISIT)
    asked: list[ReceptionQuery] = []
    query = engine.store.query

    def spy(q: ReceptionQuery) -> Page:
        asked.append(q)
        return query(q)

    monkeypatch.setattr(engine.store, "query", spy)  # counting the pages read
    found = find_due(engine, date(2026, 10, 8), query=ReceptionQuery(limit=2))
    assert sorted(d.reception_id for d in found) == sorted(soon)
    assert {d.status for d in found} == {DeadlineStatus.SOON}
    assert later not in {d.reception_id for d in found}
    assert draft not in {d.reception_id for d in found}
    assert len(asked) == 3  # 6 submitted receptions, 2 a page
    # approved too: execution items can be open there (执行时限)
    assert all(
        q.limit == 2 and q.states == {"submitted", "approved", "in_progress", "completed"} for q in asked
    )
    assert [q.after is None for q in asked] == [True, False, False]


def test_find_due_narrows_by_query_and_never_widens_the_states(clock: FrozenClock) -> None:
    engine = make_engine(clock=clock)
    submitted(engine, clock, date(2026, 9, 30))
    assert len(find_due(engine, date(2026, 10, 12))) == 1
    assert find_due(engine, date(2026, 10, 12), query=ReceptionQuery(jurisdiction="420000")) == []
    assert find_due(engine, date(2026, 10, 12), query=ReceptionQuery(states=frozenset({"draft"}))) == []
    overdue = find_due(engine, date(2026, 10, 12), query=ReceptionQuery(states=frozenset({"submitted"})))
    assert [d.status for d in overdue] == [DeadlineStatus.OVERDUE]


# -- remind: once per deadline, on memory and every SQL back end ---------------------------------------


@pytest.fixture
def engines(store_url: str, clock: FrozenClock) -> Iterator[Callable[..., Engine]]:
    """``engines(*plugins)``: an engine on the test's store and clock; closed afterwards."""
    made: list[Engine] = []

    def factory(*plugins: object) -> Engine:
        engine = make_engine(*plugins, url=store_url, clock=clock)
        engine.link_template = LINK
        made.append(engine)
        return engine

    yield factory
    for engine in made:
        engine.store.close()


def reminder_rows(engine: Engine) -> list[Any]:
    return [n for n in engine.store.pending_notifications(1000) if n.kind == "reminder"]


def test_remind_writes_once_per_deadline_and_again_only_when_it_turns_overdue(
    engines: Callable[..., Engine], clock: FrozenClock
) -> None:
    capture = Capture()
    engine = engines(capture)
    rid = submitted(engine, clock, date(2026, 9, 30))
    channels = sorted(engine.notifiers)
    assert channels == ["capture", "log"]

    clock.set(at(date(2026, 10, 8)))
    assert remind(engine, date(2026, 10, 8)) == 2  # soon: one row per channel
    assert remind(engine, date(2026, 10, 8)) == 0  # the same day again
    clock.set(at(date(2026, 10, 9)))
    assert remind(engine, date(2026, 10, 9)) == 0  # still soon, same deadline
    clock.set(at(date(2026, 10, 12)))
    assert remind(engine, date(2026, 10, 12)) == 2  # now overdue: reminded once more
    assert remind(engine, date(2026, 10, 12)) == 0
    assert remind(engine, date(2026, 10, 13)) == 0

    rows = reminder_rows(engine)
    assert len(rows) == 4
    assert capture.reminders == []  # remind() never delivers, inline notifiers included
    (overdue,) = [d for d in find_due(engine, date(2026, 10, 12)) if d.reception_id == rid]
    assert {r.id for r in rows if "已逾期" in r.message_zh} == {reminder_id(overdue, c) for c in channels}
    assert all(len(r.id) == 32 for r in rows)
    history = engine.history(rid)
    assert {r.event_id for r in rows} == {history[-1].id}


def test_reminders_reach_the_notifiers_through_the_dispatcher(
    engines: Callable[..., Engine], clock: FrozenClock
) -> None:
    capture = Capture()
    engine = engines(capture)
    rid = submitted(engine, clock, date(2026, 9, 30))
    number = engine.get(rid).number
    clock.set(at(date(2026, 10, 12)))
    assert remind(engine, date(2026, 10, 12)) == 2

    report = Dispatcher(engine).run_once()
    assert report.delivered >= 2
    (message,) = capture.reminders
    n = message.notification
    assert (n.kind, n.topic, n.channel, n.reception_id) == ("reminder", "remind:approval", "capture", rid)
    assert n.recipients == (Role.APPROVER,)
    assert n.message_zh == (
        f"接待 {number}：已超过审批时限——「审批」环节自 2026-09-30 起 3 个工作日内审批，"
        "最迟 2026-10-10，已逾期 2 天"
    )
    assert "approval deadline 2026-10-10" in n.message_en
    assert n.action_zh == "请审批「审批」环节"
    assert n.link == f"https://oa.example/jiedai/{rid}?no={number}"
    assert message.reception is not None
    assert message.reception.id == rid
    assert "待办：请审批「审批」环节" in message.text()

    assert remind(engine, date(2026, 10, 12)) == 0  # delivered rows still count as written
    assert Dispatcher(engine).run_once().claimed == 0
    assert len(capture.reminders) == 1


def test_remind_covers_claims_and_retroactive_approvals_together(
    engines: Callable[..., Engine], clock: FrozenClock
) -> None:
    """One scan: an overdue claim (to the handler) and a soon 补办 (to the approver)."""
    engine = engines(County(claim_deadline_months=1, retroactive_window_days=2))
    claim = completed(engine, clock)
    clock.set(at(date(2026, 3, 10), 8))
    urgent = create(engine, date(2026, 3, 10))
    engine.fire(urgent, "start_urgent", HANDLER, reason="上级临时通知当日到达")

    assert remind(engine, date(2026, 3, 11)) == 2  # the log channel only
    rows = {r.reception_id: r for r in reminder_rows(engine)}
    assert (rows[claim].topic, rows[claim].recipients) == ("remind:claim", (Role.HANDLER,))
    assert "已逾期 11 天" in rows[claim].message_zh
    assert (rows[urgent].topic, rows[urgent].recipients) == ("remind:retroactive", (Role.APPROVER,))
    assert rows[urgent].message_zh == (
        f"接待 {engine.get(urgent).number}：补办时限即将到期——自接待开始 2026-03-10 起 2 日内补办审批，"
        "最迟 2026-03-12，还剩 1 个工作日"
    )
    assert remind(engine, date(2026, 3, 11)) == 0


def test_remind_without_notifiers_writes_nothing(clock: FrozenClock) -> None:
    engine = make_engine(clock=clock, blocked=("jiedai.log_notifier",))
    submitted(engine, clock, date(2026, 9, 30))
    assert engine.notifiers == {}
    assert remind(engine, date(2026, 10, 12)) == 0
    assert engine.store.pending_notifications() == ()


# -- docs/deadlines.md ----------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "deadlines.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_docs_examples_run_and_print_what_they_say(
    clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every Python block of docs/deadlines.md runs, in order, against a reception submitted 09-30."""
    engine = make_engine(County(approval_levels=("分管领导",)), clock=clock)
    namespace: dict[str, Any] = {
        "engine": engine,
        "reception_id": submitted(engine, clock, date(2026, 9, 30)),
    }
    first, *rest = python_blocks()
    exec(first, namespace)  # running the page's own example
    printed = capsys.readouterr().out.strip()
    assert f"# {printed}" in first
    assert namespace["overdue_or_soon"]
    for block in rest:
        exec(block, {"engine": engine})
    assert isinstance(namespace["overdue_or_soon"][0], Deadline)


def test_the_docs_show_the_reminder_message_as_written(clock: FrozenClock) -> None:
    engine = make_engine(clock=clock)
    submitted(engine, clock, date(2026, 9, 30))
    clock.set(at(date(2026, 10, 12)))
    remind(engine, date(2026, 10, 12))
    (row,) = reminder_rows(engine)
    assert row.message_zh.startswith("接待 341502-2026-00001：")
    assert f"「{row.message_zh}」" in DOCS.read_text(encoding="utf-8")


def test_an_early_morning_submission_counts_from_its_day_in_china(
    engines: Callable[..., Engine], clock: FrozenClock
) -> None:
    """07:00 in Beijing is 23:00 UTC the day before; the stored trail still counts from 09-30."""
    engine = engines()
    clock.set(at(date(2026, 9, 30), hour=7))
    rid = create(engine, NATIONAL_DAY_VISIT)
    engine.fire(rid, "submit", HANDLER)
    deadline = only(engine, rid, date(2026, 10, 8), DeadlineKind.APPROVAL)
    assert (deadline.counts_from, deadline.due) == (date(2026, 9, 30), date(2026, 10, 10))

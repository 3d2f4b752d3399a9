"""招商引资接待插件的测试：流程选择、招商局审核的权限、接待后跟踪服务（跟踪记录、催办、年度汇总），
安装后经入口点被发现，以及 README 里的流程图与定义一致。

真实的引擎、真实的存储（内存和 SQLite），不用 mock；引擎不自动加载已安装的插件，只注册本插件。
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
from jiedai_zhaoshang_example import plugin
from jiedai_zhaoshang_example.process import PROCESS_KEY, zhaoshang_process

from jiedai_flow import (
    DEFAULT_PROCESS,
    Actor,
    DefinitionError,
    FollowUp,
    FollowUpKind,
    Guest,
    NotAuthorizedError,
    Phase,
    ProcessDefinition,
    ProjectOutcome,
    ReceptionType,
    Role,
    StateDef,
    Transition,
    TriggerDef,
    ValidationError,
    hookimpl,
    make_plugin_manager,
    open_engine,
)
from jiedai_flow.domain.workdays import add_workdays
from jiedai_flow.notify.deadlines import DeadlineKind, DeadlineStatus, calendar_of, deadlines, remind
from jiedai_flow.process.diagram import mermaid
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.reports import annual_summary
from jiedai_flow.storage.migrate import upgrade
from jiedai_flow.testing import ACTORS, FrozenClock, sample_letter, sample_list, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine, Reception

COUNTY = "341598"  # ××县（示例，虚构）
ELSEWHERE = "341502"  # 核心测试样例用的另一个县
HOST = "县招商局"
START = date(2026, 3, 10)  # 投资方考察：2026-03-10 至 03-11

HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
FINANCE = ACTORS["finance"]
OFFICE = ACTORS["office"]
BUREAU = Actor("zhou.tz", "周招商", frozenset({Role.APPROVER}), HOST, frozenset({"招商局"}))
"""招商局的审核人：审批人角色，级别含「招商局」。"""

README = Path(__file__).resolve().parents[1] / "README.md"


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at(date(2026, 3, 2)))  # 周一，考察前一周登记


@pytest.fixture
def engine(clock: FrozenClock) -> Engine:
    """内存存储：内置插件 + 本插件（已安装的插件不自动加载）。"""
    return open_engine("memory://", autoload=False, plugins=[plugin], clock=clock)


@pytest.fixture
def sql_engine(tmp_path: Path, clock: FrozenClock) -> Engine:
    """SQLite：审计链校验和年度汇总只在 SQL 存储上有。"""
    url = f"sqlite:///{tmp_path / 'zhaoshang.db'}"
    upgrade(url)
    return open_engine(url, autoload=False, plugins=[plugin], clock=clock)


def create(
    engine: Engine,
    jurisdiction: str = COUNTY,
    reception_type: ReceptionType = ReceptionType.BUSINESS,
    handler: Actor = HANDLER,
) -> Reception:
    """登记一次投资方考察：来宾是企业人员（不是国家工作人员，B-01），机关食堂工作餐一次。"""
    investors = (
        Guest("钱立新", "××新能源科技有限公司", "董事长", state_employee=False),
        Guest("孙悦", "××新能源科技有限公司", "投资总监", state_employee=False),
    )
    letter = attrs.evolve(
        sample_letter(START),
        sending_unit="××新能源科技有限公司",
        content="新能源电池项目投资考察",
        personnel=investors,
    )
    created = engine.create_reception(
        letter,
        sample_plan(START, guests=len(investors)),
        handler=handler,
        host_unit=HOST,
        jurisdiction=jurisdiction,
        reception_type=reception_type,
    )
    return created.reception


def to_review(engine: Engine, rid: str, handler: Actor = HANDLER) -> Reception:
    """提交，审批链签完：停在招商局审核。"""
    engine.fire(rid, "submit", handler)
    return engine.fire(rid, "approve", APPROVER, reason="同意").reception


def to_settled(engine: Engine, clock: FrozenClock, rid: str) -> Reception:
    """招商局审核同意，接待，报销，结算（2026-03-13 周五）。"""
    engine.fire(rid, "investment_approve", BUREAU, reason="项目符合本县产业方向")
    clock.set(at(START))
    engine.fire(rid, "start", HANDLER)
    engine.fire(rid, "finish", HANDLER)
    clock.set(at(date(2026, 3, 12)))
    engine.fire(rid, "claim", HANDLER, reception_list=sample_list(engine.get(rid)))
    clock.set(at(date(2026, 3, 13)))
    return engine.fire(rid, "settle", FINANCE).reception


def denied(engine: Engine, rid: str, trigger: str, actor: Actor, reason: str = "") -> str:
    """Fire expecting a refusal of authorization; the Chinese reason."""
    with pytest.raises(NotAuthorizedError) as refused:
        engine.fire(rid, trigger, actor, reason=reason)
    return refused.value.reason_zh


# -- 流程：派生与选择 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reception_type", "jurisdiction", "process"),
    [
        (ReceptionType.BUSINESS, COUNTY, PROCESS_KEY),
        (ReceptionType.DOMESTIC, COUNTY, "reception@1"),
        (ReceptionType.BUSINESS, ELSEWHERE, "reception@1"),
    ],
    ids=["business-in-county", "domestic-in-county", "business-elsewhere"],
)
def test_business_receptions_in_the_county_run_on_the_zhaoshang_process(
    engine: Engine, reception_type: ReceptionType, jurisdiction: str, process: str
) -> None:
    reception = create(engine, jurisdiction, reception_type)
    assert reception.process == process
    assert engine.process_of(reception).definition.key == process


def test_the_process_is_derived_from_the_default_and_named_after_the_plugin(engine: Engine) -> None:
    loaded = {p.key: p for p in engine.processes}
    assert list(loaded) == ["reception@1", PROCESS_KEY]
    ours = loaded[PROCESS_KEY]
    assert ours.origin == plugin.__name__  # 插件按模块名注册；出错时报的就是这个名字
    assert ours == zhaoshang_process(DEFAULT_PROCESS)
    # 默认流程的流转都在，只有「末级审批 → 已审批」改为进入招商局审核，先行接待去掉了
    moved = [t for t in DEFAULT_PROCESS.transitions if t not in ours.transitions]
    assert [(t.trigger, t.source, t.dest, t.condition) for t in moved] == [
        ("approve", "submitted", "approved", "final_step"),
        ("start_urgent", "draft", "in_progress", "urgent_allowed"),
        ("start_urgent", "submitted", "in_progress", "urgent_allowed"),
    ]
    assert "start_urgent" not in {t.name for t in ours.triggers}
    assert ("approve", "submitted", "investment_review", "final_step") in {
        (t.trigger, t.source, t.dest, t.condition) for t in ours.transitions
    }
    assert ours.state("investment_review").phase is Phase.PENDING
    assert ours.state("following_up").phase is Phase.SETTLED
    assert ours.trigger("investment_approve").decision
    assert [t.name for t in ours.triggers if t.carries_follow_up] == ["begin_follow_up", "record_follow_up"]


# -- 全流程 ----------------------------------------------------------------------------------------------


def test_the_whole_path_with_the_bureaus_review_and_the_follow_up(
    sql_engine: Engine, clock: FrozenClock
) -> None:
    engine = sql_engine
    rid = create(engine).id
    assert to_review(engine, rid).state == "investment_review"

    # 普通审批人不是招商局的人；经办人不能审核自己的接待（不相容职务分离，引擎先查）
    assert "招商局" in denied(engine, rid, "investment_approve", APPROVER)
    assert "不相容职务分离" in denied(engine, rid, "investment_approve", HANDLER)
    assert engine.available_triggers(rid, APPROVER) == ("cancel",)
    assert engine.available_triggers(rid, BUREAU) == ("investment_approve", "return", "refuse", "cancel")
    assert engine.get(rid).budget_committed_fen == 0  # 审核通过前不占预算

    settled = to_settled(engine, clock, rid)
    assert settled.state == "settled"
    assert engine.available_triggers(rid, HANDLER) == ("begin_follow_up",)

    # 接待后跟踪服务
    clock.set(at(date(2026, 3, 16)))
    engine.fire(
        rid,
        "begin_follow_up",
        HANDLER,
        follow_up=FollowUp(
            FollowUpKind.CONTACT, "电话回访钱立新董事长", BUREAU.id, done_on=date(2026, 3, 16)
        ),
    )
    clock.set(at(date(2026, 4, 1)))
    engine.fire(
        rid,
        "record_follow_up",
        HANDLER,
        follow_up=FollowUp(FollowUpKind.INTENT, "投资方有意在县经开区建设电池包装线", BUREAU.id),
    )
    clock.set(at(date(2026, 5, 20)))
    signed = engine.fire(
        rid,
        "record_follow_up",
        HANDLER,
        follow_up=FollowUp(
            FollowUpKind.PROGRESS,
            "投资协议签约，总投资 5 亿元",
            BUREAU.id,
            done_on=date(2026, 5, 20),
            outcome=ProjectOutcome.SIGNED,
        ),
    )
    entries = signed.reception.follow_ups
    assert [(f.kind, f.outcome) for f in entries] == [
        (FollowUpKind.CONTACT, None),
        (FollowUpKind.INTENT, None),
        (FollowUpKind.PROGRESS, ProjectOutcome.SIGNED),
    ]
    assert {(f.recorded_by, f.recorded_at) for f in entries[2:]} == {(HANDLER.id, at(date(2026, 5, 20)))}

    done = engine.fire(rid, "close_follow_up", OFFICE)
    assert done.reception.state == "archived"
    assert [(e.trigger, e.to_state) for e in engine.history(rid)] == [
        ("create", "draft"),
        ("submit", "submitted"),
        ("approve", "investment_review"),
        ("investment_approve", "approved"),
        ("start", "in_progress"),
        ("finish", "completed"),
        ("claim", "settling"),
        ("settle", "settled"),
        ("begin_follow_up", "following_up"),
        ("record_follow_up", "following_up"),
        ("record_follow_up", "following_up"),
        ("close_follow_up", "archived"),
    ]
    assert engine.history(rid)[3].actor_id == BUREAU.id
    assert engine.store.verify().ok  # type: ignore[attr-defined]


def test_a_bureau_member_who_handles_the_reception_may_not_review_it(engine: Engine) -> None:
    both = Actor("wu.tz", "吴招商", frozenset({Role.HANDLER, Role.APPROVER}), HOST, frozenset({"招商局"}))
    rid = create(engine, handler=both).id
    to_review(engine, rid, handler=both)
    assert "不相容职务分离" in denied(engine, rid, "investment_approve", both)
    assert "不相容职务分离" in denied(engine, rid, "return", both, reason="材料不全")


def test_the_rule_leaves_other_processes_and_other_steps_alone(engine: Engine) -> None:
    """别的县的招商接待走默认流程，审批人照常审批；本流程里的撤销仍由角色表决定。"""
    elsewhere = create(engine, ELSEWHERE).id
    assert to_review(engine, elsewhere).state == "approved"
    rid = create(engine).id
    to_review(engine, rid)
    cancelled = engine.fire(rid, "cancel", APPROVER, reason="投资方推迟来访")
    assert cancelled.reception.state == "cancelled"


# -- 审核的旁路 ------------------------------------------------------------------------------------------


def test_the_bureau_returns_the_plan_to_draft_and_the_approval_starts_over(engine: Engine) -> None:
    rid = create(engine).id
    to_review(engine, rid)
    assert "招商局" in denied(engine, rid, "return", APPROVER, reason="请补充项目情况")
    returned = engine.fire(rid, "return", BUREAU, reason="请补充投资项目的基本情况").reception
    assert returned.state == "draft"
    assert returned.approvals == ()  # 回到草拟，审批签字清空
    assert to_review(engine, rid).state == "investment_review"  # 重新提交，重新审批、审核
    assert engine.fire(rid, "investment_approve", BUREAU).reception.state == "approved"


def test_the_bureau_may_refuse(engine: Engine) -> None:
    rid = create(engine).id
    to_review(engine, rid)
    assert "招商局" in denied(engine, rid, "refuse", APPROVER, reason="不符合产业方向")
    refused = engine.fire(rid, "refuse", BUREAU, reason="项目不符合本县产业准入要求")
    assert refused.reception.state == "refused"


# -- 接待后跟踪服务 --------------------------------------------------------------------------------------


def test_the_follow_up_stage_is_optional(engine: Engine, clock: FrozenClock) -> None:
    rid = create(engine).id
    to_review(engine, rid)
    to_settled(engine, clock, rid)
    archived = engine.fire(rid, "archive", OFFICE).reception
    assert (archived.state, archived.follow_ups) == ("archived", ())


def test_a_follow_up_entry_on_a_trigger_that_does_not_carry_one_is_refused(
    engine: Engine, clock: FrozenClock
) -> None:
    rid = create(engine).id
    to_review(engine, rid)
    entry = FollowUp(FollowUpKind.CONTACT, "联系投资方", BUREAU.id)
    with pytest.raises(ValidationError) as refused:
        engine.fire(rid, "investment_approve", BUREAU, follow_up=entry)
    assert [p.path for p in refused.value.problems] == ["$.follow_up"]
    settled = to_settled(engine, clock, rid)
    with pytest.raises(ValidationError):
        engine.fire(rid, "archive", OFFICE, follow_up=entry)
    after = engine.get(rid)
    assert (after.state, after.version, after.follow_ups) == ("settled", settled.version, ())


def test_only_a_progress_entry_carries_the_projects_outcome(engine: Engine, clock: FrozenClock) -> None:
    rid = create(engine).id
    to_review(engine, rid)
    to_settled(engine, clock, rid)
    wrong = FollowUp(FollowUpKind.INTENT, "有投资意向", BUREAU.id, outcome=ProjectOutcome.SIGNED)
    with pytest.raises(ValidationError) as refused:
        engine.fire(rid, "begin_follow_up", HANDLER, follow_up=wrong)
    assert [p.path for p in refused.value.problems] == ["$.follow_up.outcome"]


def test_an_open_follow_up_is_a_deadline_and_is_reminded(engine: Engine, clock: FrozenClock) -> None:
    rid = create(engine).id
    to_review(engine, rid)
    to_settled(engine, clock, rid)
    today = date(2026, 3, 16)  # 周一
    clock.set(at(today))
    due = add_workdays(calendar_of(engine), today, 5)
    assert due == date(2026, 3, 23)
    visit = FollowUp(FollowUpKind.CONTACT, "上门走访投资方，了解选址意向", BUREAU.id, due=due)
    engine.fire(rid, "begin_follow_up", HANDLER, follow_up=visit)

    def follow_up_deadlines(on: date) -> list[tuple[date, DeadlineStatus, int]]:
        found = deadlines(engine, engine.get(rid), today=on)
        return [(d.due, d.status, d.days_late) for d in found if d.kind is DeadlineKind.FOLLOW_UP]

    assert follow_up_deadlines(today) == [(due, DeadlineStatus.OK, 0)]
    assert follow_up_deadlines(due) == [(due, DeadlineStatus.SOON, 0)]
    assert follow_up_deadlines(due + timedelta(days=1)) == [(due, DeadlineStatus.OVERDUE, 1)]

    late = due + timedelta(days=1)
    clock.set(at(late))
    assert remind(engine, late) == len(engine.notifiers) == 1  # the log notifier's channel
    (row,) = [n for n in engine.store.pending_notifications(1000) if n.kind == "reminder"]
    assert (row.topic, row.reception_id, row.recipients) == ("remind:follow_up", rid, (Role.HANDLER,))
    assert "已超过跟踪时限" in row.message_zh
    assert "上门走访投资方" in row.message_zh
    assert remind(engine, late) == 0  # 同一天再扫不重复

    # 做完了：同类、同责任人、同事项的记录替换未完成的那一条，时限随之消失
    engine.fire(rid, "record_follow_up", HANDLER, follow_up=attrs.evolve(visit, done_on=late))
    assert [f.done_on for f in engine.get(rid).follow_ups] == [late]
    assert follow_up_deadlines(late) == []


# -- 年度汇总 -------------------------------------------------------------------------------------------


def test_the_annual_summary_counts_the_business_reception_and_its_outcome(
    sql_engine: Engine, clock: FrozenClock
) -> None:
    engine = sql_engine
    rid = create(engine).id
    to_review(engine, rid)
    to_settled(engine, clock, rid)
    engine.fire(
        rid,
        "begin_follow_up",
        HANDLER,
        follow_up=FollowUp(
            FollowUpKind.PROGRESS, "签约", BUREAU.id, done_on=date(2026, 5, 20), outcome=ProjectOutcome.SIGNED
        ),
    )
    domestic = create(engine, reception_type=ReceptionType.DOMESTIC).id  # 同一单位的一次公务接待
    engine.fire(domestic, "submit", HANDLER)
    engine.fire(domestic, "approve", APPROVER)
    engine.fire(domestic, "start", HANDLER)

    (row,) = annual_summary(engine.store, 2026, engine=engine)
    assert (row.jurisdiction, row.host_unit) == (COUNTY, HOST)
    assert (row.batches, row.business, row.signed, row.landed, row.failed) == (2, 1, 1, 0, 0)


# -- 定义出错 --------------------------------------------------------------------------------------------


class DeadEndCounty:
    """一个写坏了的县插件：派生的流程里「搁置」之后无路可走。"""

    @hookimpl
    def jiedai_processes(self, default: ProcessDefinition) -> list[ProcessDefinition]:
        broken = default.derive(name="dead-end", version="1").add(
            states=[StateDef("shelved", "搁置", phase=Phase.PENDING)],
            triggers=[TriggerDef("shelve", "搁置", "shelve")],
            transitions=[Transition("shelve", "submitted", "shelved", frozenset({Role.APPROVER}))],
        )
        return [broken]


def test_an_invalid_derived_process_fails_the_engine_and_names_the_plugin() -> None:
    with pytest.raises(DefinitionError) as invalid:
        open_engine("memory://", autoload=False, plugins=[plugin, ("dead_end_county", DeadEndCounty())])
    assert "dead_end_county" in invalid.value.message_zh
    assert "dead-end@1" in invalid.value.message_zh
    assert "'shelved' is a dead end" in invalid.value.message_en


def test_a_default_without_the_approval_cannot_be_derived_from() -> None:
    """插件在宿主的默认流程里找不到「审批同意：待审批 → 已审批」时，引擎建不起来（不悄悄跳过审核）。"""
    no_approval = DEFAULT_PROCESS.renamed({"approved": "signed_off"}, {}, name="other", version="1")
    with pytest.raises(DefinitionError) as invalid:
        open_engine("memory://", autoload=False, plugins=[plugin], processes=(no_approval,))
    assert "approve: submitted -> approved" in invalid.value.message_en


# -- 安装后：入口点 -------------------------------------------------------------------------------------


def test_the_installed_package_declares_the_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="jiedai_flow")}
    assert found.get("zhaoshang_example") == "jiedai_zhaoshang_example.plugin"


def test_the_plugin_is_discovered_and_loaded_by_its_entry_point() -> None:
    host = make_plugin_manager(autoload=True)
    info = {p.name: p for p in host.plugins()}["zhaoshang_example"]
    assert info.distribution == "jiedai-zhaoshang-example 0.1.0"
    assert info.hooks == ("jiedai_authorize", "jiedai_choose_process", "jiedai_processes")
    engine = open_engine("memory://", autoload=True)
    (ours,) = [p for p in engine.processes if p.key == PROCESS_KEY]
    assert ours.origin == "zhaoshang_example"
    assert create(engine).process == PROCESS_KEY


def test_the_plugin_can_be_blocked_by_name() -> None:
    engine = open_engine("memory://", autoload=True, blocked=("zhaoshang_example",))
    assert PROCESS_KEY not in {p.key for p in engine.processes}
    assert create(engine).process == "reception@1"


# -- README ---------------------------------------------------------------------------------------------


def test_the_readmes_diagram_is_the_definitions() -> None:
    blocks = re.findall(r"```mermaid\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "README.md has no ```mermaid block"
    assert blocks[0] == mermaid(zhaoshang_process(DEFAULT_PROCESS)) + "\n"


# -- 招商局审核的时限与职务分离 ----------------------------------------------------------------------------


def test_the_review_has_an_approval_deadline_for_the_roles_that_decide(
    engine: Engine, clock: FrozenClock
) -> None:
    """审批链签完后，招商局审核按审批时限（默认 3 个工作日）计，从进入审核的那天起。"""
    clock.set(at(date(2026, 3, 2)))  # 周一
    rid = create(engine).id
    to_review(engine, rid)
    (deadline,) = deadlines(engine, engine.get(rid), today=date(2026, 3, 6))
    assert deadline.kind is DeadlineKind.APPROVAL
    assert (deadline.counts_from, deadline.due) == (date(2026, 3, 2), date(2026, 3, 5))
    assert deadline.status is DeadlineStatus.OVERDUE
    assert deadline.roles == (Role.APPROVER,)
    assert "招商局审核" in deadline.basis_zh


def test_who_signed_the_chain_cannot_also_review(engine: Engine) -> None:
    """既是分管领导又有「招商局」级别的人：签了审批链，就不能再做招商局审核（引擎的职务分离）。"""
    both = Actor("wu.two", "吴兼", frozenset({Role.APPROVER}), HOST, frozenset({"分管领导", "招商局"}))
    rid = create(engine).id
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", both, reason="同意")
    assert "不相容职务分离" in denied(engine, rid, "investment_approve", both)
    engine.fire(rid, "investment_approve", BUREAU, reason="同意")

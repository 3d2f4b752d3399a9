"""``jiedai demo``: one complete, realistic reception, each step printed in Chinese.

A city bureau sends a 公函 for a two-day research visit; the county office plans a working meal
with too many companions, is refused with findings, corrects the plan, is approved in two steps,
hosts the visit, files the 接待清单, is settled by finance and archived; the audit trail ends it.
"""

from __future__ import annotations

import functools
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.common import current_lang, heading, label, say
from jiedai_flow.domain.model import (
    Activity,
    Actor,
    DocumentKind,
    Guest,
    Invoice,
    Itinerary,
    LetterKind,
    ListItem,
    Meal,
    MealKind,
    OfficialLetter,
    Payment,
    PaymentMethod,
    Person,
    Plan,
    Purpose,
    Rank,
    ReceptionList,
    Role,
    VenueType,
)
from jiedai_flow.domain.records import ApprovalStep
from jiedai_flow.errors import RuleViolationError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.process.engine import CHINA_TZ, open_engine

if TYPE_CHECKING:
    from jiedai_flow.domain.records import CommandResult, Reception
    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.process.engine import Engine

HANDLER = Actor("zhang.wei", "张伟", frozenset({Role.HANDLER}), "县政府办公室")
DIRECTOR = Actor("sun.hao", "孙浩", frozenset({Role.APPROVER}), "县政府办公室", frozenset({"部门负责人"}))
LEADER = Actor("li.na", "李娜", frozenset({Role.APPROVER}), "县政府", frozenset({"分管领导"}))
FINANCE = Actor("wang.fang", "王芳", frozenset({Role.FINANCE}), "县政府办公室")

VISIT = date(2026, 3, 10)


class DemoClock:
    """Moves the demo through a realistic week, one step at a time."""

    def __init__(self) -> None:
        self.moments = iter(
            datetime(2026, 3, day, hour, minute, tzinfo=CHINA_TZ)
            for day, hour, minute in [
                (5, 9, 0), (5, 9, 30), (5, 10, 0), (5, 10, 40), (5, 11, 0), (6, 9, 15),
                (10, 8, 30), (11, 17, 0), (13, 10, 0), (16, 14, 0), (17, 9, 0),
            ]
        )  # fmt: skip
        self.last = datetime(2026, 3, 5, 9, 0, tzinfo=CHINA_TZ)

    def now(self) -> datetime:
        self.last = next(self.moments, self.last)
        return self.last


class TwoStepApproval:
    """The county's approval chain: 部门负责人, then 分管领导."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return [ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导")]


def letter() -> OfficialLetter:
    return OfficialLetter(
        kind=LetterKind.LETTER,
        number="市农函〔2026〕12号",
        sending_unit="市农业农村局",
        issued_on=date(2026, 3, 3),
        purpose=Purpose.RESEARCH,
        content="高标准农田建设与春耕备耕考察调研",
        itinerary=Itinerary(VISIT, date(2026, 3, 11), ("县农业产业园", "城关镇"), "实地调研、座谈"),
        personnel=(
            Guest("刘建国", "市农业农村局", "副局长", Rank.BUREAU),
            Guest("陈晓华", "市农业农村局", "科长", Rank.COUNTY),
            Guest("周明", "市农业农村局", "科员", Rank.TOWNSHIP),
            Guest("吴婷", "市农业农村局", "科员", Rank.TOWNSHIP),
        ),
        contact="市农业农村局办公室 0550-1234567",
        meal_requested=True,
    )


def plan(companions: int) -> Plan:
    return Plan(
        meals=(
            Meal(
                VISIT,
                MealKind.LUNCH,
                "县机关食堂",
                VenueType.CANTEEN,
                guests=4,
                companions=companions,
                cost=Decimal(55) * (4 + companions),
                dishes=("家常豆腐", "清炒时蔬", "番茄蛋汤", "米饭"),
            ),
        ),
        activities=(
            Activity(VISIT, "县农业产业园", "高标准农田现场调研", time="09:00-11:30"),
            Activity(VISIT, "县农业农村局会议室", "春耕备耕座谈会", time="14:30-16:30"),
        ),
        companions=(Person("王强", "县农业农村局局长"), Person("赵磊", "县农业农村局副局长")),
        budget=Decimal("400.00"),
    )


def reception_list() -> ReceptionList:
    return ReceptionList(
        guests=letter().personnel,
        items=(
            ListItem(VISIT, "高标准农田现场调研", "县农业产业园", Decimal(0), "09:00-11:30"),
            ListItem(VISIT, "春耕备耕座谈会", "县农业农村局会议室", Decimal(0), "14:30-16:30"),
        ),
        meals=plan(companions=2).meals,  # the meal as eaten: 用餐费用, not an activity
        invoices=(Invoice("0451207", VISIT, "县机关食堂", Decimal("330.00")),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, Decimal("330.00"), "公务卡 6222****1234"),),
        companions=(Person("王强", "县农业农村局局长"), Person("赵磊", "县农业农村局副局长")),
        support_staff=(Person("张伟", "县政府办公室科员"),),
        signed_by="县政府办公室主任 孙浩",
        signed_on=date(2026, 3, 12),
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def run(console: Console | None = None, url: str | None = None) -> int:
    """Run the demo on ``url``, or by default on a SQLite file in a temporary folder removed after."""
    out = console or Console()
    if url is not None:
        where = _where(url)
        return _run(
            out,
            url,
            say(f"数据库：{where}（演示记录留在这里）", f"database: {where} (the records stay here)"),
        )
    # ignore_cleanup_errors: a virus scanner holding the file on Windows must not fail the demo.
    with tempfile.TemporaryDirectory(prefix="jiedai-demo-", ignore_cleanup_errors=True) as folder:
        note = say(
            "临时数据库，演示结束即删除（--here 写入 --db）",
            "a temporary database, removed at the end (--here writes to --db)",
        )
        return _run(out, f"sqlite:///{Path(folder) / 'jiedai.db'}", note)


def _where(url: str) -> str:
    """Where the demo writes: a SQLite file's absolute path, else the URL without its password."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return url
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return str(Path(parsed.database).resolve())
    return parsed.render_as_string(hide_password=True)


def _run(out: Console, url: str, note: str) -> int:
    engine = open_engine(url, autoload=False, plugins=[TwoStepApproval()], clock=DemoClock())
    try:
        return _walk(out, engine, note)
    finally:
        engine.store.close()  # before the temporary folder goes


def _walk(out: Console, engine: Engine, note: str) -> int:
    out.rule(
        Text(say("jiedai_flow 演示：一次完整的公务接待", "jiedai_flow demo: a complete reception"), "bold")
    )
    out.print(Text(note, "dim"))
    created = engine.create_reception(
        letter(), plan(companions=6), handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    )
    rid = created.reception.id
    _step(
        out,
        engine,
        created,
        say("登记公函，草拟接待方案（陪餐 6 人）", "letter registered, plan drafted (6 companions)"),
    )
    try:
        engine.fire(rid, "submit", HANDLER)
    except RuleViolationError as refused:
        out.print(Text("✗ " + say("提交审批被拒绝：", "submission refused:"), "red"))
        for finding in refused.findings:
            cited = f"（{finding.citation}）" if current_lang() != "en" else ""
            message = say(finding.message_zh + cited, finding.message_en)
            if current_lang() == "both":
                message = f"{finding.message_zh}{cited}\n   {finding.message_en}"
            out.print(Text.assemble("   ", (finding.rule_id, "red"), f" {message}"))
            out.print(Text(f"   @ {finding.path}", "dim"))
    fire = functools.partial(engine.fire, rid)
    edited = fire("edit", HANDLER, plan=plan(companions=2))
    _step(out, engine, edited, say("更正方案：陪餐减为 2 人", "plan corrected: 2 companions"))
    _step(out, engine, fire("submit", HANDLER), say("提交审批", "submitted for approval"))
    director = fire("approve", DIRECTOR, reason="同意，按标准安排")
    _step(out, engine, director, say("部门负责人审批同意", "approved by the head of department"))
    _step(
        out,
        engine,
        fire("approve", LEADER, reason="同意"),
        say("分管领导审批同意", "approved by the leader in charge"),
    )
    _step(
        out, engine, fire("start", HANDLER), say("来宾抵达，开始接待", "the guests arrive, the visit starts")
    )
    _step(out, engine, fire("finish", HANDLER), say("接待结束", "the visit ends"))
    listing = reception_list()
    claimed = fire("claim", HANDLER, reception_list=listing)
    _step(out, engine, claimed, say("填报接待清单，提交报销", "reception list filed for reimbursement"))
    _step(
        out,
        engine,
        fire("settle", FINANCE),
        say("财务审核，公务卡结算", "finance settles on the official card"),
    )
    _step(out, engine, fire("archive", FINANCE), say("归档", "archived"))
    _trail(out, engine, rid)
    verify = getattr(engine.store, "verify", None)
    if verify is not None:
        report = verify()
        if report.ok:
            verdict = say(
                f"审计链校验：完整（{report.checked} 条）", f"audit chain: intact ({report.checked} events)"
            )
        else:
            verdict = label("审计链校验：", "audit chain: ") + str(report.problem)
        out.print(verdict)
    return 0


def _step(out: Console, engine: Engine, result: CommandResult, text: str) -> None:
    r = result.reception
    state = _state(engine, r.state)
    who = result.event.actor_name
    out.print(
        Text.assemble(("✓", "green"), f" {text} — {who} → {state} ", (f"(v{r.version}, {r.number})", "dim"))
    )
    for finding in result.findings:
        out.print(
            Text.assemble(
                "   ", (finding.rule_id, "yellow"), " ", say(finding.message_zh, finding.message_en)
            )
        )


def _state(engine: Engine, state: str) -> str:
    """A state by its Chinese label 「草拟」, its English one, or both."""
    return label(f"「{engine.process.label(state)}」", engine.process.label_en(state))


def _state_text(engine: Engine, state: str) -> str:
    """A state in the audit trail: 草拟, draft, or both."""
    return label(engine.process.label(state), engine.process.label_en(state))


def _trail(out: Console, engine: Engine, reception_id: str) -> None:
    table = Table(title=label("审计记录", "audit trail"), show_lines=False)
    headings = (
        ("时间", "time"),
        ("操作人", "actor"),
        ("操作", "trigger"),
        ("状态变化", "state"),
        ("理由", "reason"),
    )
    table.add_column("#")
    for zh, en in headings:
        table.add_column(heading(zh, en), overflow="fold", min_width=4)
    labels = engine.process.trigger_defs
    for e in engine.history(reception_id):
        source = _state_text(engine, e.from_state) if e.from_state else "—"
        trigger = labels[e.trigger].label if e.trigger in labels else "登记公函"
        table.add_row(
            str(e.seq),
            e.at.strftime("%m-%d %H:%M"),
            e.actor_name,
            label(trigger, e.trigger),
            f"{source} → {_state_text(engine, e.to_state)}",
            e.reason,
        )
    out.print(table)
    final = engine.get(reception_id)
    out.print(
        f"{label('规则包', 'rule pack')}: {final.rule_pack} · {label('流程', 'process')}: {final.process}"
    )
    done = say(
        f"接待 {final.number} 已归档，共 {final.version} 步，每步留痕。",
        f"reception {final.number} archived after {final.version} steps, each one on the record.",
    )
    out.print(Text(done, "bold"))

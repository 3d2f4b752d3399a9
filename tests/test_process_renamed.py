"""The process is data: a copy of the default process with every trigger and state renamed (to
pinyin) runs the whole lifecycle exactly as the default does — rules, approval chain, separation of
duties, routing, deadlines, reports, import and diagram. The same scenario runs on both engines and
every observable, translated back to the default names, must be equal."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from jiedai_flow import DEFAULT_PROCESS, ApprovalStep, NotAuthorizedError, RuleViolationError, hookimpl
from jiedai_flow.domain.samples import sample_list
from jiedai_flow.importer import COLUMNS, import_file
from jiedai_flow.notify.deadlines import deadlines
from jiedai_flow.process.diagram import mermaid, trail
from jiedai_flow.process.engine import CHINA_TZ, open_engine
from jiedai_flow.reports import annual_summary, disclosure
from jiedai_flow.storage.migrate import upgrade
from jiedai_flow.testing import ACTORS, FrozenClock, sample_letter, sample_plan

if TYPE_CHECKING:
    from pathlib import Path

    from jiedai_flow import Engine
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.domain.standards import Standards

STATES = {
    "draft": "caogao",
    "submitted": "daishenpi",
    "approved": "yishenpi",
    "in_progress": "jiedaizhong",
    "completed": "jiedaijieshu",
    "settling": "baoxiaoshenhe",
    "settled": "yijiesuan",
    "archived": "yiguidang",
    "refused": "buyujiedai",
    "cancelled": "yichexiao",
}
TRIGGERS = {
    "edit": "xiugai",
    "submit": "tijiao",
    "withdraw": "chehui",
    "approve": "tongyi",
    "return": "tuihui",
    "refuse": "jujue",
    "amend": "biangeng",
    "start": "kaishi",
    "start_urgent": "jinjikaishi",
    "finish": "jieshu",
    "claim": "baoxiao",
    "settle": "jiesuan",
    "archive": "guidang",
    "cancel": "chexiao",
}
RENAMED = DEFAULT_PROCESS.renamed(STATES, TRIGGERS, name="jiedai-pinyin", version="1")
BACK = {v: k for k, v in {**STATES, **TRIGGERS}.items()}

HANDLER, DIRECTOR, APPROVER = ACTORS["handler"], ACTORS["director"], ACTORS["approver"]
FINANCE, OFFICE = ACTORS["finance"], ACTORS["office"]
VISIT = date(2026, 10, 12)


def back(name: str) -> str:
    """A name of the renamed process as the default calls it."""
    return BACK.get(name, name)


class TwoSteps:
    """部门负责人 signs, then 分管领导."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return [ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导")]


class Heard:
    """Every notification the engine hands to observers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[str, ...], str]] = []

    @hookimpl
    def jiedai_notify(self, notification: Any, reception: Reception) -> None:
        del reception
        recipients = tuple(r.value for r in notification.recipients)
        self.seen.append((back(notification.topic), recipients, notification.action_zh))


def _engine(tmp_path: Path, renamed: bool, heard: Heard) -> Engine:
    url = f"sqlite:///{tmp_path / ('renamed.db' if renamed else 'default.db')}"
    upgrade(url)
    clock = FrozenClock(datetime(2026, 9, 30, 9, tzinfo=CHINA_TZ))
    processes = (RENAMED,) if renamed else (DEFAULT_PROCESS,)
    return open_engine(url, autoload=False, plugins=[TwoSteps(), heard], clock=clock, processes=processes)


def _t(renamed: bool, trigger: str) -> str:
    return TRIGGERS[trigger] if renamed else trigger


def scenario(engine: Engine, renamed: bool) -> dict[str, Any]:
    """The whole lifecycle, with every refusal on the way; what each step shows, in default names."""
    seen: dict[str, Any] = {}
    clock = engine.clock
    assert isinstance(clock, FrozenClock)
    over = sample_plan(VISIT)
    created = engine.create_reception(
        sample_letter(VISIT), over, handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    )
    rid = created.reception.id
    seen["created"] = back(created.reception.state)
    seen["triggers_draft"] = sorted(back(t) for t in engine.available_triggers(rid, HANDLER))
    seen["check"] = sorted(
        (back(s), f.rule_id) for s, fs in engine.check(rid, "all").by_stage.items() for f in fs
    )
    engine.fire(rid, _t(renamed, "submit"), HANDLER)
    # separation of duties: the handler cannot approve, nobody signs two steps
    with pytest.raises(NotAuthorizedError) as own:
        engine.fire(rid, _t(renamed, "approve"), HANDLER)
    seen["own"] = own.value.reason_zh
    seen["deadlines"] = [
        (d.kind.value, d.due, d.step) for d in deadlines(engine, engine.get(rid), today=VISIT)
    ]
    first = engine.fire(rid, _t(renamed, "approve"), DIRECTOR)
    seen["after_first"] = back(first.reception.state)
    with pytest.raises(NotAuthorizedError) as twice:  # the director cannot sign the second step too
        engine.fire(rid, _t(renamed, "approve"), DIRECTOR)
    seen["twice"] = twice.value.reason_zh
    final = engine.fire(rid, _t(renamed, "approve"), APPROVER)
    seen["approved"] = back(final.reception.state)
    seen["committed"] = final.reception.budget_committed_fen
    clock.set(datetime(2026, 10, 12, 9, tzinfo=CHINA_TZ))
    engine.fire(rid, _t(renamed, "start"), HANDLER)
    engine.fire(rid, _t(renamed, "finish"), HANDLER)
    unsigned = attrs.evolve(sample_list(engine.get(rid)), signed_by="")
    with pytest.raises(RuleViolationError) as incomplete:
        engine.fire(rid, _t(renamed, "claim"), HANDLER, reception_list=unsigned)
    seen["claim_refused"] = sorted({f.rule_id for f in incomplete.value.findings if f.blocks})
    engine.fire(rid, _t(renamed, "claim"), HANDLER, reception_list=sample_list(engine.get(rid)))
    settled = engine.fire(rid, _t(renamed, "settle"), FINANCE)
    seen["settled_committed"] = settled.reception.budget_committed_fen
    done = engine.fire(rid, _t(renamed, "archive"), OFFICE)
    seen["final"] = back(done.reception.state)
    history = engine.history(rid)
    seen["trail"] = [(back(e.trigger), back(e.from_state), back(e.to_state), e.actor_id) for e in history]
    path = trail(history)
    seen["diagram_lines"] = len(mermaid(engine.process_of(done.reception).definition, path).splitlines())
    summary = annual_summary(engine.store, 2026, engine=engine)
    seen["summary"] = [(r.host_unit, r.batches, r.actual, r.violations) for r in summary]
    seen["disclosure"] = [(r.host_unit, r.batches) for r in disclosure(engine.store, 2026, engine=engine)]
    seen["verify"] = engine.store.verify().ok  # type: ignore[attr-defined]
    return seen


def test_the_renamed_process_runs_every_step_as_the_default_does(tmp_path: Path) -> None:
    heard_default, heard_renamed = Heard(), Heard()
    default = scenario(_engine(tmp_path, False, heard_default), renamed=False)
    renamed = scenario(_engine(tmp_path, True, heard_renamed), renamed=True)
    assert renamed == default
    assert heard_renamed.seen == heard_default.seen
    # the scenario did exercise what it claims to
    assert default["final"] == "archived"
    assert default["after_first"] == "submitted"
    assert default["deadlines"]
    assert default["deadlines"][0][0] == "approval"
    assert default["claim_refused"]
    assert default["summary"]
    assert default["summary"][0][1] == 1
    assert default["disclosure"] == [("县政府办公室", 1)]
    assert default["committed"] > 0
    assert default["settled_committed"] == 0
    assert ("approve", ("approver",), "请审批下一环节") in heard_default.seen
    assert default["verify"]
    assert "不相容职务分离" in default["own"]


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    names = [c.name for c in COLUMNS if any(c.name in r for r in rows)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([[r.get(n, "") for n in names] for r in rows])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


ROW = {
    "letter_number": "市农函〔2024〕3号",
    "sending_unit": "市农业农村局",
    "purpose": "考察调研",
    "content": "春耕调研",
    "start": "2024-03-05",
    "end": "2024-03-06",
    "guests": "刘建国/副局长//厅局级; 陈晓华/科长",
    "host_unit": "县政府办公室",
    "jurisdiction": "341502",
    "handler": "张伟",
    "meal_venue": "县机关食堂",
    "meal_cost": "180.00",
    "companion_names": "王强/局长",
    "support_staff": "赵敏/科员",
    "approvers": "孙浩",
    "finance": "王芳",
    "invoice_number": "0001",
    "signed_by": "孙浩",
}


@pytest.mark.parametrize("renamed", [False, True], ids=["default", "pinyin"])
def test_import_walks_the_renamed_process_by_its_declarations(tmp_path: Path, renamed: bool) -> None:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    upgrade(url)
    processes = (RENAMED,) if renamed else (DEFAULT_PROCESS,)
    engine = open_engine(url, autoload=False, processes=processes, clock=FrozenClock())
    rows = [
        ROW,
        {
            **ROW,
            "letter_number": "拒1",
            "state": STATES["refused"] if renamed else "refused",
            "reason": "不属于",
        },
        {**ROW, "letter_number": "撤1", "state": "已撤销", "reason": "来访取消"},
    ]
    report = import_file(engine, _csv(tmp_path / "past.csv", rows), ACTORS["admin"])
    assert report.ok, report.errors
    assert [back(i.state) for i in report.imported] == ["archived", "refused", "cancelled"]
    archived = engine.get(report.imported[0].reception_id)
    assert archived.reception_list is not None
    assert archived.reception_list.total == Decimal("180.00")
    assert [back(e.trigger) for e in engine.history(archived.id)] == [
        "create", "submit", "approve", "start", "finish", "claim", "settle", "archive",
    ]  # fmt: skip


def test_every_trigger_of_the_renamed_process_still_runs_its_rule_stage() -> None:
    for trigger in RENAMED.triggers:
        assert trigger.rule_stage == back(trigger.name)

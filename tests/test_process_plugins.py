"""Processes from plugins 插件提供的流程: contributed and chosen by hooks, validated when the engine is
built with the contributing plugin named, and a follow-up stage whose entries are deadlines, reminders
and figures of the annual summary."""

from __future__ import annotations

import json
import traceback
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from click.testing import CliRunner

import jiedai_flow.process.engine
from jiedai_flow import (
    DEFAULT_PROCESS,
    DefinitionError,
    FollowUp,
    FollowUpKind,
    Guest,
    InvalidTransitionError,
    Phase,
    PluginError,
    ProjectOutcome,
    ReceptionType,
    Role,
    Rule,
    StateDef,
    Transition,
    TriggerDef,
    ValidationError,
    hookimpl,
)
from jiedai_flow.cli import main
from jiedai_flow.domain.samples import sample_list
from jiedai_flow.notify.deadlines import DeadlineKind, DeadlineStatus, deadlines, due_states
from jiedai_flow.process.engine import CHINA_TZ, open_engine
from jiedai_flow.reports import annual_summary
from jiedai_flow.storage.migrate import upgrade
from jiedai_flow.testing import ACTORS, FrozenClock, sample_letter, sample_plan

if TYPE_CHECKING:
    from decimal import Decimal
    from pathlib import Path

    from jiedai_flow import Engine, ProcessDefinition

H, A = frozenset({Role.HANDLER}), frozenset({Role.APPROVER})
HANDLER, APPROVER, FINANCE = ACTORS["handler"], ACTORS["approver"], ACTORS["finance"]
VISIT = date(2026, 10, 12)


def with_follow_up(default: ProcessDefinition) -> ProcessDefinition:
    """The default process with an optional follow-up stage after 已结算."""
    return default.derive(name="followed", version="1").add(
        states=[StateDef("following_up", "跟踪服务", phase=Phase.SETTLED)],
        triggers=[
            TriggerDef("record_follow_up", "记录跟踪情况", "record follow-up", carries_follow_up=True),
            TriggerDef("close_follow_up", "结束跟踪", "close follow-up"),
        ],
        transitions=[
            Transition("record_follow_up", "settled", "following_up", H),
            Transition("record_follow_up", "following_up", "following_up", H),
            Transition("close_follow_up", "following_up", "archived", H),
        ],
    )


class Contributes:
    """A plugin contributing what ``make`` derives from the default, chosen for business receptions."""

    def __init__(self, make: Any) -> None:
        self.make = make

    @hookimpl
    def jiedai_processes(self, default: ProcessDefinition) -> list[ProcessDefinition]:
        return [self.make(default)]

    @hookimpl
    def jiedai_choose_process(
        self,
        reception_type: ReceptionType,
        jurisdiction: str,
        host_unit: str,
        amount: Decimal,
        processes: list[str],
    ) -> str | None:
        del jurisdiction, host_unit, amount
        return processes[-1] if reception_type is ReceptionType.BUSINESS else None


def build(make: Any, url: str = "memory://", clock: FrozenClock | None = None) -> Engine:
    return open_engine(
        url, autoload=False, plugins=[("county_x", Contributes(make))], clock=clock or FrozenClock()
    )


# -- rules for a plugin process's own stages ---------------------------------------------------------


class FollowUpRule:
    """A county rule for the follow-up process's own stage ``record_follow_up``."""

    @hookimpl
    def jiedai_register_rules(self, register: Any) -> None:
        register(Rule("FU-01", "跟踪记录", frozenset({"record_follow_up"}), lambda ctx: ()))


def test_a_rule_may_run_at_a_stage_only_a_plugin_process_declares() -> None:
    """The known stages are those of every loaded process, the plugins' included."""
    engine = open_engine(
        "memory://",  # not the default ./jiedai.db, which would land in the checkout
        autoload=False,
        plugins=[("county_x", Contributes(with_follow_up)), ("county.rules", FollowUpRule())],
        clock=FrozenClock(),
    )
    assert [r.id for r in engine.rules.for_stage("record_follow_up")] == ["FU-01"]
    assert "record_follow_up" in engine.rule_stages


def test_without_that_process_the_rule_for_its_stage_is_refused() -> None:
    with pytest.raises(PluginError, match=r"county\.rules.*FU-01.*record_follow_up"):
        open_engine("memory://", autoload=False, plugins=[("county.rules", FollowUpRule())])


# -- validation names the plugin ------------------------------------------------------------------

BROKEN = {
    "dead end": lambda d: d.derive(name="x").add(states=[StateDef("limbo", "悬置")], transitions=[
        Transition("cancel", "approved", "limbo", H)
    ]),
    "unknown role": lambda d: d.derive(name="x").add(transitions=[
        Transition("cancel", "in_progress", "cancelled", frozenset({"mayor"}))  # type: ignore[arg-type]
    ]),
    "list before any approval chain": lambda d: d.derive(name="x").add(
        triggers=[TriggerDef("file_list", "补报清单", "file the list", carries_list=True, stage="submit")],
        transitions=[Transition("file_list", "draft", "draft", H)],
    ),
    "no approve step to insert into": lambda d: d.derive(name="x").insert_step(
        "approve", "draft", "approved", state=StateDef("r", "审核"), via=TriggerDef("ok", "同意", "ok"),
        roles=A,
    ),
    "a misspelt removal": lambda d: d.derive(name="x").remove(triggers=["start_urgnet"]),
    "a misspelt state removal": lambda d: d.derive(name="x").remove(states=["archvied"]),
    "a misspelt rename": lambda d: d.derive(name="x").renamed({"complted": "ended"}, {}),
    "a misspelt replacement": lambda d: d.derive(name="x").replace(
        triggers=[TriggerDef("finsh", "结束", "finish")]
    ),
}  # fmt: skip


@pytest.mark.parametrize("make", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_definition_is_refused_at_engine_build_naming_the_plugin(make: Any) -> None:
    with pytest.raises(DefinitionError) as refused:
        build(make)
    assert "county_x" in refused.value.message_zh
    assert "county_x" in refused.value.message_en


def test_the_problems_are_named() -> None:
    with pytest.raises(DefinitionError, match="dead end"):
        build(BROKEN["dead end"])
    with pytest.raises(DefinitionError, match="unknown role 'mayor'"):
        build(BROKEN["unknown role"])
    with pytest.raises(DefinitionError, match="carries the list from 'draft'"):
        build(BROKEN["list before any approval chain"])
    with pytest.raises(DefinitionError, match="no trigger start_urgnet") as refused:
        build(BROKEN["a misspelt removal"])
    assert "没有操作 start_urgnet" in refused.value.message_zh
    assert "start_urgent" in refused.value.message_zh  # the names it has, to spot the typo
    with pytest.raises(DefinitionError, match="no state complted"):
        build(BROKEN["a misspelt rename"])


def test_replace_swaps_a_declaration_and_keeps_the_transitions() -> None:
    start = DEFAULT_PROCESS.trigger("start")
    changed = DEFAULT_PROCESS.derive(version="7").replace(triggers=[attrs.evolve(start, label="迎接来宾")])
    assert changed.trigger("start").label == "迎接来宾"
    assert changed.transitions == DEFAULT_PROCESS.transitions
    assert [t.name for t in changed.triggers] == [t.name for t in DEFAULT_PROCESS.triggers]


def test_an_english_refusal_shows_the_label_en_a_process_gives_its_state() -> None:
    def labelled(d: ProcessDefinition) -> ProcessDefinition:
        draft = attrs.evolve(d.state("draft"), label_en="being drafted")
        return d.derive(name="labelled", version="1").replace(states=[draft])

    engine = build(labelled)
    letter = attrs.evolve(sample_letter(VISIT), sending_unit="××新能源科技有限公司")
    rid = engine.create_reception(
        letter,
        sample_plan(VISIT),
        handler=HANDLER,
        host_unit="县招商局",
        jurisdiction="341502",
        reception_type=ReceptionType.BUSINESS,
    ).reception.id
    assert engine.get(rid).process == "labelled@1"
    with pytest.raises(InvalidTransitionError) as refused:
        engine.fire(rid, "start", HANDLER)
    assert "is 'being drafted'; 'start' cannot fire now" in refused.value.message_en
    assert "「草拟」" in refused.value.message_zh


def test_one_state_name_with_two_phases_across_processes_is_refused() -> None:
    def other_phase(d: ProcessDefinition) -> ProcessDefinition:
        states = tuple(attrs.evolve(s, phase=Phase.HELD) if s.name == "approved" else s for s in d.states)
        return attrs.evolve(d.derive(name="x"), states=states)

    with pytest.raises(DefinitionError, match="one name, one phase"):
        build(other_phase)


def test_choosing_a_process_that_is_not_loaded_is_an_error() -> None:
    class Chooser:
        @hookimpl
        def jiedai_choose_process(self) -> str:
            return "nowhere@1"

    engine = open_engine("memory://", autoload=False, plugins=[Chooser()], clock=FrozenClock())
    with pytest.raises(DefinitionError, match="nowhere@1"):
        engine.create_reception(
            sample_letter(), sample_plan(), handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
        )


def test_the_chooser_sees_type_and_amount_and_new_receptions_pin_the_choice() -> None:
    engine = build(with_follow_up)
    assert [p.key for p in engine.processes] == ["reception@1", "followed@1"]
    assert engine.processes[1].origin == "county_x"
    ids = {}
    for kind in (ReceptionType.DOMESTIC, ReceptionType.BUSINESS):
        ids[kind] = engine.create_reception(
            sample_letter(VISIT),
            sample_plan(VISIT),
            handler=HANDLER,
            host_unit="县政府办公室",
            jurisdiction="341502",
            reception_type=kind,
        ).reception
    assert ids[ReceptionType.DOMESTIC].process == "reception@1"
    assert ids[ReceptionType.BUSINESS].process == "followed@1"


# -- the follow-up stage --------------------------------------------------------------------------


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=CHINA_TZ)


def settled(engine: Engine, clock: FrozenClock) -> str:
    """A business reception (investors, not state employees: B-01) taken to 已结算."""
    clock.set(at(date(2026, 10, 1)))
    investors = (
        Guest("钱立新", "××新能源科技有限公司", "董事长", state_employee=False),
        Guest("孙悦", "××新能源科技有限公司", "投资总监", state_employee=False),
    )
    letter = attrs.evolve(sample_letter(VISIT), sending_unit="××新能源科技有限公司", personnel=investors)
    rid = engine.create_reception(
        letter,
        sample_plan(VISIT, guests=len(investors)),
        handler=HANDLER,
        host_unit="县招商局",
        jurisdiction="341502",
        reception_type=ReceptionType.BUSINESS,
    ).reception.id
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", APPROVER)
    clock.set(at(VISIT))
    engine.fire(rid, "start", HANDLER)
    engine.fire(rid, "finish", HANDLER)
    engine.fire(rid, "claim", HANDLER, reception_list=sample_list(engine.get(rid)))
    engine.fire(rid, "settle", FINANCE)
    return rid


def test_follow_up_entries_are_deadlines_until_done_and_the_summary_counts_outcomes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    upgrade(url)
    clock = FrozenClock()
    engine = build(with_follow_up, url, clock)
    rid = settled(engine, clock)
    contact = FollowUp(FollowUpKind.CONTACT, "回访投资方", "zhang.wei", due=date(2026, 10, 20))
    engine.fire(rid, "record_follow_up", HANDLER, follow_up=contact)
    assert "following_up" in due_states(engine)
    (deadline,) = deadlines(engine, engine.get(rid), today=date(2026, 10, 21))
    assert (deadline.kind, deadline.due, deadline.status) == (
        DeadlineKind.FOLLOW_UP,
        date(2026, 10, 20),
        DeadlineStatus.OVERDUE,
    )
    assert "zhang.wei" in deadline.action_zh
    done = attrs.evolve(contact, done_on=date(2026, 10, 19))
    engine.fire(rid, "record_follow_up", HANDLER, follow_up=done)
    signed = FollowUp(FollowUpKind.PROGRESS, "签订投资协议", "zhang.wei", outcome=ProjectOutcome.SIGNED)
    engine.fire(rid, "record_follow_up", HANDLER, follow_up=signed)
    reception = engine.get(rid)
    assert [f.kind for f in reception.follow_ups] == [FollowUpKind.CONTACT, FollowUpKind.PROGRESS]
    assert reception.follow_ups[0].done_on == date(2026, 10, 19)  # marked done, not duplicated
    assert all(f.recorded_by == HANDLER.id for f in reception.follow_ups)
    assert deadlines(engine, reception, today=date(2026, 10, 21)) == []
    (row,) = annual_summary(engine.store, 2026, engine=engine)
    assert (row.business, row.signed, row.landed, row.failed) == (1, 1, 0, 0)
    assert row.batches == 1  # following_up is in the settled phase: it took place
    engine.fire(rid, "close_follow_up", HANDLER)
    assert engine.get(rid).state == "archived"
    assert engine.store.verify().ok  # type: ignore[attr-defined]
    engine.store.close()


def test_a_follow_up_on_a_trigger_that_does_not_carry_one_is_refused() -> None:
    clock = FrozenClock()
    engine = build(with_follow_up, clock=clock)
    rid = settled(engine, clock)
    entry = FollowUp(FollowUpKind.FEEDBACK, "对接待满意", "zhang.wei")
    with pytest.raises(ValidationError) as refused:
        engine.fire(rid, "archive", ACTORS["office"], follow_up=entry)
    assert refused.value.problems[0].path == "$.follow_up"
    wrong = FollowUp(FollowUpKind.INTENT, "有意向", "zhang.wei", outcome=ProjectOutcome.LANDED)
    with pytest.raises(ValidationError, match="outcome"):
        engine.fire(rid, "record_follow_up", HANDLER, follow_up=wrong)
    assert engine.get(rid).state == "settled"


def test_cli_fire_records_a_follow_up_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    clock = FrozenClock()
    engine = build(with_follow_up, url, clock)
    rid = settled(engine, clock)
    engine.store.close()
    opened = jiedai_flow.process.engine.open_engine

    def with_plugin(*args: Any, plugins: Any = (), **kwargs: Any) -> Any:
        return opened(*args, plugins=[*plugins, ("county_x", Contributes(with_follow_up))], **kwargs)

    monkeypatch.setattr(jiedai_flow.process.engine, "open_engine", with_plugin)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jiedai-actors.toml").write_text(
        '[[actor]]\nid = "zhang.wei"\nname = "张伟"\nroles = ["handler"]\nunit = "县招商局"\n',
        encoding="utf-8",
    )
    (tmp_path / "跟踪.toml").write_text(
        '[follow_up]\nkind = "项目进展"\nsummary = "项目落地开工"\nowner = "zhang.wei"\noutcome = "落地"\n',
        encoding="utf-8",
    )
    env = {"COLUMNS": "200", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", "JIEDAI_CALENDAR": ""}
    args = [
        "--db",
        url,
        "--json",
        "fire",
        rid,
        "record_follow_up",
        "--as",
        "zhang.wei",
        "--follow-up",
        "跟踪.toml",
    ]
    result = CliRunner().invoke(main, args, env=env, prog_name="jiedai")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(result.exception)))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["state"] == "following_up"
    bad = tmp_path / "坏.toml"
    bad.write_text('[follow_up]\nkind = "闲聊"\nsummary = "x"\nowner = "zhang.wei"\n', encoding="utf-8")
    args[-1] = str(bad)
    refused = CliRunner().invoke(main, args, env=env, prog_name="jiedai")
    assert refused.exit_code == 2
    assert "$.follow_up.kind" in refused.stdout

"""××县插件的测试：本地规则 XX-01、本县标准，以及安装后经入口点被发现。

jiedai_* 夹具（jiedai_engine_factory、jiedai_clock、jiedai_notifications）由 jiedai_flow.testing 自动提供。
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

import attrs
import pytest
from click.testing import CliRunner
from jiedai_county_example import plugin

from jiedai_flow import (
    Activity,
    DocumentKind,
    Invoice,
    LetterKind,
    ListItem,
    Payment,
    PaymentMethod,
    Person,
    ReceptionList,
    RuleViolationError,
    Severity,
    make_plugin_manager,
    open_engine,
)
from jiedai_flow.cli import main as jiedai
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.reports import approval_document, list_document, render_approval_html, render_list_html
from jiedai_flow.testing import ACTORS, sample_letter, sample_list, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable

    from jiedai_flow import Engine, Plan
    from jiedai_flow.testing import FrozenClock, NotificationCapture

COUNTY = "341599"
HANDLER = ACTORS["handler"]
START = date(2026, 3, 10)  # sample_letter(): 2026-03-10 至 03-11，来宾 4 人


@pytest.fixture
def engine(jiedai_engine_factory: Callable[..., Engine]) -> Engine:
    return jiedai_engine_factory(plugin)  # 内置插件 + 本插件；已安装的插件不自动加载


def plan(activity_time: str = "", per_person: str = "45.00") -> Plan:
    """一次机关食堂工作餐（来宾 4 人、陪餐 2 人），外加一项 ``activity_time`` 时的座谈活动。"""
    base = sample_plan(START, cost=Decimal(per_person) * 6)
    talk = Activity(START, "县农业园区", "座谈交流", time=activity_time)
    return attrs.evolve(base, activities=(talk,) if activity_time else ())


def create(
    engine: Engine, the_plan: Plan, jurisdiction: str = COUNTY, kind: LetterKind = LetterKind.LETTER
) -> str:
    letter = attrs.evolve(sample_letter(START), kind=kind)
    created = engine.create_reception(
        letter, the_plan, handler=HANDLER, host_unit="县政府办公室", jurisdiction=jurisdiction
    )
    return created.reception.id


def refused_by(
    engine: Engine, rid: str, trigger: str = "submit", reception_list: ReceptionList | None = None
) -> list[tuple[str, Severity]]:
    """Fire ``trigger`` expecting a refusal: (rule id, severity) of every finding but the notes."""
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, trigger, HANDLER, reception_list=reception_list)
    return [(f.rule_id, f.severity) for f in refused.value.findings if f.severity is not Severity.INFO]


# -- XX-01 晚上九点后不安排接待活动 ----------------------------------------------------------------------


@pytest.mark.parametrize("when", ["21:30", "19:30-21:30", "20:00-01:00", "21：05"])
def test_an_activity_after_nine_pm_is_refused_with_xx01(engine: Engine, when: str) -> None:
    rid = create(engine, plan(when))
    assert refused_by(engine, rid) == [("XX-01", Severity.BLOCKING)]
    assert engine.get(rid).state == "draft"  # 被拒绝的命令什么都不写


@pytest.mark.parametrize("when", ["09:00-11:30", "19:30-21:00", "21:00"])
def test_an_activity_ending_by_nine_pm_passes(engine: Engine, when: str) -> None:
    rid = create(engine, plan(when))
    assert engine.fire(rid, "submit", HANDLER).reception.state == "submitted"


def test_a_time_xx01_cannot_read_is_a_warning_not_a_refusal(engine: Engine) -> None:
    rid = create(engine, plan("晚饭后"))
    result = engine.fire(rid, "submit", HANDLER)
    assert [(f.rule_id, f.severity) for f in result.findings if f.rule_id == "XX-01"] == [
        ("XX-01", Severity.WARNING)
    ]


def test_xx01_applies_only_in_the_county(engine: Engine) -> None:
    rid = create(engine, plan("21:30"), jurisdiction="341502")
    assert engine.fire(rid, "submit", HANDLER).reception.state == "submitted"


def test_the_rule_is_registered_under_the_plugins_name(engine: Engine) -> None:
    rule = engine.rules.rules["XX-01"]
    assert (rule.title, sorted(rule.stages)) == (
        "晚上九点后不安排接待活动",
        ["amend", "approve", "claim", "submit"],
    )


# -- 本县标准 ----------------------------------------------------------------------------------------------


def test_the_county_layer_folds_over_the_national_one(engine: Engine) -> None:
    standards = engine.standards_for(COUNTY, START)
    assert standards.layers == ("全国（2025）", "××县（示例）")
    assert standards.approval_levels == ("部门负责人", "分管领导")
    assert standards.claim_deadline_days == 30
    assert [str(s.amount) for s in standards.meal_standards] == ["50.00", "80.00"]
    assert engine.standards_for(COUNTY, date(2025, 12, 31)).layers == ("全国（2025）",)  # 尚未施行


def test_a_canteen_meal_over_50_a_head_needs_an_explanation(engine: Engine) -> None:
    rid = create(engine, plan(per_person="55.00"))
    assert refused_by(engine, rid) == [("M-03", Severity.NEEDS_EXPLANATION)]
    explained = engine.fire(rid, "submit", HANDLER, explanations={"M-03": "外地专家临时增加一道菜"})
    assert explained.reception.state == "submitted"


def test_a_phone_record_stands_in_for_the_letter_in_the_county(engine: Engine) -> None:
    rid = create(engine, plan(), kind=LetterKind.PHONE_RECORD)
    assert engine.fire(rid, "submit", HANDLER).reception.state == "submitted"
    elsewhere = create(engine, plan(), jurisdiction="341502", kind=LetterKind.PHONE_RECORD)
    assert refused_by(engine, elsewhere) == [("L-01", Severity.BLOCKING)]


def test_approval_takes_two_steps_and_approvers_are_notified(
    engine: Engine, jiedai_notifications: NotificationCapture
) -> None:
    rid = create(engine, plan())
    engine.fire(rid, "submit", HANDLER)
    assert engine.fire(rid, "approve", ACTORS["director"]).reception.state == "submitted"
    assert engine.fire(rid, "approve", ACTORS["approver"]).reception.state == "approved"
    assert jiedai_notifications.topics == ["submit", "approve", "approve"]


def test_a_night_activity_on_the_list_needs_an_explanation_at_the_claim(
    engine: Engine, jiedai_clock: FrozenClock
) -> None:
    rid = create(engine, plan("15:00-17:00"))
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", ACTORS["director"])
    engine.fire(rid, "approve", ACTORS["approver"])
    jiedai_clock.set(datetime(2026, 3, 10, 8, 30, tzinfo=CHINA_TZ))
    engine.fire(rid, "start", HANDLER)
    engine.fire(rid, "finish", HANDLER)
    jiedai_clock.set(datetime(2026, 3, 13, 9, 0, tzinfo=CHINA_TZ))
    listing = reception_list(engine, rid, talk_time="19:30-21:40")  # 座谈实际拖到了九点后
    assert refused_by(engine, rid, "claim", reception_list=listing) == [("XX-01", Severity.NEEDS_EXPLANATION)]
    claimed = engine.fire(
        rid, "claim", HANDLER, reception_list=listing, explanations={"XX-01": "座谈延时，已报分管领导同意"}
    )
    assert claimed.reception.state == "settling"


def reception_list(engine: Engine, rid: str, talk_time: str) -> ReceptionList:
    reception = engine.get(rid)
    meal = reception.plan.meals[0]
    talk = ListItem(START, "座谈交流", "县农业园区", Decimal(0), time=talk_time)
    return ReceptionList(
        guests=reception.letter.personnel,
        items=(talk,),
        meals=(meal,),
        invoices=(Invoice("No.00012345", START, meal.venue, meal.cost),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, meal.cost, "POS 000123"),),
        companions=(Person("王强", "县农业农村局局长"), Person("赵刚", "县农业农村局科长")),
        support_staff=(Person("李明", "县政府办公室科员"),),
        signed_by="孙浩",
        signed_on=date(2026, 3, 12),
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


# -- 打印文书：本县的标题栏 ----------------------------------------------------------------------------


def test_the_printed_forms_carry_the_county_title_block(engine: Engine) -> None:
    """本县模板只换标题栏：表号和「××县」抬头；其余版式（签字栏、盖章栏）仍是内置的。"""
    rid = create(engine, plan())
    reception = engine.get(rid)
    templates = engine.hooks.jiedai_templates()
    assert templates == [plugin.TEMPLATES]
    reception = attrs.evolve(reception, reception_list=sample_list(reception))
    for page in (
        render_list_html(list_document(reception), templates=templates),
        render_approval_html(approval_document(reception), templates=templates),
    ):
        assert "××县公务接待专用　表号 XX-JD-01" in page
        assert "<h1>××县公务接待" in page
        assert "单位盖章" in page
        assert "XX County" not in page  # 默认只有中文
    both = render_list_html(list_document(reception), lang="both", templates=templates)
    assert "XX County · Official reception list" in both
    assert "XX-JD-01" not in render_list_html(list_document(reception))  # 不给本县模板时是内置标题栏


# -- 安装后：入口点 ---------------------------------------------------------------------------------------


def test_the_installed_package_declares_the_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="jiedai_flow")}
    assert found.get("xx_county") == "jiedai_county_example.plugin"


def test_the_plugin_is_discovered_and_loaded_by_its_entry_point() -> None:
    host = make_plugin_manager(autoload=True)
    info = {p.name: p for p in host.plugins()}["xx_county"]
    assert info.distribution == "jiedai-county-example 0.1.0"
    assert info.hooks == ("jiedai_register_rules", "jiedai_standards_layers", "jiedai_templates")
    engine = open_engine("memory://", autoload=True)
    assert engine.rules.rules["XX-01"].plugin == "xx_county"
    assert engine.standards_for(COUNTY, START).layers[-1] == "××县（示例）"


def test_the_plugin_can_be_blocked_by_name() -> None:
    engine = open_engine("memory://", autoload=True, blocked=("xx_county",))
    assert "XX-01" not in engine.rules.rules


def test_jiedai_plugins_lists_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIEDAI_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(jiedai, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "xx_county" in result.output
    assert "jiedai-county-example 0.1.0" in result.output

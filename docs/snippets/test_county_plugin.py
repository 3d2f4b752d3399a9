"""县插件的测试，放在插件包的 tests/ 里。jiedai_* 夹具由 jiedai_flow.testing 自动提供。"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import county_plugin  # 被测的插件模块
import pytest

from jiedai_flow import RuleViolationError
from jiedai_flow.testing import ACTORS, HookRecorder, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable

    from jiedai_flow import Engine
    from jiedai_flow.testing import FrozenClock, NotificationCapture

HANDLER = ACTORS["handler"]


@pytest.fixture
def engine(jiedai_engine_factory: Callable[..., Engine]) -> Engine:
    return jiedai_engine_factory(county_plugin)  # 内置插件 + 本插件；已安装的插件不加载


def create(engine: Engine, cost: str = "360.00") -> str:
    plan = sample_plan(cost=Decimal(cost))  # 2026-03-10 来宾 4 人、陪餐 2 人的一次工作餐
    created = engine.create_reception(
        sample_letter(), plan, handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    )
    return created.reception.id


def test_late_submission_needs_a_written_explanation(engine: Engine, jiedai_clock: FrozenClock) -> None:
    rid = create(engine)
    jiedai_clock.advance(days=8)  # 冻结时钟从 03-02 拨到 03-10，接待当天才报批
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    assert [f.rule_id for f in refused.value.findings] == ["LA-01"]
    result = engine.fire(rid, "submit", HANDLER, explanations={"LA-01": "上级临时通知来访"})
    assert [e.rule_id for e in result.event.explanations] == ["LA-01"]


def test_county_meal_standard_is_applied_by_the_national_m03(engine: Engine) -> None:
    rid = create(engine, cost="420.00")  # 6 人 420 元，人均 70 元 > 60 元
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    assert [f.rule_id for f in refused.value.findings] == ["M-03"]
    assert engine.get(rid).state == "draft"  # 被拒绝的命令什么都不写


def test_county_layer_folds_over_the_national_one(engine: Engine) -> None:
    standards = engine.standards_for("341502", date(2026, 3, 10))
    assert standards.layers == ("全国（2025）", "××县（2026）")
    assert standards.claim_deadline_months == 1


def test_approval_takes_two_steps_and_approvers_are_notified(
    engine: Engine, jiedai_notifications: NotificationCapture
) -> None:
    rid = create(engine)
    engine.fire(rid, "submit", HANDLER)
    assert engine.fire(rid, "approve", ACTORS["director"]).reception.state == "submitted"
    assert engine.fire(rid, "approve", ACTORS["approver"]).reception.state == "approved"
    assert jiedai_notifications.topics == ["submit", "approve", "approve"]


def test_submission_asks_the_plugins_for_the_approval_chain(engine: Engine) -> None:
    rid = create(engine)
    recorder = HookRecorder(engine)
    engine.fire(rid, "submit", HANDLER)
    recorder.undo()
    assert "jiedai_approval_chain" in recorder.names

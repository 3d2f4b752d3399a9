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


def create(engine: Engine, cost: str) -> str:
    plan = sample_plan(cost=Decimal(cost))  # 来宾 4 人、陪餐 2 人的一次工作餐
    created = engine.create_reception(
        sample_letter(), plan, handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    )
    return created.reception.id


def test_meal_over_the_county_cap_is_refused_with_la01(engine: Engine) -> None:
    rid = create(engine, "420.00")  # 人均 70 元 > 60 元
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    assert [f.rule_id for f in refused.value.findings] == ["LA-01"]
    assert engine.get(rid).state == "draft"  # 被拒绝的命令什么都不写


def test_county_layer_folds_over_the_national_one(engine: Engine) -> None:
    standards = engine.standards_for("341502", date(2026, 3, 10))
    assert standards.layers == ("全国（2025）", "××县（2026）")
    assert standards.meal_cap_per_person == Decimal("60.00")


def test_approval_takes_two_steps_and_approvers_are_notified(
    engine: Engine, jiedai_notifications: NotificationCapture
) -> None:
    rid = create(engine, "360.00")
    engine.fire(rid, "submit", HANDLER)
    assert engine.fire(rid, "approve", ACTORS["director"]).reception.state == "submitted"
    assert engine.fire(rid, "approve", ACTORS["approver"]).reception.state == "approved"
    assert jiedai_notifications.topics == ["submit", "approve", "approve"]


def test_events_carry_the_frozen_clock(engine: Engine, jiedai_clock: FrozenClock) -> None:
    rid = create(engine, "360.00")
    moment = jiedai_clock.advance(days=1)
    assert engine.fire(rid, "submit", HANDLER).event.at == moment


def test_submission_asks_the_plugins_for_the_approval_chain(engine: Engine) -> None:
    rid = create(engine, "360.00")
    recorder = HookRecorder(engine)
    engine.fire(rid, "submit", HANDLER)
    recorder.undo()
    assert "jiedai_approval_chain" in recorder.names

"""五分钟上手：登记一件接待，提交审批，审批同意。"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from jiedai_flow import (
    Actor,
    Guest,
    Itinerary,
    LetterKind,
    Meal,
    MealKind,
    OfficialLetter,
    Plan,
    Purpose,
    Rank,
    Reception,
    Role,
    VenueType,
    open_engine,
)

HANDLER = Actor("zhang.wei", "张伟", frozenset({Role.HANDLER}), "县政府办公室")
APPROVER = Actor("li.na", "李娜", frozenset({Role.APPROVER}), "县政府", frozenset({"分管领导"}))


def main() -> Reception:
    engine = open_engine("memory://", autoload=False)  # 内存存储，不自动加载已安装插件
    letter = OfficialLetter(  # 公函
        kind=LetterKind.LETTER,
        number="市农函〔2026〕12号",
        sending_unit="市农业农村局",
        issued_on=date(2026, 3, 3),
        purpose=Purpose.RESEARCH,  # 考察调研
        content="高标准农田建设考察调研",
        itinerary=Itinerary(date(2026, 3, 10), date(2026, 3, 11), ("县农业产业园",)),
        personnel=(
            Guest("刘建国", "市农业农村局", "副局长", Rank.BUREAU),
            Guest("陈晓华", "市农业农村局", "科长", Rank.COUNTY),
        ),
    )
    plan = Plan(  # 接待方案：一次工作餐，陪餐 2 人
        meals=(
            Meal(
                date(2026, 3, 10),
                MealKind.LUNCH,
                "县机关食堂",
                VenueType.CANTEEN,
                guests=2,
                companions=2,
                cost=Decimal("220.00"),
            ),
        ),
        budget=Decimal("300.00"),
    )
    created = engine.create_reception(
        letter, plan, handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    )
    rid = created.reception.id  # 状态「草拟」draft，版本 1
    engine.fire(rid, "submit", HANDLER, request_id="req-0001")  # 提交审批 → 待审批
    result = engine.fire(rid, "approve", APPROVER, reason="同意")  # 审批同意 → 已审批
    for event in engine.history(rid):  # 审计记录：谁、何时、从哪到哪
        print(event.seq, event.trigger, event.from_state or "（新建）", "→", event.to_state, event.actor_name)
    return result.reception


if __name__ == "__main__":
    print(main().state)  # approved

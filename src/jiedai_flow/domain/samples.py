"""Sample data 示例数据: a small county office's actors and a realistic letter and plan.

For examples, demos and tests (:mod:`jiedai_flow.testing` re-exports them); no test framework
is needed to import this module.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from jiedai_flow.domain.model import (
    Actor,
    DocumentKind,
    Guest,
    Invoice,
    Itinerary,
    LetterKind,
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

if TYPE_CHECKING:
    from jiedai_flow.domain.records import Reception

__all__ = ["ACTORS", "sample_letter", "sample_list", "sample_plan"]

ACTORS: dict[str, Actor] = {
    "handler": Actor("zhang.wei", "张伟", frozenset({Role.HANDLER}), "县政府办公室"),
    "handler2": Actor("zhao.min", "赵敏", frozenset({Role.HANDLER}), "县政府办公室"),
    "approver": Actor("li.na", "李娜", frozenset({Role.APPROVER}), "县政府办公室", frozenset({"分管领导"})),
    "director": Actor(
        "sun.hao", "孙浩", frozenset({Role.APPROVER}), "县政府办公室", frozenset({"部门负责人"})
    ),
    "finance": Actor("wang.fang", "王芳", frozenset({Role.FINANCE}), "县财政局"),
    "office": Actor("chen.jie", "陈洁", frozenset({Role.OFFICE}), "县政府办公室"),
    "supervisor": Actor("liu.yang", "刘洋", frozenset({Role.SUPERVISOR}), "县纪委监委"),
    "admin": Actor("admin", "系统管理员", frozenset({Role.ADMIN})),
    "handler_approver": Actor(
        "zhou.lei",
        "周磊",
        frozenset({Role.HANDLER, Role.APPROVER, Role.FINANCE}),
        "县政府办公室",
        frozenset({"分管领导"}),
    ),
}
"""A small county office: 经办人, 审批人 (分管领导, 部门负责人), 财务, 办公室, 纪检监察, 管理员,
and one person holding several roles (to test separation of duties)."""


def sample_letter(start: date = date(2026, 3, 10), guests: int = 4) -> OfficialLetter:
    """A 公函 from a city bureau: a research visit of ``guests`` people over two days."""
    ranks = [Rank.BUREAU, Rank.COUNTY, Rank.TOWNSHIP]
    personnel = tuple(
        Guest(f"来宾{i + 1}", "市农业农村局", "调研员" if i else "副局长", ranks[min(i, 2)])
        for i in range(guests)
    )
    return OfficialLetter(
        kind=LetterKind.LETTER,
        number=f"市农函〔{start.year}〕12号",
        sending_unit="市农业农村局",
        issued_on=start - timedelta(days=5),
        purpose=Purpose.RESEARCH,
        content="高标准农田建设考察调研",
        itinerary=Itinerary(start, start + timedelta(days=1), ("县农业园区",), "实地调研"),
        personnel=personnel,
        contact="市农业农村局办公室 0550-1234567",
        meal_requested=True,
    )


def sample_plan(start: date = date(2026, 3, 10), guests: int = 4, companions: int = 2, **meal: Any) -> Plan:
    """A plan with one working meal at the canteen (``meal`` overrides its fields)."""
    fields: dict[str, Any] = {
        "on": start,
        "kind": MealKind.LUNCH,
        "venue": "县机关食堂",
        "venue_type": VenueType.CANTEEN,
        "guests": guests,
        "companions": companions,
        "cost": Decimal(60) * (guests + companions),
        "dishes": ("家常豆腐", "青菜", "米饭"),
    }
    fields.update(meal)
    return Plan(
        meals=(Meal(**fields),),
        companions=(Person("王强", "县农业农村局局长"),),
        budget=Decimal(1000),
    )


def sample_list(reception: Reception) -> ReceptionList:
    """A complete 接待清单 for ``reception`` as planned: its guests and meals, one invoice and a 公务卡
    payment for the meals, the plan's companions, one support staff member, signed on the last
    day, with the national document set — what a clean claim carries."""
    total = sum((m.cost for m in reception.plan.meals), Decimal(0))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=reception.plan.meals,
        invoices=(Invoice("0000001", reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡"),),
        companions=reception.plan.companions,
        support_staff=(Person("刘敏", "县政府办公室科员"),),
        signed_by="县政府办公室主任 孙浩",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )

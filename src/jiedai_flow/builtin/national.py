"""The national rule pack 国家规则包, registered through the same hooks a county plugin uses.

Plugin name ``jiedai.national``. Rule ids follow reference §5. Each check is a pure function of
the reception and its resolved standards. Versions by date: the 2013 rules until the 2025 revision
of 《党政机关厉行节约反对浪费条例》, which bans alcohol at working meals outright.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from jiedai_flow.findings import Citation, Finding, Severity
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.model import ActivityKind, PaymentMethod
from jiedai_flow.rules import Rule
from jiedai_flow.standards import (
    REVISION_2025,
    RULE_PACK_2013,
    RULE_PACK_2025,
    Level,
    StandardsLayer,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.rules import RegisterRule, RuleContext

RULES_2013 = "《党政机关国内公务接待管理规定》"
ECONOMY_2025 = "《党政机关厉行节约反对浪费条例》（2025年修订）"
EIGHT_POINTS = "中央八项规定及其实施细则"

PLAN_STAGES = frozenset({"submit", "approve", "amend"})
CLAIM_STAGES = frozenset({"claim"})
PAYMENT_STAGES = frozenset({"claim", "settle"})


def _block(rule_id: str, zh: str, en: str, path: str, citation: Citation) -> Finding:
    return Finding(rule_id, Severity.BLOCKING, zh, en, path, citation)


# --- L: the letter ---------------------------------------------------------------------------


def check_letter_kind(ctx: RuleContext) -> Iterator[Finding]:
    """L-01 无公函不接待: the letter, or a substitute the standards accept, must be there."""
    kind = ctx.reception.letter.kind
    if kind not in ctx.standards.accepted_letters:
        accepted = "、".join(k.label for k in sorted(ctx.standards.accepted_letters))
        yield _block(
            "L-01",
            f"「{kind.label}」不是本地接受的公函形式（接受：{accepted}）",
            f"a {kind.value} is not an accepted letter here",
            "$.letter.kind",
            Citation(RULES_2013, "第七条"),
        )


def check_letter_contents(ctx: RuleContext) -> Iterator[Finding]:
    """L-02 公函内容: content, itinerary and personnel."""
    letter = ctx.reception.letter
    if not letter.personnel:
        yield _block(
            "L-02",
            "公函未列明来访人员",
            "the letter names no visiting personnel",
            "$.letter.personnel",
            Citation(RULES_2013, "第五条"),
        )


# --- M: meals ---------------------------------------------------------------------------------


def check_working_meals(ctx: RuleContext) -> Iterator[Finding]:
    """M-01 工作餐一次: at most ``working_meals_max`` host-paid working meals."""
    meals = [m for m in ctx.reception.plan.meals if m.working_meal]
    cap = ctx.standards.working_meals_max
    if len(meals) > cap:
        yield _block(
            "M-01",
            f"安排工作餐 {len(meals)} 次，超过上限 {cap} 次",
            f"{len(meals)} working meals planned, at most {cap} allowed",
            "$.plan.meals",
            Citation(RULES_2013, "第十条"),
        )


def check_companions(ctx: RuleContext) -> Iterator[Finding]:
    """M-02 陪餐人数: ≤3 companions for up to 10 guests, else ≤⌊guests/3⌋."""
    for i, meal in enumerate(ctx.reception.plan.meals):
        cap = ctx.standards.companion_cap(meal.guests)
        if meal.companions > cap:
            yield _block(
                "M-02",
                f"陪餐 {meal.companions} 人，超过上限 {cap} 人（接待对象 {meal.guests} 人）",
                f"{meal.companions} companions exceed the cap of {cap} ({meal.guests} guests)",
                f"$.plan.meals[{i}].companions",
                Citation(RULES_2013, "第十条"),
            )


def check_dishes(ctx: RuleContext) -> Iterator[Finding]:
    """M-04 禁止菜品: no 鱼翅, 燕窝 or other banned dishes."""
    banned = ctx.standards.banned_dishes
    for i, meal in enumerate(ctx.reception.plan.meals):
        for j, dish in enumerate(meal.dishes):
            hits = sorted(b for b in banned if b in dish)
            if hits:
                yield _block(
                    "M-04",
                    f"菜品「{dish}」含禁止菜肴：{'、'.join(hits)}",
                    f"dish {dish!r} contains banned items: {', '.join(hits)}",
                    f"$.plan.meals[{i}].dishes[{j}]",
                    Citation(RULES_2013, "第十条"),
                )


def check_tobacco_alcohol(ctx: RuleContext) -> Iterator[Finding]:
    """M-05 烟酒: no cigarettes; no premium alcohol (2013); no alcohol at all (2025)."""
    no_alcohol = ctx.reception.rule_pack != RULE_PACK_2013 and not ctx.standards.alcohol_allowed
    for i, meal in enumerate(ctx.reception.plan.meals):
        path = f"$.plan.meals[{i}]"
        if meal.cigarettes:
            yield _block(
                "M-05",
                "工作餐不得提供香烟",
                "no cigarettes at working meals",
                f"{path}.cigarettes",
                Citation(RULES_2013, "第十条"),
            )
        if meal.working_meal and meal.alcohol and no_alcohol:
            yield _block(
                "M-05",
                "工作餐不上酒（2025年修订条例）",
                "no alcohol at working meals (2025 revision)",
                f"{path}.alcohol",
                Citation(ECONOMY_2025, "公务接待章"),
            )
        elif meal.premium_alcohol:
            yield _block(
                "M-05",
                "工作餐不得提供高档酒水",
                "no premium alcohol at working meals",
                f"{path}.premium_alcohol",
                Citation(RULES_2013, "第十条"),
            )


# --- C: ceremony and extras -------------------------------------------------------------------

_CEREMONY_LABELS = {
    "airport_welcome": "机场、车站、码头、辖区边界迎送",
    "cross_region_welcome": "跨地区迎送",
    "banners": "张贴悬挂标语横幅",
    "crowds": "安排群众迎送",
    "welcome_carpet": "铺设迎宾地毯",
    "flowers": "摆放花草",
    "main_leader_welcome": "主要负责人参加迎送",
}

_BANNED_ACTIVITIES = frozenset(
    {
        ActivityKind.SIGHTSEEING,
        ActivityKind.ENTERTAINMENT,
        ActivityKind.FITNESS,
        ActivityKind.PERFORMANCE,
    }
)


def check_ceremony(ctx: RuleContext) -> Iterator[Finding]:
    """C-01/C-02 迎送礼仪: no welcome ceremonies, banners, crowds, carpets or flowers."""
    for flag in ctx.reception.plan.ceremony.violations:
        rule_id = "C-02" if flag == "main_leader_welcome" else "C-01"
        source = EIGHT_POINTS if flag == "flowers" else RULES_2013
        yield _block(
            rule_id,
            f"不得{_CEREMONY_LABELS[flag]}",
            f"ceremony not allowed: {flag}",
            f"$.plan.ceremony.{flag}",
            Citation(source, "" if flag == "flowers" else "第八条"),
        )


def check_extras(ctx: RuleContext) -> Iterator[Finding]:
    """C-04 禁止项目: no gifts of any kind; no sightseeing, entertainment, fitness or shows."""
    plan = ctx.reception.plan
    for i, gift in enumerate(plan.gifts):
        yield _block(
            "C-04",
            f"不得赠送{gift.kind.label}：{gift.description}",
            f"no gifts: {gift.description}",
            f"$.plan.gifts[{i}]",
            Citation(RULES_2013, "第十五条"),
        )
    for i, activity in enumerate(plan.activities):
        if activity.kind in _BANNED_ACTIVITIES:
            yield _block(
                "C-04",
                f"不得安排{activity.kind.label}活动：{activity.description}",
                f"activity not allowed ({activity.kind.value}): {activity.description}",
                f"$.plan.activities[{i}].kind",
                Citation(RULES_2013, "第十五条"),
            )


# --- F: settlement ----------------------------------------------------------------------------


def check_list_present(ctx: RuleContext) -> Iterator[Finding]:
    """F-01 报销凭证: a claim carries the reception list 接待清单."""
    if ctx.reception.reception_list is None:
        yield _block(
            "F-01",
            "报销须附接待清单",
            "a claim needs the reception list",
            "$.reception_list",
            Citation(RULES_2013, "第十四条"),
        )


def check_payment(ctx: RuleContext) -> Iterator[Finding]:
    """F-03 支付方式: 公务卡 or transfer; cash only with a written reason; never on account."""
    listing = ctx.reception.reception_list
    if listing is None:
        return
    for i, payment in enumerate(listing.payments):
        path = f"$.reception_list.payments[{i}].method"
        if payment.method is PaymentMethod.ON_ACCOUNT:
            yield _block(
                "F-03",
                "不得挂账消费",
                "no payment on account",
                path,
                Citation(RULES_2013, "第十四条"),
            )
        elif payment.method is PaymentMethod.CASH and not payment.cash_reason.strip():
            yield _block(
                "F-03",
                f"现金支付 {payment.amount} 元须写明理由",
                f"cash payment of {payment.amount} yuan needs a written reason",
                path,
                Citation(RULES_2013, "第十四条"),
            )


NATIONAL_RULES: tuple[Rule, ...] = (
    Rule(
        "L-01",
        "无公函不接待",
        PLAN_STAGES,
        check_letter_kind,
        Citation(RULES_2013, "第七条"),
        "no letter, no reception",
    ),
    Rule(
        "L-02",
        "公函内容",
        PLAN_STAGES,
        check_letter_contents,
        Citation(RULES_2013, "第五条"),
        "letter contents",
    ),
    Rule(
        "M-01",
        "工作餐一次",
        PLAN_STAGES,
        check_working_meals,
        Citation(RULES_2013, "第十条"),
        "one working meal",
    ),
    Rule(
        "M-02",
        "陪餐人数",
        PLAN_STAGES,
        check_companions,
        Citation(RULES_2013, "第十条"),
        "companion cap",
    ),
    Rule(
        "M-04",
        "禁止菜品",
        PLAN_STAGES,
        check_dishes,
        Citation(RULES_2013, "第十条"),
        "banned dishes",
    ),
    Rule(
        "M-05",
        "烟酒",
        PLAN_STAGES,
        check_tobacco_alcohol,
        Citation(RULES_2013, "第十条"),
        "tobacco and alcohol",
    ),
    Rule(
        "C-01",
        "迎送礼仪",
        PLAN_STAGES,
        check_ceremony,
        Citation(RULES_2013, "第八条"),
        "ceremony bans",
    ),
    Rule(
        "C-04",
        "禁止项目",
        PLAN_STAGES,
        check_extras,
        Citation(RULES_2013, "第十五条"),
        "banned extras and gifts",
    ),
    Rule(
        "F-01",
        "报销凭证",
        CLAIM_STAGES,
        check_list_present,
        Citation(RULES_2013, "第十四条"),
        "voucher set",
    ),
    Rule(
        "F-03",
        "支付方式",
        PAYMENT_STAGES,
        check_payment,
        Citation(RULES_2013, "第十四条"),
        "payment method",
    ),
)


NATIONAL_LAYERS = (
    StandardsLayer(
        "全国（2013）",
        Level.NATIONAL,
        "",
        {"rule_pack": RULE_PACK_2013},
        effective_from=date(2013, 12, 8),
        effective_to=REVISION_2025,
        source=RULES_2013,
    ),
    StandardsLayer(
        "全国（2025）",
        Level.NATIONAL,
        "",
        {"rule_pack": RULE_PACK_2025},
        effective_from=REVISION_2025,
        source=ECONOMY_2025,
    ),
)


@hookimpl(trylast=True)
def jiedai_register_rules(register: RegisterRule) -> None:
    for rule in NATIONAL_RULES:
        register(rule)


@hookimpl(trylast=True)
def jiedai_standards_layers(jurisdiction: str, on: date) -> tuple[StandardsLayer, ...]:
    del jurisdiction, on  # national layers cover every jurisdiction; resolve() filters by date
    return NATIONAL_LAYERS

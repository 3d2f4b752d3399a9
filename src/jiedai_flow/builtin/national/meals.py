"""M rules: meals 用餐 — working-meal count, companions, per-person standard, dishes, alcohol, venue,
guests paying for daily meals, table or buffet.

The plan's meals are checked before approval (PLAN_STAGES). The rules about what really happened
at table (M-02 companions, M-03 standard, M-04 dishes, M-05 tobacco and alcohol) check the meals
of the reception list 接待清单 again when the claim is filed (CLAIM_STAGES).

Money is compared exactly: a per-person cap is checked as ``cost ≤ standard × diners`` and a
daily cap as a sum of exact fractions, so a bill exactly at the standard passes and one fen over
does not. Amounts shown in messages are rounded *up* to the fen, so an amount over a standard is
never shown as equal to it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import (
    CLAIM_STAGES,
    ECONOMY_2025,
    PLAN_STAGES,
    art,
    block,
    explain,
    note,
    warn,
)
from jiedai_flow.builtin.national.lexicon import Lexicon, lexicon_of
from jiedai_flow.domain.findings import Citation
from jiedai_flow.domain.model import CENT, ZERO, MealFormat, MealKind, Rank, VenueType
from jiedai_flow.domain.standards import (
    RULE_PACK_2013,
    AlcoholPolicy,
    DishScope,
    LexiconCategory,
    MealUnit,
    WeekdayMeaning,
)
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import date

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.domain.model import Meal
    from jiedai_flow.domain.standards import MealStandard
    from jiedai_flow.process.rules import RuleContext

LOCAL = Citation("本地标准")
"""Findings against a number only a local layer sets (designated venues, buffet threshold …)."""

_PLAN_AND_CLAIM = PLAN_STAGES | CLAIM_STAGES
_CANTEENS = frozenset({VenueType.CANTEEN, VenueType.TOWNSHIP_CANTEEN})
_MEAL_ORDER = {kind: n for n, kind in enumerate(MealKind)}
_UNIT_EN = {
    MealUnit.PERSON_MEAL: "yuan per person-meal",
    MealUnit.PERSON_DAY: "yuan per person-day",
    MealUnit.PERSON_TIME: "yuan per person-time",
}


def meals_at(ctx: RuleContext) -> list[tuple[str, Meal]]:
    """The meals this stage judges, each with its field path: the list's at the claim (what
    happened, ``$.reception_list.meals[i]``), else the plan's (``$.plan.meals[i]``)."""
    if ctx.stage in CLAIM_STAGES:
        listing = ctx.reception.reception_list
        if listing is None:  # F-01 reports the missing list
            return []
        return [(f"$.reception_list.meals[{i}]", m) for i, m in enumerate(listing.meals)]
    return [(f"$.plan.meals[{i}]", m) for i, m in enumerate(ctx.reception.plan.meals)]


def _plan_meals(ctx: RuleContext) -> list[tuple[str, Meal]]:
    return [(f"$.plan.meals[{i}]", m) for i, m in enumerate(ctx.reception.plan.meals)]


def _shown(value: Fraction | Decimal) -> Decimal:
    """An amount for a message: to the fen, rounded up (so "over 90.00" never reads "90.00")."""
    exact = Fraction(value)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, rounding=ROUND_CEILING)


def _union(paths: Iterable[str]) -> str:
    """One JSONPath for several meals: ``$.plan.meals[0,2]``."""
    ordered = sorted(paths, key=lambda p: int(p.rsplit("[", 1)[1].rstrip("]")))
    prefix = ordered[0].rsplit("[", 1)[0]
    return f"{prefix}[{','.join(p.rsplit('[', 1)[1].rstrip(']') for p in ordered)}]"


# --- M-01 工作餐一次 ---


def check_working_meals(ctx: RuleContext) -> Iterator[Finding]:
    """M-01 工作餐一次: at most ``working_meals_max`` host-paid working meals per reception."""
    meals = [m for m in ctx.reception.plan.meals if m.working_meal]
    cap = ctx.standards.working_meals_max
    if len(meals) > cap:
        yield block(
            "M-01",
            f"安排工作餐 {len(meals)} 次，超过上限 {cap} 次",
            f"{len(meals)} working meals planned, at most {cap} allowed",
            "$.plan.meals",
            ctx.standards.cite("working_meals_max", art("第十条")),
        )


# --- M-02 陪餐人数 ---


def check_companions(ctx: RuleContext) -> Iterator[Finding]:
    """M-02 陪餐人数: ≤3 companions for up to 10 guests, else ≤⌊guests/3⌋ (or the type's policy)."""
    kind = ctx.reception.reception_type
    policy_zh = policy_en = ""
    citation = ctx.standards.cite("companions", art("第十条"))
    if kind in ctx.standards.companions_by_type:
        policy_zh, policy_en = f"，按{kind.label}标准", f", {kind.value} reception policy"
        citation = ctx.standards.cite("companions_by_type", citation)
    for path, meal in meals_at(ctx):
        cap = ctx.standards.companion_cap(meal.guests, kind)
        if meal.companions > cap:
            yield block(
                "M-02",
                f"陪餐 {meal.companions} 人，超过上限 {cap} 人（接待对象 {meal.guests} 人{policy_zh}）",
                f"{meal.companions} companions exceed the cap of {cap} ({meal.guests} guests{policy_en})",
                f"{path}.companions",
                citation,
            )


# --- M-03 用餐标准 ---


def _tier(row: MealStandard) -> tuple[str, str]:
    """The conditions of a standard row, for messages: ``县处级，辖区外，午餐``."""
    zh: list[str] = []
    en: list[str] = []
    if row.rank is not None:
        zh.append(row.rank.label)
        en.append(row.rank.value)
    if row.origin is not None:
        zh.append(row.origin.label)
        en.append(f"from {row.origin.value}")
    if row.meal_kind is not None:
        zh.append(row.meal_kind.label)
        en.append(row.meal_kind.value)
    if row.venue_types:
        zh.append("、".join(v.label for v in sorted(row.venue_types)))
        en.append("/".join(sorted(row.venue_types)))
    if row.reception_type is not None:
        zh.append(row.reception_type.label)
        en.append(row.reception_type.value)
    return "，".join(zh) or "统一标准", ", ".join(en) or "flat standard"


def _standard(ctx: RuleContext, meal: Meal) -> MealStandard | None:
    r = ctx.reception
    return ctx.standards.meal_standard(meal, r.letter, r.jurisdiction, r.reception_type)


def check_meal_standard(ctx: RuleContext) -> Iterator[Finding]:
    """M-03 用餐标准: per person-meal (or person-time) cost ≤ the standard; per person-day, the
    day's working meals together ≤ the standard. Over the standard needs a written explanation
    情况说明 and its acceptance (F-07)."""
    days: dict[date, list[tuple[str, Meal, MealStandard]]] = defaultdict(list)
    citation = ctx.standards.cite("meal_standards", art("第十五条"))
    unknown = ctx.reception.letter.highest_rank in (None, Rank.OTHER)
    if unknown and any(
        s.rank is not None or s.rank_at_least is not None for s in ctx.standards.meal_standards
    ):
        yield note(
            "M-03",
            "来宾职级未知，用餐标准按不分职级的一档判断（请在公函的来宾中填写职级）",
            "the guests' ranks are unknown: meals are judged by the standard without a rank tier "
            "(fill in the guests' ranks in the letter)",
            "$.letter.personnel",
            citation,
        )
    for path, meal in meals_at(ctx):
        row = _standard(ctx, meal)
        if row is None:
            continue
        if row.unit is MealUnit.PERSON_DAY:
            if meal.working_meal:
                days[meal.on].append((path, meal, row))
            continue
        if meal.cost > row.amount * meal.diners:
            yield _over_meal(meal, row, path, citation)
    for on, meals in days.items():
        yield from _over_day(on, meals, citation)


def _over_meal(meal: Meal, row: MealStandard, path: str, citation: Citation) -> Finding:
    tier_zh, tier_en = _tier(row)
    per = _shown(Fraction(meal.cost) / meal.diners)
    cap = row.amount * meal.diners
    return explain(
        "M-03",
        f"{meal.on.isoformat()} {meal.kind.label}人均 {per} 元，超过标准 {row.amount} {row.unit.label}"
        f"（{tier_zh}）：{meal.cost} 元 ÷ {meal.diners} 人，本餐上限 {cap} 元",
        f"{meal.kind.value} on {meal.on.isoformat()}: {per} yuan per person exceeds the standard of "
        f"{row.amount} {_UNIT_EN[row.unit]} ({tier_en}): {meal.cost} yuan / {meal.diners} diners, "
        f"at most {cap} yuan",
        f"{path}.cost",
        citation,
    )


def _strictest(rows: Iterable[MealStandard]) -> MealStandard:
    """The lowest amount; ties go to the most specific row, then by tier (never by meal order)."""
    return min(rows, key=lambda r: (r.amount, -r.specificity, _tier(r)))


def _over_day(on: date, meals: list[tuple[str, Meal, MealStandard]], citation: Citation) -> Iterator[Finding]:
    # why: should the day's meals match different per-day rows, the strictest is the day's cap
    row = _strictest(r for _, _, r in meals)
    total = sum((Fraction(m.cost) / m.diners for _, m, _ in meals), Fraction(0))
    if total <= row.amount:
        return
    ordered = sorted(meals, key=lambda e: (_MEAL_ORDER[e[1].kind], e[1].cost, e[1].diners))
    parts_zh = " + ".join(f"{m.kind.label} {m.cost} 元 ÷ {m.diners} 人" for _, m, _ in ordered)
    parts_en = " + ".join(f"{m.kind.value} {m.cost} / {m.diners}" for _, m, _ in ordered)
    tier_zh, tier_en = _tier(row)
    yield explain(
        "M-03",
        f"{on.isoformat()} 工作餐人均合计 {_shown(total)} 元（{parts_zh}），超过标准 {row.amount} "
        f"{row.unit.label}（{tier_zh}）",
        f"working meals on {on.isoformat()} cost {_shown(total)} yuan per person ({parts_en}), over "
        f"the standard of {row.amount} {_UNIT_EN[row.unit]} ({tier_en})",
        _union(p for p, _, _ in meals),
        citation,
    )


# --- M-04 禁止菜品 ---

_PORTIONED = frozenset({MealFormat.BUFFET, MealFormat.SET})


def check_dishes(ctx: RuleContext) -> Iterator[Finding]:
    """M-04 禁止菜品: no 鱼翅, 燕窝 or other banned dishes (at every meal, or only at the working meals
    the host pays for, as ``banned_dishes_scope`` says); buffets and 份饭 within ``max_dishes``. A dish
    the lexicon reads as protected wildlife, not on the list, needs a written explanation."""
    banned = ctx.standards.banned_dishes
    most = ctx.standards.max_dishes
    host_paid_only = ctx.standards.banned_dishes_scope is DishScope.HOST_PAID_WORKING_MEALS
    lexicon = lexicon_of(ctx.standards)
    for path, meal in meals_at(ctx):
        if host_paid_only and not _host_paid_working_meal(meal):
            continue
        blocked = set()
        for j, dish in enumerate(meal.dishes):
            read = lexicon.plain(dish)  # 野生菌 is not 野生: phrases that do not mean the word are skipped
            hits = sorted(b for b in banned if b in read)
            if hits:
                blocked.add(j)
                yield block(
                    "M-04",
                    f"菜品「{dish}」含禁止菜肴：{'、'.join(hits)}",
                    f"dish {dish!r} contains banned items: {', '.join(hits)}",
                    f"{path}.dishes[{j}]",
                    ctx.standards.cite("banned_dishes", art("第十条")),
                )
        named = {j: w for j, w, c in lexicon.in_items(meal.dishes) if c is LexiconCategory.BANNED_DISH}
        for j, word in named.items():
            if j not in blocked:
                dish = meal.dishes[j]
                yield explain(
                    "M-04",
                    f"菜品「{dish}」含「{word}」，疑为禁止菜肴（野生保护动物等），须书面说明",
                    f"dish {dish!r} contains {word!r}, possibly a banned dish (protected wildlife …); "
                    "a written explanation is needed",
                    f"{path}.dishes[{j}]",
                    ctx.standards.cite("banned_dishes", art("第十条")),
                )
        if most is not None and meal.format in _PORTIONED and len(meal.dishes) > most:
            yield block(
                "M-04",
                f"{meal.format.label}菜品 {len(meal.dishes)} 道，超过上限 {most} 道",
                f"{len(meal.dishes)} dishes at a {meal.format.value} meal, at most {most} allowed",
                f"{path}.dishes",
                ctx.standards.cite("max_dishes", LOCAL),
            )


# --- M-05 烟酒 ---

_STRICTNESS = {AlcoholPolicy.ALLOWED: 0, AlcoholPolicy.NO_PREMIUM: 1, AlcoholPolicy.NONE: 2}


def alcohol_policy(ctx: RuleContext) -> tuple[AlcoholPolicy, Citation]:
    """The alcohol policy for this reception: the stricter of its rule pack's (2013: no premium
    alcohol; 2025: none) and the local standards', unless its type is exempt locally (外事/招商)."""
    if ctx.reception.reception_type in ctx.standards.alcohol_exempt_types:
        return AlcoholPolicy.ALLOWED, ctx.standards.cite("alcohol_exempt_types", LOCAL)
    if ctx.reception.rule_pack == RULE_PACK_2013:
        pack = AlcoholPolicy.NO_PREMIUM, art("第十条")
    else:
        pack = AlcoholPolicy.NONE, Citation(ECONOMY_2025, "公务接待章")
    local = ctx.standards.alcohol, ctx.standards.cite("alcohol", LOCAL)
    return max(pack, local, key=lambda p: _STRICTNESS[p[0]])


def _host_paid_working_meal(meal: Meal) -> bool:
    """A working meal the host pays for (guests pay nothing towards it)."""
    return meal.working_meal and not meal.charged_to_guests


def _weekday_lunch(ctx: RuleContext, meal: Meal) -> bool:
    """A lunch on a weekday, as the local standards mean it: Monday–Friday, or the statutory
    working days of the engine's calendar."""
    if meal.kind is not MealKind.LUNCH:
        return False
    if ctx.standards.weekdays is WeekdayMeaning.STATUTORY:
        return ctx.is_workday(meal.on)
    return meal.on.weekday() < 5


def check_tobacco_alcohol(ctx: RuleContext) -> Iterator[Finding]:
    """M-05 烟酒: no cigarettes; alcohol by the rule pack and the local policy; local weekday-lunch bans
    (Monday–Friday, or the statutory working days where ``weekdays = "statutory"``).

    The dishes are read too (词表): a cigarette, premium drink or alcohol named but not ticked needs a
    written explanation where the ticked flag would have been refused, else it is a warning."""
    policy, citation = alcohol_policy(ctx)
    lexicon = lexicon_of(ctx.standards)
    for path, meal in meals_at(ctx):
        yield from _unticked(ctx, lexicon, path, meal, policy, citation)
        if meal.cigarettes:
            yield block(
                "M-05",
                "工作餐不得提供香烟",
                "no cigarettes at working meals",
                f"{path}.cigarettes",
                art("第十条"),
            )
        if not meal.alcohol:
            continue
        if meal.working_meal and policy is AlcoholPolicy.NONE:
            where = "2025年修订条例" if citation.instrument == ECONOMY_2025 else citation.instrument
            yield block(
                "M-05", f"工作餐不上酒（{where}）", "no alcohol at working meals", f"{path}.alcohol", citation
            )
        elif meal.premium_alcohol and policy is not AlcoholPolicy.ALLOWED:
            # a "no alcohol" policy is stricter than "no premium alcohol", never looser
            yield block(
                "M-05", "工作餐不得提供高档酒水", "no premium alcohol", f"{path}.premium_alcohol", citation
            )
        elif ctx.standards.weekday_lunch_alcohol_ban and _weekday_lunch(ctx, meal):
            yield block(
                "M-05",
                f"工作日午餐不得饮酒（{meal.on.isoformat()}）",
                f"no alcohol at a weekday lunch ({meal.on.isoformat()})",
                f"{path}.alcohol",
                ctx.standards.cite("weekday_lunch_alcohol_ban", LOCAL),
            )


_DRINK_ORDER = {LexiconCategory.TOBACCO: 0, LexiconCategory.PREMIUM_ALCOHOL: 1, LexiconCategory.ALCOHOL: 2}
"""Which word of a dish speaks first: tobacco, then a premium drink (which is also alcohol), then alcohol."""


def _unticked(
    ctx: RuleContext, lexicon: Lexicon, path: str, meal: Meal, policy: AlcoholPolicy, citation: Citation
) -> Iterator[Finding]:
    """M-05 from the dishes' names: tobacco, premium or any alcohol named but not ticked, one finding
    per dish. Needs an explanation where the ticked flag would have been refused, else a warning."""
    said = [s for s in lexicon.in_items(meal.dishes) if s[2] in _DRINK_ORDER]
    if not said:
        return
    policy_ban = meal.working_meal and policy is AlcoholPolicy.NONE
    weekday_ban = ctx.standards.weekday_lunch_alcohol_ban and _weekday_lunch(ctx, meal)
    would_ban_alcohol = policy_ban or weekday_ban
    if weekday_ban and not policy_ban:  # the local weekday-lunch ban is what the word runs into
        citation = ctx.standards.cite("weekday_lunch_alcohol_ban", LOCAL)
    done: set[int] = set()
    for j, word, category in sorted(said, key=lambda s: (s[0], _DRINK_ORDER[s[2]])):
        dish, where = meal.dishes[j], f"{path}.dishes[{j}]"
        if j in done:
            continue
        if category is LexiconCategory.TOBACCO and not meal.cigarettes:
            yield explain(
                "M-05",
                f"菜单「{dish}」写了「{word}」，但未标明提供香烟；工作餐不得提供香烟，须书面说明",
                f"the menu names {word!r} in {dish!r} but cigarettes are not ticked; "
                "no cigarettes at working meals — a written explanation is needed",
                where,
                art("第十条"),
            )
        elif category is LexiconCategory.PREMIUM_ALCOHOL and not meal.premium_alcohol:
            banned = policy is not AlcoholPolicy.ALLOWED or would_ban_alcohol
            yield (explain if banned else warn)(
                "M-05",
                f"菜单「{dish}」写了「{word}」（高档酒水），但未标明高档酒水",
                f"the menu names {word!r} in {dish!r}, a premium drink, but premium alcohol is not ticked",
                where,
                citation,
            )
        elif category is LexiconCategory.ALCOHOL and not meal.alcohol:
            yield (explain if would_ban_alcohol else warn)(
                "M-05",
                f"菜单「{dish}」写了「{word}」（酒类），但未标明上酒",
                f"the menu names {word!r} in {dish!r}, an alcoholic drink, but alcohol is not ticked",
                where,
                citation,
            )
        else:
            continue
        done.add(j)


# --- M-06 场所 ---


def check_venue(ctx: RuleContext) -> Iterator[Finding]:
    """M-06 场所: no private clubs or high-spend venues; where designated venues are listed, only
    those or a canteen 机关食堂/乡镇公务灶."""
    banned = ctx.standards.banned_venue_types
    designated = ctx.standards.designated_venues
    for path, meal in _plan_meals(ctx):
        if meal.venue_type in banned:
            yield block(
                "M-06",
                f"不得在{meal.venue_type.label}用餐：{meal.venue}",
                f"no meals at a {meal.venue_type.value} venue: {meal.venue}",
                f"{path}.venue_type",
                ctx.standards.cite("banned_venue_types", art("第十条")),
            )
        elif designated and meal.venue not in designated and meal.venue_type not in _CANTEENS:
            yield block(
                "M-06",
                f"「{meal.venue}」不是定点接待场所（定点：{'、'.join(sorted(designated))}；或机关食堂）",
                f"{meal.venue!r} is neither a designated venue ({', '.join(sorted(designated))}) "
                "nor a canteen",
                f"{path}.venue",
                ctx.standards.cite("designated_venues", LOCAL),
            )


# --- M-07 自行用餐收费 ---


def check_guest_charges(ctx: RuleContext) -> Iterator[Finding]:
    """M-07 自行用餐收费: a daily (non-working) meal the host arranges is paid by the guests at
    the standard — at least standard × guests (per day for a per-day standard)."""
    citation = (
        art("第十条") if ctx.reception.rule_pack == RULE_PACK_2013 else Citation(ECONOMY_2025, "公务接待章")
    )
    days: dict[date, list[tuple[str, Meal, MealStandard]]] = defaultdict(list)
    for path, meal in _plan_meals(ctx):
        if meal.working_meal:
            continue
        row = _standard(ctx, meal)
        if row is None:
            continue
        if row.unit is MealUnit.PERSON_DAY:
            days[meal.on].append((path, meal, row))
            continue
        due = row.amount * meal.guests
        if meal.charged_to_guests < due:
            yield warn(
                "M-07",
                f"{meal.kind.label}为接待对象自行用餐，应收伙食费不少于 {due} 元（{row.amount} "
                f"{row.unit.label} × {meal.guests} 人），实收 {meal.charged_to_guests} 元",
                f"guests pay for their own {meal.kind.value}: at least {due} yuan ({row.amount} "
                f"{_UNIT_EN[row.unit]} × {meal.guests} guests), charged {meal.charged_to_guests}",
                f"{path}.charged_to_guests",
                citation,
            )
    for on, meals in days.items():
        yield from _day_charges(on, meals, citation)


def _day_charges(
    on: date, meals: list[tuple[str, Meal, MealStandard]], citation: Citation
) -> Iterator[Finding]:
    # why: a per-day standard is owed once per guest per day, however many meals it is spread over
    row = _strictest(r for _, _, r in meals)
    guests = max(m.guests for _, m, _ in meals)
    due = row.amount * guests
    charged = sum((m.charged_to_guests for _, m, _ in meals), ZERO)
    if charged < due:
        yield warn(
            "M-07",
            f"{on.isoformat()} 接待对象自行用餐，应收伙食费不少于 {due} 元（{row.amount} {row.unit.label} × "
            f"{guests} 人），实收 {charged} 元",
            f"guests pay for their own meals on {on.isoformat()}: at least {due} yuan ({row.amount} "
            f"{_UNIT_EN[row.unit]} × {guests} guests), charged {charged}",
            _union(p for p, _, _ in meals),
            citation,
        )


# --- M-08 桌餐/自助 ---


def check_format(ctx: RuleContext) -> Iterator[Finding]:
    """M-08 桌餐/自助: above ``buffet_above`` diners, serve a buffet rather than a table meal."""
    threshold = ctx.standards.buffet_above
    if threshold is None:
        return
    for path, meal in _plan_meals(ctx):
        if meal.diners > threshold and meal.format is MealFormat.TABLE:
            yield warn(
                "M-08",
                f"就餐 {meal.diners} 人，超过 {threshold} 人宜安排自助餐，不宜桌餐",
                f"{meal.diners} diners, over {threshold}: serve a buffet rather than a table meal",
                f"{path}.format",
                ctx.standards.cite("buffet_above", LOCAL),
            )


RULES: tuple[Rule, ...] = (
    Rule("M-01", "工作餐一次", PLAN_STAGES, check_working_meals, art("第十条"), "one working meal"),
    Rule("M-02", "陪餐人数", _PLAN_AND_CLAIM, check_companions, art("第十条"), "companion cap"),
    Rule(
        "M-03", "用餐标准", _PLAN_AND_CLAIM, check_meal_standard, art("第十五条"), "per-person meal standard"
    ),
    Rule("M-04", "禁止菜品", _PLAN_AND_CLAIM, check_dishes, art("第十条"), "banned dishes"),
    Rule(
        "M-05",
        "烟酒",
        _PLAN_AND_CLAIM,
        check_tobacco_alcohol,
        art("第十条"),
        "tobacco and alcohol",
        also_cites=(Citation(ECONOMY_2025, "公务接待章"),),
    ),
    Rule("M-06", "用餐场所", PLAN_STAGES, check_venue, art("第十条"), "meal venue"),
    Rule(
        "M-07",
        "自行用餐收费",
        PLAN_STAGES,
        check_guest_charges,
        art("第十条"),
        "guests pay for daily meals",
        also_cites=(Citation(ECONOMY_2025, "公务接待章"),),
    ),
    Rule("M-08", "桌餐与自助餐", PLAN_STAGES, check_format, LOCAL, "table meal or buffet"),
)

"""C rules: ceremony 迎送礼仪, accompanying staff 陪同, banned extras and gifts 禁止项目."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import EIGHT_POINTS, PLAN_STAGES, art, block, explain, note
from jiedai_flow.builtin.national.lexicon import Lexicon, lexicon_of
from jiedai_flow.domain.findings import Citation
from jiedai_flow.domain.model import ActivityKind, GiftKind
from jiedai_flow.domain.standards import LexiconCategory
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.domain.model import Activity
    from jiedai_flow.process.rules import RuleContext

_CEREMONY_BANS = {
    "airport_welcome": (
        "不得到机场、车站、码头和辖区边界迎送",
        "no welcome at airports, stations, ports or boundaries",
    ),
    "cross_region_welcome": ("不得跨地区迎送", "no welcome or see-off across regions"),
    "banners": ("不得张贴悬挂标语横幅", "no banners or slogans"),
    "crowds": ("不得安排群众迎送", "no crowds to welcome or see off"),
    "welcome_carpet": ("不得铺设迎宾地毯", "no welcome carpet"),
    "flowers": ("不得摆放花草", "no flowers or plants set out"),
    "main_leader_welcome": (
        "地区、部门主要负责人不得参加迎送",
        "the main leaders of a region or department may not take part in welcomes or see-offs",
    ),
}

_BANNED_ACTIVITIES = frozenset(
    {ActivityKind.SIGHTSEEING, ActivityKind.ENTERTAINMENT, ActivityKind.FITNESS, ActivityKind.PERFORMANCE}
)

LOCAL_GIFTS = frozenset({GiftKind.SOUVENIR, GiftKind.SPECIALTY})
"""What a reception type in ``gifts_allowed_types`` may give: 纪念品、土特产品 — never 礼金 or 有价证券
(the Jiangsu 商务接待 example, reference C-04)."""


def check_ceremony(ctx: RuleContext) -> Iterator[Finding]:
    """C-01 迎送礼仪: no welcome ceremonies, banners, crowds, carpets or flowers."""
    for flag in ctx.reception.plan.ceremony.violations:
        if flag == "main_leader_welcome":
            continue  # C-02
        citation = Citation(EIGHT_POINTS) if flag == "flowers" else art("第八条")
        zh, en = _CEREMONY_BANS[flag]
        yield block("C-01", zh, en, f"$.plan.ceremony.{flag}", citation)


def check_main_leader(ctx: RuleContext) -> Iterator[Finding]:
    """C-02 主要负责人不迎送: the main leaders of a region or department take no part in welcomes."""
    if ctx.reception.plan.ceremony.main_leader_welcome:
        zh, en = _CEREMONY_BANS["main_leader_welcome"]
        yield block(
            "C-02",
            zh,
            en,
            "$.plan.ceremony.main_leader_welcome",
            art("第八条"),
        )


def check_accompanying(ctx: RuleContext) -> Iterator[Finding]:
    """C-03 陪同人数: no more accompanying staff than the standards allow (Art 8 names no number;
    the 实施细则 and local rules do, e.g. 1 per 市/县)."""
    limit = ctx.standards.accompanying_max
    companions = ctx.reception.plan.companions
    if limit is not None and len(companions) > limit:
        names = "、".join(p.name for p in companions)
        yield block(
            "C-03",
            f"陪同人员 {len(companions)} 人（{names}），超过上限 {limit} 人，不得层层多人陪同",
            f"{len(companions)} accompanying staff exceed the limit of {limit}",
            "$.plan.companions",
            ctx.standards.cite("accompanying_max", art("第八条")),
        )


def check_extras(ctx: RuleContext) -> Iterator[Finding]:
    """C-04 禁止项目: no gifts (a type the standards allow may give souvenirs and local specialties,
    never cash or securities); no sightseeing, entertainment, fitness or special shows.

    What clerks write is read too (词表): an ordinary activity whose name or place reads as sightseeing or
    a special performance, a gift handed out in an activity but not listed, or cash entered as a
    souvenir, each needs a written explanation."""
    plan = ctx.reception.plan
    kind = ctx.reception.reception_type
    local_gifts = kind in ctx.standards.gifts_allowed_types
    for i, gift in enumerate(plan.gifts):
        path = f"$.plan.gifts[{i}]"
        if local_gifts and gift.kind in LOCAL_GIFTS:
            yield note(
                "C-04",
                f"{kind.label}按本地标准可赠送{gift.kind.label}：{gift.description}（{gift.value} 元）",
                f"local standards allow a {gift.kind.value} for a {kind.value} reception: "
                f"{gift.description} ({gift.value} yuan)",
                path,
                ctx.standards.cite("gifts_allowed_types", Citation("本地标准")),
            )
        elif local_gifts:
            yield block(
                "C-04",
                f"{kind.label}只可赠送纪念品、土特产品，不得赠送{gift.kind.label}：{gift.description}"
                f"（{gift.value} 元）",
                f"a {kind.value} reception may give only souvenirs or local specialties, not "
                f"{gift.kind.value}: {gift.description} ({gift.value} yuan)",
                f"{path}.kind",
                art("第十五条"),
            )
        else:
            yield block(
                "C-04",
                f"不得赠送{gift.kind.label}：{gift.description}（{gift.value} 元）",
                f"no gifts of any kind: {gift.description} ({gift.kind.value}, {gift.value} yuan)",
                path,
                art("第十五条"),
            )
    lexicon = lexicon_of(ctx.standards)
    for i, activity in enumerate(plan.activities):
        if activity.kind in _BANNED_ACTIVITIES:
            yield block(
                "C-04",
                f"不得安排{activity.kind.label}活动：{activity.description}",
                f"activity not allowed ({activity.kind.value}): {activity.description}",
                f"$.plan.activities[{i}].kind",
                art("第十五条"),
            )
            continue
        yield from _activity_words(lexicon, i, activity, bool(plan.gifts))
    for i, gift in enumerate(plan.gifts):
        word = next(
            (w for w, _ in lexicon.find(gift.description, LexiconCategory.GIFT) if w in CASH_LIKE), None
        )
        if word is not None and gift.kind not in (GiftKind.CASH, GiftKind.SECURITIES):
            yield explain(
                "C-04",
                f"礼品「{gift.description}」写了「{word}」，却登记为{gift.kind.label}：礼金、有价证券一律不得赠送",
                f"gift {gift.description!r} names {word!r} but is entered as {gift.kind.value}: cash and "
                "securities are never allowed",
                f"$.plan.gifts[{i}].kind",
                art("第十五条"),
            )


CASH_LIKE = frozenset({"礼金", "红包", "购物卡", "消费卡", "有价证券"})
"""Words of the lexicon's gift category that mean cash or securities, whatever the gift's kind says."""


def _activity_words(lexicon: Lexicon, i: int, activity: Activity, gifts_listed: bool) -> Iterator[Finding]:
    """C-04 from an allowed activity's words: sightseeing or a special performance entered as an
    ordinary activity, or a gift handed out that the plan does not list."""
    path = f"$.plan.activities[{i}]"
    for field, text in (("description", activity.description), ("place", activity.place)):
        for word, category in lexicon.find(text, LexiconCategory.SIGHTSEEING, LexiconCategory.PERFORMANCE):
            label = "旅游观光或娱乐" if category is LexiconCategory.SIGHTSEEING else "专场演出"
            yield explain(
                "C-04",
                f"活动「{activity.description}」（{activity.kind.label}）的{_FIELD_ZH[field]}写了「{word}」，"
                f"疑为{label}，不得安排；确属公务的，须书面说明",
                f"activity {activity.description!r} ({activity.kind.value}) names {word!r} in its {field}: "
                f"possibly {category.value}, which is not allowed; explain if it is official business",
                f"{path}.{field}",
                art("第十五条"),
            )
            return
    if not gifts_listed and ("赠" in activity.description or "送" in activity.description):
        handed = lexicon.first(activity.description, LexiconCategory.GIFT)
        if handed is not None:
            yield explain(
                "C-04",
                f"活动「{activity.description}」写了赠送「{handed}」，方案却未列礼品：公务接待不得赠送礼品",
                f"activity {activity.description!r} hands out {handed!r} but the plan lists no gift: "
                "no gifts at official receptions",
                f"{path}.description",
                art("第十五条"),
            )


_FIELD_ZH = {"description": "名称", "place": "地点"}


RULES: tuple[Rule, ...] = (
    Rule("C-01", "迎送礼仪", PLAN_STAGES, check_ceremony, art("第八条"), "ceremony bans"),
    Rule(
        "C-02", "主要负责人不迎送", PLAN_STAGES, check_main_leader, art("第八条"), "no welcome by top leaders"
    ),
    Rule("C-03", "陪同人数", PLAN_STAGES, check_accompanying, art("第八条"), "accompanying staff"),
    Rule("C-04", "禁止项目", PLAN_STAGES, check_extras, art("第十五条"), "banned extras and gifts"),
)

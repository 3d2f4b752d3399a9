"""Reception standards 接待标准, layered national → province → city → county → unit, with effective
dates.

A :class:`StandardsLayer` states only what differs from the layer above it. Plugins contribute
layers through ``jiedai_standards_layers`` (often loaded from TOML with
:func:`load_standards_file`) and :func:`resolve` folds every layer in force for a jurisdiction, a
host unit and a date into one :class:`Standards`. A field a layer sets replaces the value above it
whole — a unit's meal table replaces the county's, where the unit's documents say so.

A unit layer (``level = "unit"``) applies only to the host units it names (``host_units``) or to
units of the kinds it names (``unit_kinds``: 高校, 国有企业, 事业单位, 驻外机构 …); which kind a host unit
is comes from the ``unit_kinds`` table of the layers above it. The folded :class:`Standards` remember
which layer set each field, so a finding judged by a layer's value cites that layer's document
(:meth:`Standards.cite`).
"""

from __future__ import annotations

import calendar
import enum
import functools
from collections.abc import Callable, Mapping  # why: resolve_types() below needs Mapping at run time
from datetime import date, timedelta
from decimal import Decimal  # noqa: TC003  # why: resolve_types() below needs it at run time
from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.domain.findings import Citation
from jiedai_flow.domain.model import (
    DocumentKind,
    InvalidValueError,
    LabelledEnum,
    LetterKind,
    MealKind,
    Rank,
    ReceptionType,
    VenueType,
    money,
    shown,
)
from jiedai_flow.domain.records import ApprovalStep, Assignee, StepKind
from jiedai_flow.errors import Problem, ValidationError, nearest

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from jiedai_flow.domain.model import Meal, OfficialLetter
    from jiedai_flow.domain.records import Reception


class Level(enum.IntEnum):
    """Administrative level of a standards layer; lower levels refine higher ones."""

    NATIONAL = 0
    PROVINCE = 1
    CITY = 2
    COUNTY = 3
    UNIT = 4
    """A host unit's own standards 单位标准 (a university, a state enterprise …), folded last."""


class UnitKind(LabelledEnum):
    """Kind of host unit 单位类型: unit layers may apply to every unit of a kind."""

    PARTY_GOVERNMENT = "party_government", "党政机关"
    UNIVERSITY = "university", "高校"
    STATE_ENTERPRISE = "state_enterprise", "国有企业"
    PUBLIC_INSTITUTION = "public_institution", "事业单位"
    OVERSEAS = "overseas", "驻外机构"


RULE_PACK_2013 = "national-2013"
RULE_PACK_2025 = "national-2025"
REVISION_2025 = date(2025, 5, 18)
"""The revised 《党政机关厉行节约反对浪费条例》, reported by Xinhua on 2025-05-18 (docs/sources.md)."""


def national_rule_pack(on: date) -> str:
    """The national rule pack in force on ``on``."""
    return RULE_PACK_2025 if on >= REVISION_2025 else RULE_PACK_2013


class AlcoholPolicy(LabelledEnum):
    """酒水政策 at working meals."""

    NONE = "none", "不上酒"
    NO_PREMIUM = "no_premium", "不上高档酒水"
    ALLOWED = "allowed", "允许"


class MealUnit(LabelledEnum):
    """The unit a meal standard is stated in 用餐标准计量方式."""

    PERSON_MEAL = "person_meal", "元/人·餐"
    PERSON_DAY = "person_day", "元/人·天"
    PERSON_TIME = "person_time", "元/人次"


class Origin(LabelledEnum):
    """Where the guests come from, relative to the host's jurisdiction 来宾来源."""

    INSIDE = "inside", "辖区内"
    OUTSIDE = "outside", "辖区外"


class WeekdayMeaning(LabelledEnum):
    """What a local "weekday" rule means 工作日口径."""

    MONDAY_TO_FRIDAY = "monday_to_friday", "周一至周五"
    STATUTORY = "statutory", "法定工作日（含调休上班日，不含节假日）"


class LexiconCategory(LabelledEnum):
    """What a word of the lexicon 词表 means (``jiedai_flow.builtin.national.lexicon``)."""

    ALCOHOL = "alcohol", "酒类"
    PREMIUM_ALCOHOL = "premium_alcohol", "高档酒水"
    TOBACCO = "tobacco", "香烟"
    BANNED_DISH = "banned_dish", "禁止菜肴"
    SIGHTSEEING = "sightseeing", "旅游观光、娱乐"
    PERFORMANCE = "performance", "专场演出"
    GIFT = "gift", "礼品、土特产"
    NOT_MEANT = "not_meant", "并非所指"
    """Phrases that contain a word of another category but do not mean it (啤酒鸭 is a dish, 文化和
    旅游局 an office): a text matching one of them is not read as that word there."""


class DishScope(LabelledEnum):
    """Which meals a banned-dish list covers 禁止菜品适用范围."""

    ALL_MEALS = "all_meals", "所有用餐"
    HOST_PAID_WORKING_MEALS = "host_paid_working_meals", "接待方付费的工作餐"


class DeadlineFrom(LabelledEnum):
    """What the reimbursement deadline counts from 报销时限起算."""

    END = "end", "接待结束"
    INVOICE = "invoice", "发票日期"


_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _at_least(low: int) -> _Validator:
    """A count of at least ``low`` (None passes: the field is optional), said in both languages."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value < low:
            raise InvalidValueError(
                f"「{attribute.name}」应为不小于 {low} 的整数，收到 {shown(value)}",
                f"{attribute.name!r} must be an integer of at least {low}, got {shown(value)}",
                field=attribute.name,
            )

    return check


def _up_to(high: int, span_zh: str, span_en: str) -> _Validator:
    """A count from 0 to ``high`` (None passes): a limit that is added to a date. Past a bound
    of years the sum leaves the calendar (``OverflowError``, "year out of range") when the rules
    run long after the file loaded, so the file is refused instead."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not 0 <= value <= high:
            raise InvalidValueError(
                f"「{attribute.name}」应为 0 到 {high} 的整数（最长{span_zh}），收到 {shown(value)}",
                f"{attribute.name!r} must be an integer from 0 to {high} ({span_en} at most), "
                f"got {shown(value)}",
                field=attribute.name,
            )

    return check


def _not_empty(zh: str, en: str) -> _Validator:
    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if len(value) < 1:
            raise InvalidValueError(
                f"「{attribute.name}」{zh}", f"{attribute.name!r} {en}", field=attribute.name
            )

    return check


def _percent(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not 0 <= value < 100:
        raise InvalidValueError(
            f"「{attribute.name}」应为 0 到 99 的整数（同意的权重须超过的百分比），收到 {shown(value)}",
            f"{attribute.name!r} must be 0 to 99 (the percent the agreeing weight must exceed), "
            f"got {shown(value)}",
            field=attribute.name,
        )


_count = _at_least(0)


@attrs.frozen
class MealStandard:
    """One row of a meal-standard table 用餐标准: an amount and the cases it applies to.

    Empty conditions match anything; the most specific matching row wins. A tiered table by rank
    is judged by the highest rank in the party (reference M-03).
    """

    amount: Decimal = attrs.field(converter=money)
    unit: MealUnit = MealUnit.PERSON_MEAL
    meal_kind: MealKind | None = None
    rank: Rank | None = None
    """Exactly this rank 仅限该级别: the highest-ranked guest is of this rank."""
    rank_at_least: Rank | None = None
    """This rank or above 该级别及以上: the highest-ranked guest is at least this senior. Rows of one
    table tiered this way are judged by the most senior tier the party reaches."""
    origin: Origin | None = None
    venue_types: frozenset[VenueType] = frozenset()
    reception_type: ReceptionType | None = None

    @property
    def specificity(self) -> int:
        """How specific the row is: ten per condition; among rows with as many conditions, "exactly
        this rank" beats any "this rank or above", and of those tiers the most senior wins."""
        conditions = (
            (self.meal_kind is not None)
            + (self.rank is not None)
            + (self.rank_at_least is not None)
            + (self.origin is not None)
            + (self.reception_type is not None)
            + bool(self.venue_types)
        )
        if self.rank is not None:
            return conditions * 10 + 9
        return conditions * 10 + (self.rank_at_least.order if self.rank_at_least is not None else 0)

    def matches(
        self, meal: Meal, rank: Rank | None, origin: Origin | None, reception_type: ReceptionType
    ) -> bool:
        at_least = self.rank_at_least
        return (
            (self.meal_kind is None or self.meal_kind == meal.kind)
            and (self.rank is None or self.rank == rank)
            and (at_least is None or (rank is not None and rank >= at_least))
            and (self.origin is None or self.origin == origin)
            and (not self.venue_types or meal.venue_type in self.venue_types)
            and (self.reception_type is None or self.reception_type == reception_type)
        )


@attrs.frozen
class CompanionPolicy:
    """陪餐人数上限. National (Art 10): ≤``small_cap`` up to ``small_party`` guests, else
    ≤⌊guests/``divisor``⌋. With ``one_for_one_up_to`` = n: one companion per guest up to n, then
    ⌊extra/``divisor``⌋ more (a business-reception variant)."""

    small_party: int = attrs.field(default=10, validator=_count)
    small_cap: int = attrs.field(default=3, validator=_count)
    divisor: int = attrs.field(default=3, validator=_at_least(1))
    one_for_one_up_to: int = attrs.field(default=0, validator=_count)

    def cap(self, guests: int) -> int:
        if self.one_for_one_up_to:
            base = min(guests, self.one_for_one_up_to)
            return base + max(guests - self.one_for_one_up_to, 0) // self.divisor
        if guests <= self.small_party:
            return self.small_cap
        return guests // self.divisor


@attrs.frozen
class CountersignRule:
    """会签规则: a step of several approvers every reception meeting the conditions gets after its
    levels — e.g. a plan at or above an amount: 财政局 and the supervising leader in parallel; a
    business reception: 招商局. Each rule whose conditions hold adds its step, in the order listed.

    Approvers are departments (``units``: any approver of that department claims the task), approval
    levels (``levels``) or people (``people``, actor ids). ``weights`` are the 票签 weights, in that
    order (units, then levels, then people), and only a vote (``kind = vote``) may have them;
    ``threshold`` the share in percent the agreeing weight must exceed.
    """

    label: str = attrs.field(validator=_not_empty("不能为空", "must not be empty"))
    kind: StepKind = StepKind.PARALLEL
    units: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    weights: tuple[int, ...] = ()
    threshold: int = attrs.field(default=50, validator=_percent)
    min_rank: Rank | None = None
    min_headcount: int | None = attrs.field(default=None, validator=_count)
    min_amount: Decimal | None = attrs.field(default=None, converter=attrs.converters.optional(money))
    reception_types: frozenset[ReceptionType] = frozenset()

    def __attrs_post_init__(self) -> None:
        approvers = len(self.units) + len(self.levels) + len(self.people)
        for problem in countersign_problems(self.label, self.kind, approvers, len(self.weights)):
            raise problem

    def step(self) -> ApprovalStep:
        """The approval step this rule adds."""
        who = [
            *(Assignee.unit(u) for u in self.units),
            *(Assignee.level(v) for v in self.levels),
            *(Assignee.person(p) for p in self.people),
        ]
        if self.weights:
            who = [attrs.evolve(a, weight=w) for a, w in zip(who, self.weights, strict=True)]
        return ApprovalStep("", self.label, kind=self.kind, assignees=tuple(who), threshold=self.threshold)


def countersign_problems(
    label: str, kind: StepKind | None, approvers: int | None, weights: int | None
) -> list[InvalidValueError]:
    """What is wrong across the fields of a countersign, each naming its field: no approvers,
    weights on a step that is not a vote, or not one weight per approver. A value is None when its
    field is itself wrong: the standards loader runs these checks on a file's own values, so they
    are reported alongside a wrong field of the same countersign, which stops the rule being built."""
    found: list[InvalidValueError] = []
    if approvers == 0:
        found.append(
            InvalidValueError(
                f"会签「{label}」没有审批人（units、levels、people 至少一项）",
                f"countersign {label!r} names no approvers (units, levels or people)",
                field="units",
            )
        )
    if weights and kind is not None and kind is not StepKind.VOTE:
        found.append(
            InvalidValueError(
                f'会签「{label}」是{kind.label}（{kind.value}），weights 只用于票签（kind = "vote"）：'
                "删去 weights，或改为票签",
                f"countersign {label!r} is {kind.value}: weights only count in a vote "
                '(kind = "vote"); remove them or make the step a vote',
                field="weights",
            )
        )
    elif approvers and weights and weights != approvers:
        found.append(
            InvalidValueError(
                f"会签「{label}」的 weights 有 {weights} 个，审批人有 {approvers} 个",
                f"countersign {label!r} has {weights} weights for {approvers} approvers",
                field="weights",
            )
        )
    return found


@attrs.frozen
class ApprovalTier:
    """An approval chain for receptions at or above a tier 审批层级 (rank, headcount, amount)."""

    steps: tuple[str, ...] = attrs.field(
        validator=_not_empty("至少要有一个审批环节", "needs at least one step")
    )
    min_rank: Rank | None = None
    min_headcount: int | None = attrs.field(default=None, validator=_count)
    min_amount: Decimal | None = attrs.field(default=None, converter=attrs.converters.optional(money))
    reception_types: frozenset[ReceptionType] = frozenset()
    label: str = ""


@attrs.frozen
class Budget:
    """The annual reception budget of a host unit 年度公务接待费预算."""

    host_unit: str
    year: int
    amount: Decimal = attrs.field(converter=money)


_optional_count = _count
_THREE_WORKDAYS: int | None = 3

MAX_CLAIM_DEADLINE_DAYS = 3660
MAX_CLAIM_DEADLINE_MONTHS = 120
MAX_APPROVAL_DEADLINE_WORKDAYS = 250
MAX_RETROACTIVE_WINDOW_DAYS = 366
"""The limits added to dates stop at ten years (a claim) or one year (an approval step, a
retroactive approval): far above any real rule, and far inside the calendar."""

NATIONAL_DOCUMENTS = frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST})
"""票据 + 公函 + 清单 (Art 14)."""


@attrs.frozen
class Standards:
    """The standards that apply to one reception, after every layer is folded in."""

    jurisdiction: str = "000000"
    rule_pack: str = RULE_PACK_2025
    layers: tuple[str, ...] = ()
    """Names of the layers folded in, national first — for the record."""
    host_unit: str = ""
    """The host unit the standards were resolved for ("" for the jurisdiction's own)."""
    unit_kind: UnitKind | None = None
    """Its kind, from ``unit_kinds`` (None if no layer says)."""
    citations: Mapping[str, Citation] = attrs.field(factory=dict)
    """For each field a local layer set: that layer's document and article (:meth:`cite`)."""

    accepted_letters: frozenset[LetterKind] = frozenset(
        {LetterKind.LETTER, LetterKind.INVITATION, LetterKind.NOTICE}
    )
    working_meals_max: int = attrs.field(default=1, validator=_count)
    companions: CompanionPolicy = CompanionPolicy()
    companions_by_type: Mapping[ReceptionType, CompanionPolicy] = attrs.field(factory=dict)
    meal_standards: tuple[MealStandard, ...] = ()
    banned_dishes: frozenset[str] = frozenset({"鱼翅", "燕窝", "野生"})
    max_dishes: int | None = attrs.field(default=None, validator=_optional_count)
    buffet_above: int | None = attrs.field(default=None, validator=_optional_count)
    alcohol: AlcoholPolicy = AlcoholPolicy.ALLOWED
    """Local alcohol policy; the reception's rule pack sets the national floor (M-05)."""
    alcohol_exempt_types: frozenset[ReceptionType] = frozenset()
    weekday_lunch_alcohol_ban: bool = False
    weekdays: WeekdayMeaning = WeekdayMeaning.MONDAY_TO_FRIDAY
    """What the local weekday rules mean: Monday–Friday whatever the calendar says, or the statutory
    working days (a 调休 Sunday is a working day, a holiday is not)."""
    lexicon: Mapping[LexiconCategory, frozenset[str]] = attrs.field(factory=dict)
    """Words a locality adds to the built-in lexicon 词表, by category: matched against what clerks
    write (dishes, activities, the letter's purpose, gifts) to catch what the flags leave unsaid."""
    banned_dishes_scope: DishScope = DishScope.ALL_MEALS
    """Which meals ``banned_dishes`` covers: every meal, or only the working meals the host pays for
    (meals guests pay for themselves are not judged)."""
    banned_venue_types: frozenset[VenueType] = frozenset({VenueType.PRIVATE_CLUB, VenueType.HIGH_END})
    designated_venues: frozenset[str] = frozenset()
    same_city_ban: bool = False
    required_documents: frozenset[DocumentKind] = NATIONAL_DOCUMENTS
    claim_deadline_days: int | None = attrs.field(
        default=None, validator=_up_to(MAX_CLAIM_DEADLINE_DAYS, "十年", "ten years")
    )
    claim_deadline_months: int | None = attrs.field(
        default=None, validator=_up_to(MAX_CLAIM_DEADLINE_MONTHS, "十年", "ten years")
    )
    claim_deadline_from: DeadlineFrom = DeadlineFrom.END
    approval_levels: tuple[str, ...] = ()
    approval_tiers: tuple[ApprovalTier, ...] = ()
    countersigns: tuple[CountersignRule, ...] = ()
    """会签规则: steps of several approvers added after the levels when their conditions hold."""
    budgets: tuple[Budget, ...] = ()
    approval_deadline_workdays: int | None = attrs.field(
        default=_THREE_WORKDAYS, validator=_up_to(MAX_APPROVAL_DEADLINE_WORKDAYS, "一年", "a year")
    )
    """超时催办: an approval step pending longer than this many working days is overdue."""
    retroactive_window_days: int | None = attrs.field(
        default=None, validator=_up_to(MAX_RETROACTIVE_WINDOW_DAYS, "一年", "a year")
    )
    """补办: an urgent reception may start before approval, approved within this many days."""
    lodging_price_caps: Mapping[Rank, Decimal] = attrs.field(factory=dict)
    escort_vehicles_max: int | None = attrs.field(default=None, validator=_optional_count)
    vehicle_capacity: int = attrs.field(default=7, validator=_at_least(1))
    """Seats per vehicle assumed by T-01 (集中乘车): vehicles ≤ ⌈passengers/capacity⌉ + 1."""
    accompanying_max: int | None = attrs.field(default=None, validator=_optional_count)
    gifts_allowed_types: frozenset[ReceptionType] = frozenset()
    new_letter_increase: int = attrs.field(default=3, validator=_count)
    """L-03: the list may name more guests than the letter only below this many extra."""
    unit_kinds: Mapping[str, UnitKind] = attrs.field(factory=dict)
    """单位类型: the kind of each host unit by name, e.g. ``{"某大学": 高校}``; unit layers may apply
    by kind."""

    def cite(self, field: str, fallback: Citation) -> Citation:
        """The citation of a finding judged by ``field``: the document (and article) of the local
        layer that set it, else ``fallback`` (the national instrument)."""
        return self.citations.get(field, fallback)

    def companion_cap(self, guests: int, reception_type: ReceptionType = ReceptionType.DOMESTIC) -> int:
        """Companions allowed at a meal for ``guests`` guests (M-02)."""
        return self.companions_by_type.get(reception_type, self.companions).cap(guests)

    def meal_standard(
        self, meal: Meal, letter: OfficialLetter, jurisdiction: str, reception_type: ReceptionType
    ) -> MealStandard | None:
        """The meal-standard row that applies to ``meal`` (M-03), or None if no layer sets one.
        Remembered per table, meal, letter and type: every stage asks again for the same meal."""
        table = self.meal_standards
        if not table:
            return None
        key = (id(table), id(meal), id(letter), jurisdiction, reception_type)
        found = _CHOSEN.get(key)
        if found is not None and found[0] is table and found[1] is meal and found[2] is letter:
            return found[3]
        row = _choose_row(table, meal, letter, jurisdiction, reception_type)
        if len(_CHOSEN) >= 8192:
            _CHOSEN.clear()
        _CHOSEN[key] = (table, meal, letter, row)  # the objects are kept: their ids cannot be reused
        return row

    def budget_for(self, host_unit: str, year: int) -> Budget | None:
        """The annual budget of ``host_unit`` for ``year``, if a layer sets one."""
        return next((b for b in self.budgets if b.host_unit == host_unit and b.year == year), None)


_CHOSEN: dict[tuple[int, int, int, str, ReceptionType], tuple[Any, Any, Any, MealStandard | None]] = {}


def _choose_row(
    table: tuple[MealStandard, ...],
    meal: Meal,
    letter: OfficialLetter,
    jurisdiction: str,
    reception_type: ReceptionType,
) -> MealStandard | None:
    rank = letter.highest_rank
    origin = origin_of(letter, jurisdiction)
    rows = [s for s in table if s.matches(meal, rank, origin, reception_type)]
    if not rows and origin is None:  # origin unknown: the stricter of the origin rows
        rows = [s for s in table if s.origin is not None and s.matches(meal, rank, s.origin, reception_type)]
        rows = sorted(rows, key=lambda s: s.amount)[:1]
    return max(rows, key=lambda s: (s.specificity, -s.amount), default=None)


def origin_of(letter: OfficialLetter, jurisdiction: str) -> Origin | None:
    """Inside when the sending unit's area code lies within the host's; None if unknown."""
    code = _significant(letter.sending_jurisdiction)
    if not code:
        return None
    host = _significant(jurisdiction)
    # Inside only when the sender lies within the host's area: a provincial unit ("42") visiting a
    # county ("420222") comes from outside the county.
    return Origin.INSIDE if code.startswith(host) else Origin.OUTSIDE


@functools.lru_cache(maxsize=1024)
def _significant(code: str) -> str:
    """An area code without its trailing "00" pairs: "341500" and "3415" both mean Lu'an."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def same_city(letter: OfficialLetter, jurisdiction: str) -> bool:
    """The sending unit is in the host's city (same first four digits of the area code)."""
    code, host = _significant(letter.sending_jurisdiction), _significant(jurisdiction)
    return len(code) >= 4 and len(host) >= 4 and code[:4] == host[:4]


STANDARDS_FIELDS: Mapping[str, attrs.Attribute[Any]] = {
    a.name: a
    for a in attrs.fields(Standards)
    if a.name not in {"jurisdiction", "layers", "host_unit", "unit_kind", "citations"}
}


def unknown_field(key: str, where: str = "$.standards") -> Problem:
    """The problem of a standards field nobody defines, with the nearest field's name when the key
    looks like a misspelling of one (``claim_deadline_dayz``: 是不是「claim_deadline_days」？)."""
    near = nearest(key, STANDARDS_FIELDS, cutoff=0.75)
    zh, en = ("，请检查拼写", "; check the spelling")
    if near:
        zh, en = f"，是不是「{near}」？", f"; did you mean {near!r}?"
    return Problem(f"{where}.{key}", f"未知的标准字段「{key}」{zh}", f"unknown standards field {key!r}{en}")


DEFAULT_EFFECTIVE_FROM = date(2013, 12, 8)
"""When a layer that names no ``effective_from`` starts: the 2013 national regulations."""


def never_in_force(effective_from: date, effective_to: date) -> Problem:
    """A layer that ends on or before the day it starts (``effective_to`` is the first day it no
    longer applies), so it applies on no day at all."""
    return Problem(
        "$.effective_to",
        f"废止日期 effective_to（{effective_to}）不晚于施行日期 effective_from（{effective_from}），"
        "本层一天也不会适用；effective_to 是不再适用的第一天",
        f"effective_to ({effective_to}) is not after effective_from ({effective_from}): the layer would "
        "apply on no day; effective_to is the first day it no longer applies",
    )


@attrs.frozen
class StandardsLayer:
    """One layer: who issued it, where and when it applies, and the fields it changes."""

    name: str
    level: Level
    jurisdiction: str
    """GB/T 2260 code prefix it covers: "" national, "34" Anhui, "3415" Lu'an, "341502" a county."""
    changes: Mapping[str, Any] = attrs.field(factory=dict)
    effective_from: date = DEFAULT_EFFECTIVE_FROM
    effective_to: date | None = None
    """The first day it no longer applies (exclusive); after ``effective_from``, or None."""
    source: str = ""
    """The document it comes from 依据, e.g. 《××大学公务接待管理办法》; findings judged by its values
    cite it."""
    host_units: frozenset[str] = frozenset()
    """Applies only to these host units (a unit layer)."""
    unit_kinds: frozenset[UnitKind] = frozenset()
    """Applies only to host units of these kinds (a unit layer)."""
    articles: Mapping[str, str] = attrs.field(factory=dict)
    """The article of ``source`` behind each field it sets, e.g. ``{"meal_standards": "第五条"}``."""

    def __attrs_post_init__(self) -> None:
        problems = [unknown_field(k) for k in sorted(set(self.changes) - set(STANDARDS_FIELDS))]
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            problems.append(never_in_force(self.effective_from, self.effective_to))
        if problems:
            raise ValidationError(problems, source=self.name)

    @property
    def unit_scoped(self) -> bool:
        """Whether it applies to some host units only."""
        return bool(self.host_units or self.unit_kinds)

    def applies(
        self, jurisdiction: str, on: date, host_unit: str = "", unit_kind: UnitKind | None = None
    ) -> bool:
        in_force = self.effective_from <= on and (self.effective_to is None or on < self.effective_to)
        if not (in_force and jurisdiction.startswith(self.jurisdiction)):
            return False
        if not self.unit_scoped:
            return True
        return host_unit in self.host_units or (unit_kind is not None and unit_kind in self.unit_kinds)


def _fold(chosen: Iterable[StandardsLayer]) -> tuple[dict[str, Any], dict[str, Citation], list[str]]:
    values: dict[str, Any] = {}
    citations: dict[str, Citation] = {}
    names: list[str] = []
    ordered = sorted(chosen, key=_rank)
    _no_ties(ordered)
    for layer in ordered:
        values.update(layer.changes)
        names.append(layer.name)
        for field in layer.changes:
            if layer.level is Level.NATIONAL or not layer.source:
                citations.pop(field, None)  # the national rule's own citation stands
            else:
                citations[field] = Citation(layer.source, layer.articles.get(field, ""))
    return values, citations, names


def _rank(layer: StandardsLayer) -> tuple[Level, int, date, bool]:
    """Where a layer folds: by level, then the longer (more specific) code, then the later date;
    on one date a unit layer naming its units comes after one for a kind of unit (它更具体)."""
    return (layer.level, len(layer.jurisdiction), layer.effective_from, bool(layer.host_units))


def _no_ties(ordered: Sequence[StandardsLayer]) -> None:
    """Two layers of one rank (level, jurisdiction, date) setting one field differently: neither
    can be said to come after the other, so which value holds would depend on the order plugins
    happen to answer in — a ValidationError naming both and each field, rather than a guess."""
    problems = []
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if _rank(second) != _rank(first) or second.jurisdiction != first.jurisdiction:
                break
            for key in sorted(set(first.changes) & set(second.changes)):
                if first.changes[key] != second.changes[key]:
                    problems.append(_tie(first, second, key))
    if problems:
        raise ValidationError(problems)


def _tie(first: StandardsLayer, second: StandardsLayer, key: str) -> Problem:
    where, day = first.jurisdiction or "全国", first.effective_from
    return Problem(
        f"$.standards.{key}",
        f"标准层「{first.name}」与「{second.name}」同级、同辖区（{where}）、同日（{day}）施行，"
        f"对 {key} 的规定不同，无法判断以哪层为准；请改其中一层的施行日期，或删去重复的字段",
        f"layers {first.name!r} and {second.name!r} share level, jurisdiction and date ({day}) but set "
        f"{key} differently, so neither prevails; give one another effective date or drop the field",
    )


def resolve(jurisdiction: str, on: date, layers: Iterable[StandardsLayer], host_unit: str = "") -> Standards:
    """Fold the layers in force for ``jurisdiction`` (and ``host_unit``) on ``on``: national first,
    then province, city, county, and the unit's own layers last. The host unit's kind is read from
    the ``unit_kinds`` table the jurisdiction's layers set."""
    in_force = [layer for layer in layers if layer.applies(jurisdiction, on)]
    kind: UnitKind | None = None
    if host_unit:
        area, _citations, _names = _fold(in_force)
        kinds = area.get("unit_kinds", {})
        kind = kinds.get(host_unit) if isinstance(kinds, Mapping) else None
        in_force = [layer for layer in layers if layer.applies(jurisdiction, on, host_unit, kind)]
    values, citations, names = _fold(in_force)
    values.update(
        jurisdiction=jurisdiction,
        layers=tuple(names),
        host_unit=host_unit,
        unit_kind=kind,
        citations=citations,
    )
    return Standards(**values)


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, clamped to the month's end: 2026-01-31 + 1 → 2026-02-28."""
    years, index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def claim_deadline(reception: Reception, standards: Standards) -> tuple[date, date, str] | None:
    """报销时限 (F-04): (counted from, last day to claim, path of the start date), or None.

    With both a day and a month limit the earlier last day applies. Counting from the invoice
    date uses the earliest invoice of the list, or the reception's end if it has none.
    """
    days, months = standards.claim_deadline_days, standards.claim_deadline_months
    if days is None and months is None:
        return None
    start, path = reception.end, "$.end"
    listing = reception.reception_list
    if standards.claim_deadline_from is DeadlineFrom.INVOICE and listing and listing.invoices:
        i, first = min(enumerate(listing.invoices), key=lambda pair: pair[1].issued_on)
        start, path = first.issued_on, f"$.reception_list.invoices[{i}].issued_on"
    last = [start + timedelta(days=days)] if days is not None else []
    if months is not None:
        last.append(add_months(start, months))
    return start, min(last), path


def retroactive_deadline(reception: Reception, standards: Standards) -> date | None:
    """补办: the last day the approval of an urgent reception may complete (start + window)."""
    window = standards.retroactive_window_days
    return None if window is None else reception.start + timedelta(days=window)


for _cls in (MealStandard, CompanionPolicy, CountersignRule, ApprovalTier, Budget, Standards, StandardsLayer):
    attrs.resolve_types(_cls, globalns=globals())

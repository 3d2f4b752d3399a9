"""Properties of the rule set over generated receptions (hypothesis).

1. A stricter layer never lets through what it stood on refused: with a layer that only tightens
   (lower meal caps, fewer companions, stricter alcohol, more banned dishes or venues, more required
   documents, fewer accepted letters, shorter deadlines …) the blocking rule ids — and the ids that
   refuse a command without a written explanation — are a superset of those without it.
2. Findings do not depend on the order of guests, meals or list items.

The rules run as the engine runs them (``engine.rules.run``), on every stage that has rules.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiedai_flow import (
    DocumentKind,
    Guest,
    Invoice,
    Itinerary,
    LetterKind,
    ListItem,
    Meal,
    MealFormat,
    MealKind,
    OfficialLetter,
    Payment,
    PaymentMethod,
    Person,
    Plan,
    Purpose,
    Rank,
    ReceptionList,
    ReceptionType,
    RuleContext,
    Severity,
    StandardsLayer,
    VenueType,
    localities,
)
from jiedai_flow.builtin.national import NATIONAL_LAYERS
from jiedai_flow.clock import CHINA_TZ
from jiedai_flow.model import CENT
from jiedai_flow.standards import (
    NATIONAL_DOCUMENTS,
    AlcoholPolicy,
    CompanionPolicy,
    Level,
    MealStandard,
    MealUnit,
    national_rule_pack,
    resolve,
)
from jiedai_flow.testing import make_engine, sample_reception

if TYPE_CHECKING:
    from jiedai_flow import Finding, Reception
    from jiedai_flow.standards import Standards

JURISDICTION = "341502"
RULES = make_engine().rules
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ORDINARY = ("家常豆腐", "青菜", "红烧鸡块", "米饭", "冬瓜汤")
BANNED = ("鱼翅羹", "燕窝", "清蒸鲍鱼", "海参汤", "野生甲鱼")
PER_HEAD = tuple(Decimal(n) for n in (20, 25, 35, 40, 50, 60, 70, 90, 150, 200, 300))
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆")  # few names: two guests may share one
DAYS = (date(2024, 3, 11), date(2024, 3, 15), date(2026, 3, 9), date(2026, 3, 13))  # Mon/Fri, both packs
_STRICTNESS = {AlcoholPolicy.ALLOWED: 0, AlcoholPolicy.NO_PREMIUM: 1, AlcoholPolicy.NONE: 2}


def rehomed(name: str, jurisdiction: str) -> StandardsLayer:
    """A shipped locality moved onto the test jurisdiction, for the shape of its standards."""
    return attrs.evolve(localities.load(name), jurisdiction=jurisdiction)


BASES = {
    "national": (),
    "anhui": (localities.load("anhui"),),
    "luan": (localities.load("luan"),),
    "anhui+luan": (localities.load("anhui"), localities.load("luan")),
    "fujian": (rehomed("fujian", "34"),),  # per day
    "hubei_county": (rehomed("hubei_county", JURISDICTION),),  # per meal by origin and meal
    "zhoukou": (rehomed("zhoukou", "3415"),),  # per meal by venue
}


# -- receptions --------------------------------------------------------------------------------------


def subsets(items: Any) -> st.SearchStrategy[frozenset[Any]]:
    return st.frozensets(st.sampled_from(tuple(items)))


def mostly(usual: Any, *others: Any) -> st.SearchStrategy[Any]:
    """``usual`` three times in four, else one of ``others``: receptions are mostly compliant, so a
    finding that a stricter layer removed would show instead of hiding among many others."""
    return st.one_of(st.just(usual), st.just(usual), st.just(usual), st.sampled_from(others))


def rarely() -> st.SearchStrategy[bool]:
    return mostly(False, True)


@st.composite
def guests(draw: st.DrawFn, state_employees: bool) -> tuple[Guest, ...]:
    count = draw(st.integers(1, 12))
    return tuple(
        Guest(
            draw(st.sampled_from(NAMES)),
            draw(st.sampled_from(("市农业农村局", "省财政厅", "某科技有限公司"))),
            draw(st.sampled_from(("副局长", "调研员", ""))),
            draw(st.sampled_from(tuple(Rank))),
            state_employee=state_employees,
        )
        for _ in range(count)
    )


@st.composite
def meals(draw: st.DrawFn, start: date, caps: tuple[Decimal, ...]) -> Meal:
    guests_n = draw(st.integers(1, 15))
    companions = draw(st.integers(0, 6))
    per_head = draw(st.sampled_from(caps) | st.sampled_from(PER_HEAD))
    cost = per_head * (guests_n + companions) + draw(st.sampled_from((Decimal(0), CENT)))
    alcohol = draw(st.booleans())
    dishes = draw(st.lists(st.sampled_from(ORDINARY), max_size=5)) + draw(mostly([], *([b] for b in BANNED)))
    return Meal(
        on=start + timedelta(days=draw(st.integers(0, 1))),
        kind=draw(st.sampled_from(tuple(MealKind))),
        venue=draw(mostly("县机关食堂", "某饭店", "某会所")),
        venue_type=draw(mostly(VenueType.CANTEEN, *VenueType)),
        guests=guests_n,
        companions=companions,
        cost=cost,
        working_meal=draw(mostly(True, False)),
        alcohol=alcohol,
        premium_alcohol=alcohol and draw(rarely()),
        cigarettes=draw(rarely()) and draw(rarely()),  # one in sixteen: it masks M-05
        dishes=tuple(dishes),
        format=draw(st.sampled_from(tuple(MealFormat))),
    )


@st.composite
def reception_lists(draw: st.DrawFn, letter: OfficialLetter, plan: Plan) -> ReceptionList:
    start = letter.itinerary.start
    items = tuple(
        ListItem(start, draw(st.sampled_from(("实地调研", "座谈会", "住宿"))), "县农业园区", Decimal(cost))
        for cost in draw(st.lists(st.integers(0, 800), max_size=3))
    )
    total = sum((i.cost for i in items), Decimal(0)) + sum((m.cost for m in plan.meals), Decimal(0))
    invoices = tuple(
        Invoice(number, start, "某饭店", total)
        for number in draw(st.lists(st.sampled_from(("A1", "A2")), max_size=2))
    )
    payments = tuple(
        Payment(method, total, cash_reason=draw(st.sampled_from(("", "对方不受理公务卡"))))
        for method in draw(st.lists(mostly(PaymentMethod.OFFICIAL_CARD, *PaymentMethod), max_size=2))
    )
    return ReceptionList(
        guests=tuple(draw(st.lists(st.sampled_from(letter.personnel), max_size=len(letter.personnel) + 1))),
        items=items,
        meals=plan.meals,
        invoices=invoices,
        payments=payments,
        companions=plan.companions,
        support_staff=tuple(draw(st.lists(st.just(Person("李明", "科员")), max_size=1))),
        signed_by=draw(mostly("孙浩", "")),
        signed_on=draw(mostly(letter.itinerary.end, None)),
        documents=(NATIONAL_DOCUMENTS - draw(mostly(frozenset(), *({d} for d in NATIONAL_DOCUMENTS))))
        | draw(subsets(set(DocumentKind) - NATIONAL_DOCUMENTS)),
    )


@st.composite
def receptions(draw: st.DrawFn, caps: tuple[Decimal, ...]) -> tuple[Reception, datetime]:
    """A reception and the moment it is checked; meals cost ``caps`` a head (±1 fen) half the time."""
    start = draw(st.sampled_from(DAYS))
    kind = draw(mostly(ReceptionType.DOMESTIC, ReceptionType.BUSINESS, ReceptionType.FOREIGN))
    letter = OfficialLetter(
        kind=draw(mostly(LetterKind.LETTER, *LetterKind)),
        number="某函〔2026〕1号",
        sending_unit="市农业农村局",
        issued_on=start - timedelta(days=5),
        purpose=draw(mostly(Purpose.RESEARCH, *Purpose)),
        content="考察调研",
        itinerary=Itinerary(start, start + timedelta(days=1), ("县农业园区",)),
        personnel=draw(guests(state_employees=kind is ReceptionType.DOMESTIC)),
        sending_jurisdiction=draw(mostly("", "341502", "341522", "340104", "420100")),
    )
    plan = Plan(
        meals=tuple(draw(st.lists(meals(start, caps), max_size=2))),
        companions=tuple(Person(f"陪同{i}", "科长") for i in range(draw(st.integers(0, 3)))),
        budget=Decimal(draw(st.sampled_from((0, 500, 2000)))),
    )
    listing = draw(st.none() | reception_lists(letter, plan))
    reception = sample_reception(
        jurisdiction=JURISDICTION,
        letter=letter,
        plan=plan,
        start=start,
        end=letter.itinerary.end,
        reception_type=kind,
        rule_pack=national_rule_pack(start),
        reception_list=listing,
        state="completed",
    )
    later = letter.itinerary.end + timedelta(days=draw(st.sampled_from((1, 20, 45, 100))))
    return reception, datetime.combine(later, time(9, 0), CHINA_TZ)


# -- a layer that only tightens ---------------------------------------------------------------------


def _scaled(row: MealStandard, factor: Decimal) -> MealStandard:
    return attrs.evolve(row, amount=(row.amount * factor).quantize(CENT, rounding=ROUND_DOWN))


@st.composite
def new_meal_rows(draw: st.DrawFn) -> tuple[MealStandard, ...]:
    """Rows where the base had none: any cap is stricter than no cap."""
    return tuple(
        MealStandard(
            Decimal(draw(st.sampled_from((25, 35, 60, 90, 150, 200)))),
            draw(st.sampled_from(tuple(MealUnit))),
            meal_kind=draw(st.none() | st.sampled_from(tuple(MealKind))),
            venue_types=draw(subsets(VenueType)),
        )
        for _ in range(draw(st.integers(1, 3)))
    )


@st.composite
def stricter_layers(draw: st.DrawFn, base: Standards) -> StandardsLayer:
    """A county layer whose every change is at least as strict as ``base`` (drawn field by field)."""
    changes: dict[str, Any] = {}

    def maybe(field: str, value: st.SearchStrategy[Any]) -> None:
        if draw(st.booleans()):
            changes[field] = draw(value)

    if base.meal_standards:
        factor = st.sampled_from((Decimal(1), Decimal("0.9"), Decimal("0.5")))
        maybe("meal_standards", factor.map(lambda f: tuple(_scaled(r, f) for r in base.meal_standards)))
    else:
        maybe("meal_standards", new_meal_rows())
    if not base.companions.one_for_one_up_to:
        caps = st.integers(0, base.companions.small_cap)
        divisors = st.integers(base.companions.divisor, base.companions.divisor + 3)
        policy = st.builds(CompanionPolicy, st.just(base.companions.small_party), caps, divisors)
        maybe("companions", policy)
    maybe("working_meals_max", st.integers(0, base.working_meals_max))
    stricter = [p for p in AlcoholPolicy if _STRICTNESS[p] >= _STRICTNESS[base.alcohol]]
    maybe("alcohol", st.sampled_from(stricter))
    maybe(
        "alcohol_exempt_types",
        subsets(base.alcohol_exempt_types) if base.alcohol_exempt_types else st.just(frozenset()),
    )
    maybe("weekday_lunch_alcohol_ban", st.just(True))
    maybe("banned_dishes", subsets(("鲍鱼", "海参", "甲鱼")).map(base.banned_dishes.union))
    fewer = st.integers(1, base.max_dishes) if base.max_dishes is not None else st.integers(1, 6)
    maybe("max_dishes", fewer)
    maybe("banned_venue_types", subsets(VenueType).map(base.banned_venue_types.union))
    maybe(
        "designated_venues",
        st.just(frozenset({"县机关食堂"})) if not base.designated_venues else st.nothing(),
    )
    maybe("same_city_ban", st.just(True))
    maybe("required_documents", subsets(DocumentKind).map(base.required_documents.union))
    maybe("accepted_letters", subsets(base.accepted_letters))
    days, months = base.claim_deadline_days, base.claim_deadline_months
    maybe("claim_deadline_days", st.integers(1, days if days is not None else 60))
    if months is not None:
        maybe("claim_deadline_months", st.integers(1, months))
    maybe("new_letter_increase", st.integers(1, base.new_letter_increase))
    maybe(
        "gifts_allowed_types",
        subsets(base.gifts_allowed_types) if base.gifts_allowed_types else st.just(frozenset()),
    )
    return StandardsLayer("更严的一层", Level.COUNTY, JURISDICTION, changes, effective_from=date(2013, 1, 1))


# -- running the rules ------------------------------------------------------------------------------


def findings(reception: Reception, standards: Standards, now: datetime) -> list[Finding]:
    return [
        f for stage in RULES.stages for f in RULES.run(RuleContext(reception, standards, stage, None, now))
    ]


def refusing(found: list[Finding]) -> set[str]:
    return {f.rule_id for f in found if f.blocks or f.severity is Severity.NEEDS_EXPLANATION}


def caps(layers: tuple[StandardsLayer, ...]) -> tuple[Decimal, ...]:
    """The meal standards of ``layers`` (and the ones a stricter layer may add): costs right at a
    cap are where a lower cap changes the verdict."""
    rows = resolve(JURISDICTION, DAYS[-1], layers).meal_standards
    return tuple(sorted({r.amount for r in rows} | {Decimal(n) for n in (25, 35, 60, 90, 150, 200)}))


@SETTINGS
@given(base_name=st.sampled_from(sorted(BASES)), data=st.data())
def test_a_stricter_layer_never_turns_a_refusal_into_a_pass(base_name: str, data: st.DataObject) -> None:
    layers = (*NATIONAL_LAYERS, *BASES[base_name])
    reception, now = data.draw(receptions(caps(layers)), label="reception")
    base = resolve(JURISDICTION, reception.start, layers)
    layer = data.draw(stricter_layers(base), label="stricter layer")
    strict = resolve(JURISDICTION, reception.start, (*layers, layer))
    before = findings(reception, base, now)
    after = findings(reception, strict, now)
    assert {f.rule_id for f in after if f.blocks} >= {f.rule_id for f in before if f.blocks}
    assert refusing(after) >= refusing(before)


def _shuffled(reception: Reception, data: st.DataObject) -> Reception:
    letter = attrs.evolve(
        reception.letter, personnel=tuple(data.draw(st.permutations(reception.letter.personnel)))
    )
    plan = attrs.evolve(reception.plan, meals=tuple(data.draw(st.permutations(reception.plan.meals))))
    listing = reception.reception_list
    if listing is not None:
        listing = attrs.evolve(
            listing,
            guests=tuple(data.draw(st.permutations(listing.guests))),
            items=tuple(data.draw(st.permutations(listing.items))),
            meals=tuple(data.draw(st.permutations(listing.meals))),
            invoices=tuple(data.draw(st.permutations(listing.invoices))),
            payments=tuple(data.draw(st.permutations(listing.payments))),
        )
    return attrs.evolve(reception, letter=letter, plan=plan, reception_list=listing)


@SETTINGS
@given(base_name=st.sampled_from(sorted(BASES)), data=st.data())
def test_findings_do_not_depend_on_the_order_of_guests_meals_or_list_items(
    base_name: str, data: st.DataObject
) -> None:
    layers = (*NATIONAL_LAYERS, *BASES[base_name])
    reception, now = data.draw(receptions(caps(layers)), label="reception")
    standards = resolve(JURISDICTION, reception.start, layers)
    shuffled = _shuffled(reception, data)

    def summary(r: Reception) -> Counter[tuple[str, Severity]]:
        return Counter((f.rule_id, f.severity) for f in findings(r, standards, now))

    assert summary(shuffled) == summary(reception)

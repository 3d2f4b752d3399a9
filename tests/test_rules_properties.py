"""Properties of the rule set over generated receptions (hypothesis).

1. A stricter layer never lets through what it stood on refused: with a layer that only tightens
   (lower meal caps, fewer companions, stricter alcohol, more banned dishes or venues, more required
   documents, fewer accepted letters, shorter deadlines …) the blocking rule ids — and the ids that
   refuse a command without a written explanation — are a superset of those without it.
2. Findings do not depend on the order of guests, meals or list items.

The rules run as the engine runs them (``engine.rules.run``), on every stage that has rules.

Receptions and layers are built from a ``random.Random`` that hypothesis seeds (``st.randoms``).
Hypothesis' own generation derives examples from earlier ones and kept most categorical choices
alike within a run (120 letters of one kind), which let planted regressions through; a seeded
Random spreads the choices, and a failure is still reproducible: hypothesis reports the seed and
the notes show the reception and the layer.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

import attrs
from hypothesis import HealthCheck, given, note, settings
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
)
from jiedai_flow.builtin.national import NATIONAL_LAYERS
from jiedai_flow.domain import localities
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.model import CENT
from jiedai_flow.domain.standards import (
    NATIONAL_DOCUMENTS,
    AlcoholPolicy,
    CompanionPolicy,
    Level,
    MealStandard,
    MealUnit,
    national_rule_pack,
    resolve,
)
from jiedai_flow.testing import make_engine, sample_letter, sample_reception

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from jiedai_flow import Finding, Reception
    from jiedai_flow.domain.standards import Standards

JURISDICTION = "341502"
RULES = make_engine().rules
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ORDINARY = ("家常豆腐", "青菜", "红烧鸡块", "米饭", "冬瓜汤")
BANNED = ("鱼翅羹", "燕窝", "清蒸鲍鱼", "海参汤", "野生甲鱼")
NEW_CAPS = (25, 35, 60, 90, 150, 200)
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


# -- receptions ------------------------------------------------------------------------------------


def pick(rng: random.Random, usual: Any, *others: Any) -> Any:
    """``usual`` three times in four, else one of ``others``: receptions are mostly compliant, so a
    finding that a stricter layer removed shows instead of hiding among many others."""
    return usual if not others or rng.random() < 0.75 else rng.choice(others)


def rarely(rng: random.Random) -> bool:
    return rng.random() < 0.25


def some(rng: random.Random, items: Any) -> frozenset[Any]:
    """A random subset of ``items``."""
    return frozenset(item for item in items if rng.random() < 0.5)


def make_meal(rng: random.Random, start: date, caps: tuple[Decimal, ...]) -> Meal:
    guests = rng.randint(1, 15)
    companions = rng.randint(0, 6)
    per_head = rng.choice(caps) if rng.random() < 0.5 else rng.choice(PER_HEAD)
    alcohol = rng.random() < 0.5
    dishes = [rng.choice(ORDINARY) for _ in range(rng.randint(0, 5))]
    return Meal(
        on=start + timedelta(days=rng.randint(0, 1)),
        kind=rng.choice(tuple(MealKind)),
        venue=pick(rng, "县机关食堂", "某饭店", "某会所"),
        venue_type=pick(rng, VenueType.CANTEEN, *VenueType),
        guests=guests,
        companions=companions,
        cost=per_head * (guests + companions) + rng.choice((Decimal(0), CENT)),
        working_meal=pick(rng, True, False),
        alcohol=alcohol,
        premium_alcohol=alcohol and rarely(rng),
        cigarettes=rarely(rng) and rarely(rng),  # one in sixteen: it masks the rest of M-05
        dishes=(*dishes, *([rng.choice(BANNED)] if rarely(rng) else [])),
        format=rng.choice(tuple(MealFormat)),
    )


def make_list(rng: random.Random, letter: OfficialLetter, plan: Plan) -> ReceptionList:
    start = letter.itinerary.start
    items = tuple(
        ListItem(
            start, rng.choice(("实地调研", "座谈会", "住宿")), "县农业园区", Decimal(rng.randint(0, 800))
        )
        for _ in range(rng.randint(0, 3))
    )
    total = sum((i.cost for i in items), Decimal(0)) + sum((m.cost for m in plan.meals), Decimal(0))
    invoices = tuple(
        Invoice(rng.choice(("A1", "A2")), start, "某饭店", total) for _ in range(rng.randint(0, 2))
    )
    payments = tuple(
        Payment(
            pick(rng, PaymentMethod.OFFICIAL_CARD, *PaymentMethod),
            total,
            cash_reason=rng.choice(("", "对方不受理公务卡")),
        )
        for _ in range(rng.randint(0, 2))
    )
    guests = list(letter.personnel)
    rng.shuffle(guests)
    missing = pick(rng, frozenset(), *(frozenset({d}) for d in NATIONAL_DOCUMENTS))
    return ReceptionList(
        guests=tuple(guests[: rng.randint(len(guests) - 1, len(guests))])
        + ((guests[0],) if rarely(rng) else ()),
        items=items,
        meals=plan.meals,
        invoices=invoices,
        payments=payments,
        companions=plan.companions,
        support_staff=(Person("李明", "科员"),) if rng.random() < 0.5 else (),
        signed_by=pick(rng, "孙浩", ""),
        signed_on=pick(rng, letter.itinerary.end, None),
        documents=(NATIONAL_DOCUMENTS - missing) | some(rng, set(DocumentKind) - NATIONAL_DOCUMENTS),
    )


def make_reception(rng: random.Random, caps: tuple[Decimal, ...]) -> tuple[Reception, datetime]:
    """A reception and the moment it is checked; half the meals cost one of ``caps`` a head (±1 fen)."""
    start = rng.choice(DAYS)
    kind = pick(rng, ReceptionType.DOMESTIC, ReceptionType.BUSINESS, ReceptionType.FOREIGN)
    personnel = tuple(
        Guest(
            rng.choice(NAMES),
            rng.choice(("市农业农村局", "省财政厅", "某科技有限公司")),
            rng.choice(("副局长", "调研员", "")),
            rng.choice(tuple(Rank)),
            state_employee=kind is ReceptionType.DOMESTIC,
        )
        for _ in range(rng.randint(1, 12))
    )
    letter = OfficialLetter(
        kind=pick(rng, LetterKind.LETTER, *LetterKind),
        number="某函〔2026〕1号",
        sending_unit="市农业农村局",
        issued_on=start - timedelta(days=5),
        purpose=pick(rng, Purpose.RESEARCH, *Purpose),
        content="考察调研",
        itinerary=Itinerary(start, start + timedelta(days=1), ("县农业园区",)),
        personnel=personnel,
        meal_requested=pick(rng, True, False),
        sending_jurisdiction=pick(rng, "", "341502", "341522", "340104", "420100"),
    )
    plan = Plan(
        meals=tuple(make_meal(rng, start, caps) for _ in range(rng.randint(0, 2))),
        companions=tuple(Person(f"陪同{i}", "科长") for i in range(rng.randint(0, 3))),
        budget=Decimal(rng.choice((0, 500, 2000))),
    )
    reception = sample_reception(
        jurisdiction=JURISDICTION,
        letter=letter,
        plan=plan,
        start=start,
        end=letter.itinerary.end,
        reception_type=kind,
        rule_pack=national_rule_pack(start),
        reception_list=make_list(rng, letter, plan) if rng.random() < 0.5 else None,
        state="completed",
    )
    later = letter.itinerary.end + timedelta(days=rng.choice((1, 20, 45, 100)))
    return reception, datetime.combine(later, time(9, 0), CHINA_TZ)


# -- a layer that only tightens ---------------------------------------------------------------------


def _scaled(row: MealStandard, factor: Decimal) -> MealStandard:
    return attrs.evolve(row, amount=(row.amount * factor).quantize(CENT, rounding=ROUND_DOWN))


def new_meal_rows(rng: random.Random) -> tuple[MealStandard, ...]:
    """Rows where the base had none: any cap is stricter than no cap."""
    return tuple(
        MealStandard(
            Decimal(rng.choice(NEW_CAPS)),
            rng.choice(tuple(MealUnit)),
            meal_kind=rng.choice((None, *MealKind)),
            venue_types=some(rng, VenueType),
        )
        for _ in range(rng.randint(1, 3))
    )


def stricter_layer(rng: random.Random, base: Standards) -> StandardsLayer:
    """A county layer over ``base`` whose every change is at least as strict (each field one time
    in two)."""
    changes: dict[str, Any] = {}

    def maybe(field: str, value: Callable[[], Any]) -> None:
        if rng.random() < 0.5:
            changes[field] = value()

    if base.meal_standards:
        factor = rng.choice((Decimal(1), Decimal("0.9"), Decimal("0.5")))
        maybe("meal_standards", lambda: tuple(_scaled(r, factor) for r in base.meal_standards))
    else:
        maybe("meal_standards", lambda: new_meal_rows(rng))
    policy = base.companions
    if not policy.one_for_one_up_to:
        fewer = CompanionPolicy(
            policy.small_party,
            rng.randint(0, policy.small_cap),
            rng.randint(policy.divisor, policy.divisor + 3),
        )
        maybe("companions", lambda: fewer)
    maybe("working_meals_max", lambda: rng.randint(0, base.working_meals_max))
    maybe(
        "alcohol",
        lambda: rng.choice([p for p in AlcoholPolicy if _STRICTNESS[p] >= _STRICTNESS[base.alcohol]]),
    )
    maybe("alcohol_exempt_types", lambda: some(rng, base.alcohol_exempt_types))
    maybe("weekday_lunch_alcohol_ban", lambda: True)
    maybe("banned_dishes", lambda: base.banned_dishes | some(rng, ("鲍鱼", "海参", "甲鱼")))
    maybe("max_dishes", lambda: rng.randint(1, base.max_dishes if base.max_dishes is not None else 6))
    maybe("banned_venue_types", lambda: base.banned_venue_types | some(rng, VenueType))
    if not base.designated_venues:
        maybe("designated_venues", lambda: frozenset({"县机关食堂"}))
    maybe("same_city_ban", lambda: True)
    maybe("required_documents", lambda: base.required_documents | some(rng, DocumentKind))
    maybe("accepted_letters", lambda: some(rng, base.accepted_letters))
    days, months = base.claim_deadline_days, base.claim_deadline_months
    maybe("claim_deadline_days", lambda: rng.randint(1, days if days is not None else 60))
    if months is not None:
        maybe("claim_deadline_months", lambda: rng.randint(1, months))
    maybe("new_letter_increase", lambda: rng.randint(1, base.new_letter_increase))
    maybe("gifts_allowed_types", lambda: some(rng, base.gifts_allowed_types))
    return StandardsLayer("更严的一层", Level.COUNTY, JURISDICTION, changes, effective_from=date(2013, 1, 1))


# -- running the rules ------------------------------------------------------------------------------


def findings(reception: Reception, standards: Standards, now: datetime) -> list[Finding]:
    return [
        f for stage in RULES.stages for f in RULES.run(RuleContext(reception, standards, stage, None, now))
    ]


def refusing(found: list[Finding]) -> set[str]:
    return {f.rule_id for f in found if f.blocks or f.severity is Severity.NEEDS_EXPLANATION}


def caps(layers: tuple[StandardsLayer, ...]) -> tuple[Decimal, ...]:
    """The meal standards of ``layers`` and of the rows a stricter layer may add: a cost right at a
    cap is where a lower cap changes the verdict."""
    rows = resolve(JURISDICTION, DAYS[-1], layers).meal_standards
    return tuple(sorted({r.amount for r in rows} | {Decimal(n) for n in NEW_CAPS}))


@SETTINGS
@given(base_name=st.sampled_from(sorted(BASES)), rng=st.randoms(use_true_random=True))
def test_a_stricter_layer_never_turns_a_refusal_into_a_pass(base_name: str, rng: random.Random) -> None:
    layers = (*NATIONAL_LAYERS, *BASES[base_name])
    reception, now = make_reception(rng, caps(layers))
    base = resolve(JURISDICTION, reception.start, layers)
    layer = stricter_layer(rng, base)
    note(f"reception: {reception!r}\nchecked at: {now}\nstricter layer: {layer.changes!r}")
    strict = resolve(JURISDICTION, reception.start, (*layers, layer))
    before = findings(reception, base, now)
    after = findings(reception, strict, now)
    assert {f.rule_id for f in after if f.blocks} >= {f.rule_id for f in before if f.blocks}
    assert refusing(after) >= refusing(before)


def shuffled(rng: random.Random, reception: Reception) -> Reception:
    """``reception`` with its guests, meals and list entries in another order."""

    def mixed(items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(rng.sample(items, len(items)))

    letter = attrs.evolve(reception.letter, personnel=mixed(reception.letter.personnel))
    plan = attrs.evolve(reception.plan, meals=mixed(reception.plan.meals))
    listing = reception.reception_list
    if listing is not None:
        listing = attrs.evolve(
            listing,
            guests=mixed(listing.guests),
            items=mixed(listing.items),
            meals=mixed(listing.meals),
            invoices=mixed(listing.invoices),
            payments=mixed(listing.payments),
        )
    return attrs.evolve(reception, letter=letter, plan=plan, reception_list=listing)


@SETTINGS
@given(base_name=st.sampled_from(sorted(BASES)), rng=st.randoms(use_true_random=True))
def test_findings_do_not_depend_on_the_order_of_guests_meals_or_list_items(
    base_name: str, rng: random.Random
) -> None:
    layers = (*NATIONAL_LAYERS, *BASES[base_name])
    reception, now = make_reception(rng, caps(layers))
    standards = resolve(JURISDICTION, reception.start, layers)
    other = shuffled(rng, reception)
    note(f"reception: {reception!r}\nshuffled: {other!r}")

    def summary(r: Reception) -> Counter[tuple[str, Severity]]:
        return Counter((f.rule_id, f.severity) for f in findings(r, standards, now))

    assert summary(other) == summary(reception)


def test_a_no_alcohol_layer_still_refuses_premium_alcohol_that_no_premium_refuses() -> None:
    """The example hypothesis found: under the 2013 pack, premium alcohol at a meal the guests pay
    for is refused (no premium alcohol), yet a layer banning all alcohol let it through."""
    start = DAYS[0]
    meal = Meal(
        start,
        MealKind.DINNER,
        "县机关食堂",
        VenueType.CANTEEN,
        4,
        0,
        Decimal("240.00"),
        working_meal=False,
        alcohol=True,
        premium_alcohol=True,
    )
    reception = sample_reception(
        jurisdiction=JURISDICTION,
        plan=Plan(meals=(meal,), budget=Decimal(500)),
        start=start,
        end=start + timedelta(days=1),
        rule_pack=national_rule_pack(start),
        letter=sample_letter(start),
    )
    now = datetime.combine(start + timedelta(days=3), time(9, 0), CHINA_TZ)
    base = resolve(JURISDICTION, start, NATIONAL_LAYERS)
    no_alcohol = StandardsLayer("不上酒", Level.COUNTY, JURISDICTION, {"alcohol": AlcoholPolicy.NONE})
    strict = resolve(JURISDICTION, start, (*NATIONAL_LAYERS, no_alcohol))
    assert "M-05" in refusing(findings(reception, base, now))
    assert "M-05" in refusing(findings(reception, strict, now))

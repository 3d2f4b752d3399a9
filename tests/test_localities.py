"""The five shipped localities (docs/sources.md), each through a real engine against the national defaults.

For each locality: the file loads; a case it refuses that the national rules pass; and a case it
passes that the national rules refuse — where its source relaxes anything at all. Fujian and Zhoukou
only tighten the national rules, so for them the test shows that instead.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from jiedai_flow import (
    DocumentKind,
    Guest,
    Invoice,
    LetterKind,
    Level,
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
    RuleViolationError,
    Severity,
    StandardsLayer,
    VenueType,
    hookimpl,
)
from jiedai_flow.builtin.national import NATIONAL_LAYERS
from jiedai_flow.domain import localities
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.standards import AlcoholPolicy, MealUnit, resolve
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jiedai_flow import Engine

HANDLER = ACTORS["handler"]
PLAN_STAGE = ("submit",)
CLAIM_STAGE = ("claim",)

TUESDAY = date(2026, 3, 10)
SATURDAY = date(2026, 3, 14)
TUESDAY_2024 = date(2024, 3, 12)  # before the 2025 revision: the 2013 rule pack (no premium alcohol only)

EXPECTED = {
    "anhui": (Level.PROVINCE, "34", "S21"),
    "fujian": (Level.PROVINCE, "35", "S12"),
    "hubei_county": (Level.COUNTY, "420222", "S15"),
    "luan": (Level.CITY, "3415", "S19"),
    "zhoukou": (Level.CITY, "4116", "S18"),
}


class LocalityPlugin:
    """A plugin contributing one shipped locality, as a deployment would."""

    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def jiedai_standards_layers(self) -> list[StandardsLayer]:
        return [localities.load(self.name)]


@attrs.frozen
class Case:
    """One reception to judge: where, what, and when the check runs."""

    jurisdiction: str
    letter: OfficialLetter
    plan: Plan
    reception_type: ReceptionType = ReceptionType.DOMESTIC
    reception_list: ReceptionList | None = None
    now: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)


def refused(engine: Engine, case: Case, stages: Iterable[str]) -> set[str]:
    """Create the reception on ``engine`` and dry-run ``stages``: the ids of the findings that refuse
    the command — blocking ones, and those that need a written explanation none was given for."""
    created = engine.create_reception(
        case.letter,
        case.plan,
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction=case.jurisdiction,
        reception_type=case.reception_type,
    )
    reception = created.reception
    if case.reception_list is not None:
        reception = attrs.evolve(reception, reception_list=case.reception_list)
    findings = engine.check(reception, stages=list(stages)).findings
    return {f.rule_id for f in findings if f.blocks or f.severity is Severity.NEEDS_EXPLANATION}


def judge(name: str, case: Case, stages: Iterable[str] = PLAN_STAGE) -> tuple[set[str], set[str]]:
    """Refusing rule ids (with the locality's layer, with the national layers only)."""
    stages = tuple(stages)
    local = make_engine(LocalityPlugin(name), clock=FrozenClock(case.now))
    national = make_engine(clock=FrozenClock(case.now))
    return refused(local, case, stages), refused(national, case, stages)


# -- building receptions ------


def letter(
    start: date = TUESDAY,
    *,
    sending: str = "",
    kind: LetterKind = LetterKind.LETTER,
    reception_type: ReceptionType = ReceptionType.DOMESTIC,
) -> OfficialLetter:
    """A letter for 4 visitors over two days; business and foreign visitors are not state employees."""
    base = attrs.evolve(sample_letter(start), kind=kind, sending_jurisdiction=sending)
    if reception_type is ReceptionType.BUSINESS:
        unit, post, purpose = "某新能源科技有限公司", "总经理", Purpose.RESEARCH
    elif reception_type is ReceptionType.FOREIGN:
        unit, post, purpose = "某国友好城市代表团", "团员", Purpose.STUDY
    else:
        return base
    guests = tuple(Guest(f"来宾{i}", unit, post, Rank.OTHER, state_employee=False) for i in range(1, 5))
    return attrs.evolve(base, sending_unit=unit, personnel=guests, purpose=purpose)


def plan(on: date = TUESDAY, per_person: str = "60.00", companions: int = 2, **meal: Any) -> Plan:
    """One working meal for 4 guests and ``companions`` host diners at ``per_person`` yuan a head."""
    cost = Decimal(per_person) * (4 + companions)
    base = sample_plan(on, guests=4, companions=companions, cost=cost, **meal)
    return attrs.evolve(
        base, companions=(Person("王强", "县农业农村局局长"), Person("赵刚", "县农业农村局科长"))
    )


def listing(of: Case, documents: Iterable[DocumentKind]) -> ReceptionList:
    """A complete, signed reception list of ``of``'s plan carrying ``documents``."""
    meals = of.plan.meals
    total = sum((m.cost for m in meals), Decimal(0))
    return ReceptionList(
        guests=of.letter.personnel,
        meals=meals,
        invoices=(Invoice("No.00012345", meals[0].on, meals[0].venue, total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "POS 000123"),),
        companions=of.plan.companions,
        support_staff=(Person("李明", "县政府办公室科员"),),
        signed_by="孙浩（县政府办公室主任）",
        signed_on=of.letter.itinerary.end,
        documents=frozenset(documents),
    )


def claimed(of: Case, documents: Iterable[DocumentKind], on: date) -> Case:
    """``of`` with its list, checked at 09:00 on ``on``."""
    return attrs.evolve(
        of,
        reception_list=listing(of, documents),
        now=datetime(on.year, on.month, on.day, 9, 0, tzinfo=CHINA_TZ),
    )


D = DocumentKind
NATIONAL_SET = (D.INVOICE, D.LETTER, D.LIST)


# -- every file ------


def test_the_five_localities_are_shipped() -> None:
    assert localities.available() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_locality_file_loads_with_its_level_jurisdiction_and_source(name: str) -> None:
    """Every file loads; its header names the level, the area code and the reference source key."""
    layer = localities.load(name)
    level, jurisdiction, source_key = EXPECTED[name]
    assert (layer.level, layer.jurisdiction) == (level, jurisdiction)
    assert f"参考资料 {source_key}" in layer.source
    assert layer.changes, "a locality that changes nothing is not worth shipping"
    text = localities.path(name).read_text(encoding="utf-8")
    assert source_key in text
    assert "近似" in text or "日期" in text, "the file says where its effective date comes from"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_locality_folds_over_the_national_layer_in_its_jurisdiction_only(name: str) -> None:
    layer = localities.load(name)
    inside = resolve(layer.jurisdiction.ljust(6, "0"), TUESDAY, (*NATIONAL_LAYERS, layer))
    elsewhere = resolve("110101", TUESDAY, (*NATIONAL_LAYERS, layer))
    assert inside.layers == ("全国（2025）", layer.name)
    assert elsewhere.layers == ("全国（2025）",)
    for field, value in layer.changes.items():
        assert getattr(inside, field) == value


def test_unknown_locality_is_a_lookup_error_naming_the_choices() -> None:
    with pytest.raises(LookupError, match="anhui"):
        localities.load("beijing")


# -- 福建省 Fujian (S12): 150 元/人·天 ------

FUJIAN = "350102"


def test_fujian_refuses_a_working_meal_over_150_a_day_that_the_national_rules_pass() -> None:
    case = Case(FUJIAN, letter(), plan(per_person="160.00"))
    assert judge("fujian", case) == ({"M-03"}, set())


def test_fujian_passes_a_working_meal_at_150() -> None:
    case = Case(FUJIAN, letter(), plan(per_person="150.00"))
    assert judge("fujian", case) == (set(), set())


def test_fujian_only_tightens_so_what_the_national_rules_refuse_it_refuses() -> None:
    """S12 adds a cap and relaxes nothing: no case passes in Fujian that fails nationally."""
    case = Case(FUJIAN, letter(), plan(companions=4))
    local, national = judge("fujian", case)
    assert national == {"M-02"}
    assert local >= national


# -- 湖北某县 Hubei county (S15): per meal by origin, 四要素, 外宾 drinks ------

HUBEI = "420222"
WUHAN = "420100"


@pytest.mark.parametrize(
    ("sending", "kind", "per_person"),
    [
        (WUHAN, MealKind.LUNCH, "95.00"),  # from outside: lunch ≤ 90
        (WUHAN, MealKind.BREAKFAST, "55.00"),  # from outside: breakfast ≤ 50
        (HUBEI, MealKind.LUNCH, "75.00"),  # from inside: lunch ≤ 70
        (HUBEI, MealKind.DINNER, "75.00"),  # from inside: dinner ≤ 70
        ("", MealKind.LUNCH, "75.00"),  # origin unknown: the stricter row (inside, 70)
    ],
)
def test_hubei_county_refuses_a_meal_over_its_row_that_the_national_rules_pass(
    sending: str, kind: MealKind, per_person: str
) -> None:
    case = Case(HUBEI, letter(sending=sending), plan(per_person=per_person, kind=kind))
    assert judge("hubei_county", case) == ({"M-03"}, set())


@pytest.mark.parametrize(
    ("sending", "kind", "per_person"),
    [
        (WUHAN, MealKind.LUNCH, "90.00"),
        (WUHAN, MealKind.LUNCH, "75.00"),
        (HUBEI, MealKind.BREAKFAST, "40.00"),
    ],
)
def test_hubei_county_passes_a_meal_within_its_row(sending: str, kind: MealKind, per_person: str) -> None:
    case = Case(HUBEI, letter(sending=sending), plan(per_person=per_person, kind=kind))
    assert judge("hubei_county", case) == (set(), set())


def test_hubei_county_refuses_a_claim_without_the_approval_form_of_the_four_elements() -> None:
    """四要素: invoice, letter, approval form and list; the national three are not enough there."""
    case = claimed(Case(HUBEI, letter(sending=WUHAN), plan()), NATIONAL_SET, date(2026, 3, 20))
    assert judge("hubei_county", case, CLAIM_STAGE) == ({"F-01"}, set())
    complete = claimed(case, (*NATIONAL_SET, D.APPROVAL_FORM), date(2026, 3, 20))
    assert judge("hubei_county", complete, CLAIM_STAGE) == (set(), set())


def test_hubei_county_passes_drinks_at_a_foreign_guests_dinner_that_the_2025_rules_refuse() -> None:
    """The Hubei 外宾 table in S15 counts drinks in the banquet standard; nationally: no alcohol (2025)."""
    foreign = ReceptionType.FOREIGN
    meal = plan(SATURDAY, kind=MealKind.DINNER, alcohol=True)
    case = Case(HUBEI, letter(SATURDAY, reception_type=foreign), meal, foreign)
    assert judge("hubei_county", case) == (set(), {"M-05"})


# -- 安徽省直 Anhui (S21): ≤200 元/人·天, no alcohol except 外事/招商, none at weekday lunch ------

ANHUI = "340104"
BUSINESS = ReceptionType.BUSINESS


def test_anhui_refuses_a_meal_over_200_a_day_that_the_national_rules_pass() -> None:
    case = Case(ANHUI, letter(), plan(per_person="210.00"))
    assert judge("anhui", case) == ({"M-03"}, set())


def test_anhui_passes_drinks_at_an_investment_dinner_that_the_2025_rules_refuse() -> None:
    """招商引资 is exempt in Anhui (on a Saturday evening); nationally no alcohol at working meals."""
    case = Case(
        ANHUI,
        letter(SATURDAY, reception_type=BUSINESS),
        plan(SATURDAY, kind=MealKind.DINNER, alcohol=True),
        BUSINESS,
    )
    assert judge("anhui", case) == (set(), {"M-05"})


def test_anhui_refuses_drinks_at_a_weekday_lunch_even_for_investment_that_2013_rules_passed() -> None:
    """Before 2025 the national rules banned only premium alcohol; Anhui bans any at a weekday lunch."""
    case = Case(
        ANHUI, letter(TUESDAY_2024, reception_type=BUSINESS), plan(TUESDAY_2024, alcohol=True), BUSINESS
    )
    assert judge("anhui", case) == ({"M-05"}, set())


def test_anhui_refuses_ordinary_drinks_at_an_official_dinner_that_2013_rules_passed() -> None:
    case = Case(ANHUI, letter(TUESDAY_2024), plan(TUESDAY_2024, kind=MealKind.DINNER, alcohol=True))
    assert judge("anhui", case) == ({"M-05"}, set())


# -- 周口市 Zhoukou (S18): 25 at township canteens, 35 elsewhere, no alcohol, ≤4 dishes, no same-city ------

ZHOUKOU = "411602"


@pytest.mark.parametrize(
    ("venue_type", "per_person"),
    [(VenueType.TOWNSHIP_CANTEEN, "30.00"), (VenueType.CANTEEN, "40.00"), (VenueType.DESIGNATED, "36.00")],
)
def test_zhoukou_refuses_a_meal_over_its_venue_cap_that_the_national_rules_pass(
    venue_type: VenueType, per_person: str
) -> None:
    case = Case(ZHOUKOU, letter(), plan(per_person=per_person, venue_type=venue_type))
    assert judge("zhoukou", case) == ({"M-03"}, set())


@pytest.mark.parametrize(
    ("venue_type", "per_person"), [(VenueType.TOWNSHIP_CANTEEN, "25.00"), (VenueType.CANTEEN, "35.00")]
)
def test_zhoukou_passes_a_meal_at_its_venue_cap(venue_type: VenueType, per_person: str) -> None:
    case = Case(ZHOUKOU, letter(), plan(per_person=per_person, venue_type=venue_type))
    assert judge("zhoukou", case) == (set(), set())


def test_zhoukou_refuses_a_buffet_of_five_dishes_that_the_national_rules_pass() -> None:
    dishes = ("家常豆腐", "青菜", "红烧鸡块", "番茄炒蛋", "冬瓜汤")
    case = Case(ZHOUKOU, letter(), plan(per_person="30.00", format=MealFormat.BUFFET, dishes=dishes))
    assert judge("zhoukou", case) == ({"M-04"}, set())


def test_zhoukou_refuses_ordinary_drinks_that_the_2013_rules_passed() -> None:
    case = Case(ZHOUKOU, letter(TUESDAY_2024), plan(TUESDAY_2024, per_person="30.00", alcohol=True))
    assert judge("zhoukou", case) == ({"M-05"}, set())


def test_zhoukou_refuses_hosting_visitors_from_the_same_city() -> None:
    case = Case(ZHOUKOU, letter(sending="411621"), plan(per_person="30.00"))
    assert judge("zhoukou", case) == ({"S-02"}, set())


def test_zhoukou_only_tightens_so_what_the_national_rules_refuse_it_refuses() -> None:
    """S18 relaxes nothing: no case passes in Zhoukou that fails nationally."""
    case = Case(ZHOUKOU, letter(), plan(per_person="30.00", dishes=("鱼翅羹", "青菜")))
    local, national = judge("zhoukou", case)
    assert national == {"M-04"}
    assert local >= national


# -- 六安市 Lu'an (S19): phone record for a letter, 五单, one month to claim, no alcohol ------

LUAN = "341502"
FIVE = (D.INVOICE, D.MENU, D.APPROVAL_FORM, D.LIST, D.LETTER)
FIVE_BY_PHONE = (D.INVOICE, D.MENU, D.APPROVAL_FORM, D.LIST, D.PHONE_RECORD)


def test_luan_accepts_a_phone_record_for_the_letter_which_the_national_rules_refuse() -> None:
    case = Case(LUAN, letter(kind=LetterKind.PHONE_RECORD), plan())
    assert judge("luan", case) == (set(), {"L-01"})


def test_luan_claim_by_phone_record_passes_with_the_record_in_place_of_the_letter() -> None:
    """五单合一 with the phone record as the fifth; nationally a phone record is no letter at all (L-01)."""
    case = Case(LUAN, letter(kind=LetterKind.PHONE_RECORD), plan())
    case = claimed(case, FIVE_BY_PHONE, date(2026, 3, 20))
    local, national = judge("luan", case, (*PLAN_STAGE, *CLAIM_STAGE))
    assert local == set()
    assert "L-01" in national


def test_luan_refuses_a_claim_without_the_menu_that_the_national_rules_pass() -> None:
    case = claimed(Case(LUAN, letter(), plan()), (*NATIONAL_SET, D.APPROVAL_FORM), date(2026, 3, 20))
    assert judge("luan", case, CLAIM_STAGE) == ({"F-01"}, set())


def test_luan_refuses_a_claim_filed_more_than_a_month_after_the_reception() -> None:
    late = claimed(Case(LUAN, letter(), plan()), FIVE, date(2026, 4, 20))  # reception ended 2026-03-11
    assert judge("luan", late, CLAIM_STAGE) == ({"F-04"}, set())
    in_time = claimed(Case(LUAN, letter(), plan()), FIVE, date(2026, 4, 5))
    assert judge("luan", in_time, CLAIM_STAGE) == (set(), set())


def test_luan_refuses_ordinary_drinks_that_the_2013_rules_passed() -> None:
    case = Case(LUAN, letter(TUESDAY_2024), plan(TUESDAY_2024, kind=MealKind.DINNER, alcohol=True))
    assert judge("luan", case) == ({"M-05"}, set())


def test_luan_reception_by_phone_is_submitted_and_approved_by_the_deputy_head_through_fire() -> None:
    """A real command sequence: submitted by phone record in Lu'an, refused by the national rules."""
    phone = letter(kind=LetterKind.PHONE_RECORD)
    engine = make_engine(LocalityPlugin("luan"))
    rid = engine.create_reception(
        phone, plan(), handler=HANDLER, host_unit="市场监管局", jurisdiction=LUAN
    ).reception.id
    submitted = engine.fire(rid, "submit", HANDLER).reception
    assert [step.level for step in submitted.approval_chain] == ["分管领导"]
    assert engine.fire(rid, "approve", ACTORS["approver"], reason="同意").reception.state == "approved"

    national = make_engine()
    rid = national.create_reception(
        phone, plan(), handler=HANDLER, host_unit="市场监管局", jurisdiction=LUAN
    ).reception.id
    with pytest.raises(RuleViolationError) as refused:
        national.fire(rid, "submit", HANDLER)
    assert {f.rule_id for f in refused.value.findings if f.blocks} == {"L-01"}


# -- what the files say, field by field ------


def test_the_meal_standards_are_the_numbers_of_the_sources() -> None:
    def rows(name: str) -> set[tuple[str, MealUnit, object, object, frozenset[VenueType]]]:
        return {
            (str(s.amount), s.unit, s.meal_kind, s.origin, s.venue_types)
            for s in localities.load(name).changes["meal_standards"]
        }

    assert rows("fujian") == {("150.00", MealUnit.PERSON_DAY, None, None, frozenset())}
    assert rows("anhui") == {("200.00", MealUnit.PERSON_DAY, None, None, frozenset())}
    assert rows("zhoukou") == {
        ("25.00", MealUnit.PERSON_MEAL, None, None, frozenset({VenueType.TOWNSHIP_CANTEEN})),
        ("35.00", MealUnit.PERSON_MEAL, None, None, frozenset()),
    }
    hubei = {(amount, str(kind), str(origin)) for amount, _, kind, origin, _ in rows("hubei_county")}
    assert hubei == {
        ("50.00", "breakfast", "outside"),
        ("90.00", "lunch", "outside"),
        ("90.00", "dinner", "outside"),
        ("40.00", "breakfast", "inside"),
        ("70.00", "lunch", "inside"),
        ("70.00", "dinner", "inside"),
    }


def test_the_alcohol_and_document_rules_are_those_of_the_sources() -> None:
    anhui, luan, zhoukou = (localities.load(n).changes for n in ("anhui", "luan", "zhoukou"))
    assert anhui["alcohol"] is AlcoholPolicy.NONE
    assert anhui["alcohol_exempt_types"] == {ReceptionType.FOREIGN, ReceptionType.BUSINESS}
    assert anhui["weekday_lunch_alcohol_ban"] is True
    assert zhoukou["alcohol"] is luan["alcohol"] is AlcoholPolicy.NONE
    assert luan["required_documents"] == set(FIVE)
    assert LetterKind.PHONE_RECORD in luan["accepted_letters"]
    assert (luan["claim_deadline_months"], luan["approval_levels"]) == (1, ("分管领导",))
    hubei = localities.load("hubei_county").changes
    assert hubei["required_documents"] == {D.INVOICE, D.LETTER, D.APPROVAL_FORM, D.LIST}

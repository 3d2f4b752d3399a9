"""Value objects (model.py) and their conversion to and from plain data (convert.py)."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiedai_flow.domain.loading import converter, dump, load
from jiedai_flow.domain.model import (
    MAX_DAY,
    MIN_DAY,
    Activity,
    ActivityKind,
    Actor,
    Ceremony,
    DocumentKind,
    Gift,
    GiftKind,
    Guest,
    InvalidValueError,
    Invoice,
    Itinerary,
    LabelledEnum,
    LetterKind,
    ListItem,
    Lodging,
    Meal,
    MealFormat,
    MealKind,
    OfficialLetter,
    Payer,
    Payment,
    PaymentMethod,
    Person,
    Plan,
    Purpose,
    Rank,
    ReceptionList,
    ReceptionType,
    Role,
    RoomType,
    Transport,
    VenueType,
    from_fen,
    money,
    to_fen,
)
from jiedai_flow.errors import ValidationError

ALL_ENUMS: list[type[LabelledEnum]] = [
    LetterKind,
    Purpose,
    Rank,
    ReceptionType,
    MealKind,
    MealFormat,
    VenueType,
    RoomType,
    Payer,
    PaymentMethod,
    ActivityKind,
    GiftKind,
    DocumentKind,
    Role,
]
CJK = re.compile(r"[\u4e00-\u9fff]")


@attrs.frozen
class Dossier:
    """A letter, its plan and its list together, shaped like the engine's reception record."""

    letter: OfficialLetter
    plan: Plan
    reception_list: ReceptionList


def meal(**changes: Any) -> Meal:
    fields: dict[str, Any] = {
        "on": date(2024, 5, 8),
        "kind": MealKind.LUNCH,
        "venue": "县机关食堂",
        "venue_type": VenueType.CANTEEN,
        "guests": 4,
        "companions": 2,
        "cost": "480.00",
        "dishes": ("家常豆腐", "清炒时蔬"),
        "format": MealFormat.SET,
    }
    return Meal(**{**fields, **changes})


def letter() -> OfficialLetter:
    return OfficialLetter(
        kind=LetterKind.LETTER,
        number="市农函〔2024〕18号",
        sending_unit="市农业农村局",
        issued_on=date(2024, 4, 28),
        purpose=Purpose.RESEARCH,
        content="赴县调研高标准农田建设",
        itinerary=Itinerary(date(2024, 5, 8), date(2024, 5, 9), ("县农业园区", "城关镇"), "实地调研"),
        personnel=(
            Guest("周明", "市农业农村局", "副局长", Rank.COUNTY),
            Guest("吴芳", "市农业农村局", "科长", Rank.TOWNSHIP),
            Guest("郑浩", "市农业农村局", "科员"),
        ),
        contact="吴芳 138-0000-0000",
        meal_requested=True,
    )


def plan() -> Plan:
    return Plan(
        meals=(meal(), meal(on=date(2024, 5, 9), cost="360.00", companions=1)),
        lodgings=(
            Lodging("县政府招待所", RoomType.STANDARD, 3, 1, "260.00", guest_rank=Rank.COUNTY),
            Lodging("县政府招待所", RoomType.STANDARD, 1, 1, "260.00", payer=Payer.HOST),
        ),
        transport=Transport(vehicles=1, passengers=4, cost="150.00"),
        activities=(Activity(date(2024, 5, 8), "县农业园区", "查看高标准农田", ActivityKind.VISIT),),
        ceremony=Ceremony(),
        companions=(Person("王强", "县农业农村局局长"),),
        budget="2000",
    )


def reception_list() -> ReceptionList:
    return ReceptionList(
        guests=letter().personnel,
        items=(ListItem(date(2024, 5, 8), "住宿（接待单位承担一间）", "县政府招待所", "260.00", "", "F-2"),),
        meals=(meal(),),
        invoices=(
            Invoice("F-1", date(2024, 5, 8), "县机关食堂", "480.00"),
            Invoice("F-2", date(2024, 5, 9), "县政府招待所", "260.00"),
        ),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, "740.00", "POS 0012"),),
        companions=(Person("王强", "县农业农村局局长"),),
        support_staff=(Person("李司机"),),
        signed_by="县政府办公室主任 陈洁",
        signed_on=date(2024, 5, 10),
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


EVERY_CLASS = [
    Guest("周明", "市农业农村局", "副局长", Rank.BUREAU, state_employee=False),
    Person("王强"),
    Itinerary(date(2024, 5, 8), date(2024, 5, 8)),
    letter(),
    meal(alcohol=True, premium_alcohol=True, cigarettes=True, charged_to_guests="100"),
    Lodging("宾馆", RoomType.SUITE, 1, 2, "450.5", extras=("果盘",)),
    Transport(escort_vehicles=2, police_escort=True, road_closure=True, venue_clearing=True),
    Activity(date(2024, 5, 8), "景区", "游览", ActivityKind.SIGHTSEEING, "14:00", "80"),
    Ceremony(banners=True, flowers=True),
    Gift("茶叶", GiftKind.SPECIALTY, "300"),
    plan(),
    Invoice("F-1", date(2024, 5, 8), "县机关食堂", "480.00"),
    Payment(PaymentMethod.CASH, "20", cash_reason="商户不支持刷卡"),
    ListItem(date(2024, 5, 8), "调研", "县农业园区", 0),
    reception_list(),
    ReceptionList(guests=()),
    Actor("li.na", "李娜", frozenset({Role.APPROVER, Role.HANDLER}), "县政府办公室", frozenset({"分管领导"})),
    Dossier(letter(), plan(), reception_list()),
]


# --- money 金额 ---


def test_money_refuses_float() -> None:
    with pytest.raises(ValueError, match="浮点数"):
        money(180.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["1.005", "0.001", Decimal("12.345")])
def test_money_refuses_more_than_two_decimal_places(value: str | Decimal) -> None:
    with pytest.raises(ValueError, match="两位小数"):
        money(value)


@pytest.mark.parametrize("value", ["-0.01", -1, Decimal("-180.00")])
def test_money_refuses_negative_amounts(value: str | int | Decimal) -> None:
    with pytest.raises(ValueError, match="负数"):
        money(value)


@pytest.mark.parametrize("value", [True, "NaN", "inf", Decimal("-Infinity"), "一百", "", None, [1]])
def test_money_refuses_bool_nan_infinity_and_non_numbers(value: Any) -> None:
    with pytest.raises(ValueError, match="金额"):
        money(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("180", "180.00"),
        (5, "5.00"),
        ("1.000", "1.00"),
        (" 12.5 ", "12.50"),
        ("-0", "0.00"),
        ("1E+2", "100.00"),
    ],
)
def test_money_normalises_to_two_places(value: str | int, expected: str) -> None:
    assert str(money(value)) == expected


def test_fen_round_trips_and_refuses_fractions_of_a_fen() -> None:
    assert to_fen(Decimal("180.05")) == 18005
    assert str(from_fen(18005)) == "180.05"
    assert str(from_fen(0)) == "0.00"
    with pytest.raises(ValueError, match="两位小数"):
        to_fen(Decimal("0.005"))
    with pytest.raises(ValueError, match="整数"):
        from_fen(True)


def test_money_fields_accept_strings_and_ints_and_refuse_floats() -> None:
    assert meal(cost="180").cost == Decimal("180.00")
    assert Transport(cost=150).cost == Decimal("150.00")
    assert Plan().budget == Decimal("0.00")
    with pytest.raises(ValueError, match="浮点数"):
        meal(cost=180.0)


# --- enums 枚举 ---


@pytest.mark.parametrize("member", [m for cls in ALL_ENUMS for m in cls], ids=repr)
def test_every_enum_member_loads_from_its_value_and_its_chinese_label(member: LabelledEnum) -> None:
    cls = type(member)
    assert CJK.search(member.label)
    assert cls.parse(member.value) is member
    assert cls.parse(member.label) is member
    assert converter.structure(member.label, cls) is member
    assert converter.structure(member.value, cls) is member


def test_enum_value_is_the_stable_english_id_and_label_the_chinese_term() -> None:
    assert LetterKind.LETTER.value == "letter"
    assert f"{LetterKind.LETTER}" == "letter"
    assert LetterKind("phone_record") is LetterKind.PHONE_RECORD
    assert LetterKind.LETTER.label == "公函"
    assert Rank.PROVINCIAL.label == "省部级"
    assert PaymentMethod.CASH.label == "现金"
    assert GiftKind.CASH.label == "礼金"  # same value "cash", different enum, different label


@pytest.mark.parametrize(
    ("text", "rank"), [("厅局级", Rank.BUREAU), ("司局级", Rank.BUREAU), ("县处级", Rank.COUNTY)]
)
def test_rank_accepts_each_half_of_a_split_label(text: str, rank: Rank) -> None:
    assert Rank.parse(text) is rank


def test_unknown_enum_value_names_the_choices() -> None:
    with pytest.raises(InvalidValueError) as caught:
        MealKind.parse("brunch")
    assert "lunch（午餐）" in caught.value.message_zh
    assert "MealKind; expected one of: breakfast, lunch, dinner" in caught.value.message_en


# --- ranks 职级 ---


def test_rank_compares_by_seniority_not_alphabetically() -> None:
    assert Rank.BUREAU > Rank.COUNTY  # "bureau" < "county" as strings
    assert Rank.PROVINCIAL >= Rank.PROVINCIAL
    assert Rank.OTHER < Rank.TOWNSHIP <= Rank.COUNTY
    assert Rank.COUNTY < "省部级"
    assert sorted([Rank.COUNTY, Rank.OTHER, Rank.PROVINCIAL, Rank.BUREAU, Rank.TOWNSHIP]) == [
        Rank.OTHER,
        Rank.TOWNSHIP,
        Rank.COUNTY,
        Rank.BUREAU,
        Rank.PROVINCIAL,
    ]
    assert [r.order for r in (Rank.OTHER, Rank.PROVINCIAL)] == [0, 4]


def test_highest_rank_is_the_most_senior_visitor_or_none_without_visitors() -> None:
    assert letter().highest_rank is Rank.COUNTY
    assert attrs.evolve(letter(), personnel=()).highest_rank is None
    assert letter().headcount == 3


# --- value objects 值对象 ---


def test_meal_per_person_is_cost_over_diners_rounded_half_up_to_the_fen() -> None:
    assert meal(cost="100.00", guests=2, companions=1).per_person == Decimal("33.33")
    assert meal(cost="0.05", guests=2, companions=0).per_person == Decimal("0.03")  # half up, not even
    assert meal(guests=10, companions=3).diners == 13


def test_meal_needs_at_least_one_guest_and_counts_are_non_negative_ints() -> None:
    with pytest.raises(ValueError, match="guests"):
        meal(guests=0)
    with pytest.raises(ValueError, match="companions"):
        meal(companions=-1)
    with pytest.raises(ValueError, match="guests"):
        meal(guests=True)  # bool is not a count


@pytest.mark.parametrize(
    "make",
    [
        lambda: Guest(" ", "单位", "职务"),
        lambda: Person(""),
        lambda: meal(venue="\t"),
        lambda: Lodging("", RoomType.STANDARD, 1, 1, "1"),
        lambda: ListItem(date(2024, 5, 8), "", "地点", "1"),
        lambda: Actor(" ", "名字", frozenset()),
        lambda: attrs.evolve(letter(), number=""),
    ],
)
def test_identity_text_fields_must_not_be_blank(make: Any) -> None:
    with pytest.raises(ValueError, match="不能为空"):
        make()


def test_itinerary_counts_days_inclusively_and_refuses_end_before_start() -> None:
    assert Itinerary(date(2024, 5, 8), date(2024, 5, 9)).days == 2
    assert Itinerary(date(2024, 5, 8), date(2024, 5, 8)).days == 1
    with pytest.raises(InvalidValueError) as caught:
        Itinerary(date(2024, 5, 9), date(2024, 5, 8))
    assert caught.value.field == "end"


def test_plan_total_counts_meals_host_paid_lodging_transport_and_activities() -> None:
    p = attrs.evolve(plan(), activities=(Activity(date(2024, 5, 8), "园区", "座谈", cost="40"),))
    # meals 480 + 360, host-paid room 260 (guest-paid rooms excluded), transport 150, activity 40
    assert p.planned_total == Decimal("1290.00")
    assert Lodging("宾馆", RoomType.STANDARD, 3, 2, "260").total == Decimal("1560.00")
    assert Plan().planned_total == Decimal("0.00")


def test_totals_are_computed_once_per_frozen_object_and_stay_out_of_equality_and_json() -> None:
    p = attrs.evolve(plan(), activities=(Activity(date(2024, 5, 8), "园区", "座谈", cost="40"),))
    assert (p.planned_total, p.planned_fen) == (Decimal("1290.00"), 129000)
    assert p.planned_total is p.planned_total  # remembered, not recomputed
    assert p == attrs.evolve(p)  # a remembered total is not a field: equality and hashing ignore it
    assert hash(p) == hash(attrs.evolve(p))
    assert "planned_total" not in dump(p)
    assert "planned_fen" not in dump(p)
    cheaper = attrs.evolve(p, activities=())  # a changed plan is a new object with its own total
    assert (cheaper.planned_total, cheaper.planned_fen) == (Decimal("1250.00"), 125000)
    assert letter().highest_rank is letter().highest_rank is Rank.COUNTY


def test_reception_list_totals_add_items_and_meals_invoices_and_payments() -> None:
    rl = reception_list()
    assert rl.total == Decimal("740.00")
    assert rl.total_fen == 74000
    assert rl.invoiced_total == Decimal("740.00")
    assert rl.paid_total == Decimal("740.00")


def test_ceremony_violations_name_the_flags_that_are_set() -> None:
    assert Ceremony().violations == ()
    assert Ceremony(flowers=True, airport_welcome=True).violations == ("airport_welcome", "flowers")


def test_actor_has_role() -> None:
    actor = Actor("li.na", "李娜", frozenset({Role.APPROVER}))
    assert actor.has_role(Role.APPROVER)
    assert not actor.has_role(Role.FINANCE)


def test_sequences_are_tuples_so_value_objects_are_hashable() -> None:
    assert len({plan(), plan(), reception_list(), letter()}) == 3
    with pytest.raises(TypeError):
        Plan(meals=[meal()])  # type: ignore[arg-type]


# --- dump / load 序列化 ---


@pytest.mark.parametrize("obj", EVERY_CLASS, ids=lambda o: type(o).__name__)
def test_dump_then_load_gives_an_equal_object_also_through_json(obj: Any) -> None:
    assert load(type(obj), dump(obj)) == obj
    text = json.dumps(dump(obj), ensure_ascii=False)
    assert load(type(obj), json.loads(text)) == obj


def test_dump_gives_plain_json_data() -> None:
    data = dump(reception_list())
    assert data["meals"][0]["cost"] == "480.00"
    assert data["meals"][0]["on"] == "2024-05-08"
    assert data["meals"][0]["kind"] == "lunch"
    assert type(data["meals"][0]["kind"]) is str
    assert data["documents"] == ["invoice", "letter", "list"]
    assert data["guests"][0]["rank"] == "county"
    assert data["signed_on"] == "2024-05-10"
    assert dump(Actor("a", "b", frozenset({Role.OFFICE, Role.ADMIN})))["roles"] == ["admin", "office"]


def test_load_reads_toml_with_chinese_labels_native_dates_and_integer_money() -> None:
    data = tomllib.loads(
        """
        kind = "公函"
        number = "市农函〔2024〕18号"
        sending_unit = "市农业农村局"
        issued_on = 2024-04-28
        purpose = "考察调研"
        content = "赴县调研"
        [itinerary]
        start = 2024-05-08
        end = "2024-05-09"
        [[personnel]]
        name = "周明"
        unit = "市农业农村局"
        post = "副局长"
        rank = "厅局级"
        """
    )
    loaded = load(OfficialLetter, data)
    assert loaded.kind is LetterKind.LETTER
    assert loaded.purpose is Purpose.RESEARCH
    assert loaded.personnel[0].rank is Rank.BUREAU
    assert loaded.itinerary.days == 2
    assert load(Transport, tomllib.loads("cost = 150")).cost == Decimal("150.00")


def test_load_tells_a_day_that_does_not_exist_from_a_date_written_wrongly() -> None:
    letter = {"start": "2026-02-30", "end": "2026/03/02"}
    with pytest.raises(ValidationError) as caught:
        load(Itinerary, letter)
    found = {p.path: p.message_zh for p in caught.value.problems}
    assert found["$.start"].startswith("没有这一天：'2026-02-30'")
    assert found["$.end"].startswith("日期格式应为 YYYY-MM-DD")
    typed = load(Itinerary, {"start": "２０２６－０３－０１", "end": "2026-03-02"})  # a Chinese input method
    assert typed.start == date(2026, 3, 1)


def test_load_refuses_float_money_from_toml_with_a_hint() -> None:
    with pytest.raises(ValidationError) as caught:
        load(Transport, tomllib.loads("cost = 150.00"), source="plan.toml")
    (problem,) = caught.value.problems
    assert problem.path == "$.cost"
    assert problem.message_zh.startswith('金额不能用浮点数，请写成字符串，如 "180.00"')
    assert "float" in problem.message_en
    assert "plan.toml" in str(caught.value)


def bad_dossier() -> dict[str, Any]:
    data: dict[str, Any] = dump(Dossier(letter(), plan(), reception_list()))
    letter_data, plan_data, list_data = data["letter"], data["plan"], data["reception_list"]
    del letter_data["sending_unit"]  # missing required key
    letter_data["kind"] = "传真"  # unknown enum value
    letter_data["itinerary"]["end"] = "2024-05-01"  # end before start
    letter_data["personnel"][1]["name"] = "  "  # blank
    plan_data["meals"][0]["guests"] = -2  # negative
    plan_data["meals"][1]["cost"] = 180.5  # float money
    plan_data["meals"][1]["on"] = "2024-02-30"  # no such date
    plan_data["meals"][1]["wine"] = "茅台"  # extra key
    plan_data["transport"]["police_escort"] = "false"  # string for bool
    plan_data["activities"][0]["place"] = 7  # int for str
    plan_data["budget"] = "1.005"  # three places
    list_data["payments"][0]["amount"] = "-740"  # negative money
    list_data["documents"] = ["invoice", "发票", "收据"]  # unknown member among good ones
    list_data["companions"] = "王强"  # string for a list
    data["remark"] = "x"  # extra key at the top
    return data


def test_load_reports_every_problem_at_once_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        load(Dossier, bad_dossier())
    paths = {p.path for p in caught.value.problems}
    assert paths == {
        "$.letter.sending_unit",
        "$.letter.kind",
        "$.letter.itinerary",
        "$.letter.personnel[1].name",
        "$.plan.meals[0].guests",
        "$.plan.meals[1].cost",
        "$.plan.meals[1].on",
        "$.plan.meals[1].wine",
        "$.plan.transport.police_escort",
        "$.plan.activities[0].place",
        "$.plan.budget",
        "$.reception_list.payments[0].amount",
        "$.reception_list.documents[2]",
        "$.reception_list.companions",
        "$.remark",
    }
    assert len(caught.value.problems) == len(paths)


def test_each_problem_says_what_is_wrong_in_chinese_then_english() -> None:
    with pytest.raises(ValidationError) as caught:
        load(Dossier, bad_dossier())
    by_path = {p.path: p for p in caught.value.problems}
    for problem in caught.value.problems:
        assert CJK.search(problem.message_zh), problem
        assert re.match(r"['\w]", problem.message_en, re.ASCII), problem
    assert "sending_unit" in by_path["$.letter.sending_unit"].message_zh
    assert "missing" in by_path["$.letter.sending_unit"].message_en
    assert "end" in by_path["$.letter.itinerary"].message_zh
    assert "before" in by_path["$.letter.itinerary"].message_en
    assert "未知字段" in by_path["$.plan.meals[1].wine"].message_zh
    assert "浮点数" in by_path["$.plan.meals[1].cost"].message_zh
    assert "不能为空" in by_path["$.letter.personnel[1].name"].message_zh
    assert "公函" in by_path["$.letter.kind"].message_zh  # lists the choices
    text = str(caught.value)
    assert text.startswith("数据有 15 处错误")
    assert "@ $.plan.meals[1].cost" in text


def test_object_level_check_is_reported_once_the_fields_are_valid() -> None:
    with pytest.raises(ValidationError) as caught:
        load(Itinerary, {"start": "2024-05-09", "end": "2024-05-08"})
    assert [p.path for p in caught.value.problems] == ["$"]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (["not", "a", "mapping"], "$"),
        ({"name": "王强", "post": None}, "$.post"),
        ({"name": 12}, "$.name"),
    ],
)
def test_load_refuses_wrong_shapes_at_their_path(data: Any, path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load(Person, data)
    assert [p.path for p in caught.value.problems] == [path]


def test_load_refuses_strings_where_lists_belong_and_ints_where_strings_belong() -> None:
    with pytest.raises(ValidationError) as caught:
        load(Itinerary, {"start": "2024-05-08", "end": "2024-05-08", "places": "北京", "summary": 3})
    assert {p.path for p in caught.value.problems} == {"$.places", "$.summary"}


# --- properties ---

names = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8)
amounts = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)
meals = st.builds(
    Meal,
    on=st.dates(MIN_DAY, MAX_DAY),
    kind=st.sampled_from(MealKind),
    venue=names,
    venue_type=st.sampled_from(VenueType),
    guests=st.integers(1, 500),
    companions=st.integers(0, 200),
    cost=amounts,
    working_meal=st.booleans(),
    alcohol=st.booleans(),
    premium_alcohol=st.booleans(),
    cigarettes=st.booleans(),
    dishes=st.lists(names, max_size=4).map(tuple),
    format=st.sampled_from(MealFormat),
    charged_to_guests=amounts,
)


@given(meals)
def test_any_meal_round_trips_through_json(m: Meal) -> None:
    assert load(Meal, json.loads(json.dumps(dump(m)))) == m
    assert m.per_person * m.diners - m.cost <= Decimal("0.005") * m.diners


@given(amounts)
def test_any_two_place_amount_round_trips_through_text_and_fen(amount: Decimal) -> None:
    assert money(str(amount)) == amount
    assert from_fen(to_fen(amount)) == amount
    assert str(from_fen(to_fen(amount))) == str(money(amount))

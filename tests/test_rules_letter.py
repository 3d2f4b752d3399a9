"""The national L, S and B rules (letter 公函, scope 公务范围, investment receptions), run through the
real engine with local standards layers."""

from __future__ import annotations

from datetime import date, timedelta
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
    ListItem,
    Payment,
    PaymentMethod,
    Person,
    Purpose,
    ReceptionList,
    ReceptionType,
    RuleViolationError,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.builtin.national.letter import normalise_name
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jiedai_flow import Engine, Finding, OfficialLetter, Plan, Reception

JURISDICTION = "341502"
START = date(2026, 3, 10)  # the sample itinerary runs 03-10 to 03-11
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]


class LocalStandards:
    """A county plugin contributing one standards layer with ``changes``."""

    def __init__(self, **changes: Any) -> None:
        self.layer = StandardsLayer("测试县", Level.COUNTY, JURISDICTION, changes)

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


def engine_with(**changes: Any) -> Engine:
    return make_engine(LocalStandards(**changes))


def create(
    engine: Engine,
    letter: OfficialLetter | None = None,
    plan: Plan | None = None,
    reception_type: ReceptionType = ReceptionType.DOMESTIC,
    start: date | None = None,
    end: date | None = None,
) -> str:
    result = engine.create_reception(
        letter or sample_letter(START),
        plan or sample_plan(START),
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction=JURISDICTION,
        reception_type=reception_type,
        start=start,
        end=end,
    )
    return result.reception.id


def found(findings: Iterable[Finding], rule_id: str) -> list[tuple[Severity, str]]:
    return [(f.severity, f.path) for f in findings if f.rule_id == rule_id]


def at_submit(engine: Engine, rid: str) -> tuple[Finding, ...]:
    return engine.check(rid, stages=["submit"]).by_stage["submit"]


def completed(engine: Engine, rid: str) -> Reception:
    for trigger, actor in (
        ("submit", HANDLER),
        ("approve", APPROVER),
        ("start", HANDLER),
        ("finish", HANDLER),
    ):
        engine.fire(rid, trigger, actor)
    return engine.get(rid)


def listing(reception: Reception, **changes: Any) -> ReceptionList:
    """A list that satisfies the F rules: the letter's guests, the plan's meals, one invoice paid
    by 公务卡, the national voucher set, companions and support staff, signed on the last day."""
    meals = reception.plan.meals
    total = sum((m.cost for m in meals), Decimal(0))
    values: dict[str, Any] = {
        "guests": reception.letter.personnel,
        "meals": meals,
        "invoices": (Invoice("No.0001", reception.start, "县机关食堂", total),),
        "payments": (Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡尾号 1234"),),
        "companions": (Person("王强", "县农业农村局局长"),),
        "support_staff": (Person("李明", "县政府办公室科员"),),
        "signed_by": "王强",
        "signed_on": reception.end,
        "documents": frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    }
    values.update(changes)
    return ReceptionList(**values)


def claim_findings(engine: Engine, reception: Reception, **changes: Any) -> tuple[Finding, ...]:
    candidate = attrs.evolve(reception, reception_list=listing(reception, **changes))
    return engine.check(candidate, stages=["claim"]).by_stage["claim"]


def extra_guests(n: int) -> tuple[Guest, ...]:
    return tuple(Guest(f"随员{i + 1}", "市农业农村局", "科员") for i in range(n))


# -- L-01 无公函不接待 ----------------------------------------------------------------------------


def test_l01_a_phone_record_is_refused_unless_the_standards_accept_it() -> None:
    phone = attrs.evolve(sample_letter(START), kind=LetterKind.PHONE_RECORD)
    plain = make_engine()
    with pytest.raises(RuleViolationError) as caught:
        plain.fire(create(plain, phone), "submit", HANDLER)
    (finding,) = [f for f in caught.value.findings if f.rule_id == "L-01"]
    assert (finding.severity, finding.path) == (Severity.BLOCKING, "$.letter.kind")
    assert "「电话记录」不是本地接受的公函形式" in finding.message_zh
    county = engine_with(accepted_letters=frozenset(LetterKind))
    assert county.fire(create(county, phone), "submit", HANDLER).reception.state == "submitted"


def test_l01_a_letter_dated_after_the_start_is_warned_of_and_on_the_start_day_is_not() -> None:
    engine = make_engine()
    late = attrs.evolve(sample_letter(START), issued_on=START + timedelta(days=1))
    result = engine.fire(create(engine, late), "submit", HANDLER)
    (finding,) = [f for f in result.findings if f.rule_id == "L-01"]
    assert (finding.severity, finding.path) == (Severity.WARNING, "$.letter.issued_on")
    assert "2026-03-11 晚于接待开始日期 2026-03-10" in finding.message_zh
    same_day = attrs.evolve(sample_letter(START), issued_on=START)
    assert found(at_submit(engine, create(engine, same_day)), "L-01") == []


# -- L-02 公函内容 --------------------------------------------------------------------------------


def test_l02_a_letter_naming_nobody_is_refused() -> None:
    engine = make_engine()
    empty = attrs.evolve(sample_letter(START), personnel=())
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(create(engine, empty), "submit", HANDLER)
    assert (Severity.BLOCKING, "$.letter.personnel") in found(caught.value.findings, "L-02")


def test_l02_a_phone_record_must_say_who_called() -> None:
    engine = engine_with(accepted_letters=frozenset(LetterKind))
    anonymous = attrs.evolve(sample_letter(START), kind=LetterKind.PHONE_RECORD, contact="  ")
    assert found(at_submit(engine, create(engine, anonymous)), "L-02") == [
        (Severity.BLOCKING, "$.letter.contact")
    ]
    called = attrs.evolve(anonymous, contact="市农业农村局办公室 张科长 0550-1234567")
    assert found(at_submit(engine, create(engine, called)), "L-02") == []
    # a paper letter without a contact line is fine: only the phone record stands for a caller
    paper = attrs.evolve(called, kind=LetterKind.LETTER, contact="")
    assert found(at_submit(engine, create(engine, paper)), "L-02") == []


def test_l02_the_itinerary_must_cover_the_reception_to_its_last_day() -> None:
    engine = make_engine()
    last_day = START + timedelta(days=1)
    assert found(at_submit(engine, create(engine, end=last_day)), "L-02") == []
    over = engine.check(create(engine, end=last_day + timedelta(days=1)), stages=["submit"])
    (finding,) = [f for f in over.findings if f.rule_id == "L-02"]
    assert (finding.severity, finding.path) == (Severity.BLOCKING, "$.end")
    assert (
        finding.message_zh
        == "接待时间 2026-03-10 至 2026-03-12 超出公函行程 2026-03-10 至 2026-03-11（2 天）"
    )
    early = create(engine, start=START - timedelta(days=1), end=last_day)
    assert found(at_submit(engine, early), "L-02") == [(Severity.BLOCKING, "$.start")]


# -- L-03 清单与公函一致 --------------------------------------------------------------------------


def test_l03_a_list_of_the_letters_guests_passes_the_claim() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    result = engine.fire(reception.id, "claim", HANDLER, reception_list=listing(reception))
    assert result.reception.state == "settling"
    assert found(result.findings, "L-03") == []


@pytest.mark.parametrize("extra", [1, 2])
def test_l03_one_or_two_extra_guests_need_an_explanation(extra: int) -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    more = listing(reception, guests=(*reception.letter.personnel, *extra_guests(extra)))
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(reception.id, "claim", HANDLER, reception_list=more)
    l03 = [f for f in caught.value.findings if f.rule_id == "L-03"]
    assert {f.severity for f in l03} == {Severity.NEEDS_EXPLANATION}
    assert [f.path for f in l03] == [
        *(f"$.reception_list.guests[{4 + i}].name" for i in range(extra)),
        "$.reception_list.guests",
    ]
    assert (
        f"接待清单来宾 {4 + extra} 人，比公函所列 4 人多 {extra} 人（少于 3 人），须书面说明"
        == l03[-1].message_zh
    )
    assert "接待清单第 5 位来宾「随员1」（市农业农村局）不在公函所列人员中" in l03[0].message_zh
    assert not any(f.blocks for f in caught.value.findings)
    result = engine.fire(
        reception.id, "claim", HANDLER, reception_list=more, explanations={"L-03": "临时增派随员，经电话确认"}
    )
    assert result.reception.state == "settling"


def test_l03_three_extra_guests_need_a_new_letter_even_with_an_explanation() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    more = listing(reception, guests=(*reception.letter.personnel, *extra_guests(3)))
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(reception.id, "claim", HANDLER, reception_list=more, explanations={"L-03": "临时增派"})
    (blocking,) = [f for f in caught.value.findings if f.rule_id == "L-03" and f.blocks]
    assert blocking.path == "$.reception_list.guests"
    assert (
        blocking.message_zh == "接待清单来宾 7 人，比公函所列 4 人多 3 人；增加 3 人及以上须派出单位另发公函"
    )
    assert engine.get(reception.id).state == "completed"


def test_l03_the_new_letter_threshold_follows_the_standards() -> None:
    engine = engine_with(new_letter_increase=2)
    reception = completed(engine, create(engine))
    two_more = claim_findings(engine, reception, guests=(*reception.letter.personnel, *extra_guests(2)))
    assert (Severity.BLOCKING, "$.reception_list.guests") in found(two_more, "L-03")


def test_l03_fewer_guests_than_the_letter_names_pass() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    assert found(claim_findings(engine, reception, guests=reception.letter.personnel[:2]), "L-03") == []


def test_l03_names_match_whatever_the_spaces_and_widths() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    spaced = tuple(
        attrs.evolve(g, name=name)
        for g, name in zip(
            reception.letter.personnel, [" 来宾1", "来　宾2", "来宾3\u200b", "来宾４ "], strict=True
        )
    )
    result = engine.fire(reception.id, "claim", HANDLER, reception_list=listing(reception, guests=spaced))
    assert found(result.findings, "L-03") == []


def test_normalise_name_folds_spaces_widths_dots_and_case() -> None:
    assert normalise_name(" 张　伟 ") == normalise_name("张伟")
    assert normalise_name("阿依古丽•买买提") == normalise_name("阿依古丽·买买提")
    assert normalise_name("ＪＯＨＮ Smith") == normalise_name("john smith")
    assert normalise_name("张伟") != normalise_name("张玮")


def test_l03_a_substitute_not_named_in_the_letter_needs_an_explanation() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    guests = list(reception.letter.personnel)
    guests[3] = Guest("赵六", "市农业农村局", "科员")
    assert found(claim_findings(engine, reception, guests=tuple(guests)), "L-03") == [
        (Severity.NEEDS_EXPLANATION, "$.reception_list.guests[3].name")
    ]


def test_l03_one_named_visitor_listed_twice_counts_once() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    first = reception.letter.personnel[0]
    guests = (*reception.letter.personnel[:3], first)
    assert found(claim_findings(engine, reception, guests=guests), "L-03") == [
        (Severity.NEEDS_EXPLANATION, "$.reception_list.guests[3].name")
    ]


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (START, True),
        (START + timedelta(days=1), True),
        (START - timedelta(days=1), False),
        (START + timedelta(days=2), False),
    ],
)
def test_l03_list_dates_fall_on_the_itinerary_days_only(day: date, inside: bool) -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    item = ListItem(day, "实地调研用车", "县农业园区", Decimal("0.00"))
    findings = claim_findings(engine, reception, items=(item,))
    expected = [] if inside else [(Severity.BLOCKING, "$.reception_list.items[0].on")]
    assert found(findings, "L-03") == expected
    meal = attrs.evolve(reception.plan.meals[0], on=day)
    expected = [] if inside else [(Severity.BLOCKING, "$.reception_list.meals[0].on")]
    assert found(claim_findings(engine, reception, meals=(meal,)), "L-03") == expected


# -- L-04 一函一事一事一结 ------------------------------------------------------------------------


def test_l04_an_invoice_listed_twice_is_refused() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    once = Invoice("No.0001", START, "县机关食堂", Decimal("180.00"))
    again = Invoice(" no.0001", START, "县机关食堂", Decimal("180.00"))
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(reception.id, "claim", HANDLER, reception_list=listing(reception, invoices=(once, again)))
    (finding,) = [f for f in caught.value.findings if f.rule_id == "L-04"]
    assert (finding.severity, finding.path) == (Severity.BLOCKING, "$.reception_list.invoices[1].number")
    assert "发票  no.0001（180.00 元）在接待清单中重复列报（第 1 张与第 2 张）" in finding.message_zh


def test_l04_distinct_invoices_pass() -> None:
    engine = make_engine()
    reception = completed(engine, create(engine))
    invoices = (
        Invoice("No.0001", START, "县机关食堂", Decimal("180.00")),
        Invoice("No.0002", START, "县机关食堂", Decimal("180.00")),
    )
    assert found(claim_findings(engine, reception, invoices=invoices), "L-04") == []


# -- S-01 公务范围 --------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", [p for p in Purpose if p is not Purpose.OTHER])
def test_s01_the_six_official_purposes_pass(purpose: Purpose) -> None:
    engine = make_engine()
    letter = attrs.evolve(sample_letter(START), purpose=purpose)
    assert found(engine.fire(create(engine, letter), "submit", HANDLER).findings, "S-01") == []


def test_s01_other_needs_an_explanation_of_its_official_nature() -> None:
    engine = make_engine()
    letter = attrs.evolve(sample_letter(START), purpose=Purpose.OTHER)
    (finding,) = [f for f in at_submit(engine, create(engine, letter)) if f.rule_id == "S-01"]
    assert (finding.severity, finding.path) == (Severity.NEEDS_EXPLANATION, "$.letter.purpose")
    assert "不在第二条所列 6 类公务" in finding.message_zh
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第二条"


# -- S-02 同城不接待 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ban", "sender", "expected"),
    [
        (True, "341503", Severity.BLOCKING),  # another county of the same city 3415
        (True, "341502", Severity.BLOCKING),  # the host county itself
        (True, "341602", None),  # another city of the province
        (True, "34", None),  # only the province is known
        (True, "", Severity.INFO),  # unknown: the check could not run, and says so
        (False, "341503", None),  # no local ban
        (False, "", None),  # no local ban: nothing to check
    ],
)
def test_s02_same_city_visitors_are_refused_only_where_the_standards_ban_it(
    ban: bool, sender: str, expected: Severity | None
) -> None:
    engine = engine_with(same_city_ban=ban)
    letter = attrs.evolve(sample_letter(START), sending_jurisdiction=sender)
    findings = found(at_submit(engine, create(engine, letter)), "S-02")
    assert findings == ([(expected, "$.letter.sending_jurisdiction")] if expected else [])


def test_s02_names_both_areas_and_refuses_the_submission() -> None:
    engine = engine_with(same_city_ban=True)
    letter = attrs.evolve(sample_letter(START), sending_jurisdiction="341503")
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(create(engine, letter), "submit", HANDLER)
    (finding,) = [f for f in caught.value.findings if f.rule_id == "S-02"]
    assert "派出单位所在地（341503）与接待地（341502）同属一市（3415）" in finding.message_zh


# -- S-03 类型分流 --------------------------------------------------------------------------------


def non_state(letter: OfficialLetter) -> OfficialLetter:
    return attrs.evolve(
        letter, personnel=tuple(attrs.evolve(g, state_employee=False) for g in letter.personnel)
    )


@pytest.mark.parametrize(
    ("kind", "cited"),
    [
        (ReceptionType.FOREIGN, "《中央和国家机关外宾接待经费管理办法》（财行〔2013〕533号）"),
        (ReceptionType.BUSINESS, "《党政机关国内公务接待管理规定》第二十三条"),
    ],
)
def test_s03_foreign_and_business_receptions_are_noted_with_their_regime(
    kind: ReceptionType, cited: str
) -> None:
    engine = make_engine()
    rid = create(engine, non_state(sample_letter(START)), reception_type=kind)
    (finding,) = [f for f in at_submit(engine, rid) if f.rule_id == "S-03"]
    assert (finding.severity, finding.path, str(finding.citation)) == (
        Severity.INFO,
        "$.reception_type",
        cited,
    )


def test_s03_says_nothing_of_a_domestic_reception() -> None:
    engine = make_engine()
    assert found(at_submit(engine, create(engine)), "S-03") == []


# -- B-01 招商接待单独管理 ------------------------------------------------------------------------


def test_b01_state_employees_at_a_business_reception_are_refused_one_by_one() -> None:
    engine = make_engine()
    letter = sample_letter(START)
    mixed = attrs.evolve(
        letter,
        personnel=tuple(attrs.evolve(g, state_employee=i == 2) for i, g in enumerate(letter.personnel)),
    )
    rid = create(engine, mixed, reception_type=ReceptionType.BUSINESS)
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(rid, "submit", HANDLER)
    (finding,) = [f for f in caught.value.findings if f.rule_id == "B-01"]
    assert (finding.severity, finding.path) == (Severity.BLOCKING, "$.letter.personnel[2].state_employee")
    assert "（1/4 人）" in finding.message_zh
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第二十三条"


def test_b01_investors_pass_and_state_employees_pass_a_domestic_reception() -> None:
    engine = make_engine()
    investors = create(engine, non_state(sample_letter(START)), reception_type=ReceptionType.BUSINESS)
    assert found(engine.fire(investors, "submit", HANDLER).findings, "B-01") == []
    assert found(at_submit(engine, create(engine)), "B-01") == []


def test_b01_a_state_employee_added_on_the_list_of_a_business_reception_is_refused_at_claim() -> None:
    engine = make_engine()
    reception = completed(
        engine, create(engine, non_state(sample_letter(START)), reception_type=ReceptionType.BUSINESS)
    )
    guests = (*reception.letter.personnel[:3], Guest("来宾4", "市农业农村局", "调研员"))
    assert found(claim_findings(engine, reception, guests=guests), "B-01") == [
        (Severity.BLOCKING, "$.reception_list.guests[3].state_employee")
    ]
    assert found(claim_findings(engine, reception), "B-01") == []


def test_l03_a_list_adding_nobody_passes_whatever_the_threshold() -> None:
    engine = engine_with(new_letter_increase=0)
    reception = completed(engine, create(engine))
    assert found(claim_findings(engine, reception), "L-03") == []
    one_more = claim_findings(engine, reception, guests=(*reception.letter.personnel, *extra_guests(1)))
    assert (Severity.BLOCKING, "$.reception_list.guests") in found(one_more, "L-03")

"""The national F rules (vouchers, the list, payment, deadlines, funding), run through the real engine
with local standards layers and a frozen clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
    ReceptionList,
    RuleViolationError,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.standards import Budget, DeadlineFrom, add_months
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine, Finding, OfficialLetter, Plan, Reception

JURISDICTION = "341502"
HOST_UNIT = "县政府办公室"
START = date(2026, 3, 10)  # reception 2026-03-10 … 03-11, 2025 rule pack
START_2013 = date(2024, 9, 10)
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
FINANCE = ACTORS["finance"]

D = DocumentKind
NATIONAL = frozenset({D.INVOICE, D.LETTER, D.LIST})
FOUR_ELEMENTS = frozenset({D.INVOICE, D.LETTER, D.APPROVAL_FORM, D.LIST})  # 四要素 (Hubei county)
THREE_FORMS = frozenset({D.APPROVAL_FORM, D.MENU, D.INVOICE})  # 三单 (Sichuan)
FIVE_FORMS = frozenset({D.INVOICE, D.MENU, D.APPROVAL_FORM, D.LIST, D.LETTER})  # 五单合一 (Lu'an)


class LocalStandards:
    """A county plugin contributing one standards layer with ``changes``."""

    def __init__(self, **changes: Any) -> None:
        self.layer = StandardsLayer("测试县", Level.COUNTY, JURISDICTION, changes)

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


def engine_with(now: datetime | None = None, **changes: Any) -> Engine:
    return make_engine(LocalStandards(**changes), clock=FrozenClock(now) if now else None)


def on(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` China time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA_TZ)


def create(
    engine: Engine, start: date = START, letter: OfficialLetter | None = None, plan: Plan | None = None
) -> Reception:
    return engine.create_reception(
        letter or sample_letter(start),
        plan or sample_plan(start),
        handler=HANDLER,
        host_unit=HOST_UNIT,
        jurisdiction=JURISDICTION,
    ).reception


def complete_list(reception: Reception, **changes: Any) -> ReceptionList:
    """A complete, signed list of the plan's meals, paid by official card, with the national three."""
    meals = reception.plan.meals
    total = sum((m.cost for m in meals), Decimal(0))
    listing = ReceptionList(
        guests=reception.letter.personnel,
        meals=meals,
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡尾号 1234"),),
        companions=(Person("王强", "县农业农村局局长"),),
        support_staff=(Person("张伟", "县政府办公室科员"),),
        signed_by="孙浩（县政府办公室主任）",
        signed_on=reception.end,
        documents=NATIONAL,
    )
    return attrs.evolve(listing, **changes)


def with_list(reception: Reception, **changes: Any) -> Reception:
    return attrs.evolve(reception, reception_list=complete_list(reception, **changes))


def found(engine: Engine, reception: Reception, rule_id: str, stage: str = "claim") -> list[Finding]:
    """The findings of ``rule_id`` in a dry run of ``stage``."""
    return [f for f in engine.check(reception, stages=[stage]).findings if f.rule_id == rule_id]


def completed(engine: Engine, reception: Reception) -> Reception:
    """Walk a reception through submit, approve, start and finish with real commands."""
    for trigger, actor in (
        ("submit", HANDLER),
        ("approve", APPROVER),
        ("start", HANDLER),
        ("finish", HANDLER),
    ):
        reception = engine.fire(reception.id, trigger, actor).reception
    assert reception.state == "completed"
    return reception


# -- F-01 报销凭证 ---------------------------------------------------------------------------------


def test_f01_the_national_three_pass() -> None:
    """F-01: 票据 + 公函 + 清单 complete the national voucher set."""
    engine = engine_with()
    assert found(engine, with_list(create(engine)), "F-01") == []


def test_f01_a_claim_needs_the_list() -> None:
    """F-01: without a list the claim is blocked at ``$.reception_list``."""
    engine = engine_with()
    [finding] = found(engine, create(engine), "F-01")
    assert (finding.severity, finding.path) == (Severity.BLOCKING, "$.reception_list")
    assert finding.message_zh == "报销须附接待清单"


def test_f01_missing_documents_are_named_by_their_chinese_labels() -> None:
    """F-01: one finding lists every missing voucher and the required set."""
    engine = engine_with()
    [finding] = found(engine, with_list(create(engine), documents=frozenset({D.LIST})), "F-01")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == "报销凭证不全，缺少 2 项：发票、公函（应附：发票、公函、接待清单）"
    assert finding.message_en == (
        "2 required voucher(s) missing: invoice, letter (required: invoice, letter, list)"
    )
    assert finding.path == "$.reception_list.documents"
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第十四条"


def test_f01_four_elements_need_the_approval_form_cited_to_the_local_standards() -> None:
    """F-01 四要素: the national three are not enough; the missing 审批单 is a local requirement."""
    engine = engine_with(required_documents=FOUR_ELEMENTS)
    [finding] = found(engine, with_list(create(engine)), "F-01")
    assert finding.message_zh == "报销凭证不全，缺少 1 项：审批单（应附：发票、公函、接待清单、审批单）"
    assert str(finding.citation) == "本地标准"
    assert found(engine, with_list(create(engine), documents=FOUR_ELEMENTS), "F-01") == []


def test_f01_three_forms_replace_the_national_set() -> None:
    """F-01 三单 (审批单 + 原始菜单 + 餐饮发票): a locality may require a different set entirely."""
    engine = engine_with(required_documents=THREE_FORMS)
    assert found(engine, with_list(create(engine), documents=THREE_FORMS), "F-01") == []
    [finding] = found(engine, with_list(create(engine)), "F-01")
    assert finding.message_zh == "报销凭证不全，缺少 2 项：审批单、菜单（应附：发票、审批单、菜单）"


def phone_reception(engine: Engine) -> Reception:
    return create(engine, letter=attrs.evolve(sample_letter(START), kind=LetterKind.PHONE_RECORD))


def test_f01_five_forms_with_a_phone_record_in_place_of_the_letter_pass() -> None:
    """F-01 五单合一: when the reception was accepted on a phone record, the record is the 公函 voucher."""
    engine = engine_with(required_documents=FIVE_FORMS)
    by_phone = (FIVE_FORMS - {D.LETTER}) | {D.PHONE_RECORD}
    assert found(engine, with_list(phone_reception(engine), documents=by_phone), "F-01") == []


def test_f01_a_phone_reception_missing_both_is_told_letter_or_phone_record() -> None:
    """F-01: the missing voucher of a phone reception is named 公函/电话记录."""
    engine = engine_with(required_documents=FIVE_FORMS)
    listing = with_list(phone_reception(engine), documents=FIVE_FORMS - {D.LETTER})
    [finding] = found(engine, listing, "F-01")
    assert finding.message_zh.startswith("报销凭证不全，缺少 1 项：公函/电话记录（")


def test_f01_a_phone_record_does_not_stand_in_for_a_real_letter() -> None:
    """F-01: a reception received on a letter needs the letter itself among the vouchers."""
    engine = engine_with()
    documents = frozenset({D.INVOICE, D.LIST, D.PHONE_RECORD})
    [finding] = found(engine, with_list(create(engine), documents=documents), "F-01")
    assert finding.message_zh.startswith("报销凭证不全，缺少 1 项：公函（")


def test_f01_refuses_the_real_claim_and_saves_nothing() -> None:
    """F-01: a claim missing the invoice is refused by fire; the reception stays completed, unlisted."""
    engine = engine_with()
    reception = completed(engine, create(engine))
    listing = complete_list(reception, documents=frozenset({D.LETTER, D.LIST}))
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(reception.id, "claim", HANDLER, reception_list=listing)
    assert [f.rule_id for f in refused.value.findings if f.blocks] == ["F-01"]
    assert engine.get(reception.id) == reception
    claimed = engine.fire(reception.id, "claim", HANDLER, reception_list=complete_list(reception))
    assert claimed.reception.state == "settling"


def test_f01_an_invoice_dated_after_the_claim_is_blocked() -> None:
    """F-01: an invoice issued after the day the claim is filed (China day of the engine clock) is
    not yet a voucher: blocked at its date, cited to Art 14; one dated the claim's day passes."""
    engine = engine_with(on(date(2026, 3, 12)))
    invoices = (
        Invoice("No.0001", date(2026, 3, 12), "县机关食堂", Decimal("100.00")),
        Invoice("No.0002", date(2026, 3, 13), "县宾馆", Decimal("260.00")),
    )
    [finding] = found(engine, with_list(create(engine), invoices=invoices), "F-01")
    assert (finding.severity, finding.path) == (Severity.BLOCKING, "$.reception_list.invoices[1].issued_on")
    assert finding.message_zh == (
        "发票 No.0002（县宾馆）开具日期 2026-03-13 晚于报销日期 2026-03-12：尚未开具的发票不能作为报销凭证"
    )
    assert finding.message_en == (
        "invoice No.0002 (县宾馆) is dated 2026-03-13, after the claim was filed on 2026-03-12: an "
        "invoice not issued yet cannot be a voucher"
    )
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第十四条"


def test_f01_the_claims_day_is_the_china_date_whatever_the_clocks_zone() -> None:
    """F-01: 16:00 UTC on 03-12 is already 03-13 in China, the invoice's day: it passes."""
    engine = engine_with(datetime(2026, 3, 12, 16, 0, tzinfo=UTC))
    invoices = (Invoice("No.0001", date(2026, 3, 13), "县机关食堂", Decimal("100.00")),)
    assert found(engine, with_list(create(engine), invoices=invoices), "F-01") == []


def test_f01_a_claim_filed_before_the_reception_ended_is_judged_by_its_last_day() -> None:
    """F-01: a reception finished ahead of its dates (a walk-through on 03-02 of a 03-10…03-11 visit)
    is judged by its last day: invoices of its days pass, one dated after it is blocked."""
    engine = engine_with(on(date(2026, 3, 2)))
    days = (Invoice("No.0001", date(2026, 3, 11), "县宾馆", Decimal("100.00")),)
    assert found(engine, with_list(create(engine), invoices=days), "F-01") == []
    after = (Invoice("No.0002", date(2026, 3, 12), "县宾馆", Decimal("100.00")),)
    [finding] = found(engine, with_list(create(engine), invoices=after), "F-01")
    assert finding.severity is Severity.BLOCKING
    assert "晚于接待结束日期 2026-03-11" in finding.message_zh  # the bound that was applied


def test_f01_refuses_the_real_claim_of_an_invoice_from_the_future_listing_the_reason() -> None:
    """F-01: fire refuses the claim, naming the invoice; the reception stays completed."""
    clock = FrozenClock(on(date(2026, 3, 2)))
    engine = make_engine(LocalStandards(), clock=clock)
    reception = completed(engine, create(engine))
    clock.set(on(date(2026, 3, 12)))
    future = (Invoice("No.0009", date(2026, 4, 1), "县机关食堂", Decimal("100.00")),)
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(reception.id, "claim", HANDLER, reception_list=complete_list(reception, invoices=future))
    [blocking] = [f for f in refused.value.findings if f.blocks]
    assert (blocking.rule_id, blocking.path) == ("F-01", "$.reception_list.invoices[0].issued_on")
    assert blocking.message_zh.startswith(
        "发票 No.0009（县机关食堂）开具日期 2026-04-01 晚于报销日期 2026-03-12"
    )
    assert engine.get(reception.id).state == "completed"


def test_f01_an_invoice_dated_more_than_a_week_before_the_reception_is_only_a_warning() -> None:
    """F-01: a week before the start (a deposit paid ahead) passes unremarked; eight days before is
    a warning to check it belongs to this reception, and the claim goes through."""
    engine = engine_with(on(date(2026, 3, 12)))
    week = (Invoice("No.0001", START - timedelta(days=7), "县宾馆", Decimal("100.00")),)
    assert found(engine, with_list(create(engine), invoices=week), "F-01") == []
    earlier = (Invoice("No.0001", START - timedelta(days=8), "县宾馆", Decimal("100.00")),)
    [finding] = found(engine, with_list(create(engine), invoices=earlier), "F-01")
    assert (finding.severity, finding.path) == (Severity.WARNING, "$.reception_list.invoices[0].issued_on")
    assert finding.message_zh == (
        "发票 No.0001（县宾馆）开具日期 2026-03-02 早于接待开始日期 2026-03-10 8 天，请核对是否属于本次接待"
    )
    assert finding.message_en == (
        "invoice No.0001 (县宾馆) is dated 2026-03-02, 8 day(s) before the reception began on "
        "2026-03-10: check that it belongs to this reception"
    )


# -- F-02 清单字段与签字 -----------------------------------------------------------------------------


def test_f02_a_complete_signed_list_with_companions_and_staff_passes() -> None:
    engine = engine_with()
    assert found(engine, with_list(create(engine)), "F-02") == []


def test_f02_a_guest_without_a_post_is_blocked_with_the_post_the_letter_gives() -> None:
    """F-02: Art 7 wants unit, name and post of every guest; the model lets the post be blank."""
    engine = engine_with()
    reception = create(engine)
    first, *rest = reception.letter.personnel
    guests = (attrs.evolve(first, post=" "), *rest, Guest("司机", "市农业农村局", ""))
    [blank, driver] = found(engine, with_list(reception, guests=guests), "F-02")
    assert (
        blank.message_zh == "接待清单第 1 位接待对象「来宾1」（市农业农村局）未填职务（公函载明职务：副局长）"
    )
    assert blank.path == "$.reception_list.guests[0].post"
    assert driver.message_zh == "接待清单第 5 位接待对象「司机」（市农业农村局）未填职务"
    assert blank.severity is driver.severity is Severity.BLOCKING


def test_f02_a_list_without_guests_or_activities_is_blocked() -> None:
    engine = engine_with()
    reception = with_list(create(engine), guests=(), meals=(), items=())
    paths = [f.path for f in found(engine, reception, "F-02") if f.blocks]
    assert paths == ["$.reception_list.guests", "$.reception_list.items"]


def test_f02_activity_items_alone_satisfy_the_list() -> None:
    """F-02: meals booked as items (date, place, cost) are fine — no separate meals needed."""
    engine = engine_with()
    reception = create(engine)
    item = ListItem(START, "工作餐", "县机关食堂", Decimal("360.00"), "12:00", "No.0001")
    assert found(engine, with_list(reception, meals=(), items=(item,)), "F-02") == []


def test_f02_an_unsigned_undated_list_is_blocked_twice() -> None:
    """F-02: the list must be signed (审签) by a responsible person and dated."""
    engine = engine_with()
    findings = found(engine, with_list(create(engine), signed_by="  ", signed_on=None), "F-02")
    assert [(f.severity, f.path) for f in findings] == [
        (Severity.BLOCKING, "$.reception_list.signed_by"),
        (Severity.BLOCKING, "$.reception_list.signed_on"),
    ]


def test_f02_a_list_signed_before_the_reception_ended_is_warned_of() -> None:
    """F-02: the list is filled in after the activity; signing the day before the end is suspicious."""
    engine = engine_with()
    reception = create(engine)
    assert found(engine, with_list(reception, signed_on=reception.end + timedelta(days=3)), "F-02") == []
    [finding] = found(engine, with_list(reception, signed_on=reception.start), "F-02")
    assert finding.severity is Severity.WARNING
    assert finding.message_zh == (
        "接待清单审签日期 2026-03-10 早于接待结束日期 2026-03-11 1 天（清单应在活动结束后填写）"
    )


def test_f02_2025_a_list_naming_neither_companions_nor_staff_after_meals_with_companions_is_blocked() -> None:
    """F-02 (2025): the list reflects 陪同和相关工作保障人员; meals had 2 companions, none named."""
    engine = engine_with()
    reception = with_list(create(engine), companions=(), support_staff=())
    [finding] = found(engine, reception, "F-02")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == "用餐共有陪餐 2 人次，接待清单未列陪同人员和工作保障人员"
    assert finding.path == "$.reception_list.companions"
    assert str(finding.citation) == "《党政机关厉行节约反对浪费条例》（2025年修订）公务接待章"


def test_f02_2025_meals_booked_as_items_fall_back_to_the_plans_meals() -> None:
    """F-02 (2025): with no meals on the list, the companions of the plan's meals count."""
    engine = engine_with()
    item = ListItem(START, "工作餐", "县机关食堂", Decimal("360.00"))
    reception = with_list(create(engine), meals=(), items=(item,), companions=(), support_staff=())
    [finding] = found(engine, reception, "F-02")
    assert finding.blocks
    assert "$.plan.meals" in finding.message_en


def test_f02_2025_missing_support_staff_is_a_warning() -> None:
    engine = engine_with()
    [finding] = found(engine, with_list(create(engine), support_staff=()), "F-02")
    assert (finding.severity, finding.path) == (Severity.WARNING, "$.reception_list.support_staff")
    assert finding.message_zh == "接待清单未列工作保障人员（已列陪同人员 1 人）"


def test_f02_2025_staff_but_no_companions_after_meals_with_companions_is_a_warning() -> None:
    engine = engine_with()
    [finding] = found(engine, with_list(create(engine), companions=()), "F-02")
    assert (finding.severity, finding.path) == (Severity.WARNING, "$.reception_list.companions")
    assert finding.message_zh == "用餐共有陪餐 2 人次，接待清单未列陪同人员"


def test_f02_2025_without_meal_companions_an_empty_list_of_people_is_only_a_warning() -> None:
    """F-02 (2025): nobody dined with the guests, so no companion is missing; staff still are."""
    engine = engine_with()
    reception = create(engine, plan=sample_plan(START, companions=0))
    [finding] = found(engine, with_list(reception, companions=(), support_staff=()), "F-02")
    assert (finding.severity, finding.path) == (Severity.WARNING, "$.reception_list.support_staff")


def test_f02_2013_lists_need_no_companions_or_staff() -> None:
    """F-02: the companion and staff fields come with the 2025 revision; 2013 receptions skip them."""
    engine = engine_with()
    reception = create(engine, START_2013)
    assert reception.rule_pack == "national-2013"
    assert found(engine, with_list(reception, companions=(), support_staff=()), "F-02") == []


def test_f02_refuses_the_real_claim_of_an_unsigned_list() -> None:
    engine = engine_with()
    reception = completed(engine, create(engine))
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(reception.id, "claim", HANDLER, reception_list=complete_list(reception, signed_by=""))
    assert [f.path for f in refused.value.findings if f.blocks] == ["$.reception_list.signed_by"]
    assert engine.get(reception.id).state == "completed"


# -- F-03 支付方式 ---------------------------------------------------------------------------------


def test_f03_cash_needs_a_written_reason_at_claim_and_settle() -> None:
    engine = engine_with()
    reception = create(engine)
    cash = (Payment(PaymentMethod.CASH, Decimal("360.00")),)
    for stage in ("claim", "settle"):
        [finding] = found(engine, with_list(reception, payments=cash), "F-03", stage)
        assert finding.message_zh == "现金支付 360.00 元须写明理由"
    reasoned = (Payment(PaymentMethod.CASH, Decimal("360.00"), cash_reason="食堂无法刷卡，经分管领导批准"),)
    assert found(engine, with_list(reception, payments=reasoned), "F-03") == []


# -- F-04 报销时限 ---------------------------------------------------------------------------------


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 31), 1) == date(2026, 4, 30)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 8, 15), 6) == date(2027, 2, 15)
    assert add_months(date(2026, 12, 31), 12) == date(2027, 12, 31)


def test_f04_without_a_local_deadline_a_claim_is_never_late() -> None:
    engine = engine_with(on(date(2030, 1, 1)))
    assert found(engine, with_list(create(engine)), "F-04") == []


def test_f04_thirty_days_from_the_end_the_last_day_passes_the_next_needs_an_explanation() -> None:
    """F-04: the reception ended 2026-03-11; +30 days → last day 2026-04-10 (inclusive)."""
    in_time = engine_with(on(date(2026, 4, 10), 23, 59), claim_deadline_days=30)
    assert found(in_time, with_list(create(in_time)), "F-04") == []
    late = engine_with(on(date(2026, 4, 11), 0, 1), claim_deadline_days=30)
    [finding] = found(late, with_list(create(late)), "F-04")
    assert finding.severity is Severity.NEEDS_EXPLANATION
    assert finding.message_zh == (
        "报销逾期 1 天：自接待结束 2026-03-11 起限 30 天，最迟 2026-04-10，2026-04-11 才提交，须附情况说明"
    )
    assert finding.message_en == (
        "claim filed 1 day(s) late: 30 day(s) from the end of the reception 2026-03-11, last day "
        "2026-04-10, filed 2026-04-11; a written explanation is required"
    )
    assert (finding.path, str(finding.citation)) == ("$.end", "本地标准")


def test_f04_a_month_after_january_31_ends_on_february_28() -> None:
    """F-04: calendar months clamp to the month's end: 2026-01-31 + 1 month = 2026-02-28."""
    start = date(2026, 1, 30)  # the reception ends on 2026-01-31
    in_time = engine_with(on(date(2026, 2, 28)), claim_deadline_months=1)
    reception = create(in_time, start)
    assert reception.end == date(2026, 1, 31)
    assert found(in_time, with_list(reception), "F-04") == []
    late = engine_with(on(date(2026, 3, 1)), claim_deadline_months=1)
    [finding] = found(late, with_list(create(late, start)), "F-04")
    assert "逾期 1 天" in finding.message_zh
    assert "起限 1 个月，最迟 2026-02-28" in finding.message_zh


def test_f04_three_months_from_the_earliest_invoice() -> None:
    """F-04 (UESTC): three months counted from the earliest invoice date, whichever invoice it is."""
    changes = {"claim_deadline_months": 3, "claim_deadline_from": DeadlineFrom.INVOICE}
    invoices = (
        Invoice("No.0002", date(2026, 3, 11), "县宾馆", Decimal("100.00")),
        Invoice("No.0001", date(2026, 3, 9), "县机关食堂", Decimal("260.00")),
    )
    in_time = engine_with(on(date(2026, 6, 9)), **changes)
    assert found(in_time, with_list(create(in_time), invoices=invoices), "F-04") == []
    late = engine_with(on(date(2026, 6, 12)), **changes)
    [finding] = found(late, with_list(create(late), invoices=invoices), "F-04")
    assert finding.path == "$.reception_list.invoices[1].issued_on"
    assert finding.message_zh.startswith("报销逾期 3 天：自发票日期 2026-03-09 起限 3 个月，最迟 2026-06-09")


def test_f04_counting_from_invoices_without_any_falls_back_to_the_end() -> None:
    engine = engine_with(
        on(date(2026, 3, 20)), claim_deadline_days=5, claim_deadline_from=DeadlineFrom.INVOICE
    )
    [finding] = found(engine, with_list(create(engine), invoices=()), "F-04")
    assert (finding.path, "逾期 4 天" in finding.message_zh) == ("$.end", True)


def test_f04_with_days_and_months_the_earlier_last_day_applies() -> None:
    engine = engine_with(on(date(2026, 3, 22)), claim_deadline_days=10, claim_deadline_months=1)
    [finding] = found(engine, with_list(create(engine)), "F-04")
    assert "起限 10 天或1 个月，最迟 2026-03-21" in finding.message_zh


def test_f04_the_day_is_the_china_date_whatever_the_clocks_zone() -> None:
    """F-04: 16:00 UTC on the last day is already the next day in China: one day late."""
    utc_evening = datetime(2026, 4, 10, 16, 0, tzinfo=UTC)
    engine = engine_with(utc_evening, claim_deadline_days=30)
    [finding] = found(engine, with_list(create(engine)), "F-04")
    assert "逾期 1 天" in finding.message_zh


def test_f04_a_late_claim_passes_with_a_written_explanation_accepted_at_settlement() -> None:
    """F-04: a late claim is refused by fire without 情况说明, accepted with one; finance accepts it."""
    clock = FrozenClock(on(date(2026, 3, 2)))
    engine = make_engine(LocalStandards(claim_deadline_days=30), clock=clock)
    reception = completed(engine, create(engine))
    clock.set(on(date(2026, 4, 20)))
    listing = complete_list(reception)
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(reception.id, "claim", HANDLER, reception_list=listing)
    [late] = refused.value.findings
    assert (late.rule_id, late.severity) == ("F-04", Severity.NEEDS_EXPLANATION)
    assert "逾期 10 天" in late.message_zh
    assert engine.get(reception.id).state == "completed"

    why = "接待结束后发票遗失，补开发票延误"
    claimed = engine.fire(reception.id, "claim", HANDLER, reception_list=listing, explanations={"F-04": why})
    [explanation] = claimed.reception.explanations
    assert (explanation.rule_id, explanation.text, explanation.accepted) == ("F-04", why, False)
    settled = engine.fire(reception.id, "settle", FINANCE).reception
    assert settled.explanations[0].accepted_by == FINANCE.id


# -- F-05 预算 -----------------------------------------------------------------------------------


def test_f05_notes_the_budget_line_at_approval_without_a_cap() -> None:
    engine = engine_with()
    [finding] = found(engine, create(engine), "F-05", "approve")
    assert finding.severity is Severity.INFO
    assert finding.message_zh == (
        "列支「县政府办公室」2026 年度公务接待费（单独列示），审批后占用 1000.00 元"
        "（方案预算 1000.00 元、逐项合计 360.00 元，取较大者）；未设年度预算上限，审批后仍记入预算台账"
    )
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第十二条"


def test_f05_notes_the_annual_cap_and_leaves_what_remains_to_the_ledger() -> None:
    """F-05: a rule sees no ledger; the note says the remainder is checked when the approval completes."""
    engine = engine_with(budgets=(Budget(HOST_UNIT, 2026, "1000.00"),))
    [finding] = found(engine, create(engine), "F-05", "approve")
    assert finding.severity is Severity.INFO
    assert "取较大者）；年度预算 1000.00 元，余额在审批完成时由预算台账校验" in finding.message_zh


def test_f05_warns_in_a_dry_run_when_the_plan_alone_exceeds_the_whole_budget() -> None:
    engine = engine_with(budgets=(Budget(HOST_UNIT, 2026, "300.00"),))
    [finding] = found(engine, create(engine), "F-05", "approve")
    assert finding.severity is Severity.WARNING
    assert "审批后占用 1000.00 元" in finding.message_zh
    assert "超过年度预算 300.00 元 700.00 元" in finding.message_zh


def test_f05_budget_of_another_unit_or_year_does_not_apply() -> None:
    engine = engine_with(budgets=(Budget("县发改委", 2026, "10.00"), Budget(HOST_UNIT, 2025, "10.00")))
    [finding] = found(engine, create(engine), "F-05", "approve")
    assert "未设年度预算上限" in finding.message_zh


def test_f05_note_is_recorded_on_the_approval_event() -> None:
    engine = engine_with()
    reception = create(engine)
    engine.fire(reception.id, "submit", HANDLER)
    event = engine.fire(reception.id, "approve", APPROVER).event
    assert [(f.rule_id, f.severity, f.stage) for f in event.findings] == [("F-05", Severity.INFO, "approve")]


# -- F-06 不得转嫁 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payer", ["", HOST_UNIT, f" {HOST_UNIT} "])
def test_f06_payment_by_the_host_unit_passes(payer: str) -> None:
    engine = engine_with()
    payments = (Payment(PaymentMethod.OFFICIAL_CARD, Decimal("360.00"), payer=payer),)
    for stage in ("claim", "settle"):
        assert found(engine, with_list(create(engine), payments=payments), "F-06", stage) == []


def test_f06_payment_by_another_unit_is_blocked_at_claim_and_settle() -> None:
    """F-06: Art 12 forbids shifting reception costs to other units, firms or individuals."""
    engine = engine_with()
    payments = (
        Payment(PaymentMethod.OFFICIAL_CARD, Decimal("200.00")),
        Payment(PaymentMethod.TRANSFER, Decimal("160.00"), payer="某建筑公司"),
    )
    for stage in ("claim", "settle"):
        [finding] = found(engine, with_list(create(engine), payments=payments), "F-06", stage)
        assert finding.severity is Severity.BLOCKING
        assert finding.message_zh == (
            "接待费 160.00 元由「某建筑公司」支付，不得转嫁给接待单位「县政府办公室」以外的单位或个人"
        )
        assert finding.path == "$.reception_list.payments[1].payer"
        assert str(finding.citation) == "《党政机关国内公务接待管理规定》第十二条"


def test_f06_refuses_the_real_claim() -> None:
    engine = engine_with()
    reception = completed(engine, create(engine))
    payments = (Payment(PaymentMethod.TRANSFER, Decimal("360.00"), payer="乡政府"),)
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(
            reception.id, "claim", HANDLER, reception_list=complete_list(reception, payments=payments)
        )
    assert [f.rule_id for f in refused.value.findings if f.blocks] == ["F-06"]


# -- F-07 超标说明 ---------------------------------------------------------------------------------


def plan_with_budget(budget: str) -> Plan:
    return attrs.evolve(sample_plan(START), budget=Decimal(budget))


def test_f07_a_total_equal_to_the_plan_budget_passes() -> None:
    """F-07 boundary: the list totals 360.00 against a 360.00 budget."""
    engine = engine_with()
    assert found(engine, with_list(create(engine, plan=plan_with_budget("360.00"))), "F-07") == []


def test_f07_one_fen_over_the_plan_budget_needs_an_explanation_naming_both() -> None:
    engine = engine_with()
    [finding] = found(engine, with_list(create(engine, plan=plan_with_budget("359.99"))), "F-07")
    assert finding.severity is Severity.NEEDS_EXPLANATION
    assert finding.message_zh == "实际费用 360.00 元超过方案预算 359.99 元 0.01 元，须附情况说明"
    assert finding.message_en == (
        "actual total 360.00 yuan exceeds the plan budget of 359.99 by 0.01; "
        "a written explanation is required"
    )
    assert finding.path == "$.reception_list"


def test_f07_a_plan_without_a_budget_is_not_compared() -> None:
    engine = engine_with()
    assert found(engine, with_list(create(engine, plan=plan_with_budget("0"))), "F-07") == []


def test_f07_real_claim_over_budget_needs_the_explanation_and_finance_accepts_it() -> None:
    engine = engine_with()
    reception = completed(engine, create(engine, plan=plan_with_budget("300.00")))
    listing = complete_list(reception)
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(reception.id, "claim", HANDLER, reception_list=listing)
    assert [f.rule_id for f in refused.value.findings] == ["F-07"]
    why = "来宾临时增加一人，经分管领导同意"
    claimed = engine.fire(reception.id, "claim", HANDLER, reception_list=listing, explanations={"F-07": why})
    assert claimed.reception.state == "settling"
    assert claimed.event.explanations[0].path == "$.reception_list"
    settled = engine.fire(reception.id, "settle", FINANCE)
    assert [e.accepted_by for e in settled.reception.explanations] == [FINANCE.id]

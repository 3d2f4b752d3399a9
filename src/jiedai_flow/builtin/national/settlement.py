"""F rules: vouchers 报销凭证, the list and its sign-off, payment 支付方式, deadlines, funding.

The list rules run when the handler files the claim (``claim``); payment and funding rules run
again when finance settles (``settle``). F-05 enforcement is not a rule: the engine books every
accepted command in the host unit's budget ledger and the store refuses, atomically, a change
that would pass the annual cap (:mod:`jiedai_flow.domain.budget`). The F-05 rule only notes the line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import (
    CLAIM_STAGES,
    ECONOMY_2025,
    SETTLE_STAGES,
    art,
    block,
    explain,
    note,
    warn,
)
from jiedai_flow.domain import budget
from jiedai_flow.domain.clock import CHINA_TZ, china_day
from jiedai_flow.domain.findings import Citation, Severity
from jiedai_flow.domain.model import DocumentKind, LetterKind, PaymentMethod, from_fen
from jiedai_flow.domain.standards import NATIONAL_DOCUMENTS, RULE_PACK_2025, claim_deadline
from jiedai_flow.process.lifecycle import Stage
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.domain.model import Meal, ReceptionList
    from jiedai_flow.process.rules import RuleContext

LOCAL = Citation("本地标准")
APPROVE_STAGES = frozenset({Stage.APPROVE})
"""F-05 notes the budget line at each approval step; the last step commits what the plan commits
(``budget.committed_fen``: the larger of its stated budget and its itemised total)."""


# -- F-01 报销凭证 -------------------------------------------------------------------------------


def check_vouchers(ctx: RuleContext) -> Iterator[Finding]:
    """F-01 报销凭证: the claim carries the list, and the list's documents cover the required set
    (national 票据 + 公函 + 清单; locally 四要素, 三单, 五单 …). A phone record 电话记录 stands in
    for the letter when the reception was accepted on one. 发票开具日期晚于报销日期（接待结束更晚时
    以接待结束日期为准）的不予通过：尚未开具的发票不能作报销凭证；早于接待开始超过 7 天的提醒核对是否
    属于本次接待。/ No invoice may be dated after the day the claim is filed (or the reception's last
    day, when later); one dated more than 7 days before the reception began is a warning."""
    listing = ctx.reception.reception_list
    if listing is None:
        yield block(
            "F-01",
            "报销须附接待清单",
            "a claim needs the reception list",
            "$.reception_list",
            art("第十四条"),
        )
        return
    yield from _voucher_set(ctx, listing)
    yield from _invoice_dates(ctx, listing)


def _voucher_set(ctx: RuleContext, listing: ReceptionList) -> Iterator[Finding]:
    provided = set(listing.documents)
    by_phone = ctx.reception.letter.kind is LetterKind.PHONE_RECORD
    if by_phone and DocumentKind.PHONE_RECORD in provided:
        provided.add(DocumentKind.LETTER)
    required = ctx.standards.required_documents
    missing = [kind for kind in DocumentKind if kind in required and kind not in provided]
    if not missing:
        return

    def zh(kind: DocumentKind) -> str:
        return "公函/电话记录" if by_phone and kind is DocumentKind.LETTER else kind.label

    wanted = "、".join(zh(k) for k in DocumentKind if k in required)
    national = any(k in NATIONAL_DOCUMENTS for k in missing)
    yield block(
        "F-01",
        f"报销凭证不全，缺少 {len(missing)} 项：{'、'.join(zh(k) for k in missing)}（应附：{wanted}）",
        f"{len(missing)} required voucher(s) missing: {', '.join(k.value for k in missing)} "
        f"(required: {', '.join(k.value for k in DocumentKind if k in required)})",
        "$.reception_list.documents",
        art("第十四条") if national else ctx.standards.cite("required_documents", LOCAL),
    )


PREDATED_DAYS = 7
"""An invoice this many days before the reception's start is still unremarkable: a room or a hall
booked and paid ahead is invoiced when paid. Earlier than that, F-01 asks (a warning) whether it
belongs to this reception at all."""


def _invoice_dates(ctx: RuleContext, listing: ReceptionList) -> Iterator[Finding]:
    """An invoice dated after the claim's own day (China day of the engine clock) cannot be genuine:
    blocking. The reception's last day is the bound when that is later — a reception finished
    ahead of its dates, as a walk-through of a future reception does, is judged by its dates. One
    dated more than :data:`PREDATED_DAYS` before the reception began may be another matter's
    (一事一结): a warning, since a deposit paid early is invoiced early."""
    filed = china_day(ctx.now)
    start, latest = ctx.reception.start, max(filed, ctx.reception.end)
    for i, invoice in enumerate(listing.invoices):
        on, path = invoice.issued_on, f"$.reception_list.invoices[{i}].issued_on"
        zh, en = f"发票 {invoice.number}（{invoice.issuer}）", f"invoice {invoice.number} ({invoice.issuer})"
        early = (start - on).days
        if on > latest:
            bound_zh, bound_en = (
                (f"报销日期 {filed}", f"the claim was filed on {filed}")
                if latest == filed
                else (f"接待结束日期 {latest}", f"the reception's last day, {latest}")
            )
            yield block(
                "F-01",
                f"{zh}开具日期 {on} 晚于{bound_zh}：尚未开具的发票不能作为报销凭证",
                f"{en} is dated {on}, after {bound_en}: an invoice not issued yet cannot be a voucher",
                path,
                art("第十四条"),
            )
        elif early > PREDATED_DAYS:
            yield warn(
                "F-01",
                f"{zh}开具日期 {on} 早于接待开始日期 {start} {early} 天，请核对是否属于本次接待",
                f"{en} is dated {on}, {early} day(s) before the reception began on {start}: check that "
                "it belongs to this reception",
                path,
                art("第十四条"),
            )


# -- F-02 清单字段与签字 ---------------------------------------------------------------------------


def check_list_fields(ctx: RuleContext) -> Iterator[Finding]:
    """F-02 清单字段与签字: every guest with unit, name and post, at least one activity item,
    signed and dated; under the 2025 pack the list also records companions and support staff."""
    listing = ctx.reception.reception_list
    if listing is None:
        return
    yield from _guest_fields(ctx, listing)
    if not listing.items and not listing.meals:
        yield block(
            "F-02",
            "接待清单未列公务活动项目（时间、场所、费用）",
            "the list records no activity items (date, place, cost)",
            "$.reception_list.items",
            art("第七条"),
        )
    yield from _sign_off(ctx, listing)
    if ctx.reception.rule_pack == RULE_PACK_2025:
        yield from _companions_2025(ctx, listing)


def _guest_fields(ctx: RuleContext, listing: ReceptionList) -> Iterator[Finding]:
    if not listing.guests:
        yield block(
            "F-02",
            "接待清单未列接待对象（单位、姓名、职务）",
            "the list names no guests (unit, name, post)",
            "$.reception_list.guests",
            art("第七条"),
        )
    posts = {g.name.strip(): g.post.strip() for g in ctx.reception.letter.personnel}
    for i, guest in enumerate(listing.guests):
        if guest.post.strip():
            continue
        in_letter = posts.get(guest.name.strip(), "")
        hint_zh = f"（公函载明职务：{in_letter}）" if in_letter else ""
        hint_en = f" (the letter gives {in_letter!r})" if in_letter else ""
        yield block(
            "F-02",
            f"接待清单第 {i + 1} 位接待对象「{guest.name}」（{guest.unit}）未填职务{hint_zh}",
            f"list guest {i + 1} {guest.name!r} ({guest.unit}) has no post{hint_en}",
            f"$.reception_list.guests[{i}].post",
            art("第七条"),
        )


def _sign_off(ctx: RuleContext, listing: ReceptionList) -> Iterator[Finding]:
    if not listing.signed_by.strip():
        yield block(
            "F-02",
            "接待清单须由相关负责人审签（未填签字人）",
            "the list must be signed by a responsible person (signed_by is empty)",
            "$.reception_list.signed_by",
            art("第七条"),
        )
    if listing.signed_on is None:
        yield block(
            "F-02",
            "接待清单未填审签日期",
            "the list has no signing date",
            "$.reception_list.signed_on",
            art("第七条"),
        )
    elif listing.signed_on < ctx.reception.end:
        days = (ctx.reception.end - listing.signed_on).days
        yield warn(
            "F-02",
            f"接待清单审签日期 {listing.signed_on} 早于接待结束日期 {ctx.reception.end} {days} 天"
            "（清单应在活动结束后填写）",
            f"the list was signed on {listing.signed_on}, {days} day(s) before the reception ended "
            f"on {ctx.reception.end}",
            "$.reception_list.signed_on",
            art("第七条"),
        )


def _companions_2025(ctx: RuleContext, listing: ReceptionList) -> Iterator[Finding]:
    """2025: the list reflects 陪同和相关工作保障人员. Meals are those of the list, or of the plan
    when the list books its meals as items."""
    citation = Citation(ECONOMY_2025, "公务接待章")
    meals: tuple[Meal, ...] = listing.meals or ctx.reception.plan.meals
    dined = sum(m.companions for m in meals)
    where = "$.reception_list.meals" if listing.meals else "$.plan.meals"
    if not listing.companions and not listing.support_staff and dined:
        yield block(
            "F-02",
            f"用餐共有陪餐 {dined} 人次，接待清单未列陪同人员和工作保障人员",
            f"meals had {dined} companion place(s) ({where}) but the list names neither "
            "companions nor support staff",
            "$.reception_list.companions",
            citation,
        )
    elif not listing.companions and dined:
        yield warn(
            "F-02",
            f"用餐共有陪餐 {dined} 人次，接待清单未列陪同人员",
            f"meals had {dined} companion place(s) ({where}) but the list names no companions",
            "$.reception_list.companions",
            citation,
        )
    elif not listing.support_staff:
        yield warn(
            "F-02",
            f"接待清单未列工作保障人员（已列陪同人员 {len(listing.companions)} 人）",
            f"the list names no support staff ({len(listing.companions)} companion(s) listed)",
            "$.reception_list.support_staff",
            citation,
        )


# -- F-03 支付方式 ------------------------------------------------------------------------------


def check_payment(ctx: RuleContext) -> Iterator[Finding]:
    """F-03 支付方式: 公务卡 or transfer; cash only with a written reason; never on account."""
    listing = ctx.reception.reception_list
    if listing is None:
        return
    for i, payment in enumerate(listing.payments):
        path = f"$.reception_list.payments[{i}].method"
        if payment.method is PaymentMethod.ON_ACCOUNT:
            yield block("F-03", "不得挂账消费", "no payment on account", path, art("第十四条"))
        elif payment.method is PaymentMethod.CASH and not payment.cash_reason.strip():
            yield block(
                "F-03",
                f"现金支付 {payment.amount} 元须写明理由",
                f"cash payment of {payment.amount} yuan needs a written reason",
                path,
                art("第十四条"),
            )


# -- F-04 报销时限 ------------------------------------------------------------------------------


def check_deadline(ctx: RuleContext) -> Iterator[Finding]:
    """F-04 报销时限: filed after the local deadline needs a written explanation 情况说明."""
    found = claim_deadline(ctx.reception, ctx.standards)
    if found is None:
        return
    start, last, path = found
    now = ctx.now.astimezone(CHINA_TZ) if ctx.now.tzinfo is not None else ctx.now
    today = now.date()
    late = (today - last).days
    if late <= 0:
        return
    days, months = ctx.standards.claim_deadline_days, ctx.standards.claim_deadline_months
    limits = [(f"{days} 天", f"{days} day(s)")] if days is not None else []
    limits += [(f"{months} 个月", f"{months} calendar month(s)")] if months is not None else []
    by_invoice = path != "$.end"
    yield explain(
        "F-04",
        f"报销逾期 {late} 天：自{'发票日期' if by_invoice else '接待结束'} {start} 起限 "
        f"{'或'.join(z for z, _ in limits)}，最迟 {last}，{today} 才提交，须附情况说明",
        f"claim filed {late} day(s) late: {' or '.join(e for _, e in limits)} from the "
        f"{'invoice date' if by_invoice else 'end of the reception'} {start}, last day {last}, "
        f"filed {today}; a written explanation is required",
        path,
        ctx.standards.cite("claim_deadline_months" if months is not None else "claim_deadline_days", LOCAL),
    )


# -- F-05 预算 --------------------------------------------------------------------------------


def check_budget_line(ctx: RuleContext) -> Iterator[Finding]:
    """F-05 预算与总额: notes the budget line the reception is charged to, and the annual cap.

    The check of what remains is not here: a rule sees no ledger (and a dry run ``check`` never
    does). On the approval that completes the chain the engine commits the larger of the plan's
    stated budget and its itemised total (``budget.committed_fen``), and the store refuses it
    atomically if committed + spent would pass the cap. Only a commitment that exceeds the whole
    annual budget is certain to be refused, so that alone is warned of here.
    """
    reception = ctx.reception
    plan = reception.plan
    committed = from_fen(budget.committed_fen(plan))
    year = reception.start.year
    line_zh = f"「{reception.host_unit}」{year} 年度公务接待费（单独列示）"
    basis_zh = (
        f"审批后占用 {committed} 元（方案预算 {plan.budget} 元、逐项合计 {plan.planned_total} 元，取较大者）"
    )
    basis_en = (
        f"the approval commits {committed} yuan (the larger of the stated budget {plan.budget} and "
        f"the items' {plan.planned_total})"
    )
    found = ctx.standards.budget_for(reception.host_unit, year)
    if found is None:
        yield note(
            "F-05",
            f"列支{line_zh}，{basis_zh}；未设年度预算上限，审批后仍记入预算台账",
            f"charged to the {year} official-reception line of {reception.host_unit}: {basis_en}; "
            "no annual cap is set, the ledger still records it",
            "$.plan",
            budget.CITATION,
        )
    elif committed > found.amount:
        yield warn(
            "F-05",
            f"列支{line_zh}，{basis_zh}，超过年度预算 {found.amount} 元 {committed - found.amount} 元，"
            "审批完成时将被预算台账拒绝",
            f"{basis_en}, over the whole {year} budget of {reception.host_unit} ({found.amount} yuan) "
            f"by {committed - found.amount}; the ledger will refuse the approval",
            "$.plan",
            budget.CITATION,
        )
    else:
        yield note(
            "F-05",
            f"列支{line_zh}，{basis_zh}；年度预算 {found.amount} 元，余额在审批完成时由预算台账校验",
            f"charged to the {year} official-reception line of {reception.host_unit}: {basis_en}, "
            f"against an annual budget of {found.amount}; the ledger checks what remains when the "
            "approval completes",
            "$.plan",
            budget.CITATION,
        )


# -- F-06 不得转嫁 ------------------------------------------------------------------------------


def check_payer(ctx: RuleContext) -> Iterator[Finding]:
    """F-06 不得转嫁: every payment is made by the host unit ("" means the host unit).

    Lodging paid by the host is H-02's business; guest costs booked as reception, reception hidden
    under meetings or training and 坐支 are not in the data.
    """
    listing = ctx.reception.reception_list
    if listing is None:
        return
    host = ctx.reception.host_unit.strip()
    for i, payment in enumerate(listing.payments):
        payer = payment.payer.strip()
        if payer and payer != host:
            yield block(
                "F-06",
                f"接待费 {payment.amount} 元由「{payer}」支付，不得转嫁给接待单位「{host}」以外的单位或个人",
                f"{payment.amount} yuan paid by {payer!r}: reception costs may not be shifted away "
                f"from the host unit {host!r}",
                f"$.reception_list.payments[{i}].payer",
                art("第十二条"),
            )


# -- F-07 超标说明 ------------------------------------------------------------------------------


def check_over_budget(ctx: RuleContext) -> Iterator[Finding]:
    """F-07 超标说明: a list total above the plan's approved budget needs a 情况说明."""
    listing = ctx.reception.reception_list
    planned = ctx.reception.plan.budget
    if listing is None or planned <= 0 or listing.total <= planned:
        return
    yield explain(
        "F-07",
        f"实际费用 {listing.total} 元超过方案预算 {planned} 元 {listing.total - planned} 元，须附情况说明",
        f"actual total {listing.total} yuan exceeds the plan budget of {planned} by "
        f"{listing.total - planned}; a written explanation is required",
        "$.reception_list",
        art("第十五条"),
    )


RULES: tuple[Rule, ...] = (
    Rule("F-01", "报销凭证", CLAIM_STAGES, check_vouchers, art("第十四条"), "voucher set"),
    Rule(
        "F-02",
        "清单字段与签字",
        CLAIM_STAGES,
        check_list_fields,
        art("第七条"),
        "list fields and sign-off",
        also_cites=(Citation(ECONOMY_2025, "公务接待章"),),
    ),
    Rule("F-03", "支付方式", SETTLE_STAGES, check_payment, art("第十四条"), "payment method"),
    Rule("F-04", "报销时限", CLAIM_STAGES, check_deadline, LOCAL, "claim deadline"),
    Rule(
        "F-05",
        "预算与总额",
        APPROVE_STAGES,
        check_budget_line,
        budget.CITATION,
        "budget line and cap",
        also_raises=frozenset({Severity.BLOCKING}),  # the budget ledger refuses an approval over the cap
    ),
    Rule("F-06", "不得转嫁", SETTLE_STAGES, check_payer, art("第十二条"), "no cost shifting"),
    Rule("F-07", "超标说明", CLAIM_STAGES, check_over_budget, art("第十五条"), "over-standard explanation"),
)

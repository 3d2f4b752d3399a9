"""F rules: vouchers 报销凭证, the list and its sign-off, payment 支付方式, deadlines, funding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import CLAIM_STAGES, SETTLE_STAGES, art, block
from jiedai_flow.model import PaymentMethod
from jiedai_flow.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.findings import Finding
    from jiedai_flow.rules import RuleContext


def check_list_present(ctx: RuleContext) -> Iterator[Finding]:
    """F-01 报销凭证: a claim carries the reception list 接待清单."""
    if ctx.reception.reception_list is None:
        yield block(
            "F-01",
            "报销须附接待清单",
            "a claim needs the reception list",
            "$.reception_list",
            art("第十四条"),
        )


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


RULES: tuple[Rule, ...] = (
    Rule("F-01", "报销凭证", CLAIM_STAGES, check_list_present, art("第十四条"), "voucher set"),
    Rule("F-03", "支付方式", SETTLE_STAGES, check_payment, art("第十四条"), "payment method"),
)

"""L, S and B rules: the letter 公函, the scope of official reception 公务范围, investment receptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import PLAN_STAGES, art, block
from jiedai_flow.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.findings import Finding
    from jiedai_flow.rules import RuleContext


def check_letter_kind(ctx: RuleContext) -> Iterator[Finding]:
    """L-01 无公函不接待: the letter, or a substitute the standards accept, must be there."""
    kind = ctx.reception.letter.kind
    if kind not in ctx.standards.accepted_letters:
        accepted = "、".join(k.label for k in sorted(ctx.standards.accepted_letters))
        yield block(
            "L-01",
            f"「{kind.label}」不是本地接受的公函形式（接受：{accepted}）",
            f"a {kind.value} is not an accepted letter here",
            "$.letter.kind",
            art("第七条"),
        )


def check_letter_contents(ctx: RuleContext) -> Iterator[Finding]:
    """L-02 公函内容: content, itinerary and personnel."""
    if not ctx.reception.letter.personnel:
        yield block(
            "L-02",
            "公函未列明来访人员",
            "the letter names no visiting personnel",
            "$.letter.personnel",
            art("第五条"),
        )


RULES: tuple[Rule, ...] = (
    Rule("L-01", "无公函不接待", PLAN_STAGES, check_letter_kind, art("第七条"), "no letter, no reception"),
    Rule("L-02", "公函内容", PLAN_STAGES, check_letter_contents, art("第五条"), "letter contents"),
)

"""Building blocks for local rules 本地规则工具包: what a county plugin may reuse of the national pack.

This is the stable API for rule authors: the names below keep their meaning and signature across
minor versions, while the modules under ``jiedai_flow.builtin.national`` are internal. A local rule
reads the reception and its standards through :class:`~jiedai_flow.process.rules.RuleContext`, builds its
findings with the helpers below, and may run a national check on a context of its own (for example
with other standards) instead of copying it. docs/rules.md lists these names (generated from
``__all__``).

    from jiedai_flow.process.rulekit import PLAN_STAGES, explain, meals_at

    def check_canteen_first(ctx):
        for path, meal in meals_at(ctx):
            ...
"""

from __future__ import annotations

from jiedai_flow.builtin.national._common import (
    CLAIM_STAGES,
    ECONOMY_2025,
    EIGHT_POINTS,
    PLAN_STAGES,
    RULES_2013,
    SETTLE_STAGES,
    art,
    block,
    explain,
    note,
    warn,
)
from jiedai_flow.builtin.national.lexicon import Lexicon, lexicon_of
from jiedai_flow.builtin.national.meals import (
    alcohol_policy,
    check_companions,
    check_dishes,
    check_meal_standard,
    check_tobacco_alcohol,
    meals_at,
)
from jiedai_flow.builtin.national.settlement import check_deadline
from jiedai_flow.domain.standards import LexiconCategory, claim_deadline, origin_of, same_city

__all__ = [
    "CLAIM_STAGES",
    "ECONOMY_2025",
    "EIGHT_POINTS",
    "PLAN_STAGES",
    "RULES_2013",
    "SETTLE_STAGES",
    "Lexicon",
    "LexiconCategory",
    "alcohol_policy",
    "art",
    "block",
    "check_companions",
    "check_deadline",
    "check_dishes",
    "check_meal_standard",
    "check_tobacco_alcohol",
    "claim_deadline",
    "explain",
    "lexicon_of",
    "meals_at",
    "note",
    "origin_of",
    "same_city",
    "warn",
]

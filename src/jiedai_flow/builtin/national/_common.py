"""What the national rule modules share: instruments, stages and finding helpers."""

from __future__ import annotations

import functools

from jiedai_flow.domain.findings import Citation, Finding, Severity
from jiedai_flow.process.lifecycle import Stage

RULES_2013 = "《党政机关国内公务接待管理规定》"
ECONOMY_2025 = "《党政机关厉行节约反对浪费条例》（2025年修订）"
EIGHT_POINTS = "中央八项规定及其实施细则"

PLAN_STAGES = frozenset({Stage.SUBMIT, Stage.APPROVE, Stage.AMEND, Stage.START_URGENT})
"""Checks of the letter and the plan: before approval, at each approval step, on a change."""
CLAIM_STAGES = frozenset({Stage.CLAIM})
"""Checks of the list against the letter and the plan, when the handler files the claim."""
SETTLE_STAGES = frozenset({Stage.CLAIM, Stage.SETTLE})
"""Checks of payment and vouchers: when filed and again when finance settles."""


@functools.cache
def art(article: str) -> Citation:
    """A citation of the 2013 rules, e.g. ``art("第十条")`` (one frozen value per article)."""
    return Citation(RULES_2013, article)


def block(rule_id: str, zh: str, en: str, path: str, citation: Citation) -> Finding:
    """A blocking finding 不予通过."""
    return Finding(rule_id, Severity.BLOCKING, zh, en, path, citation)


def explain(rule_id: str, zh: str, en: str, path: str, citation: Citation) -> Finding:
    """A finding that passes only with a written explanation 须书面说明."""
    return Finding(rule_id, Severity.NEEDS_EXPLANATION, zh, en, path, citation)


def warn(rule_id: str, zh: str, en: str, path: str, citation: Citation) -> Finding:
    """A warning 提醒 that does not stop the command."""
    return Finding(rule_id, Severity.WARNING, zh, en, path, citation)


def note(rule_id: str, zh: str, en: str, path: str, citation: Citation) -> Finding:
    """A note 提示 for the record."""
    return Finding(rule_id, Severity.INFO, zh, en, path, citation)

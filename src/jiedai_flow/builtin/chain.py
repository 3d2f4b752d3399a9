"""Default approval chain 审批链, by tier: the last of ``standards.approval_tiers`` whose
conditions the reception meets; else one step per ``standards.approval_levels``; else one step
any approver may sign. Then each of ``standards.countersigns`` whose conditions hold adds its
step of several approvers (会签, 或签, 票签). Plugin name ``jiedai.approval``; it answers last
(``trylast``), so a county plugin's own ``jiedai_approval_chain`` replaces it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.domain.records import ApprovalStep
from jiedai_flow.hookspecs import hookimpl

if TYPE_CHECKING:
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.domain.standards import ApprovalTier, CountersignRule, Standards


def tier_applies(tier: ApprovalTier | CountersignRule, reception: Reception) -> bool:
    """Whether ``reception`` meets every condition ``tier`` sets (an unset condition holds).

    Rank is the most senior visitor's, by ``Rank.order``; headcount is the letter's; the amount is
    the plan's ``planned_total``; thresholds are inclusive ("at or above").
    """
    letter, plan = reception.letter, reception.plan
    if tier.min_rank is not None:
        rank = letter.highest_rank
        if rank is None or rank.order < tier.min_rank.order:
            return False
    if tier.min_headcount is not None and letter.headcount < tier.min_headcount:
        return False
    if tier.min_amount is not None and plan.planned_total < tier.min_amount:
        return False
    return not tier.reception_types or reception.reception_type in tier.reception_types


def approval_tier(reception: Reception, standards: Standards) -> ApprovalTier | None:
    """The last tier, in the order the standards list them, that applies to ``reception``."""
    return next((t for t in reversed(standards.approval_tiers) if tier_applies(t, reception)), None)


@hookimpl(trylast=True)
def jiedai_approval_chain(reception: Reception, standards: Standards) -> list[ApprovalStep]:
    return standard_chain(reception, standards)


def standard_chain(reception: Reception, standards: Standards) -> list[ApprovalStep]:
    """The chain the standards give ``reception`` (tiers, else levels, else one step any approver
    signs; then the countersigns that apply): what the built-in answers. A county plugin that adds
    to it rather than replacing it calls this and appends its own steps."""
    tier = approval_tier(reception, standards)
    # A tier without steps is a configuration slip; an empty chain could never complete, so fall
    # through to the levels rather than return one.
    levels = tier.steps if tier is not None and tier.steps else standards.approval_levels
    steps = [ApprovalStep(level, level) for level in levels] or [ApprovalStep("", "审批")]
    return steps + [rule.step() for rule in standards.countersigns if tier_applies(rule, reception)]

"""Budget control 预算控制 (F-05): each host unit's annual cap, and what its receptions have
committed (approved, not yet settled) and spent (settled).

What an approved reception commits is what a finance officer would hold for it: the LARGER of the
plan's stated budget 预算 (``Plan.budget``) and its itemised total 预计费用 (``Plan.planned_total``)
— :func:`committed_fen`. A plan that states 6,000 but itemises 600 holds 6,000, a plan with only a
budget holds its budget, items above the budget hold the items; so the annual cap cannot be passed
by leaving items out. What reports call "planned" stays the itemised total. Settlement replaces
the commitment with what was spent: the list's actual total.

The engine turns each accepted command into ledger changes that the store applies in the same
transaction as the state change, checking the cap atomically — two approvals racing for the
last of a budget cannot both pass. A cancellation or amendment releases the commitment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.domain.findings import Citation, Finding, Severity
from jiedai_flow.domain.model import to_fen
from jiedai_flow.domain.records import LedgerEntry
from jiedai_flow.process.lifecycle import Phase

if TYPE_CHECKING:
    from jiedai_flow.domain.model import Plan
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.errors import BudgetExceededError
    from jiedai_flow.process.lifecycle import CompiledProcess

CITATION = Citation("《党政机关国内公务接待管理规定》", "第十二条")


def ledger_changes(
    before: Reception, after: Reception, standards: Standards, process: CompiledProcess
) -> tuple[LedgerEntry, ...]:
    """The ledger changes that take ``before`` to ``after``; empty when nothing moves.

    A reception holds :func:`committed_fen` of its plan once its approval is complete (whether it
    was approved first or, under 补办, started first) while its state's phase commits budget;
    reaching a settled phase releases the commitment and books the actual total of its list as spent.
    """
    if after.state == before.state and after.plan is before.plan and after.approvals == before.approvals:
        return ()  # nothing that decides the commitment moved (most commands)
    holds_now = _committed(after, process)
    held = before.budget_committed_fen
    spent = 0
    settled_now = process.phase(after.state).settled and not process.phase(before.state).settled
    if settled_now and after.reception_list:
        spent = after.reception_list.total_fen
    if holds_now == held and not spent:
        return ()
    year = after.start.year
    budget = standards.budget_for(after.host_unit, year)
    cap = to_fen(budget.amount) if budget is not None else None
    return (LedgerEntry(after.host_unit, year, holds_now - held, spent, cap),)


def committed_fen(plan: Plan) -> int:
    """What an approved ``plan`` commits against the budget, in fen 分: the larger of its stated
    budget and its itemised total (``Plan.planned_fen``)."""
    return max(plan.budget_fen, plan.planned_fen)


def _committed(reception: Reception, process: CompiledProcess) -> int:
    phase = process.phase(reception.state)
    approved = reception.approval_complete or phase is Phase.APPROVED
    if phase.commits_budget and approved:
        return committed_fen(reception.plan)
    return 0


def exceeded_finding(error: BudgetExceededError) -> Finding:
    """The F-05 finding that explains a refused budget change, with its numbers."""
    return Finding("F-05", Severity.BLOCKING, error.message_zh, error.message_en, "$.plan", CITATION)

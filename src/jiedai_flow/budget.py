"""Budget control 预算控制 (F-05): each host unit's annual cap, and what its receptions have
committed (approved, not yet settled) and spent (settled).

The engine turns each accepted command into ledger changes that the store applies in the same
transaction as the state change, checking the cap atomically — two approvals racing for the
last of a budget cannot both pass. A cancellation or amendment releases the commitment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.findings import Citation, Finding, Severity
from jiedai_flow.lifecycle import Phase
from jiedai_flow.model import to_fen
from jiedai_flow.records import LedgerEntry

if TYPE_CHECKING:
    from jiedai_flow.errors import BudgetExceededError
    from jiedai_flow.lifecycle import CompiledProcess
    from jiedai_flow.records import Reception
    from jiedai_flow.standards import Standards

CITATION = Citation("《党政机关国内公务接待管理规定》", "第十二条")


def ledger_changes(
    before: Reception, after: Reception, standards: Standards, process: CompiledProcess
) -> tuple[LedgerEntry, ...]:
    """The ledger changes that take ``before`` to ``after``; empty when nothing moves.

    A reception holds its planned total committed once its approval is complete (whether it was
    approved first or, under 补办, started first) while its state's phase commits budget; reaching
    a settled phase releases the commitment and books the actual total of its list as spent.
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


def _committed(reception: Reception, process: CompiledProcess) -> int:
    phase = process.phase(reception.state)
    approved = reception.approval_complete or phase is Phase.APPROVED
    if phase.commits_budget and approved:
        return reception.plan.planned_fen
    return 0


def exceeded_finding(error: BudgetExceededError) -> Finding:
    """The F-05 finding that explains a refused budget change, with its numbers."""
    return Finding("F-05", Severity.BLOCKING, error.message_zh, error.message_en, "$.plan", CITATION)

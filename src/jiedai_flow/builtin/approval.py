"""Default approval chain: one step per level in ``standards.approval_levels``, else one step any
approver may sign. Plugin name ``jiedai.approval``; county plugins replace it with chains by tier."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.records import ApprovalStep

if TYPE_CHECKING:
    from jiedai_flow.records import Reception
    from jiedai_flow.standards import Standards


@hookimpl(trylast=True)
def jiedai_approval_chain(reception: Reception, standards: Standards) -> list[ApprovalStep]:
    del reception  # the default chain does not depend on the reception
    steps = [ApprovalStep(level, level) for level in standards.approval_levels]
    return steps or [ApprovalStep("", "审批")]

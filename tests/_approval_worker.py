"""A worker process of tests/test_approvals.py: one approver of a parallel countersign, on its own
engine, signing every reception it is given the moment ``go`` is set."""

from __future__ import annotations

from typing import Any

from jiedai_flow import Actor, ApprovalStep, Role, hookimpl
from jiedai_flow.domain.records import Assignee, StepKind
from jiedai_flow.testing import make_engine

PARALLEL = ApprovalStep(
    "", "并行会签", kind=StepKind.PARALLEL, assignees=(Assignee.person("b"), Assignee.person("c"))
)


class ParallelChain:
    @hookimpl
    def jiedai_approval_chain(self, reception: object, standards: object) -> list[ApprovalStep]:
        del reception, standards
        return [PARALLEL]


def sign(url: str, actor_id: str, reception_ids: list[str], ready: Any, go: Any, results: Any) -> None:
    engine = make_engine(ParallelChain(), url=url)
    actor = Actor(actor_id, actor_id, frozenset({Role.APPROVER}))
    outcomes: list[str] = []
    try:
        ready.put(actor_id)
        go.wait(60)
        for rid in reception_ids:
            try:
                result = engine.fire(rid, "approve", actor, reason="同意", request_id=f"{actor_id}:{rid}")
                outcomes.append(result.reception.state)
            except Exception as error:  # reported to the test, which fails on any
                outcomes.append(f"error: {type(error).__name__}: {error}")
    finally:
        engine.store.close()
        results.put((actor_id, outcomes))

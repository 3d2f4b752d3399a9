"""Task lists and approval operations 待办、已办与审批操作 — the one module their endpoints go in.

Today the engine has no task records yet (issue 11 brings ``tasks_for``/``done_by``/``copied_to``/
``started_by`` and 会签/或签/票签/加签/转办/委派/驳回/拿回/催办/抄送). Until then :func:`awaiting` and
:func:`decided` give the web pages' 待办/已办 lists from the receptions themselves: those the actor may
decide now, and those the actor has signed. Their endpoints are added to :data:`ROUTES` here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.process.lifecycle import Phase

if TYPE_CHECKING:
    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.engine import Engine

ROUTES: tuple[Any, ...] = ()
"""The task-list and approval-operation endpoints (none until the engine has them)."""

SCAN = 500
"""How many receptions the placeholder lists look at."""


def awaiting(engine: Engine, actor: Actor, limit: int = 50) -> list[Reception]:
    """Receptions in a phase that awaits a decision which ``actor`` may take now (待办)."""
    states = frozenset(
        s.name for p in engine.processes for s in p.states if s.phase in (Phase.PENDING, Phase.SETTLING)
    )
    found = []
    for reception in engine.query(ReceptionQuery(states=states, limit=SCAN)).items:
        if engine.available_triggers(reception.id, actor):
            found.append(reception)
            if len(found) >= limit:
                break
    return found


def decided(engine: Engine, actor: Actor, limit: int = 50) -> list[Reception]:
    """Receptions ``actor`` has signed an approval of, or handles (已办)."""
    found = []
    for reception in engine.query(ReceptionQuery(limit=SCAN)).items:
        if any(a.actor_id == actor.id for a in reception.approvals) or reception.handler.id == actor.id:
            found.append(reception)
            if len(found) >= limit:
                break
    return found

"""History imports 历史补录: archived receptions walked with their own dates.

In a history import (``import_file(..., history=True)``, ``jiedai import --as-history``) every step
is taken with the engine's clock set to the day the step happened, so rules that look at "today"
judge the record as of then (the claim deadline F-04 against the day of the claim) and the audit
events carry those days. Each step's day comes from the phase it reaches (the importer reads
phases, never state names):

==============================================  ================================================
step                                            day (column, default)
==============================================  ================================================
create, submit (草拟, 待审批)                   ``submitted_on`` 提交日期: the letter's date, at
                                                the latest the start
approve, refuse, return (each approval step)    ``approved_on`` 审批日期: the submission day
start (接待中)                                  ``start`` 开始日期
finish (接待结束)                               ``end`` 结束日期
claim (报销审核中)                              ``claimed_on`` 报销日期: the list's signing day,
                                                at the earliest the end
settle (已结算)                                 ``settled_on`` 结算日期: the day after the claim
archive (after settlement)                      ``archived_on`` 归档日期: the settlement day
anything else (cancel …)                        the day of the step before
==============================================  ================================================

The days must follow one another (提交 ≤ 审批 ≤ 开始 ≤ 结束 ≤ 报销 ≤ 结算 ≤ 归档) and none may
lie after the day of the import. Steps on one day are a minute apart from 09:00 China Standard
Time, so the trail keeps its order.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.importer.columns import DAY_OF_PHASE
from jiedai_flow.process.lifecycle import FACT_FINAL_STEP

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jiedai_flow.process.lifecycle import ProcessDefinition

STEP_TIME = time(9, 0)
"""The time of day of the first step of a day (China Standard Time)."""

HISTORY_NOTE = "历史补录，按原始日期记录"
HISTORY_NOTE_EN = "history import, dated as it happened"


class StepClock:
    """The clock of a history import: it reads what the walk set, the moment of the step being
    taken; until then, the moment it was made with."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def set(self, day: date, step: int) -> None:
        """Move to ``day``, ``step`` minutes after :data:`STEP_TIME`."""
        self.current = datetime.combine(day, STEP_TIME, CHINA_TZ) + timedelta(minutes=step)


def finished(definition: ProcessDefinition, state: str) -> bool:
    """Whether ``state`` is one a history row may end in: a terminal state or a settled one."""
    found = definition.state(state)
    return found.terminal or found.phase.settled


def finished_labels(definition: ProcessDefinition) -> str:
    """The finished states of ``definition``, as ``已归档（archived）、…``."""
    return "、".join(f"{s.label}（{s.name}）" for s in definition.states if finished(definition, s.name))


def schedule(
    definition: ProcessDefinition, path: tuple[str, ...], days: Mapping[str, date]
) -> list[tuple[str, date]]:
    """The (column, day) of ``create`` and of each trigger of ``path`` from the initial state."""
    column, day = "submitted_on", days["submitted_on"]
    found = [(column, day)]
    state = definition.initial
    for trigger in path:
        dest = _dest(definition, state, trigger)
        column = _column(definition, state, trigger, dest) or column
        day = max(days[column], day)  # why: a county's odd process still gets a trail in order
        found.append((column, day))
        state = dest
    return found


def _dest(definition: ProcessDefinition, state: str, trigger: str) -> str:
    """Where ``trigger`` takes ``state`` on the ordinary path (as ``path_to`` walks it)."""
    for t in definition.transitions:
        if t.source == state and t.trigger == trigger and t.condition in (None, FACT_FINAL_STEP):
            return t.dest
    return state


def _column(definition: ProcessDefinition, state: str, trigger: str, dest: str) -> str | None:
    declared = definition.trigger(trigger)
    if declared.records_approval or declared.review:
        return "approved_on"
    before, after = definition.state(state).phase, definition.state(dest).phase
    if after.settled and before.settled:
        return "archived_on"
    return DAY_OF_PHASE.get(after)

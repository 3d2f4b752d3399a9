"""Walking an imported row through the engine 按流程导入: as import actors, step by step (in a
history import with the clock set to each step's day), with request ids derived from the row so a
second run replays instead of repeating; and the rehearsal on an in-memory copy that proves a row
goes through before anything is written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.model import Actor, Role
from jiedai_flow.domain.records import BudgetUsage, LedgerEntry
from jiedai_flow.errors import (
    InvalidTransitionError,
    JiedaiFlowError,
    NotAuthorizedError,
    ReasonRequiredError,
    RuleViolationError,
    ValidationError,
)
from jiedai_flow.importer.columns import RowError, actor_column, column_of, walks
from jiedai_flow.importer.history import schedule
from jiedai_flow.process.engine import Engine
from jiedai_flow.storage.memory import MemoryStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from jiedai_flow.domain.clock import Clock
    from jiedai_flow.domain.records import (
        AuditEvent,
        CarbonCopy,
        CommandRecord,
        CommandResult,
        Notification,
        Reception,
        Task,
    )
    from jiedai_flow.importer.history import StepClock
    from jiedai_flow.importer.rows import ImportRow
    from jiedai_flow.process.lifecycle import ProcessDefinition
    from jiedai_flow.storage.base import Store

IMPORT_PREFIX = "import:"
"""Prefix of the ids of import actors and of the request ids of imported steps."""


@attrs.frozen
class Imported:
    """A row in the database: ``imported`` now, ``resumed`` (an earlier run stopped half-way and
    this one finished it) or ``already`` (an earlier run did every step; nothing changed)."""

    row: int
    reception_id: str
    number: str
    state: str
    status: str


class RowFailed(Exception):
    """A row did not go through; ``errors`` says where and why."""

    def __init__(self, errors: Sequence[RowError], reception: Reception | None = None) -> None:
        super().__init__("; ".join(map(str, errors)))
        self.errors = tuple(errors)
        self.reception = reception


def import_actor(name: str, role: Role, unit: str, level: str = "") -> Actor:
    """The actor who takes an imported step in the name of ``name`` (id ``import:<name>``)."""
    return Actor(
        f"{IMPORT_PREFIX}{name}", name, frozenset({role}), unit, frozenset({level}) if level else frozenset()
    )


def walk(
    engine: Engine, row: ImportRow, note: str, clock: StepClock | None = None
) -> tuple[Reception, bool, bool]:
    """Create the row's reception and fire its triggers up to its state. Returns the reception,
    whether any step was new and whether any was replayed. Raises :class:`RowFailed`.

    :param clock: ``engine``'s clock in a history import: set to each step's day before the step.
    """
    handler = import_actor(row.handler, Role.HANDLER, row.host_unit)
    results: list[CommandResult] = []
    reception: Reception | None = None
    days = row.days if clock is not None else None
    try:
        if clock is not None and days is not None:
            clock.set(days["submitted_on"], 0)
        results.append(
            engine.create_reception(
                row.letter,
                row.plan,
                handler=handler,
                host_unit=row.host_unit,
                jurisdiction=row.jurisdiction,
                reception_type=row.reception_type,
                start=row.start,
                end=row.end,
                request_id=f"{IMPORT_PREFIX}{row.key}:0:create",
            )
        )
        reception = results[-1].reception
        process = engine.process_of(reception)
        path = walks(process.definition)[row.state]
        dated = schedule(process.definition, path, days)[1:] if days is not None else []
        for step, trigger in enumerate(path):
            declared = process.trigger_defs[trigger]
            for actor in _actors(process.definition, trigger, row, reception, handler):
                if clock is not None and dated:
                    clock.set(dated[step][1], len(results))
                reason = f"{row.reason}（{note}）" if declared.reason_required else note
                results.append(
                    engine.fire(
                        reception.id,
                        trigger,
                        actor,
                        reason=reason,
                        request_id=f"{IMPORT_PREFIX}{row.key}:{len(results)}:{trigger}",
                        reception_list=row.listing if declared.carries_list else None,
                        explanations=row.explanations,
                        content_in_id=True,  # the row key names the row; the note names the run
                    )
                )
                reception = results[-1].reception
    except JiedaiFlowError as error:
        trigger = _trigger_of(error, results)
        process = engine.process_of(reception) if reception is not None else engine.process
        raise RowFailed(row_errors(row, error, trigger, process.definition), reception) from error
    return reception, any(not r.replayed for r in results), any(r.replayed for r in results)


def _actors(
    definition: ProcessDefinition, trigger: str, row: ImportRow, reception: Reception, handler: Actor
) -> list[Actor]:
    """Who fires ``trigger``: the handler, finance, or one approver per step of the chain."""
    column = actor_column(definition, trigger)
    if column == "finance":
        return [import_actor(row.finance, Role.FINANCE, row.host_unit)]
    if column == "handler":
        return [handler]
    if not definition.trigger(trigger).records_approval:
        return [import_actor(row.approvers[0], Role.APPROVER, row.host_unit)]
    chain = reception.approval_chain
    if len(row.approvers) < len(chain):
        steps = "、".join(s.label or s.level or "审批" for s in chain)
        raise RowFailed(
            [
                RowError(
                    row.row,
                    "approvers",
                    f"审批链有 {len(chain)} 个环节（{steps}），只填了 {len(row.approvers)} 位审批人",
                    f"the approval chain has {len(chain)} step(s); {len(row.approvers)} approver(s) given",
                )
            ],
            reception,
        )
    return [
        import_actor(name, Role.APPROVER, row.host_unit, step.level)
        for name, step in zip(row.approvers, chain, strict=False)
    ]


def _trigger_of(error: JiedaiFlowError, results: Sequence[CommandResult]) -> str:
    found = getattr(error, "trigger", None)
    if isinstance(found, str):
        return found
    return "create" if not results else ""


def row_errors(
    row: ImportRow, error: JiedaiFlowError, trigger: str, definition: ProcessDefinition
) -> list[RowError]:
    """The row's problems in an error the engine raised, each at the column it comes from."""
    at = f"（{trigger}）" if trigger else ""
    if isinstance(error, RuleViolationError):
        explained = set(row.explanations)
        refusing = [
            f
            for f in error.findings
            if f.blocks or (f.severity is Severity.NEEDS_EXPLANATION and f.rule_id not in explained)
        ]
        hint = {Severity.NEEDS_EXPLANATION: "；可在「情况说明」列写 规则编号=说明"}
        return [
            RowError(
                row.row,
                column_of(f.path),
                f"{f.rule_id} {f.severity.label}{at}：{f.message_zh}{hint.get(f.severity, '')}",
                f"{f.rule_id} {f.severity.value} at {trigger}: {f.message_en} @ {f.path}",
                f.rule_id,
            )
            for f in refusing or error.findings
        ]
    if isinstance(error, ValidationError):
        return [RowError(row.row, column_of(p.path), p.message_zh, p.message_en) for p in error.problems]
    column = ""
    if isinstance(error, NotAuthorizedError):
        column = actor_column(definition, trigger) if trigger else "handler"
    elif isinstance(error, ReasonRequiredError):
        column = "reason"
    elif isinstance(error, InvalidTransitionError):
        column = "state"
    return [RowError(row.row, column, f"{error.message_zh}{at}", error.message_en)]


# -- rehearsal ---------------------------------------------------------------------------------------


class _RehearsalStore(MemoryStore):
    """An in-memory store whose budget ledger starts where the real one stands, so a cap refuses
    in the rehearsal exactly when it would refuse for real."""

    def __init__(self, seed: Callable[[str, int], BudgetUsage]) -> None:
        super().__init__()
        self._seed = seed
        self.seeded: dict[tuple[str, int], BudgetUsage] = {}

    def save(
        self,
        reception: Reception,
        *,
        expected_version: int,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        ledger: Sequence[LedgerEntry] = (),
        tasks: Sequence[Task] = (),
        copies: Sequence[CarbonCopy] = (),
    ) -> None:
        for entry in ledger:
            key = (entry.host_unit, entry.year)
            if key not in self.seeded:
                self.seeded[key] = self._seed(*key)
                # why: MemoryStore has no public way to open a ledger row at a given balance
                self._ledger[entry.key] = self.seeded[key]
        super().save(
            reception,
            expected_version=expected_version,
            event=event,
            outbox=outbox,
            record=record,
            ledger=ledger,
            tasks=tasks,
            copies=copies,
        )


class _RehearsalEngine(Engine):
    """The real engine's plugins, rules and clock on a rehearsal store; it notifies nobody."""

    def _after_commit(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs  # no observers, no notifications: nothing of a rehearsal leaves it


def quiet_engine(
    engine: Engine, store: Store | None = None, cls: type[Engine] = Engine, clock: Clock | None = None
) -> Engine:
    """An engine like ``engine`` (plugins, clock unless ``clock`` is given, process) that writes no
    notifications: an import records history, it asks nobody to act."""
    made = cls(store or engine.store, engine.plugins, clock=clock or engine.clock, processes=engine.processes)
    made.notifiers = {}
    return made


class Rehearsal:
    """Rehearses rows in order on fresh in-memory stores, carrying the budget each accepted row
    uses over to the next, so the real run meets the same caps."""

    def __init__(self, engine: Engine, clock: StepClock | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.used: dict[tuple[str, int], BudgetUsage] = {}

    def _seed(self, host_unit: str, year: int) -> BudgetUsage:
        real = self.engine.store.budget_usage(host_unit, year)
        extra = self.used.get((host_unit, year), BudgetUsage())
        return BudgetUsage(real.committed_fen + extra.committed_fen, real.spent_fen + extra.spent_fen)

    def run(self, row: ImportRow, note: str) -> None:
        """Walk ``row`` on a copy; raises :class:`RowFailed` with the row's problems."""
        store = _RehearsalStore(self._seed)
        walk(quiet_engine(self.engine, store, _RehearsalEngine, self.clock), row, note, self.clock)
        for (host_unit, year), start in store.seeded.items():
            end = store.budget_usage(host_unit, year)
            before = self.used.get((host_unit, year), BudgetUsage())
            self.used[(host_unit, year)] = BudgetUsage(
                before.committed_fen + end.committed_fen - start.committed_fen,
                before.spent_fen + end.spent_fen - start.spent_fen,
            )

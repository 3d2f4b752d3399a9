"""The engine 引擎: the one public entry for commands, each run as one unit of work.

``fire`` loads the reception, authorizes the actor, runs every rule of the stage and collects all
findings, computes the target state through the ``transitions`` adapter, then saves the new state
(version + 1), its audit event, its outbox rows and the idempotency record in one compare-and-set
step — and only after that commit hands the notifications to the notifier plugins.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import TYPE_CHECKING, Any, Literal, NoReturn, cast

import attrs

from jiedai_flow.domain.budget import exceeded_finding, ledger_changes
from jiedai_flow.domain.clock import CHINA_TZ as CHINA_TZ  # re-exported: engine is where users look
from jiedai_flow.domain.clock import CHINA_TZ as _CHINA
from jiedai_flow.domain.clock import Clock as Clock
from jiedai_flow.domain.clock import SystemClock as SystemClock
from jiedai_flow.domain.clock import china_day
from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.model import (
    MAX_HOST_UNIT,
    MAX_RECEPTION_ID,
    FollowUpKind,
    InvalidValueError,
    ReceptionType,
    Role,
    check_reception_id,
    check_text,
    number_shaped,
    storable_reception_id,
)
from jiedai_flow.domain.records import (
    Approval,
    ApprovalStep,
    AssigneeKind,
    AuditEvent,
    CommandRecord,
    CommandResult,
    Explanation,
    FollowUp,
    Notification,
    Numbering,
    Proxy,
    ProxyPage,
    ProxyQuery,
    ProxyResult,
    Reception,
    ReceptionQuery,
    StepKind,
    TaskCounts,
    TaskPage,
    TaskQuery,
    TaskView,
    Verdict,
    findable,
    is_task_cursor,
    new_id,
    proxy_cursor,
)
from jiedai_flow.domain.standards import resolve
from jiedai_flow.domain.workdays import ChineseCalendar, add_workdays
from jiedai_flow.errors import (
    AmbiguousReferenceError,
    BudgetExceededError,
    ConflictError,
    DefinitionError,
    IdempotencyError,
    InvalidTransitionError,
    JiedaiFlowError,
    MigrationRefusedError,
    NotAuthorizedError,
    NotFoundError,
    PluginError,
    Problem,
    ReasonRequiredError,
    RuleViolationError,
    StorageError,
    TaskError,
    UnknownTriggerError,
    ValidationError,
    VetoError,
    nearest,
)
from jiedai_flow.notify.dispatch import Dispatcher
from jiedai_flow.notify.routing import DEFAULT_ROUTES as DEFAULT_ROUTES
from jiedai_flow.notify.routing import notifications
from jiedai_flow.plugins import make_plugin_manager
from jiedai_flow.process import tasks as task_ops
from jiedai_flow.process.authn import AUTH_METHOD
from jiedai_flow.process.lifecycle import (
    CREATE_LABEL,
    DEFAULT_PROCESS,
    FACT_FINAL_STEP,
    FACT_MORE_STEPS,
    FACT_NO_APPROVALS,
    FACT_RETRO_FINAL_STEP,
    FACT_RETRO_MORE_STEPS,
    FACT_RETRO_PENDING,
    FACT_URGENT_ALLOWED,
    CompiledProcess,
    Operation,
    Phase,
    ProcessDefinition,
    Stage,
    Transition,
    TriggerDef,
    condition_labels,
)
from jiedai_flow.process.rules import Rule, RuleContext, RuleSet
from jiedai_flow.storage.base import CachingStore, SealingStore, TaskStore
from jiedai_flow.storage.chain import outbox_digest
from jiedai_flow.storage.codec import canonical, encode

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from datetime import date, datetime

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.domain.model import Actor, OfficialLetter, Plan, ReceptionList
    from jiedai_flow.domain.records import Assignee, Page, Task
    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.domain.workdays import WorkCalendar
    from jiedai_flow.notify.channels import Notifier
    from jiedai_flow.plugins import PluginHost
    from jiedai_flow.storage.base import Store

log = logging.getLogger(__name__)


CREATE = Stage.CREATE.value
_CREATE_DEF = TriggerDef(CREATE, "登记", "create", stage=CREATE, carries_plan=True)
"""Registering a reception is not a trigger of any process; it runs the ``create`` rule stage."""
MIGRATE = "migrate"
_MIGRATE_DEF = TriggerDef(MIGRATE, "迁移流程版本", "migrate to another process version", reason_required=True)
"""Moving a reception to another process version: an audited command of the administrator."""
_PSEUDO = {CREATE: _CREATE_DEF, MIGRATE: _MIGRATE_DEF}
_NO_FACTS: frozenset[str] = frozenset()


@attrs.frozen
class CheckReport:
    """A dry run: every finding by stage, nothing changed."""

    reception_id: str
    by_stage: Mapping[str, tuple[Finding, ...]]

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding once, though several stages found it (a draft is checked for 提交 and for
        先行接待, whose rules largely agree): the first stage's, as ``by_stage`` has them all. A
        finding of another severity at another stage is another finding."""
        first: dict[tuple[str, Severity, str, str], Finding] = {}
        for found in self.by_stage.values():
            for f in found:
                first.setdefault((f.rule_id, f.severity, f.message_zh, f.path), f)
        return tuple(first.values())

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocks)

    @property
    def ok(self) -> bool:
        return not self.blocking


_Saved = tuple[CommandResult, tuple[Notification, ...], tuple[Notification, ...]]
"""A saved command: its result, its notifications, and their outbox rows (delivered after commit)."""


RACE_RETRIES = 5
"""How often a command without ``expected_version`` is decided again after losing a race."""

MIN_ID_PREFIX = 6
"""The fewest id digits :meth:`Engine.resolve` takes as a prefix (the command line shows 8)."""


def _empty_pools(step: ApprovalStep, everyone: Sequence[Actor], barred: set[str]) -> list[Assignee]:
    """The pools (departments, levels) of ``step`` in which nobody may sign it: nobody in them, or
    nobody holding the step's roles who is not ``barred`` (the handler, the submitter, people who
    must sign another step)."""
    return [
        a
        for a in step.who
        if a.kind is not AssigneeKind.PERSON
        and not any(a.pools(p) and p.roles & step.roles and p.id not in barred for p in everyone)
    ]


def _pool_problem(pool: Assignee, everyone: Sequence[Actor]) -> tuple[str, str]:
    """Why nobody can sign for ``pool`` (Chinese, English): nobody in it — with the nearest
    department or level the directory knows, for a misspelt one — or nobody in it who may."""
    if any(pool.pools(p) for p in everyone):
        return (
            f"「{pool.shown}」里没有能签这一环节的人（经办人、提交人和要签别的环节的人除外，还要有这一环节的角色）",
            f"nobody in pool {pool.ref!r} may sign this step (the handler, the submitter and people "
            "who sign another step aside; the step's role is needed)",
        )
    unit = pool.kind is AssigneeKind.UNIT
    names = {p.unit for p in everyone if p.unit} if unit else {lv for p in everyone for lv in p.levels}
    near = nearest(pool.ref, sorted(names), cutoff=0.5)
    what_zh, what_en = ("部门", "department") if unit else ("岗位", "level")
    hint_zh, hint_en = (f"，是不是「{near}」？", f"; did you mean {near!r}?") if near else ("", "")
    return (
        f"参与人名单里没有{what_zh}「{pool.ref}」的人{hint_zh}",
        f"nobody in the directory is in {what_en} {pool.ref!r}{hint_en}",
    )


def _pools_through(
    principals: Sequence[Actor], actor: Actor, levels: set[str]
) -> dict[tuple[AssigneeKind, str], list[Actor]]:
    """The pools ``actor`` (in ``levels``) sees only as a stand-in 代理 for ``principals``, with the
    principals in each: standing in covers a principal's pool tasks too, their levels and department."""
    through: dict[tuple[AssigneeKind, str], list[Actor]] = {}
    for principal in principals:
        for level in sorted(principal.levels - levels):
            through.setdefault((AssigneeKind.LEVEL, level), []).append(principal)
        if principal.unit and principal.unit != actor.unit:
            through.setdefault((AssigneeKind.UNIT, principal.unit), []).append(principal)
    return through


def _handler_named(shown: str, person: str) -> tuple[str, str]:
    """Why the handler or submitter cannot sign a step of their own reception."""
    return (
        f"{shown} 是本接待的经办人或提交人，不能审批（不相容职务分离）",
        f"{person} handles or submits this reception and may not approve it (separation of duties)",
    )


class Engine:
    """Runs commands on receptions. Build with :func:`open_engine` or from parts."""

    def __init__(
        self,
        store: Store,
        plugins: PluginHost,
        *,
        clock: Clock | None = None,
        processes: Sequence[ProcessDefinition] | None = None,
        routes: Mapping[str, tuple[Role, ...]] | None = None,
        link_template: str = "",
    ) -> None:
        """``processes[0]`` runs new receptions unless ``jiedai_choose_process`` picks another;
        plugins add theirs through ``jiedai_processes``; the others keep older receptions on theirs.
        None: the default process alone (``DEFAULT_PROCESS``).

        :param routes: a routing table (``trigger``, ``trigger:to`` or ``trigger:from>to`` to roles)
            that overrides what the definitions declare; None: the declarations.
        """
        self.store = store
        self.plugins = plugins
        self.hooks = plugins.hooks
        self.clock: Clock = clock or SystemClock()
        self.routes = dict(routes) if routes is not None else None
        self.link_template = link_template
        """The host application's link to a reception, e.g. ``https://oa.example/jiedai/{id}``
        (``{id}`` and ``{number}`` are filled in) — carried by every notification."""
        self._routes: dict[str, Mapping[str, Sequence[Role]] | None] = {}
        processes = processes or (DEFAULT_PROCESS,)
        definitions = [*processes, *self.hooks.jiedai_processes(default=processes[0])]
        self._processes = compile_processes(definitions)
        self.process = self._processes[processes[0].key]
        self.rules = RuleSet(self._collect_rules(), stages=self.rule_stages)
        self.notifiers = self._collect_notifiers()
        self._inline = Dispatcher(self)
        hook = plugins.pm.hook
        # Observer hooks without implementations are skipped: a pluggy call costs even when empty.
        self._observed_before = bool(hook.jiedai_before_transition.get_hookimpls())
        self._observed_after = bool(hook.jiedai_after_transition.get_hookimpls())
        self._observed_notify = bool(hook.jiedai_notify.get_hookimpls())
        self._standards: dict[tuple[str, str, date], Standards] = {}
        self._choosing = bool(hook.jiedai_choose_process.get_hookimpls())
        self._cached = store.cached if isinstance(store, CachingStore) else None
        self._tasks = _task_store(store)
        self._sealed = store.sealed if isinstance(store, SealingStore) else None
        self._stand_ins: tuple[tuple[str, datetime], frozenset[str]] | None = None

    # -- queries -----------------------------------------------------------------------------

    def get(self, reception_id: str) -> Reception:
        """The reception as last saved."""
        return self.store.load(reception_id)

    def resolve(self, reference: str) -> str:
        """The id of the reception ``reference`` names: its id, its number 接待编号
        (341502-2026-00001), or the start of its id (at least :data:`MIN_ID_PREFIX` digits, as
        short ids are shown), in that order — but a reference of a number's form is tried as a number
        first (an id of that form, refused since, may be stored by an earlier version: it must not
        hide the reception that number names). NotFoundError when none matches,
        AmbiguousReferenceError when a prefix matches several."""
        ref = reference.strip()
        number_first = number_shaped(ref)
        if not number_first and (chosen := self._stored_id(ref)):
            return chosen  # a chosen id (``visit-01``) has no other way to be named
        by_number = self.store.query(ReceptionQuery(number=ref, limit=1)).items
        if by_number:
            return by_number[0].id
        if number_first and (chosen := self._stored_id(ref)):
            return chosen
        if len(ref) < MIN_ID_PREFIX or len(ref) > 32 or any(c not in "0123456789abcdef" for c in ref):
            raise NotFoundError(reference)
        found = self.store.query(ReceptionQuery(id_prefix=ref, limit=3)).items
        if not found:
            raise NotFoundError(reference)
        if len(found) > 1:
            raise AmbiguousReferenceError(reference, [r.id[:12] for r in found])
        return found[0].id

    def _stored_id(self, ref: str) -> str:
        """The id of the reception stored under ``ref`` ("" when none): as stored, which a
        case-insensitive collation (MySQL's default) may match in other letters."""
        if not storable_reception_id(ref):  # nothing a store could hold: no round trip
            return ""
        try:
            return self.store.load(ref).id
        except NotFoundError:
            return ""

    def history(self, reception_id: str) -> Sequence[AuditEvent]:
        """The reception's audit trail, oldest first."""
        return self.store.history(reception_id)

    def query(self, query: ReceptionQuery) -> Page:
        """One page of receptions matching ``query``."""
        return self.store.query(query)

    def standards_for(self, jurisdiction: str, on: date, host_unit: str = "") -> Standards:
        """The standards in force for ``jurisdiction`` (and ``host_unit``: its unit layers too) on
        ``on``, cached per (jurisdiction, host unit, date)."""
        key = (jurisdiction, host_unit, on)
        found = self._standards.get(key)
        if found is None:
            if len(self._standards) >= 4096:
                self._standards.clear()
            layers = self.hooks.jiedai_standards_layers(jurisdiction=jurisdiction, on=on, host_unit=host_unit)
            found = self._standards[key] = resolve(jurisdiction, on, layers, host_unit)
        return found

    def standards_of(self, reception: Reception) -> Standards:
        """The standards that judge ``reception``: its jurisdiction, host unit and start date."""
        return self.standards_for(reception.jurisdiction, reception.start, reception.host_unit)

    @property
    def processes(self) -> tuple[ProcessDefinition, ...]:
        """Every process definition loaded: the engine's, then the plugins'."""
        return tuple(p.definition for p in self._processes.values())

    @property
    def rule_stages(self) -> frozenset[str]:
        """The stages a rule may register under: the stage vocabulary (:class:`Stage`, ``create``
        included) and every stage the triggers of a loaded process declare — a plugin's process may
        add its own. A rule for any other stage could never run, so it is refused when the engine is
        built. (A vocabulary stage no loaded process runs is allowed: the national pack registers
        rules for every moment of the default process, and a county process may leave some out.)"""
        declared = {t.rule_stage for p in self._processes.values() for t in p.definition.triggers}
        return frozenset({*(s.value for s in Stage), *declared})

    @functools.cached_property
    def calendar(self) -> WorkCalendar:
        """The working-day calendar deadlines count in and rules may ask (``jiedai_calendar``: a
        plugin's, else China's statutory one)."""
        found = self.hooks.jiedai_calendar()
        return found if found is not None else ChineseCalendar()

    def person(self, actor_id: str) -> Actor | None:
        """The person ``actor_id`` as the deployment's directory knows them (``jiedai_actor``), or
        None when no plugin knows them."""
        return self.hooks.jiedai_actor(actor_id=actor_id)

    def shown(self, actor_id: str) -> str:
        """A person as messages and audit notes show them: 「姓名（id）」 when the directory knows
        their name, else the id."""
        return task_ops.shown(self.directory, actor_id)

    @property
    def directory(self) -> Callable[[str], Actor | None] | None:
        """:meth:`person` when some plugin keeps a directory (``jiedai_actor``), else None: then an
        id cannot be checked and the host is trusted with it."""
        return self.person if self.plugins.pm.hook.jiedai_actor.get_hookimpls() else None

    def compiled(self, key: str) -> CompiledProcess:
        """The compiled process ``name@version``; DefinitionError if it is not loaded."""
        found = self._processes.get(key)
        if found is None:
            raise DefinitionError(
                f"流程 {key} 未加载（已加载：{'、'.join(self._processes)}）",
                f"process {key} is not loaded ({', '.join(self._processes)})",
            )
        return found

    def process_of(self, reception: Reception) -> CompiledProcess:
        """The compiled process the reception runs on (its ``name@version``)."""
        return self._process_for(reception)

    def available_triggers(self, reception_id: str, actor: Actor) -> tuple[str, ...]:
        """The triggers ``actor`` may fire on the reception now (state, conditions, authorization);
        the approval and task operations are listed by :meth:`available_operations`."""
        reception = self.store.load(reception_id)
        process = self._process_for(reception)
        allowed = []
        # to sign, or to answer 退回 (不予接待: none on a 票签 step) …
        holds: dict[tuple[bool, tuple[str, str] | None], tuple[bool, Task | None]] = {}
        for trigger in process.triggers_from(reception.state):
            trigger_def = process.trigger_defs[trigger]
            if trigger_def.operation is not None:
                continue
            facts = self._facts(process, reception, trigger)
            transition = process.applicable(reception.state, trigger, facts)
            if transition is None:
                continue
            task = None
            if trigger_def.records_approval or trigger_def.review:
                key = (trigger_def.records_approval, _vote_instead(process, reception.state, trigger_def))
                if key not in holds:
                    holds[key] = self._signing(process, reception, actor, trigger_def, *key)
                held, task = holds[key]
                if not held:  # the step has tasks and none is the actor's: refused when fired
                    continue
            if self._authorize(actor, process, reception, transition, task).allowed:
                allowed.append(trigger)
        return tuple(allowed)

    def task_choices(self, reception: Reception, actor: Actor, operation: Operation) -> tuple[Task, ...]:
        """The tasks ``actor`` may choose among for ``operation`` on ``reception`` now (a form's
        list): the pool tasks they may claim, their own or their principals' execution tasks, the
        signers they may remove, their open tasks when they hold several. Empty when there is
        nothing to choose (see :func:`jiedai_flow.process.tasks.choices`)."""
        process = self._process_for(reception)
        ctx = self._task_context(process, reception, actor, self.clock.now(), "", None)
        return task_ops.choices(reception, operation, ctx)

    def _signing(
        self,
        process: CompiledProcess,
        reception: Reception,
        actor: Actor,
        trigger_def: TriggerDef,
        to_sign: bool,
        against: tuple[str, str] | None,
    ) -> tuple[bool, Task | None]:
        """Whether ``actor`` holds the current step (a review would find their task, and with
        ``to_sign`` they could sign it; or the step has no tasks to hold), and the task. ``against``:
        see :func:`_vote_instead`."""
        ctx = self._task_context(process, reception, actor, self.clock.now(), "", trigger_def)
        return task_ops.holding(reception, ctx, to_sign=to_sign, against=against)

    def available_operations(self, reception_id: str, actor: Actor) -> tuple[str, ...]:
        """The triggers of the approval and task operations ``actor`` can usefully use on the
        reception now: allowed by role and state, and with something of theirs to act on (their
        task or their pool's for 转办 or 票签反对, a delegated task for 答复, a signer they added
        for 减签, a signature for 拿回, something unread for 已阅 …). What they have yet to choose
        (to whom, which step, the reason) is judged when they act."""
        reception = self.store.load(reception_id)
        process = self._process_for(reception)
        ctx = self._task_context(process, reception, actor, self.clock.now(), "", None)
        allowed = []
        for trigger in process.triggers_from(reception.state):
            operation = process.trigger_defs[trigger].operation
            if operation is None:
                continue
            offered = task_ops.offer(reception, operation, ctx)
            if offered is None:
                continue
            facts = self._facts(process, reception, trigger)
            if any(
                self._authorize(actor, process, reception, transition, offered.task).allowed
                for transition in process.possible(reception.state, trigger, facts)
            ):
                allowed.append(trigger)
        return tuple(allowed)

    def check(
        self, reception: Reception | str, stages: Iterable[str] | Literal["all"] | None = None
    ) -> CheckReport:
        """Run rules without changing anything (dry run 合规预检).

        :param stages: the stages to run; by default the stages of the triggers that can fire
            from the reception's state now (a draft is checked as if submitted); ``"all"`` runs
            every stage that has rules.
        """
        if isinstance(reception, str):
            reception = self.store.load(reception)
        if stages is None:
            process = self._process_for(reception)
            next_stages = (process.trigger_defs[t].rule_stage for t in process.triggers_from(reception.state))
            stages = [t for t in dict.fromkeys(next_stages) if self.rules.for_stage(t)]
        elif stages == "all":
            stages = self.rules.stages
        standards = self.standards_of(reception)
        now = self.clock.now()
        by_stage = {
            stage: self.rules.run(RuleContext(reception, standards, stage, None, now, self.calendar))
            for stage in stages
        }
        return CheckReport(reception.id, by_stage)

    # -- commands ----------------------------------------------------------------------------

    def create_reception(
        self,
        letter: OfficialLetter,
        plan: Plan,
        *,
        handler: Actor,
        host_unit: str,
        jurisdiction: str,
        reception_type: ReceptionType = ReceptionType.DOMESTIC,
        start: date | None = None,
        end: date | None = None,
        reception_id: str | None = None,
        request_id: str | None = None,
    ) -> CommandResult:
        """Register a reception from its letter 登记公函 (state 草拟, version 1)."""
        stored_text(
            ("host_unit", host_unit, MAX_HOST_UNIT),
            ("jurisdiction", jurisdiction, MAX_JURISDICTION),
            ("reception_id", reception_id, MAX_RECEPTION_ID),
            ("request_id", request_id, MAX_REQUEST_ID),
        )
        if reception_id is not None:
            try:
                check_reception_id(reception_id)
            except InvalidValueError as error:
                raise ValidationError(
                    [Problem("$.reception_id", error.message_zh, error.message_en)]
                ) from None
        said = ""
        if request_id is not None:
            said = digest_of(letter, plan, host_unit, jurisdiction, reception_type, start, end, reception_id)
        try:
            return self._create(
                letter,
                plan,
                handler,
                host_unit,
                jurisdiction,
                reception_type,
                start,
                end,
                reception_id,
                request_id,
                said,
            )
        except JiedaiFlowError:
            if request_id is not None and (first := self._replay(request_id, "", CREATE, handler, said)):
                return first
            raise

    def _create(
        self,
        letter: OfficialLetter,
        plan: Plan,
        handler: Actor,
        host_unit: str,
        jurisdiction: str,
        reception_type: ReceptionType,
        start: date | None,
        end: date | None,
        reception_id: str | None,
        request_id: str | None,
        said: str,
    ) -> CommandResult:
        now = self.clock.now()
        start = start or letter.itinerary.start
        end = end or letter.itinerary.end
        _check_dates(start, end)
        standards = self.standards_for(jurisdiction, start, host_unit)
        process = self.choose_process(reception_type, jurisdiction, host_unit, plan)
        reception = Reception(
            id=reception_id or new_id(),
            number="",  # given by the store, in the creating transaction
            jurisdiction=jurisdiction,
            host_unit=host_unit,
            reception_type=reception_type,
            handler=handler,
            letter=letter,
            plan=plan,
            start=start,
            end=end,
            state=process.definition.initial,
            version=1,
            process=process.definition.key,
            rule_pack=standards.rule_pack,
            created_at=now,
            updated_at=now,
        )
        transition = Transition(CREATE, "", reception.state, frozenset({Role.HANDLER}))
        verdict = self._authorize(handler, process, reception, transition)
        if not verdict.allowed:  # nothing registered: the refusal names no reception
            raise NotAuthorizedError.registering(
                handler.id, CREATE_LABEL, verdict.reason_zh, verdict.reason_en
            )
        findings = self._run_rules(reception, standards, CREATE, handler, now, label=CREATE_LABEL)
        event = self._event(reception, CREATE, "", handler, now, "", request_id, findings)
        record = self._record(request_id, reception, CREATE, handler, event, findings, said)
        year = start.year
        numbering = Numbering(f"{jurisdiction}:{year}", lambda n: f"{jurisdiction}-{year}-{n:05d}")
        reception = self.store.create(reception, event, (), record, numbering)
        event = self._seal(event)
        self._after_commit(reception, event, (), ())
        return CommandResult(reception, event, findings)

    def fire(
        self,
        reception_id: str,
        trigger: str,
        actor: Actor,
        *,
        reason: str = "",
        request_id: str | None = None,
        expected_version: int | None = None,
        plan: Plan | None = None,
        reception_list: ReceptionList | None = None,
        explanations: Mapping[str, str] | None = None,
        follow_up: FollowUp | None = None,
        command: task_ops.TaskCommand | None = None,
        content_in_id: bool = False,
    ) -> CommandResult:
        """Fire ``trigger`` on a reception as ``actor``, as one unit of work.

        :param reason: the written reason (required for 退回、不予接待、变更、撤销).
        :param request_id: a retried request id returns the first result and changes nothing; the
            same id with other content (reason, plan, list, command …) is an :class:`IdempotencyError`.
        :param content_in_id: the request id is made from the command's content already (the
            importer's, from the row), so a retry is matched by the id alone, whatever else the
            reason notes (the importer's note names the file, the row and the run).
        :param expected_version: the version the actor saw; a different stored version is a
            :class:`ConflictError` (the save compares-and-sets on the loaded version anyway).
        :param plan: a revised plan 接待方案 (with edit, submit, amend).
        :param reception_list: the reception list 接待清单 (with edit after the reception, claim).
        :param explanations: written explanations 情况说明 by rule id, for findings that need one;
            the next approver (or finance, at settlement) accepts them by deciding.
        :param follow_up: a follow-up entry 跟踪记录 (with a trigger that declares
            ``carries_follow_up``); an entry with the same kind, owner and summary as an open one
            replaces it (marking it done, say).
        :param command: the operation's value (:mod:`jiedai_flow.process.tasks`) for a trigger that declares
            an ``operation``; for the approval trigger and the reviewers' answers (退回, 不予接待), a
            :class:`~jiedai_flow.process.tasks.TaskCommand` naming which of the actor's tasks they act
            on (when they hold several).
        :raises RuleViolationError: blocking or unexplained findings; ``.findings`` holds all.
        """
        if reason or request_id is not None:
            stored_text(("reason", reason, None), ("request_id", request_id, MAX_REQUEST_ID))
        said = ""
        if request_id is not None and not content_in_id:
            said = digest_of(trigger, reason, plan, reception_list, explanations, follow_up, command)
        args = (
            trigger,
            actor,
            reason,
            request_id,
            expected_version,
            plan,
            reception_list,
            explanations,
            follow_up,
            command,
            said,
        )
        try:
            result, intents, outbox = self._decided(reception_id, expected_version, args)
            sealed = self._seal(result.event)
            if sealed is not result.event:  # a store that chains events: the result carries the hash
                result = attrs.evolve(result, event=sealed)
            self._after_commit(result.reception, result.event, intents, outbox)
            return result
        except JiedaiFlowError:
            # Checked only on failure (a retry of an accepted command always fails, at the latest
            # when its idempotency record collides), so an ordinary command pays no extra read.
            if request_id is not None and (
                first := self._replay(request_id, reception_id, trigger, actor, said)
            ):
                return first
            raise

    def operate(
        self,
        reception_id: str,
        command: task_ops.TaskCommand,
        actor: Actor,
        *,
        reason: str = "",
        request_id: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Do an approval or task operation 审批操作 (转办, 委派, 加签, 驳回到环节, 拿回, 催办, 抄送 …)
        as one unit of work, like :meth:`fire`: the reception's process names the trigger that
        declares ``command.operation``; authorized, audited on the chain, idempotent by
        ``request_id``, compare-and-set on the version. See docs/approvals.md.

        :raises TaskError: the operation cannot be done as asked (why in the message).
        :raises NotAuthorizedError: the actor may not (not their task, a role they lack …).
        """
        trigger = self.operation_trigger(command.operation, reception_id)
        return self.fire(
            reception_id,
            trigger,
            actor,
            reason=reason,
            request_id=request_id,
            expected_version=expected_version,
            command=command,
        )

    def operation_trigger(self, operation: str, reception_id: str | None = None) -> str:
        """The trigger that performs ``operation`` in the reception's process (or, without a
        reception, in the engine's default process); TaskError when the process has none."""
        process = self.process
        if reception_id is not None and len(self._processes) > 1:
            process = self._process_for(self.store.load(reception_id))
        found = process.operations.get(operation)
        if found is None:
            raise TaskError(
                reception_id or "",
                operation,
                f"流程 {process.definition.key} 未定义此操作",
                f"process {process.definition.key} defines no trigger for {operation!r}",
            )
        return found

    def _decided(self, reception_id: str, expected_version: int | None, args: tuple[Any, ...]) -> _Saved:
        """:meth:`_saved`, decided again on the stored reception when another writer saved between
        the read and the save — unless the caller pinned the version it saw (then the conflict is
        theirs to resolve). Two approvers of one parallel step acting at once both count."""
        for attempt in range(RACE_RETRIES):
            try:
                return self._saved(reception_id, expected_version, args)
            except ConflictError:
                if expected_version is not None or attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _saved(self, reception_id: str, expected_version: int | None, args: tuple[Any, ...]) -> _Saved:
        """Decide the command and save it, starting from the store's copy where it keeps one.

        A copy may be stale (another process saved since): whatever failed on it — the
        compare-and-set of the save included — is decided once more on the stored reception; a
        copy that was current stands. Nothing here runs after a commit, so nothing runs twice
        that was saved. With before-transition observers the copy is not used: they are promised
        the reception as loaded.
        """
        copy = None
        if self._cached is not None and not self._observed_before:
            copy = self._cached(reception_id)
        if copy is not None and expected_version in (None, copy.version):
            try:
                return self._fire(copy, *args)
            except JiedaiFlowError as failure:
                try:
                    before = self.store.load(reception_id)
                except Exception:
                    raise failure from None  # the first error, not the read's, is the answer
                if before.version == copy.version:
                    raise
        else:
            before = self.store.load(reception_id)
        return self._fire(before, *args)

    def _fire(
        self,
        before: Reception,
        trigger: str,
        actor: Actor,
        reason: str,
        request_id: str | None,
        expected_version: int | None,
        plan: Plan | None,
        reception_list: ReceptionList | None,
        explanations: Mapping[str, str] | None,
        follow_up: FollowUp | None,
        command: task_ops.TaskCommand | None = None,
        said: str = "",
    ) -> _Saved:
        reception_id = before.id
        if expected_version is not None and expected_version != before.version:
            raise ConflictError(reception_id, expected_version, before.version, number=before.number)
        process = self._process_for(before)
        now = self.clock.now()
        trigger_def = process.trigger_defs.get(trigger)
        worked = None
        if trigger_def is not None and trigger_def.guarded and before.state in process.sources(trigger):
            refused = separation_of_duties(actor, trigger_def, before, process.phase(before.state))
            if refused is not None:  # before any task is looked for: the plain reason
                raise NotAuthorizedError(
                    before.id,
                    trigger,
                    actor.id,
                    refused.reason_zh,
                    refused.reason_en,
                    number=before.number,
                    label=trigger_def.label,
                )
            try:
                worked = self._work(process, before, trigger_def, actor, now, reason, command)
            except (TaskError, ReasonRequiredError, NotAuthorizedError):
                self._refuse_outsider(actor, process, before, trigger_def)
                raise
        facts = self._facts(process, before, trigger, worked)
        transition = self._transition(process, before, trigger, facts)
        self._require(actor, process, before, transition, worked.task if worked is not None else None)
        trigger_def = process.trigger_defs[trigger]
        if trigger_def.reason_required and not reason.strip():
            raise ReasonRequiredError(trigger, trigger_def.label)
        base = worked.reception if worked is not None else before
        candidate = _with_payload(base, trigger_def, process, plan, reception_list)
        standards = self.standards_of(before)
        if follow_up is not None:
            candidate = _with_follow_up(candidate, trigger_def, follow_up, actor, now)
        findings = self._run_rules(
            candidate, standards, trigger_def.rule_stage, actor, now, explanations, label=trigger_def.label
        )
        dest = process.fire(before.state, trigger, facts)
        if dest is None:  # the adapter and the index disagree: a bug, never a user error
            raise AssertionError(f"transitions refused {trigger} from {before.state}")
        after = self._advance(process, candidate, trigger_def, dest, actor, standards, now, reason, worked)
        if (
            process.awaits_approval(dest)
            and any(process.trigger_defs[t].records_approval for t in process.triggers_from(dest))
            and after.approval_complete
        ):  # nothing left to sign
            raise TaskError(
                reception_id,
                trigger_def.label,
                "审批已全部通过，回到待审批须指明重新审批的环节",
                "every step is approved: going back to approval needs the step to approve again",
                number=before.number,
                operation_en=trigger_def.name,
            )
        after, noted = _explain(after, findings, explanations or {}, trigger_def, actor, now)
        ledger = ledger_changes(before, after, standards, process)
        if ledger:
            after = attrs.evolve(
                after, budget_committed_fen=before.budget_committed_fen + ledger[0].committed_fen
            )
        event = self._event(after, trigger, before.state, actor, now, reason, request_id, findings)
        untouched = (
            worked is None
            and after.tasks is before.tasks
            and after.copies is before.copies
            and after.approvals is before.approvals
        )  # most commands: no task, copy or signature to tell of
        note = "" if untouched else task_ops.describe(before, after, trigger_def, command, actor, self.shown)
        if note:
            event = attrs.evolve(event, note=note)
        event = attrs.evolve(event, explanations=noted) if noted else event
        people = () if untouched else task_ops.told(before, after, worked)
        # a signature its step still waits on others after (会签, 票签): its ``more_steps`` notice
        # would ask for a next step that is not there yet
        step_open = (
            worked is not None
            and trigger_def.records_approval
            and after.current_step == before.current_step < len(after.approval_chain)
        )
        intents, outbox = self._outbox(
            after, event, actor, process, people, transition.condition, step_open=step_open
        )
        if outbox:  # bound into the event's hash: a deleted or edited notification shows in verify
            event = attrs.evolve(event, outbox_digest=outbox_digest((n.id, encode(n)) for n in outbox))
        try:
            if self._observed_before:
                self.hooks.jiedai_before_transition(before=before, after=after, event=event)
        except JiedaiFlowError:
            raise
        except Exception as exc:
            raise VetoError(reception_id, trigger, exc, number=before.number) from exc
        record = self._record(request_id, after, trigger, actor, event, findings, said)
        indexed: dict[str, Any] = {}
        if self._tasks is not None and (after.tasks is not before.tasks or after.copies is not before.copies):
            indexed = {
                "tasks": task_ops.changed_tasks(before, after),
                "copies": task_ops.changed_copies(before, after),
            }
        try:
            self.store.save(
                after,
                expected_version=before.version,
                event=event,
                outbox=outbox,
                record=record,
                ledger=ledger,
                **indexed,
            )
        except BudgetExceededError as exceeded:
            raise RuleViolationError(
                reception_id,
                trigger,
                (*findings, exceeded_finding(exceeded)),
                number=before.number,
                label=trigger_def.label,
                # the rules passed: every finding needing an explanation had one
                explained=[f for f in findings if f.severity is Severity.NEEDS_EXPLANATION],
            ) from None
        return CommandResult(after, event, findings), intents, outbox

    def _task_context(
        self,
        process: CompiledProcess,
        reception: Reception,
        actor: Actor,
        now: datetime,
        reason: str,
        trigger_def: TriggerDef | None,
        state: str | None = None,
    ) -> task_ops.Context:
        """What the task operations need: whether approvals are being collected in ``state`` (the
        reception's own by default), the due day of a new task, whom the actor stands in for."""
        state = state or reception.state
        phase = process.phase(state)
        terminal = state in process.terminal_states
        collecting = not terminal and (
            (phase.awaits_approval and bool(reception.approval_chain) and not reception.approval_complete)
            or (reception.retroactive and bool(reception.approval_chain) and not reception.approval_complete)
        )
        limit = self.standards_of(reception).approval_deadline_workdays
        calendar = self.calendar

        def due(moment: datetime) -> date | None:
            if limit is None:
                return None
            return add_workdays(calendar, moment.astimezone(_CHINA).date(), limit)

        return task_ops.Context(
            actor=actor,
            now=now,
            reason=reason,
            stand_ins=lambda: self.stand_in_for(actor.id, now),
            collecting=collecting,
            due=due,
            admin=Role.ADMIN in actor.roles,
            trigger=trigger_def.name if trigger_def is not None else "",
            label=trigger_def.label if trigger_def is not None else "",
            operation=trigger_def.operation if trigger_def is not None else None,
            ending=terminal,
            executing=phase not in (Phase.DRAFTING, Phase.PENDING),
            directory=self.directory,
            reply_roles=process.operation_roles(Operation.REPLY),
            members=self._members_once(),
        )

    def _work(
        self,
        process: CompiledProcess,
        before: Reception,
        trigger_def: TriggerDef,
        actor: Actor,
        now: datetime,
        reason: str,
        command: task_ops.TaskCommand | None,
    ) -> task_ops.Worked | None:
        """The operation's effect on the tasks (before the state changes), or None for a trigger
        that does not work on tasks."""
        if trigger_def.operation is None and not (trigger_def.records_approval or trigger_def.review):
            return None  # most commands (start, finish, claim …): no task to look at, no context to build
        ctx = self._task_context(process, before, actor, now, reason, trigger_def)
        if trigger_def.operation is not None:
            kind = task_ops.COMMANDS[trigger_def.operation]
            if not isinstance(command, kind):  # fired as a plain trigger (``fire``, ``/triggers/``)
                # the command line and the service say which command or endpoint instead
                raise TaskError(
                    before.id,
                    trigger_def.label,
                    f"这是审批操作，有它自己的命令：Engine.operate(接待 ID, {kind.__name__}(…))",
                    "an approval operation is run by its own command: "
                    f"Engine.operate(reception_id, {kind.__name__}(…))",
                    number=before.number,
                    operation_en=trigger_def.name,
                )
            if isinstance(command, task_ops.Jump) and command.state:
                _jump_target(process, before, trigger_def, command)
            return task_ops.apply(before, command, ctx)
        if not ctx.collecting or before.next_step is None:
            return None
        ref = command.task if command is not None else ""
        if trigger_def.records_approval:
            return task_ops.sign(before, ctx, task_ref=ref)
        if trigger_def.review:
            against = _vote_instead(process, before.state, trigger_def)
            return task_ops.finish_own_task(before, ctx, trigger_def.name, ref, against=against)
        return None

    def stand_in_for(self, actor_id: str, now: datetime | None = None) -> frozenset[str]:
        """The approvers ``actor_id`` stands in for at ``now`` 代理 (see :meth:`set_proxy`). The last
        answer is kept for the same actor and moment: a command asks before and after its state
        changes, with one ``now``."""
        if self._tasks is None:
            return frozenset()
        moment = now or self.clock.now()
        last = self._stand_ins
        if last is not None and last[0] == (actor_id, moment):
            return last[1]
        found = frozenset(self._tasks.principals(actor_id, moment))
        self._stand_ins = ((actor_id, moment), found)
        return found

    # -- task lists 待办/已办/抄送/发起 and stand-ins 代理 -----------------------------------------

    def _task_store(self) -> TaskStore:
        if self._tasks is None:
            raise StorageError(
                f"存储后端 {type(self.store).__name__} 不支持任务列表与代理",
                f"store {type(self.store).__name__} keeps no task index (see TaskStore)",
            )
        return self._tasks

    def task_query(self, actor: Actor, view: TaskView = TaskView.MINE, **filters: Any) -> TaskQuery:
        """The query of one of ``actor``'s task lists: their pools (levels, department, any
        approver's) and whom they stand in for today come from the actor and the proxies. A pool's
        approval tasks are in it only for an approver, as a stand-in only through a principal who is
        one too: 办公室、财务、纪检 can never claim or sign them."""
        after = filters.get("after")
        if after is not None and not is_task_cursor(after):
            raise ValidationError(
                [
                    Problem(
                        "after",
                        f"游标无效：{after!r}（用上一页给出的游标）",
                        f"not a cursor of this list: {after!r}",
                    )
                ]
            )
        signs = Role.APPROVER in actor.roles
        levels = set(actor.levels)
        if signs:
            levels.add("")  # a step any approver may sign
        principals: frozenset[str] = frozenset()
        stand_ins_on = None
        # the pools the actor sees only as a stand-in 代理, with the principals in each
        through: dict[tuple[AssigneeKind, str], list[Actor]] = {}
        directory = self.directory
        if directory is None and getattr(self._tasks, "resolves_stand_ins", False):
            stand_ins_on = self.clock.now().astimezone(_CHINA).date()  # in the list's own query
        else:
            principals = self.stand_in_for(actor.id)
            found = map(directory, sorted(principals)) if directory is not None else ()
            through = _pools_through([p for p in found if p is not None], actor, levels)
        # whose approval tasks are listed: the actor's own pools' when they sign, a pool's seen
        # through principals when a principal in it signs too; every other pool's items only
        signers = {
            pool: [p.id for p in who if signs and Role.APPROVER in p.roles] for pool, who in through.items()
        }
        approval_pools = {pool for pool, who in signers.items() if who}
        if signs:
            approval_pools.update((AssigneeKind.LEVEL, level) for level in levels)
            if actor.unit:
                approval_pools.add((AssigneeKind.UNIT, actor.unit))
        return TaskQuery(
            actor_id=actor.id,
            view=view,
            levels=frozenset(levels | {ref for kind, ref in through if kind is AssigneeKind.LEVEL}),
            unit=actor.unit,
            principals=principals,
            units=frozenset(ref for kind, ref in through if kind is AssigneeKind.UNIT),
            stand_ins_on=stand_ins_on,
            principal_pools=[
                (kind, ref, tuple(signers[kind, ref] or [p.id for p in through[kind, ref]]))
                for kind, ref in sorted(through)
            ],
            approval_pools=frozenset(approval_pools),
            **filters,
        )

    def tasks_for(self, actor: Actor, **filters: Any) -> TaskPage:
        """待办: the open tasks ``actor`` may act on — their own, their principals' while they stand
        in, and the pool tasks of their levels and department nobody has claimed — due first.

        :param filters: ``kind``, ``jurisdiction``, ``due_by``, ``limit``, ``after`` (cursor).
        """
        return self._task_store().task_list(self.task_query(actor, TaskView.MINE, **filters))

    def done_by(self, actor: Actor, **filters: Any) -> TaskPage:
        """已办: the tasks ``actor`` acted on, newest first."""
        return self._task_store().task_list(self.task_query(actor, TaskView.DONE, **filters))

    def copied_to(self, actor: Actor, **filters: Any) -> TaskPage:
        """抄送我的: receptions copied to ``actor``, newest first."""
        return self._task_store().task_list(self.task_query(actor, TaskView.CC, **filters))

    def started_by(self, actor: Actor, **filters: Any) -> TaskPage:
        """我发起的: receptions ``actor`` handles, newest first."""
        return self._task_store().task_list(self.task_query(actor, TaskView.STARTED, **filters))

    def task_counts(self, actor: Actor) -> TaskCounts:
        """How many lines each of ``actor``'s task lists has."""
        return self._task_store().task_counts(self.task_query(actor))

    def set_proxy(
        self,
        principal: str,
        stand_in: str,
        start: date,
        end: date,
        actor: Actor,
        *,
        reason: str = "",
        request_id: str | None = None,
    ) -> ProxyResult:
        """代理 while away: from ``start`` to ``end`` ``stand_in`` acts on ``principal``'s approval
        tasks, recorded as on behalf of them. The principal sets it, or an administrator or the
        office for them. The period lies within a year of today either way
        (:data:`~jiedai_flow.process.tasks.PROXY_REACH`), else :class:`ValidationError` at ``$.start``
        or ``$.end``.

        The same designation in force already is returned, not made twice, by any number of
        threads or processes at once: :attr:`ProxyResult.created` says which. ``request_id`` (an
        ``Idempotency-Key``) is kept with the designation it makes; sent again with the same
        arguments it returns that designation (revoked since or not), with others it is an
        :class:`IdempotencyError`."""
        if actor.id != principal and not actor.roles & {Role.ADMIN, Role.OFFICE}:
            raise NotAuthorizedError(
                "",
                "set_proxy",
                actor.id,
                "只能为自己设置代理（或由办公室、管理员设置）",
                "only for oneself",
                label="设置代理",
            )
        if request_id is not None:
            stored_text(("request_id", request_id, MAX_REQUEST_ID))
        if not stand_in.strip() or stand_in == principal:
            raise TaskError(
                "",
                "代理",
                "代理人不能为空或是本人",
                "the stand-in must be someone else",
                operation_en="proxy",
                path="$.stand_in",
            )
        if end < start:
            raise TaskError(
                "",
                "代理",
                f"结束日期 {end} 早于开始日期 {start}",
                f"end {end} is before start {start}",
                operation_en="proxy",
                path="$.end",
            )
        problems = task_ops.proxy_period_problems(start, end, china_day(self.clock.now()))
        if problems:  # a mistyped year, not a conflict: a usage error, every field at once
            raise ValidationError(problems)
        directory = self.directory
        if directory is not None:
            found = directory(principal)
            # the stand-in signs what the principal would: an approver's needs an approver
            needs = frozenset({Role.APPROVER}) if found and Role.APPROVER in found.roles else frozenset()
            problem = task_ops.person_problem(found, principal)
            if problem is not None:
                raise TaskError("", "代理", *problem, operation_en="proxy", path="$.principal")
            problem = task_ops.target_problem(directory, stand_in, needs)
            if problem is not None:
                raise TaskError("", "代理", *problem, operation_en="proxy", path="$.stand_in")
        proxy = Proxy(new_id(), principal, stand_in, start, end, reason, actor.id, self.clock.now())
        result = self._task_store().designate(proxy, request_id)
        if result.created:
            self._stand_ins = None
            log.info(
                "proxy %s: %s stands in for %s %s..%s (set by %s)",
                proxy.id,
                stand_in,
                principal,
                start,
                end,
                actor.id,
            )
        return result

    def revoke_proxy(self, proxy_id: str, actor: Actor) -> Proxy:
        """End a stand-in designation (its principal, the office or an administrator)."""
        found = self.proxy(proxy_id)
        if actor.id != found.principal and not actor.roles & {Role.ADMIN, Role.OFFICE}:
            raise NotAuthorizedError(
                "", "revoke_proxy", actor.id, "只能撤销自己的代理", "only one's own", label="撤销代理"
            )
        revoked = attrs.evolve(found, revoked=True)
        if not found.revoked:
            self._task_store().save_proxy(revoked)
        self._stand_ins = None
        return revoked

    def proxy(self, proxy_id: str) -> Proxy:
        """The stand-in designation ``proxy_id`` names: its id, or at least its first
        :data:`MIN_PROXY_PREFIX` characters (a shorter start, an empty one above all, named the
        first designation of all and revoked it)."""
        found = self._task_store().find_proxy(proxy_id) if findable(proxy_id) else None
        if found is not None and found.id != proxy_id and len(proxy_id) < MIN_PROXY_PREFIX:
            found = None
        if found is None:
            raise TaskError(
                "", "撤销代理", f"没有代理 {proxy_id}", f"no proxy {proxy_id}", operation_en="revoke proxy"
            )
        return found

    def proxies(self) -> Sequence[Proxy]:
        """Every stand-in designation (revoked ones too), all at once: :meth:`proxies_for` reads
        them a page at a time."""
        return self._task_store().proxies()

    def proxies_for(
        self,
        actor: Actor,
        *,
        principal: str | None = None,
        stand_in: str | None = None,
        active_on: date | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> ProxyPage:
        """One page of the stand-in designations ``actor`` may read, the latest set first: theirs,
        as principal or stand-in; the office, administrators and the supervisor read all.

        :param principal: only those for this person; ``stand_in``: only those by this person.
        :param active_on: only those in force that day.
        :param after: the ``next_cursor`` of the previous page (else :class:`ValidationError`).
        """
        if after is not None and proxy_cursor(after) is None:
            raise ValidationError(
                [
                    Problem(
                        "after",
                        f"游标无效：{after!r}（用上一页给出的游标）",
                        f"not a cursor of this list: {after!r}",
                    )
                ]
            )
        if not all(findable(name) for name in (principal, stand_in) if name is not None):
            return ProxyPage((), None)  # no store holds such a name (a NUL, a lone surrogate)
        query = ProxyQuery(
            party=proxy_party(actor),
            principal=principal,
            stand_in=stand_in,
            active_on=active_on,
            limit=limit,
            after=after,
        )
        return self._task_store().proxy_page(query)

    def migrate(
        self,
        reception_id: str,
        target: str,
        state: str,
        actor: Actor,
        *,
        reason: str,
        request_id: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Move a reception to the process version ``target`` (``name@version``), in ``state`` of
        it, as one audited command 迁移流程版本: authorized (administrators), compare-and-set on the
        version, idempotent by ``request_id``, on the audit chain with the old and the new version.

        :raises MigrationRefusedError: ``state`` is not a state of ``target``, or has another phase
            than the reception's state now (reports, the budget and deadlines would change meaning).
        """
        try:
            return self._migrate(reception_id, target, state, actor, reason, request_id, expected_version)
        except JiedaiFlowError:
            if request_id is not None and (first := self._replay(request_id, reception_id, MIGRATE, actor)):
                return first
            raise

    def _migrate(
        self,
        reception_id: str,
        target: str,
        state: str,
        actor: Actor,
        reason: str,
        request_id: str | None,
        expected_version: int | None,
    ) -> CommandResult:
        before = self.store.load(reception_id)
        if expected_version is not None and expected_version != before.version:
            raise ConflictError(reception_id, expected_version, before.version, number=before.number)
        source = self._process_for(before)
        into = self._processes.get(target)
        if into is None:
            raise DefinitionError(
                f"目标流程 {target} 未加载（已加载：{'、'.join(self._processes)}）",
                f"target process {target} is not loaded ({', '.join(self._processes)})",
            )
        refusal = migration_refusal(source, before.state, into, state)
        if refusal is not None:
            raise MigrationRefusedError(reception_id, *refusal, number=before.number)
        self._require(
            actor, source, before, Transition(MIGRATE, before.state, state, frozenset({Role.ADMIN}))
        )
        if not reason.strip():
            raise ReasonRequiredError(MIGRATE, _MIGRATE_DEF.label)
        now = self.clock.now()
        after = attrs.evolve(before, process=target, state=state, version=before.version + 1, updated_at=now)
        noted = f"{reason.strip()}（流程版本 {before.process} → {target}）"
        event = self._event(after, MIGRATE, before.state, actor, now, noted, request_id, ())
        record = self._record(request_id, after, MIGRATE, actor, event, ())
        self.store.save(after, expected_version=before.version, event=event, outbox=(), record=record)
        event = self._seal(event)
        self._after_commit(after, event, (), ())
        return CommandResult(after, event, ())

    # -- the steps of a command ----------------------------------------------------------------

    def _collect_rules(self) -> list[Rule]:
        rules: list[Rule] = []

        def register(rule: Rule) -> None:
            rules.append(rule)  # tagged with its plugin by the facade

        self.hooks.jiedai_register_rules(register=register)
        return rules

    def _collect_notifiers(self) -> dict[str, Notifier]:
        found: dict[str, Notifier] = {}

        def register(notifier: Notifier) -> None:
            if notifier.name in found:
                raise PluginError(
                    f"通知渠道 {notifier.name} 重复登记",
                    f"notifier channel {notifier.name!r} registered twice",
                )
            found[notifier.name] = notifier

        self.hooks.jiedai_register_notifiers(register=register)
        return found

    def routes_for(self, jurisdiction: str) -> Mapping[str, Sequence[Role]] | None:
        """Who hears of what in ``jurisdiction``: a plugin's table, else the engine's, else None
        (what the process definitions declare)."""
        if jurisdiction not in self._routes:
            self._routes[jurisdiction] = self.hooks.jiedai_routes(jurisdiction=jurisdiction) or self.routes
        return self._routes[jurisdiction]

    def _outbox(
        self,
        reception: Reception,
        event: AuditEvent,
        actor: Actor,
        process: CompiledProcess,
        people: Sequence[str] = (),
        condition: str | None = None,
        *,
        step_open: bool = False,
    ) -> tuple[tuple[Notification, ...], tuple[Notification, ...]]:
        """The notifications of a command, and their outbox rows: one per notifier channel, each
        row's id the idempotency key of that delivery. ``people`` (new task owners, the urged,
        the copied) get one addressed to them; ``condition`` is the transition's; ``step_open``: a
        signature that left its step open (see :func:`~jiedai_flow.notify.routing.notifications`)."""
        routes = self.routes_for(reception.jurisdiction)
        intents = notifications(
            reception,
            event,
            actor,
            process,
            routes,
            self.link_template,
            people,
            condition=condition,
            step_open=step_open,
        )
        return intents, tuple(
            attrs.evolve(i, id=new_id(), channel=name, inline=notifier.inline)
            for i in intents
            for name, notifier in self.notifiers.items()
        )

    def choose_process(
        self, reception_type: ReceptionType, jurisdiction: str, host_unit: str, plan: Plan
    ) -> CompiledProcess:
        """The process a new reception runs on: ``jiedai_choose_process``'s answer, else the first."""
        if not self._choosing:
            return self.process
        key = self.hooks.jiedai_choose_process(
            reception_type=reception_type,
            jurisdiction=jurisdiction,
            host_unit=host_unit,
            amount=plan.planned_total,
            processes=tuple(self._processes),
        )
        if key is None:
            return self.process
        found = self._processes.get(key)
        if found is None:
            raise DefinitionError(
                f"jiedai_choose_process 选择了未加载的流程 {key}（已加载：{'、'.join(self._processes)}）",
                f"jiedai_choose_process chose {key}, which is not loaded ({', '.join(self._processes)})",
            )
        return found

    def _process_for(self, reception: Reception) -> CompiledProcess:
        try:
            return self._processes[reception.process]
        except KeyError:
            raise DefinitionError(
                f"接待记录 {reception.id} 使用的流程定义 {reception.process} 未加载",
                f"process definition {reception.process} of reception {reception.id} is not loaded",
            ) from None

    def _transition(
        self, process: CompiledProcess, reception: Reception, trigger: str, facts: frozenset[str]
    ) -> Transition:
        transition = process.applicable(reception.state, trigger, facts)
        if transition is None:
            allowed = [
                t
                for t in process.triggers_from(reception.state)
                if process.trigger_defs[t].operation is None
                and process.applicable(reception.state, t, self._facts(process, reception, t))
            ]
            labels = {name: t.label for name, t in process.trigger_defs.items()}
            said = (reception.id, trigger, process.label(reception.state), allowed, labels)
            number, state_en = reception.number, process.label_en(reception.state)
            if trigger not in process.trigger_defs:
                key = process.definition.key
                raise UnknownTriggerError(*said, number=number, state_en=state_en, process=key)
            unmet = dict.fromkeys(  # the trigger leaves this state, but only under other facts
                condition_labels(t.condition)
                for t in process.candidates(reception.state, trigger)
                if t.condition is not None
            )
            raise InvalidTransitionError(*said, number=number, state_en=state_en, unmet=tuple(unmet))
        return transition

    def _facts(
        self,
        process: CompiledProcess,
        reception: Reception,
        trigger: str,
        worked: task_ops.Worked | None = None,
    ) -> frozenset[str]:
        """The facts the transitions of ``trigger`` from the reception's state are conditioned on;
        an operation's own (the step it completes, the state a jump names) come with ``worked``."""
        if (reception.state, trigger) not in process.conditional:
            return _NO_FACTS  # most commands: no transition of theirs has a condition to decide
        facts = set()
        if not task_ops.approver_acted(reception):
            facts.add(FACT_NO_APPROVALS)
        if reception.retroactive and not reception.approval_complete:
            facts.add(FACT_RETRO_PENDING)
        if worked is not None and worked.facts & {FACT_FINAL_STEP, FACT_MORE_STEPS}:
            facts |= worked.facts
        else:
            last = reception.current_step + 1 >= len(reception.approval_chain)
            facts.add(FACT_FINAL_STEP if last else FACT_MORE_STEPS)
            if worked is not None:
                facts |= worked.facts
        if FACT_RETRO_PENDING in facts:  # a 补办 signature tells its last step from the others
            facts.add(FACT_RETRO_FINAL_STEP if FACT_FINAL_STEP in facts else FACT_RETRO_MORE_STEPS)
        if (reception.state, trigger, FACT_URGENT_ALLOWED) in process.conditioned:
            standards = self.standards_of(reception)
            if standards.retroactive_window_days is not None:
                facts.add(FACT_URGENT_ALLOWED)
        return frozenset(facts)

    def _authorize(
        self,
        actor: Actor,
        process: CompiledProcess,
        reception: Reception,
        transition: Transition,
        task: Task | None = None,
    ) -> Verdict:
        trigger = transition.trigger
        trigger_def = process.trigger_defs.get(trigger) or _PSEUDO[trigger]
        refused = separation_of_duties(actor, trigger_def, reception, process.phase(reception.state))
        if refused is not None:
            return refused
        step = reception.next_step if trigger_def.records_approval else None
        answer = self.hooks.jiedai_authorize(
            actor=actor,
            trigger=trigger,
            reception=reception,
            transition=transition,
            step=step,
            trigger_def=trigger_def,
            task=task,
        )
        if isinstance(answer, Verdict):
            return answer
        if answer:
            return Verdict.allow()
        return Verdict.deny("未获授权", "not authorized")

    def _refuse_outsider(
        self, actor: Actor, process: CompiledProcess, reception: Reception, trigger_def: TriggerDef
    ) -> None:
        """NotAuthorizedError when ``actor`` may not fire ``trigger_def`` here whatever task or
        target they name — none of the roles of its transitions, and ``jiedai_authorize`` asked
        without a task agrees. An operation that failed on its target, step or reason is refused as
        not authorized to such an actor: its message would tell an outsider which people are in the
        directory and which states the reception can reach."""
        facts = self._facts(process, reception, trigger_def.name)
        transitions = process.possible(reception.state, trigger_def.name, facts)
        if not transitions or any(actor.roles & t.roles for t in transitions):
            return
        verdicts = [self._authorize(actor, process, reception, t) for t in transitions]
        if any(v.allowed for v in verdicts):
            return
        raise NotAuthorizedError(
            reception.id,
            trigger_def.name,
            actor.id,
            verdicts[0].reason_zh,
            verdicts[0].reason_en,
            number=reception.number,
            label=trigger_def.label,
        )

    def _require(
        self,
        actor: Actor,
        process: CompiledProcess,
        reception: Reception,
        transition: Transition,
        task: Task | None = None,
    ) -> None:
        verdict = self._authorize(actor, process, reception, transition, task)
        if not verdict.allowed:
            declared = process.trigger_defs.get(transition.trigger)
            raise NotAuthorizedError(
                reception.id,
                transition.trigger,
                actor.id,
                verdict.reason_zh,
                verdict.reason_en,
                number=reception.number,
                label=declared.label if declared is not None else "",
            )

    def _run_rules(
        self,
        reception: Reception,
        standards: Standards,
        stage: str,
        actor: Actor,
        now: datetime,
        explanations: Mapping[str, str] | None = None,
        *,
        label: str = "",
    ) -> tuple[Finding, ...]:
        if not self.rules.for_stage(stage):
            return ()
        explanations = explanations or {}
        findings = self.rules.run(RuleContext(reception, standards, stage, actor, now, self.calendar))
        # explained at an earlier stage, for the same finding (same numbers, same message)
        given = {(e.rule_id, e.path, e.finding) for e in reception.explanations}
        unexplained = [
            f
            for f in findings
            if f.severity is Severity.NEEDS_EXPLANATION
            and not explanations.get(f.rule_id, "").strip()
            and (f.rule_id, f.path, f.message_zh) not in given
        ]
        if unexplained or any(f.blocks for f in findings):
            needing = sorted({f.rule_id for f in findings if f.severity is Severity.NEEDS_EXPLANATION})
            unused = {
                rule_id: nearest(rule_id, needing)
                for rule_id, text in explanations.items()
                if text.strip() and rule_id not in needing
            }
            explained = [
                f for f in findings if f.severity is Severity.NEEDS_EXPLANATION and f not in unexplained
            ]
            raise RuleViolationError(
                reception.id,
                stage,
                findings,
                number=reception.number,
                label=label,
                explained=explained,
                unused=unused,
            )
        return findings

    def _advance(
        self,
        process: CompiledProcess,
        reception: Reception,
        trigger: TriggerDef,
        dest: str,
        actor: Actor,
        standards: Standards,
        now: datetime,
        reason: str,
        worked: task_ops.Worked | None = None,
    ) -> Reception:
        changes: dict[str, Any] = {
            "state": dest,
            "version": reception.version + 1,
            "updated_at": now,
        }
        restart = trigger.resets_approvals or trigger.opens_chain or dest == process.definition.initial
        if restart:
            changes["approvals"] = ()  # back to the drafting table, or re-approval of a change
        if trigger.opens_chain:
            chain = self.hooks.jiedai_approval_chain(reception=reception, standards=standards)
            # no plugin answers (jiedai.approval blocked): one step any approver signs, as the
            # built-in chain without levels; an empty chain is refused by the facade, never widened
            changes["approval_chain"] = tuple(chain) if chain is not None else (ApprovalStep("", "审批"),)
            self._check_signers(reception, changes["approval_chain"], submitter=actor.id)
            changes["submitted_by"] = actor.id
            changes["submission"] = reception.submission + 1  # what approvers did before is history
            changes["retroactive"] = trigger.retroactive
        elif trigger.records_approval and worked is None:
            # a step decided outside a task (a review state after the chain): one signature
            step = reception.next_step
            level = step.level if step is not None else ""
            approval = Approval(len(reception.approvals), level, actor.id, actor.name, now, reason)
            changes["approvals"] = (*reception.approvals, approval)
        if restart:
            reception = task_ops.supersede(reception, trigger.name)
        after = attrs.evolve(reception, **changes)
        awaiting = process.awaits_approval(dest) or after.retroactive
        if not awaiting and not any(t.live for t in after.tasks):
            return after  # nothing to open or close: skip the task context (standards, stand-ins)
        ctx = self._task_context(process, after, actor, now, reason, trigger, state=dest)
        return task_ops.normalize(after, ctx)

    def _members_once(self) -> Callable[[], task_ops.Members | None]:
        """Asks ``jiedai_actors`` at most once for one command, and indexes the answer once (offers
        ask for every task the actor could act on)."""
        asked: list[task_ops.Members | None] = []

        def members() -> task_ops.Members | None:
            if not asked:
                found = self.hooks.jiedai_actors()
                asked.append(None if found is None else task_ops.Members(tuple(found)))
            return asked[0]

        return members

    def _check_signers(self, reception: Reception, chain: Sequence[ApprovalStep], *, submitter: str) -> None:
        """Every step must be signable by the people it names: nobody who must sign is the
        reception's handler or its submitter (separation of duties) or must sign another step too
        (one signature a chain) — for 或签 and 票签, enough of the others must remain to decide.
        With a directory (``jiedai_actor``) each person named must be known and hold the step's
        roles — a misspelt id in a standards file's countersign would open a task nobody can sign;
        with a list of everyone (``jiedai_actors``) each pool (a department, a level) must have
        someone who may sign the step — a misspelt department would open a task nobody can claim.
        Refused at submission, nothing saved, naming the step and the person or pool."""
        directory = self.directory
        everyone = self.hooks.jiedai_actors()
        handlers = {reception.handler.id, submitter}
        must: dict[str, list[int]] = {}  # person → the steps that cannot pass without them
        for index, step in enumerate(chain):
            if step.kind not in (StepKind.ANY, StepKind.VOTE):
                for a in step.assignees:
                    if a.kind is AssigneeKind.PERSON:
                        must.setdefault(a.ref, []).append(index)
        for index, step in enumerate(chain):
            people = [a for a in step.assignees if a.kind is AssigneeKind.PERSON]
            for a in people:
                problem: tuple[str, str] | None = None
                steps = must.get(a.ref, [])
                if directory is not None:
                    problem = task_ops.target_problem(directory, a.ref, step.roles)
                if problem is None and index in steps:
                    if a.ref in handlers:
                        problem = _handler_named(self.shown(a.ref), a.ref)
                    elif len(steps) > 1:
                        other = next(i for i in steps if i != index) if len(set(steps)) > 1 else index
                        problem = (
                            f"{self.shown(a.ref)} 也列在第 {other + 1} 环节，一人在一条审批链上只签一次",
                            f"{a.ref} is named on step {other + 1} too; one signature a chain",
                        )
                if problem is not None:
                    self._refuse_chain(index, step, problem)
            empty = [] if everyone is None else _empty_pools(step, everyone, handlers | set(must))
            if empty and step.kind not in (StepKind.ANY, StepKind.VOTE):
                self._refuse_chain(index, step, _pool_problem(empty[0], everyone or ()))
            unable = [a.ref for a in people if a.ref in handlers or a.ref in must]
            if step.kind in (StepKind.ANY, StepKind.VOTE) and (unable or empty):
                # who cannot sign here: the handler, whoever must sign another step, a pool nobody
                # in it may sign
                able = [
                    a
                    for a in step.who
                    if (a.kind is AssigneeKind.PERSON and a.ref not in unable)
                    or (a.kind is not AssigneeKind.PERSON and a not in empty)
                ]
                total = sum(a.weight for a in step.who) or 1
                short = (
                    not able
                    if step.kind is StepKind.ANY
                    else sum(a.weight for a in able) * 100 <= step.threshold * total
                )
                if not short:
                    continue
                if not unable:
                    self._refuse_chain(index, step, _pool_problem(empty[0], everyone or ()))
                barred = unable[0]
                self._refuse_chain(
                    index,
                    step,
                    _handler_named(self.shown(barred), barred)
                    if barred in handlers
                    else (
                        f"{self.shown(barred)} 还要签第 {must[barred][0] + 1} 环节，"
                        "一人在一条审批链上只签一次，本环节剩下的人不足以通过",
                        f"{barred} is to sign step {must[barred][0] + 1}; one signature a chain, and the"
                        " others cannot pass this step",
                    ),
                )
        if everyone is not None:
            self._check_pools_apart(chain, everyone, handlers | set(must))

    def _check_pools_apart(
        self, chain: Sequence[ApprovalStep], everyone: Sequence[Actor], barred: set[str]
    ) -> None:
        """Each pool that must sign (those of single, sequential and parallel steps, and a 或签 with a
        pool, as one) needs a signer of its own, since nobody signs a chain twice: a chain whose only
        possible signer of two pools is one person (the only 二级 who is also the only one left for
        一级) is refused, naming the pool left over."""
        slots = [slot for index, step in enumerate(chain) for slot in task_ops.step_slots(index, step)]
        missing = task_ops.unmatched(task_ops.Members(everyone).of(slots, barred))
        if missing is not None:
            index, whom, _roles = slots[missing]
            shown = "、".join(a.shown for a in whom)
            self._refuse_chain(
                index,
                chain[index],
                (
                    f"「{shown}」里能签的人都还要签别的环节，一人在一条审批链上只签一次，这一环节没有人能签",
                    f"everyone who may sign {', '.join(a.ref for a in whom)} is needed on another step "
                    "(one signature a chain), so nobody is left for this one",
                ),
            )

    @staticmethod
    def _refuse_chain(index: int, step: ApprovalStep, problem: tuple[str, str]) -> NoReturn:
        where = step.label or step.level
        raise PluginError(
            f"审批链第 {index + 1} 环节「{where}」：{problem[0]}"
            "（请检查标准文件的会签设置或提供审批链的插件）",
            f"approval step {index + 1} ({where}): {problem[1]} "
            "(check the standards file's countersigns or the chain plugin)",
        )

    def _event(
        self,
        reception: Reception,
        trigger: str,
        from_state: str,
        actor: Actor,
        now: datetime,
        reason: str,
        request_id: str | None,
        findings: tuple[Finding, ...],
    ) -> AuditEvent:
        return AuditEvent(
            id=new_id(),
            reception_id=reception.id,
            seq=reception.version,
            trigger=trigger,
            actor_id=actor.id,
            actor_name=actor.name,
            actor_roles=tuple(sorted(actor.roles)),
            from_state=from_state,
            to_state=reception.state,
            at=now,
            process=reception.process,
            rule_pack=reception.rule_pack,
            reason=reason,
            request_id=request_id,
            findings=findings,
            auth_method=AUTH_METHOD.get(),
        )

    @staticmethod
    def _record(
        request_id: str | None,
        reception: Reception,
        trigger: str,
        actor: Actor,
        event: AuditEvent,
        findings: tuple[Finding, ...],
        said: str = "",
    ) -> CommandRecord | None:
        if request_id is None:
            return None
        result = CommandResult(reception, event, findings)
        return CommandRecord(request_id, reception.id, trigger, actor.id, result, said)

    def _replay(
        self, request_id: str, reception_id: str, trigger: str, actor: Actor, said: str = ""
    ) -> CommandResult | None:
        record = self.store.command(request_id)
        if record is None:
            return None
        same = (record.trigger, record.actor_id) == (trigger, actor.id) and (
            not reception_id or record.reception_id == reception_id
        )
        if same and record.said and said and record.said != said:  # the same key, other words
            first = f"{record.reception_id}:{record.trigger}:{record.actor_id}"
            raise IdempotencyError(request_id, first, first, other_words=True)
        if not same:
            raise IdempotencyError(
                request_id,
                f"{record.reception_id}:{record.trigger}:{record.actor_id}",
                f"{reception_id}:{trigger}:{actor.id}",
            )
        return attrs.evolve(record.result, event=self._seal(record.result.event), replayed=True)

    def _seal(self, event: AuditEvent) -> AuditEvent:
        """``event`` with its hash on the chain, for stores that chain events (:class:`SealingStore`);
        a command's result then carries the hash a host may keep."""
        return event if self._sealed is None else self._sealed(event)

    def _after_commit(
        self,
        reception: Reception,
        event: AuditEvent,
        intents: Sequence[Notification],
        outbox: Sequence[Notification],
    ) -> None:
        try:
            if self._observed_after:
                self.hooks.jiedai_after_transition(reception=reception, event=event)
        except Exception:
            log.exception("after-transition observer failed for %s", reception.id)
        for notification in intents if self._observed_notify else ():
            try:
                self.hooks.jiedai_notify(notification=notification, reception=reception)
            except Exception:
                log.exception("notification observer failed for %s", notification.id)
        if outbox:
            self._inline.deliver_inline(outbox, reception)


MAX_JURISDICTION = 12
"""The longest jurisdiction code the tables hold (jd_receptions.jurisdiction)."""


def _task_store(store: Store) -> TaskStore | None:
    """``store`` when it keeps task lists and stand-ins (:class:`TaskStore`), None when it keeps none
    of it; a store with part of the protocol is refused, naming what it lacks: a store plugin written
    for an earlier version would otherwise lose its task lists without a word."""
    if isinstance(store, TaskStore):
        return store
    wanted = sorted(n for n in vars(TaskStore) if not n.startswith("_") and callable(getattr(TaskStore, n)))
    missing = [n for n in wanted if not callable(getattr(store, n, None))]
    if not missing:
        # a store that delegates (``__getattr__``): Python 3.12+ looks a protocol's members up
        # statically, so isinstance said no to a store that has them all
        return cast("TaskStore", store)
    if len(missing) < len(wanted):
        kind = type(store).__qualname__
        raise PluginError(
            f"存储 {kind} 只实现了部分 TaskStore（待办与代理），缺少：{'、'.join(missing)}",
            f"the store {kind} implements only part of TaskStore (task lists and stand-ins); "
            f"missing: {', '.join(missing)}",
        )
    return None


def proxy_party(actor: Actor) -> str | None:
    """Whose stand-in designations ``actor`` may read: their own, as principal or stand-in (their
    id); None for all — the office, administrators and the supervisor."""
    return None if actor.roles & {Role.ADMIN, Role.OFFICE, Role.SUPERVISOR} else actor.id


MIN_PROXY_PREFIX = 8
"""The fewest leading characters of a stand-in designation's id that name it (ids are 32 hex)."""


MAX_REQUEST_ID = 128
"""The longest request id the tables hold (jd_commands.request_id)."""


def stored_text(*values: tuple[str, str | None, int | None]) -> None:
    """Refuse, before anything is decided, text a command passes straight to storage that no column
    can hold (a NUL, a lone surrogate, more characters than the column): a ValidationError naming
    every such argument, instead of a driver's error at the write."""
    problems = []
    for field, value, max_length in values:
        if value is None:
            continue
        try:
            check_text(value, field=field, max_length=max_length)
        except InvalidValueError as error:
            problems.append(Problem(f"$.{field}", error.message_zh, error.message_en))
    if problems:
        raise ValidationError(problems)


def _vote_instead(process: CompiledProcess, state: str, trigger: TriggerDef) -> tuple[str, str] | None:
    """For a reviewer's answer that refuses the reception from ``state`` (不予接待: each of its
    transitions ends in a refused state), the trigger a voter votes against with instead (label,
    name), when the process has one from ``state``; else None. On a 票签 step the vote decides: one
    voter's 不予接待 would bypass it (a 补办 chain's too: it has its vote against)."""
    if not trigger.review or trigger.operation is not None:
        return None
    moves = process.candidates(state, trigger.name)
    if not moves or any(process.phase(t.dest) is not Phase.REFUSED for t in moves):
        return None
    name = process.operations.get(Operation.AGAINST.value, "")
    if name not in process.triggers_from(state):
        return None
    return process.trigger_defs[name].label, name


def separation_of_duties(
    actor: Actor, trigger: TriggerDef, reception: Reception, phase: Phase
) -> Verdict | None:
    """不相容职务分离, checked here and nowhere else, whatever plugins say: the handler may not take a
    decision (approve, settle) or give a review (return, refuse) on their own reception; nobody signs
    two steps of one approval chain, nor decides a review step that follows the chain (a state
    still awaiting approval) after signing it. None when the duties stay apart."""
    if not (trigger.decision or trigger.review or trigger.records_approval):
        return None  # most commands: nothing to keep apart
    if (trigger.decision or trigger.review) and reception.handled_by(actor.id):
        return Verdict.deny(
            f"经办人不能「{trigger.label}」自己经办的接待（不相容职务分离）",
            f"separation of duties: the handler may not {trigger.label_en} their own reception",
        )
    signed = any(a.actor_id == actor.id for a in reception.approvals)
    if trigger.records_approval and signed:
        return Verdict.deny("同一人不能签署两个审批环节", "one person may not sign two approval steps")
    if trigger.decision and signed and phase.awaits_approval:
        return Verdict.deny(
            f"已在审批链签署的人不能再「{trigger.label}」（不相容职务分离）",
            f"separation of duties: who signed the approval chain may not also {trigger.label_en}",
        )
    return None


def migration_refusal(
    source: CompiledProcess, state: str, target: CompiledProcess, into: str
) -> tuple[str, str] | None:
    """Why a reception in ``state`` of ``source`` cannot move to ``into`` of ``target`` (Chinese,
    English), or None when it can: the state must exist there with the same phase."""
    if into not in target.definition.state_names:
        return (
            f"目标流程 {target.definition.key} 没有状态「{into}」",
            f"target process {target.definition.key} has no state {into!r}",
        )
    before, after = source.phase(state), target.phase(into)
    if before is not after:
        return (
            f"「{state}」属于阶段 {before}，目标「{into}」属于 {after}；迁移不能改变状态的阶段",
            f"{state!r} is in phase {before} but {into!r} in {after}; a migration keeps the phase",
        )
    return None


def compile_processes(definitions: Iterable[ProcessDefinition]) -> dict[str, CompiledProcess]:
    """Validate and compile definitions by ``name@version``. Two definitions under one key, or one
    state name with two phases, are refused (reports filter by state name across processes)."""
    compiled: dict[str, CompiledProcess] = {}
    phases: dict[str, tuple[str, str]] = {}
    for definition in definitions:
        if definition.key in compiled:
            if compiled[definition.key].definition == definition:
                continue
            raise DefinitionError(
                f"流程 {definition.key} 定义了两次（{definition.origin or '代码'}）",
                f"process {definition.key} is defined twice ({definition.origin or 'code'})",
            )
        compiled[definition.key] = CompiledProcess(definition)
        for state in definition.states:
            seen = phases.setdefault(state.name, (state.phase, definition.key))
            if seen[0] != state.phase:
                raise DefinitionError(
                    f"状态「{state.name}」在 {seen[1]} 中属于 {seen[0]}，在 {definition.key} 中属于 "
                    f"{state.phase}；同名状态须属于同一阶段",
                    f"state {state.name!r} is in phase {seen[0]} in {seen[1]} but {state.phase} in "
                    f"{definition.key}; one name, one phase",
                )
    return compiled


def _explain(
    reception: Reception,
    findings: tuple[Finding, ...],
    given: Mapping[str, str],
    trigger: TriggerDef,
    actor: Actor,
    now: datetime,
) -> tuple[Reception, tuple[Explanation, ...]]:
    """Record the explanations given for findings that need one; a decision (approve, settle)
    accepts every explanation still pending. Returns the reception and what changed."""
    added = tuple(
        Explanation(f.rule_id, f.path, given[f.rule_id].strip(), trigger.name, actor.id, now, f.message_zh)
        for f in findings
        if f.severity is Severity.NEEDS_EXPLANATION and given.get(f.rule_id, "").strip()
    )
    accepted: tuple[Explanation, ...] = ()
    kept = reception.explanations
    if trigger.decision:
        accepted = tuple(
            attrs.evolve(e, accepted_by=actor.id, accepted_at=now) for e in kept if not e.accepted
        )
        kept = tuple(e for e in kept if e.accepted) + accepted
    if not added and not accepted:
        return reception, ()
    return attrs.evolve(reception, explanations=kept + added), added + accepted


def _jump_target(
    process: CompiledProcess, before: Reception, trigger_def: TriggerDef, command: task_ops.Jump
) -> None:
    """Refuse a 跳转 to a state the process has not, or cannot jump to from here, naming where it
    can go (the transition itself would only say the trigger does not apply in this state)."""
    targets = sorted(
        {t.dest for t in process.transitions_from(before.state) if t.trigger == trigger_def.name}
    )
    if command.state in targets:
        return
    shown = "、".join(f"「{process.label(s)}」（{s}）" for s in targets) or "无"
    known = command.state in process.definition.state_names
    what_zh = (
        f"不能从「{process.label(before.state)}」跳转到「{process.label(command.state)}」"
        if known
        else (f"流程没有状态「{command.state}」")
    )
    what_en = (
        f"cannot jump from {before.state} to {command.state}" if known else f"no state {command.state!r}"
    )
    raise TaskError(
        before.id,
        trigger_def.label,
        f"{what_zh}；从这里可跳转到：{shown}",
        f"{what_en}; from here: {', '.join(targets) or 'none'}",
        number=before.number,
        operation_en=trigger_def.name,
    )


def _with_payload(
    reception: Reception,
    trigger: TriggerDef,
    process: CompiledProcess,
    plan: Plan | None,
    reception_list: ReceptionList | None,
) -> Reception:
    problems = []
    name = trigger.name
    if plan is not None and not trigger.carries_plan:
        problems.append(Problem("$.plan", f"「{name}」不能修改接待方案", f"{name} cannot change the plan"))
    if reception_list is not None and not trigger.carries_list:
        problems.append(
            Problem(
                "$.reception_list",
                f"「{name}」不能提交接待清单",
                f"{name} cannot carry the list",
            )
        )
    if trigger.carries_plan and plan is not None and process.phase(reception.state).plan_frozen:
        problems.append(
            Problem(
                "$.plan",
                "接待结束后不能修改接待方案；实际情况请填入接待清单",
                "the plan cannot change after the reception; record what happened in the list",
            )
        )
    if problems:
        raise ValidationError(problems)
    changes: dict[str, Any] = {}
    if plan is not None:
        changes["plan"] = plan
    if reception_list is not None:
        changes["reception_list"] = reception_list
    return attrs.evolve(reception, **changes) if changes else reception


def _with_follow_up(
    reception: Reception, trigger: TriggerDef, entry: FollowUp, actor: Actor, now: datetime
) -> Reception:
    """The reception with ``entry`` recorded: appended, or replacing the open entry of the same
    kind, owner and summary (so marking an item done does not duplicate it)."""
    problems = []
    if not trigger.carries_follow_up:
        problems.append(
            Problem(
                "$.follow_up",
                f"「{trigger.label}」不能记录跟踪事项",
                f"{trigger.name} cannot record a follow-up entry",
            )
        )
    if not entry.summary.strip():
        problems.append(
            Problem("$.follow_up.summary", "跟踪事项须写明情况", "a follow-up entry needs a summary")
        )
    if entry.outcome is not None and entry.kind is not FollowUpKind.PROGRESS:
        problems.append(
            Problem(
                "$.follow_up.outcome",
                "只有「项目进展」可以记录项目结果",
                "only a progress entry carries the project's outcome",
            )
        )
    if problems:
        raise ValidationError(problems)
    entry = attrs.evolve(entry, recorded_by=actor.id, recorded_at=now)
    same = (entry.kind, entry.owner, entry.summary)
    kept = tuple(
        f for f in reception.follow_ups if not (f.done_on is None and (f.kind, f.owner, f.summary) == same)
    )
    return attrs.evolve(reception, follow_ups=(*kept, entry))


def _check_dates(start: date, end: date) -> None:
    if end < start:
        raise ValidationError(
            [
                Problem(
                    "$.end",
                    f"结束日期 {end} 早于开始日期 {start}",
                    f"end {end} is before start {start}",
                )
            ]
        )


DEFAULT_URL = "sqlite:///jiedai.db"
"""The embedded default: a SQLite file in the working directory, created on first use."""


def open_engine(
    url: str = DEFAULT_URL,
    *,
    autoload: bool | None = None,
    blocked: Iterable[str] = (),
    plugins: Iterable[object | tuple[str, object]] = (),
    clock: Clock | None = None,
    processes: Sequence[ProcessDefinition] | None = None,
    strict: bool = True,
) -> Engine:
    """Build an engine: a fresh plugin manager, the store the plugins open for ``url``, the rules.

    :param autoload: load installed ``jiedai_flow`` plugins (default: yes, unless
        ``JIEDAI_DISABLE_PLUGIN_AUTOLOAD`` is set).
    :param blocked: plugin names not to load.
    :param plugins: plugin objects to register in addition.
    :param strict: fail on the first installed plugin that does not load (the default: a county's
        rules must never drop out without a word); False warns and goes on without it.
    """
    host = make_plugin_manager(autoload=autoload, blocked=blocked, plugins=plugins, strict=strict)
    store = host.hooks.jiedai_storage(url=url)
    if store is None:
        raise StorageError(
            f"没有存储后端支持 {url!r}，是否未安装相应插件？",
            f"no storage back end accepts {url!r}; is its plugin installed?",
        )
    return Engine(store, host, clock=clock, processes=processes)


def digest_of(*said: object) -> str:
    """What a command said — its arguments beside the reception, trigger and actor — as a short
    digest kept with its idempotency record (:attr:`CommandRecord.said`)."""
    return hashlib.sha256(canonical(list(said))).hexdigest()[:32]  # keys sorted: a map's order is no content

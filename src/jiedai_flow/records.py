"""The reception aggregate 接待记录 and the records a command leaves behind.

:class:`Reception` is the unit every command loads, checks and saves with its ``version``.
:class:`AuditEvent` is the accountable trace of one accepted command; :class:`Notification` is an
outbox row written in the same atomic step. All frozen: a command builds new values, never edits.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.model import (
    Actor,
    FollowUpKind,
    InvalidValueError,
    OfficialLetter,
    Plan,
    ProjectOutcome,
    ReceptionList,
    ReceptionType,
    Role,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date, datetime

    from jiedai_flow.findings import Finding


@attrs.frozen
class ApprovalStep:
    """One step of an approval chain 审批环节, e.g. 部门负责人 → 分管领导.

    ``level`` is matched against :attr:`Actor.levels`; an empty level accepts any approver.
    """

    level: str
    label: str = ""
    roles: frozenset[Role] = frozenset({Role.APPROVER})


@attrs.frozen
class Approval:
    """A signed approval step 审批意见 of the current submission."""

    step: int
    level: str
    actor_id: str
    actor_name: str
    at: datetime
    opinion: str = ""


@attrs.frozen
class Explanation:
    """A written explanation 情况说明 for a finding that needs one, and who accepted it."""

    rule_id: str
    path: str
    text: str
    stage: str
    by: str
    at: datetime
    finding: str = ""
    """The Chinese message of the finding explained: a changed finding needs a new explanation."""
    accepted_by: str = ""
    accepted_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return bool(self.accepted_by)


Member = tuple[str, str, str, int]
"""A reception as a process migration sees it: (id, number, state, version)."""


@attrs.frozen
class FollowUp:
    """One entry of the follow-up after a business reception 接待后跟踪: a contact with the investor,
    their stated intent, the project's progress, or feedback on the reception; with its owner and
    due day (reminded like any deadline) until it is done.

    Only a process whose trigger declares ``carries_follow_up`` records them (the 招商 process).
    """

    kind: FollowUpKind
    summary: str
    """What happened or is to be done 情况."""
    owner: str
    """Who carries it out (an actor id) 责任人."""
    due: date | None = None
    """The day it is due 完成时限 (working-day calendar reminders)."""
    done_on: date | None = None
    """The day it was done 完成日期; None while open."""
    outcome: ProjectOutcome | None = None
    """For progress entries: 签约, 落地 or 未成."""
    recorded_by: str = ""
    recorded_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Due and not done yet."""
        return self.due is not None and self.done_on is None


@attrs.frozen
class LedgerEntry:
    """A change to a host unit's annual budget ledger 预算台账, applied with the command's save.

    Amounts in fen. When ``cap_fen`` is set and the change adds spending, the store refuses it
    (:class:`~jiedai_flow.errors.BudgetExceededError`) if committed + spent would pass the cap.
    """

    host_unit: str
    year: int
    committed_fen: int = 0
    spent_fen: int = 0
    cap_fen: int | None = None

    @property
    def key(self) -> str:
        return f"{self.year}|{self.host_unit}"


@attrs.frozen
class BudgetUsage:
    """What a host unit has committed (approved, not settled) and spent in a year, in fen."""

    committed_fen: int = 0
    spent_fen: int = 0


@attrs.frozen
class Reception:
    """One reception 接待 from its letter to its archive.

    ``process`` and ``rule_pack`` are pinned at creation: the reception is judged by the process
    definition and the rule pack it started with, whatever is installed later.
    """

    id: str
    number: str
    jurisdiction: str
    host_unit: str
    reception_type: ReceptionType
    handler: Actor
    letter: OfficialLetter
    plan: Plan
    start: date
    end: date
    state: str
    version: int
    process: str
    rule_pack: str
    created_at: datetime
    updated_at: datetime
    reception_list: ReceptionList | None = None
    approval_chain: tuple[ApprovalStep, ...] = ()
    approvals: tuple[Approval, ...] = ()
    submitted_by: str | None = None
    retroactive: bool = False
    """补办: started before approval under the local urgent-reception rule; approval follows."""
    explanations: tuple[Explanation, ...] = ()
    budget_committed_fen: int = 0
    """What this reception holds committed in its host unit's budget ledger."""
    follow_ups: tuple[FollowUp, ...] = ()
    """接待后跟踪 entries, for processes with a follow-up stage (empty otherwise)."""

    @property
    def approval_complete(self) -> bool:
        """Every step of the approval chain is signed."""
        return bool(self.approval_chain) and len(self.approvals) >= len(self.approval_chain)

    @property
    def next_step(self) -> ApprovalStep | None:
        """The approval step waiting for a signature, if the reception is awaiting approval."""
        index = len(self.approvals)
        return self.approval_chain[index] if index < len(self.approval_chain) else None

    def handled_by(self, actor_id: str) -> bool:
        """Whether ``actor_id`` handles this reception (经办) — they may not approve or settle it."""
        return actor_id in (self.handler.id, self.submitted_by)


@attrs.frozen
class AuditEvent:
    """One accepted command, as evidence: who did what, from which state to which, and why.

    ``seq`` equals the reception's version after the command; replaying a reception's events in
    ``seq`` order gives its current state. ``prev_hash``/``hash`` are filled by back ends that
    chain events (see docs/architecture.md).
    """

    id: str
    reception_id: str
    seq: int
    trigger: str
    actor_id: str
    actor_name: str
    actor_roles: tuple[Role, ...]
    from_state: str
    to_state: str
    at: datetime
    process: str
    rule_pack: str
    reason: str = ""
    request_id: str | None = None
    findings: tuple[Finding, ...] = ()
    explanations: tuple[Explanation, ...] = ()
    """Explanations given or accepted by this command."""
    outbox_digest: str = ""
    """SM3 of the outbox rows this command wrote (``audit.outbox_digest``), so that a deleted or
    edited notification is caught by verify; "" when it wrote none."""
    prev_hash: str = ""
    hash: str = ""
    hash_algorithm: str = ""
    auth_method: str = ""
    """How the actor was authenticated (``api-token:<id>``, ``jwt:<issuer>`` …; see
    :mod:`jiedai_flow.authn`); "" for an in-process call that did not say, and for events written
    before it was recorded."""


@attrs.frozen
class Notification:
    """An outbox row 待发通知: one notification for one channel, committed with the state change
    (or written by the reminder scan) and delivered after. ``id`` is the delivery's idempotency
    key: a receiver that sees it twice drops the second."""

    id: str
    reception_id: str
    event_id: str
    topic: str
    recipients: tuple[Role, ...]
    message_zh: str
    message_en: str
    created_at: datetime
    channel: str = ""
    """The notifier that delivers it (``log``, ``email``, ``dingtalk`` …)."""
    action_zh: str = ""
    """What the reader must do next 待办事项."""
    link: str = ""
    """Where the reader acts: the host application's link template filled in for the reception."""
    kind: str = "event"
    """``event`` for a committed command, ``reminder`` for a deadline reminder 催办."""
    inline: bool = False
    """Delivered by its notifier right after the commit (the row is leased to it meanwhile)."""


@attrs.frozen
class DeliveryOutcome:
    """How one delivery ended: ``delivered``; ``pending`` again from ``next_attempt_at``; or
    ``dead`` (a dead letter, kept for inspection)."""

    notification_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None = None
    error: str = ""


@attrs.frozen
class Delivery:
    """A claimed outbox row and how many delivery attempts it has had."""

    notification: Notification
    attempts: int = 0


@attrs.frozen
class CommandResult:
    """What a command returns: the reception after it, its audit event, every finding.

    ``replayed`` is True when the request id had been seen and this is the first result again.
    """

    reception: Reception
    event: AuditEvent
    findings: tuple[Finding, ...] = ()
    replayed: bool = False


@attrs.frozen
class Numbering:
    """How a store numbers a new reception 编号, inside the creating transaction: the next value
    of counter ``key``, formatted."""

    key: str
    format: Callable[[int], str] = attrs.field(eq=False)


@attrs.frozen
class CommandRecord:
    """An idempotency record: request id → the command it named and its first result."""

    request_id: str
    reception_id: str
    trigger: str
    actor_id: str
    result: CommandResult


def _hex_prefix(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not (isinstance(value, str) and 1 <= len(value) <= 32 and all(c in "0123456789abcdef" for c in value)):
        raise InvalidValueError(
            f"「{attribute.name}」应为 1–32 位小写十六进制数字，收到 {value!r}",
            f"{attribute.name} must be 1 to 32 lowercase hexadecimal digits, got {value!r}",
            field=attribute.name,
        )


@attrs.frozen
class ReceptionQuery:
    """Filters for listing receptions; results are ordered by (start, id) and paged by cursor."""

    states: frozenset[str] = frozenset()
    jurisdiction: str | None = None
    host_unit: str | None = None
    reception_type: ReceptionType | None = None
    start_from: date | None = None
    start_to: date | None = None
    number: str | None = None
    """The reception number 接待编号 (341502-2026-00001), exactly."""
    id_prefix: str | None = attrs.field(default=None, validator=attrs.validators.optional(_hex_prefix))
    """The start of the reception id: 1 to 32 lowercase hexadecimal digits."""
    limit: int = attrs.field(default=50, validator=attrs.validators.in_(range(1, 10_001)))
    after: str | None = None
    """Opaque cursor: the ``next_cursor`` of the previous page."""


@attrs.frozen
class Page:
    """One page of receptions and the cursor of the next page (None at the end)."""

    items: tuple[Reception, ...]
    next_cursor: str | None = None


@attrs.frozen
class Verdict:
    """An authorization answer with its reason, for ``jiedai_authorize`` (a plain bool works too)."""

    allowed: bool
    reason_zh: str = ""
    reason_en: str = ""

    @classmethod
    def allow(cls) -> Verdict:
        return _ALLOWED

    @classmethod
    def deny(cls, reason_zh: str, reason_en: str) -> Verdict:
        return cls(False, reason_zh, reason_en)


_ALLOWED = Verdict(True)


def new_id() -> str:
    """A new random id: 32 hex digits, like ``uuid4().hex`` at a quarter of the cost."""
    return os.urandom(16).hex()


def numbered(
    reception: Reception, record: CommandRecord | None, number: str
) -> tuple[Reception, CommandRecord | None]:
    """The reception (and its idempotency record) with the number a store gave it."""
    reception = attrs.evolve(reception, number=number)
    if record is not None:
        record = attrs.evolve(record, result=attrs.evolve(record.result, reception=reception))
    return reception, record

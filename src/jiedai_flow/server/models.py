"""The service's own request and response shapes, attrs like the library's and made of its values.

Everything else the API returns is the library's own class (``Reception``, ``CommandResult``,
``AuditEvent``, ``Page``, ``Finding`` …); the OpenAPI document is generated from these classes.
Names used in annotations are imported at run time: the schema and the loader resolve them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import attrs

from jiedai_flow.domain.findings import Finding
from jiedai_flow.domain.model import Actor, Plan, ReceptionList
from jiedai_flow.domain.records import Explanation, FollowUp
from jiedai_flow.reports.flags import RedFlag
from jiedai_flow.reports.summary import AnnualSummaryRow, DisclosureRow


@attrs.frozen
class FireRequest:
    """The body of a command 操作: the reason, and whatever the trigger carries."""

    reason: str = ""
    """理由或意见 (required for 退回、不予接待、变更、撤销)."""
    plan: Plan | None = None
    reception_list: ReceptionList | None = None
    explanations: Mapping[str, str] = attrs.field(factory=dict)
    """情况说明 by rule id, for findings that need a written explanation."""
    follow_up: FollowUp | None = None
    task: str = ""
    """The approval trigger only: which of the caller's tasks they sign (id or unique prefix), when
    they hold several on the reception (their own and one they stand in for, say)."""


@attrs.frozen
class TriggerInfo:
    """A trigger the caller may fire now, as the process definition declares it."""

    name: str
    label: str
    label_en: str
    reason_required: bool
    carries_plan: bool
    carries_list: bool


@attrs.frozen
class Triggers:
    reception_id: str
    state: str
    state_label: str
    version: int
    triggers: tuple[TriggerInfo, ...]


@attrs.frozen
class CheckResult:
    """A dry run 合规预检: every finding by stage; ``ok`` when none refuses."""

    reception_id: str
    ok: bool
    by_stage: Mapping[str, tuple[Finding, ...]]


@attrs.frozen
class Explanations:
    """The written explanations given (and accepted) and the findings that still need one."""

    reception_id: str
    given: tuple[Explanation, ...]
    needed: tuple[Finding, ...]


@attrs.frozen
class VerifyResult:
    """The audit chain check: intact, how many events, and the first one that does not fit."""

    ok: bool
    checked: int
    problem: str | None = None
    event_id: str | None = None


@attrs.frozen
class ProcessInfo:
    key: str
    name: str
    version: str
    initial: str
    states: tuple[str, ...]
    triggers: tuple[str, ...]


@attrs.frozen
class Me:
    """Who the service takes the caller for, and how it knows."""

    actor: Actor
    auth_method: str
    read_only: bool


@attrs.frozen
class Liveness:
    """``/healthz``: the process answers (nothing else is looked at)."""

    status: str
    checked_at: datetime


@attrs.frozen
class Health:
    """``/readyz``: whether the database answers and its schema is the one this version needs."""

    status: str
    checked_at: datetime
    database: str = ""
    """The kind of database (``sqlite``, ``postgresql``, ``mysql``, ``memory``), never its address."""
    revision: str = ""
    expected_revision: str = ""


@attrs.frozen
class OperationInfo:
    """An approval operation 审批操作 the caller may use now, as the process definition declares it:
    ``operation`` is the operation (its endpoint is ``path``), ``trigger`` the process's name for it."""

    operation: str
    trigger: str
    label: str
    label_en: str
    reason_required: bool
    path: str


@attrs.frozen
class Operations:
    """The approval operations the caller may use on a reception now (by role and state; whether a
    given task is theirs is checked when they act)."""

    reception_id: str
    state: str
    version: int
    operations: tuple[OperationInfo, ...]


@attrs.frozen
class ProxyRequest:
    """代理 while away: ``stand_in`` acts on ``principal``'s approval tasks from ``start`` to ``end``
    (both included), within a year of today either way. ``principal`` defaults to the caller; the
    office or an administrator may set it for someone else."""

    stand_in: str
    start: date
    end: date
    principal: str = ""
    reason: str = ""


@attrs.frozen
class Report:
    """A report as JSON (``format=json``): its kind, the year and its rows — 年度接待汇总
    ``AnnualSummaryRow``, 公务接待费公开 ``DisclosureRow`` or 审计疑点 ``RedFlag``."""

    report: str
    year: int
    rows: tuple[AnnualSummaryRow | DisclosureRow | RedFlag, ...]

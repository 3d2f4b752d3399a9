"""Every hook of jiedai_flow, grouped by phase. Plugins implement them with ``@hookimpl``.

Each docstring follows one template: what the hook is for, its parameters, what it returns, how
pluggy calls it (a fixed sentence), and who typically implements it. docs/hooks.md is generated
from these docstrings; ``tests/test_hooks.py`` keeps this file, the typed facade in
:mod:`jiedai_flow.plugins` and the docs in step. Hooks only ever grow by new arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date
    from decimal import Decimal

    from jiedai_flow.domain.model import Actor, ReceptionType, Role
    from jiedai_flow.domain.records import (
        ApprovalStep,
        AuditEvent,
        Notification,
        Reception,
        Task,
        Verdict,
    )
    from jiedai_flow.domain.standards import Standards, StandardsLayer
    from jiedai_flow.domain.workdays import WorkCalendar
    from jiedai_flow.notify.channels import Contact, RegisterNotifier
    from jiedai_flow.process.lifecycle import ProcessDefinition, Transition, TriggerDef
    from jiedai_flow.process.rules import RegisterRule
    from jiedai_flow.reports.forms import TemplateSource
    from jiedai_flow.storage.base import Store
    from jiedai_flow.storage.checkpoints import Checkpoint

PROJECT_NAME = "jiedai_flow"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------
# Setup: called once when an engine is built
# ---------------------------------------------------------------------------------------------


@hookspec
def jiedai_register_rules(register: RegisterRule) -> None:
    """Contribute rules 规则.

    :param register: call ``register(Rule(...))`` once per rule.
    :return: nothing.

    Called for every plugin, once per engine. Implemented by the national rule pack and by
    county plugins that add local rules.
    """


@hookspec
def jiedai_standards_layers(jurisdiction: str, on: date, host_unit: str) -> Sequence[StandardsLayer] | None:
    """Contribute standards layers 接待标准 for a jurisdiction (GB/T 2260 code), host unit and date.

    :param jurisdiction: the reception's jurisdiction code, e.g. ``"341502"``.
    :param on: the reception's start date; layers not in force then are ignored.
    :param host_unit: the host unit 接待单位 ("" when standards are asked for the jurisdiction alone);
        unit layers (``host_units``, ``unit_kinds``) that do not cover it are ignored, so a plugin may
        return all its layers.
    :return: layers (national, province, city, county or unit), or None.

    Called for every plugin; the engine folds all layers, national first and the unit's last, and
    caches the result per jurisdiction, host unit and date. Implemented by the national pack, by
    county plugins and by units (a university, a state enterprise) with standards of their own.
    """


@hookspec(firstresult=True)
def jiedai_storage(url: str) -> Store | None:
    """Open the storage back end 存储 for a URL such as ``memory://`` or ``sqlite:///jiedai.db``.

    :param url: the URL the embedding application configured.
    :return: a store implementing :class:`jiedai_flow.storage.Store`, or None if not yours.

    Stops at the first non-None result. Implemented by the built-in back ends and by plugins
    that bring a database of their own. A store that keeps task lists and stand-ins implements all
    of :class:`jiedai_flow.storage.base.TaskStore`; one with only part of it is refused at start
    (``PluginError`` naming the methods it lacks) rather than losing its task lists without a word.
    """


# ---------------------------------------------------------------------------------------------
# Command: called while a command runs, before anything is saved
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def jiedai_authorize(
    actor: Actor,
    trigger: str,
    reception: Reception,
    transition: Transition,
    step: ApprovalStep | None,
    trigger_def: TriggerDef,
    task: Task | None,
) -> Verdict | bool | None:
    """Decide whether ``actor`` may fire ``trigger`` on ``reception`` 权限.

    :param actor: who asks.
    :param trigger: the trigger name, e.g. ``"approve"``.
    :param reception: the reception as loaded.
    :param transition: the transition of the process definition this would take (its ``roles``).
    :param step: for a trigger that records an approval, the step waiting for a signature; else None.
    :param trigger_def: what the trigger declares (``decision``, ``submitter_only`` …).
    :param task: the task the actor acts on 任务 (the approval task they sign, the task they transfer,
        the execution item they complete, the delegated task they answer …), or None. A person's task
        is theirs alone (or their stand-in's) whatever this hook says: one with an owner is handed
        over only when the actor holds it or stands in for its holder; for a pool task (an approval
        level's, a department's) this hook decides who may act — the built-in role table admits the
        pool's members. The built-in role table lets the holder act on their task whatever their
        role (a handler completes an item on a colleague's reception).
    :return: a :class:`Verdict` (with the reason for a refusal), True/False, or None for no opinion.

    Stops at the first non-None result. The built-in role table answers last. Separation of duties
    is checked by the engine before this hook is called, so no answer can let a handler decide on
    their own reception. Implemented by deployments with their own permission systems.
    """


@hookspec
def jiedai_processes(default: ProcessDefinition) -> Sequence[ProcessDefinition] | None:
    """Contribute process definitions 流程定义, new or derived from the default.

    :param default: the engine's first process (the built-in one unless the host passed another);
        derive from it with ``derive``, ``add``, ``remove``, ``insert_step``, ``replace`` or ``renamed``.
    :return: the definitions this plugin contributes, or None.

    Called for every plugin; every result is collected. Each definition is validated when the engine
    is built, and an error names the plugin that contributed it. Implemented by county plugins with
    a process of their own.
    """


@hookspec(firstresult=True)
def jiedai_choose_process(
    reception_type: ReceptionType,
    jurisdiction: str,
    host_unit: str,
    amount: Decimal,
    processes: Sequence[str],
) -> str | None:
    """Choose the process a new reception runs on 选择流程.

    :param reception_type: the reception's type (domestic, business 招商引资, foreign affairs).
    :param jurisdiction: the host's GB/T 2260 code.
    :param host_unit: the host unit 接待单位.
    :param amount: the plan's total in yuan.
    :param processes: the ``name@version`` keys loaded, the engine's first process first.
    :return: one of ``processes``, or None for no opinion (the first process).

    Stops at the first non-None result. Implemented by county plugins that run a process of their
    own for some receptions.
    """


@hookspec(firstresult=True)
def jiedai_approval_chain(reception: Reception, standards: Standards) -> Sequence[ApprovalStep] | None:
    """Produce the ordered approval steps 审批链 for a reception being submitted.

    :param reception: the reception at submission (letter, plan, type, amounts).
    :param standards: the standards resolved for it.
    :return: the steps in signing order (at least one: approval cannot be skipped, so an empty
        chain is a PluginError naming the plugin), or None for no opinion.

    Stops at the first non-None result. The built-in answer (``jiedai.approval``) is the
    standards' chain: the steps of the last ``approval_tiers`` tier that applies, else one step per
    ``approval_levels``, else one step any approver signs; then each ``countersigns`` step that
    applies. A county plugin replaces it, or adds to it by calling
    ``jiedai_flow.builtin.chain.standard_chain(reception, standards)`` and appending its steps.
    """


@hookspec
def jiedai_before_transition(before: Reception, after: Reception, event: AuditEvent) -> None:
    """Observe a transition about to be saved; raising vetoes the command (nothing is saved).

    :param before: the reception as loaded.
    :param after: the reception as it will be saved.
    :param event: the audit event that will be appended.
    :return: nothing.

    Called for every plugin, inside the command, before the atomic save. Implemented by
    plugins that keep derived data (budgets) or need a last word.
    """


# ---------------------------------------------------------------------------------------------
# After commit: called once the command is durable
# ---------------------------------------------------------------------------------------------


@hookspec
def jiedai_after_transition(reception: Reception, event: AuditEvent) -> None:
    """Observe a committed transition 流转.

    :param reception: the reception as saved.
    :param event: its audit event, with its ``hash`` and ``prev_hash`` on the chain when the
        store chains events (``jiedai_before_transition`` sees the same event before it is hashed).
    :return: nothing; errors are logged, never undo the command.

    Called for every plugin, after commit. Implemented by metrics, search indexing, caches.
    """


@hookspec
def jiedai_notify(notification: Notification, reception: Reception) -> None:
    """Observe a notification 通知 as its command commits (in-process, best effort).

    :param notification: the notification, before it is fanned out to channels.
    :param reception: the reception it is about.
    :return: nothing; errors are logged and never retried — reliable delivery is the
        outbox's job (see ``jiedai_register_notifiers``).

    Called for every plugin, after commit, once per notification. Implemented by tests
    (:class:`jiedai_flow.testing.NotificationCapture`) and in-process listeners.
    """


# ---------------------------------------------------------------------------------------------
# Delivery: notifiers, routing, contacts and the working-day calendar
# ---------------------------------------------------------------------------------------------


@hookspec
def jiedai_register_notifiers(register: RegisterNotifier) -> None:
    """Contribute notifiers 通知渠道 (log, e-mail, DingTalk, WeCom, webhooks).

    :param register: call ``register(notifier)`` once per notifier; its ``name`` is the outbox
        channel, so each committed notification gets one outbox row per notifier.
    :return: nothing.

    Called for every plugin, once per engine. Implemented by the built-in log notifier and by
    configured notifier objects passed to ``open_engine(plugins=[...])``.
    """


@hookspec(firstresult=True)
def jiedai_routes(jurisdiction: str) -> Mapping[str, Sequence[Role]] | None:
    """Say who hears of what 通知路由 in a jurisdiction.

    :param jurisdiction: the reception's GB/T 2260 code.
    :return: a table to the roles told, or None. A key is, most specific first,
        ``trigger:source>destination[condition]`` (a trigger with several transitions between the
        same two states, such as a 补办 signature on its last step or not),
        ``trigger:source>destination``, ``trigger:destination`` or ``trigger``; the most specific
        key present decides.

    Stops at the first non-None result. The engine falls back to the process's own declarations
    (:data:`jiedai_flow.notify.routing.DEFAULT_ROUTES` for the default process;
    :func:`jiedai_flow.notify.routing.routes_of` makes such a table to start from). Implemented by
    county plugins.
    """


@hookspec
def jiedai_contacts(role: Role, reception: Reception) -> Sequence[Contact] | None:
    """Name the people in a role for a reception 通讯录 (e-mail addresses, mobiles, ids).

    :param role: the role a notification goes to, e.g. ``Role.APPROVER``.
    :param reception: the reception (its jurisdiction, host unit, pending approval step).
    :return: contacts, or None.

    Called for every plugin when a notification is delivered; the lists are joined.
    Implemented by the deployment's directory (OA user store, LDAP).
    """


@hookspec
def jiedai_checkpoint(checkpoint: Checkpoint) -> None:
    """Export a signed checkpoint of the audit chain 审计检查点 to a place the database writer cannot
    reach (a timestamp service 可信时间戳, a write-once store, another system).

    :param checkpoint: the head of every shard's chain, the number of receptions and the time,
        signed with HMAC-SM3.
    :return: nothing; raise to report that the export failed.

    Called for every plugin, after the file and webhook sinks of ``jiedai audit checkpoint``.
    Implemented by deployments with a timestamp service or a WORM archive.
    """


@hookspec(firstresult=True)
def jiedai_calendar() -> WorkCalendar | None:
    """Supply the working-day calendar 工作日历 that deadlines count in.

    :return: an object with ``is_workday(day) -> bool``, or None. If it also has
        ``knows(year) -> bool``, deadlines in a year it does not know carry a warning.

    Stops at the first non-None result. The built-in answer is the Chinese statutory calendar
    (holidays and 调休 make-up days); holiday files of later years come in through
    ``jiedai_flow.builtin.holidays.HolidayFiles``; a deployment may supply its own.
    """


# ---------------------------------------------------------------------------------------------
# Printed forms: the templates of the 接待清单 and the 审批单
# ---------------------------------------------------------------------------------------------


@hookspec
def jiedai_templates() -> TemplateSource | None:
    """提供打印文书的模板 Supply templates for the printed forms (接待清单、审批单).

    :return: 一个模板目录（路径）或 Jinja2 loader；其中同名的模板替换内置模板，如只换标题栏
        ``title.html``，或整张表 ``list.html``、``approval.html``；县模板可用
        ``{% extends "jiedai/title.html" %}`` 在内置模板上改。None 表示不提供。
        A template directory (a path) or a Jinja2 loader whose templates replace the built-in ones
        of the same name; None for none.

    Called for every plugin; the answers are searched in pluggy's call order (the plugin
    registered last first), the built-in templates last. Implemented by county plugins with a
    form layout of their own (see the example county package).
    """


# ---------------------------------------------------------------------------------------------
# People: the contact of an actor a notification names
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def jiedai_person_contact(actor_id: str, reception: Reception) -> Contact | None:
    """按参与人 id 给出联系人 Name the contact of one person a notification addresses by id (the owner
    of a task, someone urged, copied or given a task: ``Notification.people``).

    :param actor_id: the person's actor id, e.g. ``li.na``.
    :param reception: the reception the notification is about.
    :return: the person's contact (e-mail address, mobile, DingTalk or WeCom id), or None when this
        plugin does not know them.

    Stops at the first non-None result. Called when a notification naming people is delivered,
    once per person; the contacts join those of the roles (``jiedai_contacts``). Implemented by the
    deployment's directory (OA user store, LDAP) and by the command line's actors file.
    """


@hookspec(firstresult=True)
def jiedai_actors() -> Sequence[Actor] | None:
    """参与人名单 Everyone the deployment's directory knows, when it can list them, so that an
    approval step whose pool (a department or a level) nobody can sign is refused at submission —
    a misspelt department in a standards file's countersign would otherwise open a task nobody can
    ever claim.

    :return: every actor (with unit, levels and roles), or None when this plugin cannot list them
        (pools are then not checked).

    Pools must also be signable apart: nobody signs a chain twice, so at submission each pool of a
    step that needs everyone gets a signer of its own, and later a member of a pool may not take its
    task when that would leave a later pool with nobody who may sign it.

    Stops at the first non-None result. Implemented by the command line's actors file; a host's
    directory implements it when listing its people is cheap (it is called once per submission and
    once per command that takes a pool task or offers the operations on one).
    """


@hookspec(firstresult=True)
def jiedai_actor(actor_id: str) -> Actor | None:
    """按 id 查参与人 Look a person up by actor id in the deployment's directory, so that a task is
    never handed to someone who does not exist or could not act on it.

    :param actor_id: the id an approval operation names as its target: 转办 and 委派 to, 加签,
        抄送, the stand-in and principal of a 代理.
    :return: the actor (name, roles, unit, levels), or None when this plugin does not know them.

    Stops at the first non-None result. When any plugin implements it, an id no plugin knows is
    refused, and an approval task goes only to someone holding the approver role; without an
    implementation the engine cannot tell and accepts any id (the host checks). Implemented by the
    deployment's directory (OA user store, LDAP) and by the command line's actors file.
    """

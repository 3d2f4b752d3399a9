"""Process definitions and their versions 流程定义与版本: ``jiedai process list|show|diff|migrate|replay``.

The definitions are the engine's: the built-in one and those installed plugins contribute
(``jiedai_processes``). See docs/process-migration.md.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import attrs
import click
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.app import EXIT_REFUSED, EXIT_STATE, App, json_option, pass_app, usage_problem
from jiedai_flow.cli.common import current_lang, heading, label, say

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jiedai_flow.domain.model import Role
    from jiedai_flow.process.engine import Engine
    from jiedai_flow.process.lifecycle import ProcessDefinition, TriggerDef
    from jiedai_flow.process.migration import MigrationPlan, MigrationReport

_DECLARATIONS = (
    ("carries_plan", "带方案"),
    ("carries_list", "带清单"),
    ("carries_follow_up", "带跟踪记录"),
    ("opens_chain", "开启审批链"),
    ("retroactive", "先行接待"),
    ("records_approval", "签署审批环节"),
    ("resets_approvals", "清空审批"),
    ("decision", "决定"),
    ("review", "审核退回"),
    ("submitter_only", "仅提交人"),
    ("reason_required", "须填理由"),
)


def _definition(engine: Engine, key: str) -> ProcessDefinition:
    for definition in engine.processes:
        if key in (definition.key, definition.name):
            return definition
    loaded = "、".join(d.key for d in engine.processes)
    raise usage_problem(
        "KEY", f"未加载流程「{key}」；已加载：{loaded}", f"no process {key!r} is loaded; loaded: {loaded}"
    )


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise usage_problem(
                option, f"应写成 旧名=新名，收到「{value}」", f"expected OLD=NEW, got {value!r}"
            )
        found[old.strip()] = new.strip()
    return found


def _declared(trigger: TriggerDef) -> str:
    """What a trigger declares, in this run's language (English: the declarations' names)."""
    flags = [label(zh, name) for name, zh in _DECLARATIONS if getattr(trigger, name)]
    if trigger.stage is not None and trigger.stage != trigger.name:
        flags.append(f"{label('规则环节', 'stage')} {trigger.stage}")
    return _joined(flags)


def _joined(items: Iterable[str]) -> str:
    return ("、" if current_lang() == "zh" else ", ").join(items) or "—"


def _roles(roles: Iterable[Role]) -> str:
    return _joined(label(r.label, r.value) for r in roles)


def _table(*columns: tuple[str, str], title: str = "") -> Table:
    """A table with its headers in this run's language."""
    shown = (zh if zh == en else heading(zh, en) for zh, en in columns)
    return Table(*shown, title=title or None, title_justify="left")


@click.group(
    short_help="流程定义与版本迁移 / process definitions, versions and migration.",
    help="流程定义：列出、查看、比较已加载的流程（内置的和插件提供的），把运行中的接待迁移到新版本，"
    "或用历史轨迹检验新版本。\n\nProcess definitions: list, show and diff the loaded processes, "
    "migrate running receptions to a new version, or replay past trails against one.",
)
def process() -> None:
    """``jiedai process``."""


@process.command("list", help="列出已加载的流程 / list the loaded processes.")
@json_option
@pass_app
def list_processes(app: App) -> None:
    engine = app.engine()
    rows: list[dict[str, Any]] = [
        {
            "key": d.key,
            "origin": d.origin or "jiedai_flow",
            "states": len(d.states),
            "triggers": len(d.triggers),
            "receptions": sum(1 for _ in engine.store.process_members(d.key)),
            "default": d.key == engine.process.definition.key,
        }
        for d in engine.processes
    ]
    if app.json:
        app.emit(rows)
        return
    table = _table(
        ("流程", "key"),
        ("提供者", "origin"),
        ("状态", "states"),
        ("操作", "triggers"),
        ("接待", "receptions"),
        ("新接待", "default"),
    )
    for row in rows:
        table.add_row(
            row["key"],
            Text(str(row["origin"])),
            str(row["states"]),
            str(row["triggers"]),
            str(row["receptions"]),
            "✓" if row["default"] else "",
        )
    app.out.print(table)


@process.command(help="查看流程的状态、操作和流转 / show a process: states, triggers, transitions.")
@click.argument("key")
@json_option
@pass_app
def show(app: App, key: str) -> None:
    definition = _definition(app.engine(), key)
    if app.json:
        app.emit(_as_json(definition))
        return
    origin = definition.origin or "jiedai_flow"
    app.out.print(
        say(
            f"流程 {definition.key}（{origin}），初始状态 {definition.initial}",
            f"process {definition.key} ({origin}), initial state {definition.initial}",
        )
    )
    states = _table(
        ("状态", "state"),
        ("名称", "label"),
        ("阶段", "phase"),
        ("终止", "terminal"),
        title=label("状态", "states"),
    )
    for s in definition.states:
        states.add_row(s.name, label(s.label, s.label_en or s.name), str(s.phase), "✓" if s.terminal else "")
    app.out.print(states)
    triggers = _table(
        ("操作", "trigger"),
        ("名称", "label"),
        ("声明", "declarations"),
        ("通知", "notify"),
        title=label("操作", "triggers"),
    )
    for t in definition.triggers:
        triggers.add_row(t.name, label(t.label, t.label_en or t.name), _declared(t), _roles(t.notify))
    app.out.print(triggers)
    edges = _table(
        ("操作", "trigger"),
        ("流转", "from → to"),
        ("角色", "roles"),
        ("条件", "condition"),
        title=label("流转", "transitions"),
    )
    for e in definition.transitions:
        edges.add_row(e.trigger, f"{e.source} → {e.dest}", _roles(sorted(e.roles)), e.condition or "")
    app.out.print(edges)


def _as_json(definition: ProcessDefinition) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, frozenset | tuple | list):
            return (
                sorted(str(v) for v in value) if isinstance(value, frozenset) else [plain(v) for v in value]
            )
        return value

    return {
        "key": definition.key,
        "origin": definition.origin,
        "initial": definition.initial,
        "states": [
            {k: plain(v) for k, v in attrs.asdict(s, recurse=False).items()} for s in definition.states
        ],
        "triggers": [
            {k: plain(v) for k, v in attrs.asdict(t, recurse=False).items()} for t in definition.triggers
        ],
        "transitions": [
            {k: plain(v) for k, v in attrs.asdict(t, recurse=False).items()} for t in definition.transitions
        ],
    }


@process.command(help="比较两个流程（版本）/ what changed from one process (version) to another.")
@click.argument("source")
@click.argument("target")
@json_option
@pass_app
def diff(app: App, source: str, target: str) -> None:
    from jiedai_flow.process.migration import definition_diff

    engine = app.engine()
    found = definition_diff(_definition(engine, source), _definition(engine, target))
    data = attrs.asdict(found)
    if app.json:
        app.emit(data)
        return
    if found.same:
        app.out.print(
            say(f"{found.source} 与 {found.target} 相同", f"{found.source} and {found.target} are the same")
        )
        return
    labels = {
        "states_added": label("新增状态", "states added"),
        "states_removed": label("删除状态", "states removed"),
        "states_changed": label("改动状态", "states changed"),
        "triggers_added": label("新增操作", "triggers added"),
        "triggers_removed": label("删除操作", "triggers removed"),
        "triggers_changed": label("改动操作", "triggers changed"),
        "transitions_added": label("新增流转", "transitions added"),
        "transitions_removed": label("删除流转", "transitions removed"),
    }
    app.out.print(f"{found.source} → {found.target}")
    for field, shown in labels.items():
        for item in data[field]:
            sign = "+" if field.endswith("added") else "-" if field.endswith("removed") else "~"
            app.out.print(Text(f"  {sign} {shown}: {item}"))


_MAP = click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="OLD=NEW",
    help="状态对照（可多次），未写的同名对应 / state in the source = state in the target.",
)
_MAP_TRIGGER = click.option(
    "--map-trigger",
    "trigger_maps",
    multiple=True,
    metavar="OLD=NEW",
    help="操作对照（回放时用，可多次）/ trigger in the source = trigger in the target (replay).",
)


def _plan(
    engine: Engine, source: str, target: str, maps: tuple[str, ...], triggers: tuple[str, ...]
) -> MigrationPlan:
    from jiedai_flow.process.migration import MigrationPlan, plan_mistakes

    was, will = _definition(engine, source), _definition(engine, target)
    plan = MigrationPlan(
        was.key, will.key, states=_pairs(maps, "--map"), triggers=_pairs(triggers, "--map-trigger")
    )
    mistakes = plan_mistakes(plan, was, will)
    if mistakes is not None:  # the user's mistake on this command line, not a broken definition
        raise usage_problem("--map, --map-trigger" if triggers else "--map", *mistakes)
    return plan


@process.command(
    help="把运行在旧版本上的接待迁移到新版本：--dry-run 列出每件接待迁移前后的状态和不能迁移的原因；"
    "否则每件接待一条审计命令（管理员，须填理由）。\n\n"
    "Migrate receptions from SOURCE to TARGET: --dry-run lists every reception before and after and "
    "those that cannot move; otherwise one audited command per reception (an administrator, with a reason)."
)
@click.argument("source")
@click.argument("target")
@_MAP
@click.option("--dry-run", is_flag=True, help="只列出，不迁移 / list only, change nothing.")
@click.option("--as", "actor_id", metavar="ACTOR", help="操作人（管理员）/ who migrates (an administrator).")
@click.option("--reason", default="", help="迁移理由 / why.")
@json_option
@pass_app
def migrate(
    app: App,
    source: str,
    target: str,
    maps: tuple[str, ...],
    dry_run: bool,
    actor_id: str | None,
    reason: str,
) -> None:
    from jiedai_flow.process.migration import apply_migration, plan_migration, unchanged

    engine = app.engine()
    plan = _plan(engine, source, target, maps, ())
    same = unchanged(plan)
    if same is not None:
        raise usage_problem("TARGET", *same)
    if dry_run:
        report = plan_migration(engine, plan)
    else:
        if actor_id is None:
            raise usage_problem(
                "--as", "迁移须用 --as 指定管理员", "migrating needs --as ADMIN (or use --dry-run)"
            )
        report = apply_migration(engine, plan, app.actor(actor_id), reason=reason)
    _print_migration(app, report, dry_run)
    if report.blocked or report.refused:
        sys.exit(EXIT_STATE)


def _print_migration(app: App, report: MigrationReport, dry_run: bool) -> None:
    plan = report.plan
    if app.json:
        app.emit(
            {
                "source": plan.source,
                "target": plan.target,
                "dry_run": dry_run,
                "moves": [m._asdict() for m in report.moves],
                "applied": list(report.applied),
                "already": list(report.already),
                "refused": [
                    {
                        "reception_id": rid,
                        "code": e.code,
                        "message_zh": e.message_zh,
                        "message_en": e.message_en,
                    }
                    for rid, e in report.refused
                ],
            }
        )
        return
    head = label("迁移预演", "dry run") if dry_run else label("迁移", "migration")
    app.out.print(f"{head}: {plan.source} → {plan.target}")
    table = _table(
        ("编号", "number"),
        ("ID", "ID"),
        ("版本", "v"),
        ("迁移前", "before"),
        ("迁移后", "after"),
        ("原因", "reason"),
    )
    for move in report.moves:
        table.add_row(
            move.number,
            move.reception_id,
            str(move.version),
            move.before,
            move.after or "✗",
            Text(say(move.reason_zh, move.reason_en)),
        )
    app.out.print(table)
    counts = [
        (label("可迁移", "movable"), len(report.movable)),
        (label("不能迁移", "blocked"), len(report.blocked)),
    ]
    if not dry_run:
        counts += [
            (label("已迁移", "applied"), len(report.applied)),
            (label("早已迁移", "already"), len(report.already)),
            (label("被拒绝", "refused"), len(report.refused)),
        ]
    app.out.print(" · ".join(f"{name} {n}" for name, n in counts))
    for rid, error in report.refused:
        app.err.print(Text(f"  ✗ {rid}: {say(error.message_zh, error.message_en)}"))


@process.command(
    help="用历史轨迹检验流程：把接待的审计轨迹逐步对照 KEY，列出它不允许的步骤（有则退出码 1）。"
    "不给 ID 时检验 --source 流程上的全部接待。\n\n"
    "Replay audit trails against KEY and list the steps it would not allow (exit 1 if any); without "
    "IDs, every reception on --source. --map translates the names of steps taken on an earlier "
    "version (before a migration, say)."
)
@click.argument("key")
@click.argument("reception_ids", nargs=-1, metavar="[ID]...")
@click.option("--source", help="检验这个流程上的全部接待 / every reception on this process.")
@_MAP
@_MAP_TRIGGER
@json_option
@pass_app
def replay(
    app: App,
    key: str,
    reception_ids: tuple[str, ...],
    source: str | None,
    maps: tuple[str, ...],
    trigger_maps: tuple[str, ...],
) -> None:
    from jiedai_flow.process.migration import replay as run_replay

    engine = app.engine()
    definition = _definition(engine, key)
    ids: list[str] = [engine.resolve(ref) for ref in reception_ids]
    plan = None
    if source is not None:
        plan = _plan(engine, source, key, maps, trigger_maps)
        ids += [rid for rid, *_ in engine.store.process_members(plan.source)]
    elif maps or trigger_maps:
        from jiedai_flow.process.migration import MigrationPlan

        states, triggers = _pairs(maps, "--map"), _pairs(trigger_maps, "--map-trigger")
        plan = MigrationPlan("", definition.key, states=states, triggers=triggers)
    if not ids:
        raise usage_problem("ID", "请给出接待 ID 或 --source", "give reception ids or --source")
    report = run_replay(engine, definition, ids, plan)
    if app.json:
        app.emit(attrs.asdict(report) | {"ok": report.ok})
    else:
        verdict = (
            say("全部允许", "all allowed")
            if report.ok
            else say(f"{len(report.refused)} 步不允许", f"{len(report.refused)} not allowed")
        )
        app.out.print(
            say(
                f"按 {report.definition} 回放 {report.receptions} 件接待、{report.steps} 步：",
                f"replayed {report.receptions} receptions, {report.steps} steps "
                f"against {report.definition}: ",
            )
            + verdict
        )
        if report.refused:
            table = _table(
                ("ID", "ID"), ("序号", "seq"), ("操作", "trigger"), ("流转", "from → to"), ("原因", "reason")
            )
            for step in report.refused:
                table.add_row(
                    step.reception_id,
                    str(step.seq),
                    step.trigger,
                    f"{step.from_state} → {step.to_state}",
                    Text(say(step.reason_zh, step.reason_en)),
                )
            app.out.print(table)
    if not report.ok:
        sys.exit(EXIT_REFUSED)


COMMANDS = (process,)

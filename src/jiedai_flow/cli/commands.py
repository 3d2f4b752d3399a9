"""The commands of ``jiedai``, one module per group of commands 命令模块.

:mod:`~jiedai_flow.cli` builds the group from :data:`COMMANDS` and imports a command's module only
when that command runs, so ``jiedai --version`` and ``jiedai --help`` stay fast; :mod:`.app` holds
what the commands share (the engine, output, exit codes), :mod:`.common` the light leaf under it.

A new command is one line in :data:`COMMANDS`. ``tests/test_cli_lazy.py`` checks that every line
names a command of that name whose short help is the line's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jiedai_flow.process.lifecycle import TriggerDef

COMMANDS: tuple[tuple[str, str, str], ...] = (
    # (name, "module:attribute" in jiedai_flow.cli.commands, short help shown by `jiedai --help`)
    ("init", "admin:init", "初始化数据库和示例文件 / set up the database and sample files."),
    ("demo", "admin:demo", "演示一次完整的公务接待 / run one complete reception as a demo."),
    (
        "plugins",
        "admin:plugins",
        "列出已安装的插件、发行包和钩子 / list installed plugins with distributions and hooks.",
    ),
    ("db", "admin:db", "数据库 database commands."),
    ("audit", "admin:audit", "审计 audit trail commands."),
    ("new", "receptions:new", "登记一次接待 / register a reception from a file."),
    (
        "show",
        "receptions:show",
        "查看一次接待：详情、当前检查结果和时间线 / show a reception: details, findings, timeline.",
    ),
    ("list", "receptions:list_", "列出接待记录 / list receptions (filters, pages)."),
    ("check", "receptions:check", "合规预检（不保存）/ dry-run the rules on a file or a reception."),
    (
        "history",
        "receptions:history",
        "审计时间线：谁、何时、做了什么、为什么 / the audit trail of a reception.",
    ),
    ("fire", "fire:fire", "执行一个操作 / fire any trigger on a reception."),
    (
        "tasks",
        "tasks:tasks",
        "待办、已办、抄送我的、我发起的 / task lists.",
    ),
    ("claim-task", "tasks:claim_task", "认领岗位或部门的待办任务 / claim a pool task."),
    ("transfer", "tasks:transfer", "转办：任务交给他人办理 / transfer a task."),
    ("delegate", "tasks:delegate", "委派：请他人提出意见，任务再回到自己 / delegate for an opinion."),
    ("reply", "tasks:reply", "委派答复：把意见交回委派人（--reason 写意见） / reply to a delegation."),
    ("add-signer", "tasks:add_signer", "加签：在自己之前、之后或并行增加审批人 / add approvers."),
    (
        "remove-signer",
        "tasks:remove_signer",
        "减签：去掉尚未办理的加签人（--task 指明） / remove an added approver.",
    ),
    ("take-back", "tasks:take_back", "拿回：下一环节尚未办理时拿回自己的签署 / take back a signature."),
    (
        "send-back",
        "tasks:send_back",
        "驳回到环节：退回已通过的某一环节重新审批（须填 --reason） / send back to an earlier step.",
    ),
    ("vote-against", "tasks:vote_against", "票签反对（须填 --reason） / vote against."),
    (
        "jump",
        "tasks:jump",
        "跳转（管理员，须填 --reason） / jump to a state or an earlier step (administrators).",
    ),
    ("terminate", "tasks:terminate", "终止（管理员，须填 --reason） / terminate (administrators)."),
    ("urge", "tasks:urge", "催办当前办理人（每个任务每小时一次） / urge the assignees."),
    ("cc", "tasks:cc", "抄送（同一接待每人一次） / copy to people."),
    (
        "read",
        "tasks:read",
        "已阅（不附意见；要说明什么用 jiedai comment） / mark as read"
        " (it carries no text; to say something, comment).",
    ),
    ("comment", "tasks:comment", "沟通意见（--reason 写内容） / comment on the reception."),
    (
        "assign",
        "tasks:assign",
        "分派执行任务（接站、工作餐、会议室、车辆、陪同、材料） / assign execution tasks.",
    ),
    ("complete", "tasks:complete", "完成执行任务 / complete an execution task."),
    ("report-problem", "tasks:report_problem", "执行任务报告问题（--reason 写问题） / report a problem."),
    ("proxy", "tasks:proxy", "代理：外出时指定代理人 / stand-ins while away."),
    ("report", "reports:report", "年度报表 / annual summary, disclosure, red flags."),
    ("export", "reports:export", "导出接待清单或审批单 / export a reception list or approval form."),
    ("diagram", "tools:diagram", "流程图 / the lifecycle as Mermaid, DOT or SVG."),
    ("import", "tools:import_", "批量导入 CSV/xlsx / bulk import past receptions."),
    (
        "dispatch",
        "delivery:dispatch",
        "投递待发通知（重试、退避、死信）/ deliver pending notifications (retries, dead letters).",
    ),
    (
        "remind",
        "delivery:remind",
        "查找超时或将到期的事项并写入催办通知（每个时限一次）/ write deadline reminders, once each.",
    ),
    ("calendar", "workdays:calendar", "工作日历：放假安排 / the working-day calendar."),
    ("process", "processes:process", "流程定义与版本迁移 / process definitions, versions and migration."),
    ("schema", "schemas:schema", "输入的 JSON Schema / JSON Schema of an input file."),
    ("serve", "server:serve", "启动 HTTP 接口服务 / run the HTTP API and web pages."),
    ("token", "server:token", "接口令牌 API tokens: create, list, revoke."),
)
"""Every command of ``jiedai`` in the order ``jiedai --help`` lists them. The commands named after
the default process's triggers (``submit``, ``approve`` …) follow ``fire``: see
:func:`trigger_commands`."""

TRIGGER_COMMANDS_AFTER = "fire"
"""The command after which ``jiedai --help`` lists the trigger commands."""


def trigger_commands() -> dict[str, TriggerDef]:
    """The commands named after the default process's triggers (``start_urgent`` as
    ``start-urgent``), by command name; each is ``jiedai fire ID TRIGGER``."""
    from jiedai_flow.process.lifecycle import DEFAULT_PROCESS

    return {t.name.replace("_", "-"): t for t in DEFAULT_PROCESS.triggers if t.operation is None}


def trigger_help(definition: TriggerDef) -> str:
    """A trigger command's help, the same in ``jiedai --help`` and ``jiedai TRIGGER --help``."""
    reason = "（须填 --reason）" if definition.reason_required else ""
    return f"{definition.label}{reason} / {definition.label_en}: same as `jiedai fire ID {definition.name}`."

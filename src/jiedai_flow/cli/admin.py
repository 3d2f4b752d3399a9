"""Setting up and looking after a deployment 初始化与维护: ``init``, ``db upgrade``, ``audit verify``,
``plugins`` and the ``demo``."""

from __future__ import annotations

import io
import logging
import os
import sys
import warnings
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli import starter
from jiedai_flow.cli.app import (
    CONFIG_FILE,
    DEFAULT_STANDARDS,
    EXIT_REFUSED,
    App,
    json_option,
    pass_app,
    usage_problem,
)
from jiedai_flow.cli.common import label, say
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.errors import Problem, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable


@click.command(
    short_help="初始化数据库和示例文件 / set up the database and sample files.",
    help="初始化：创建或升级数据库，写出示例参与人文件、本地标准文件和一份示例接待（已有文件不覆盖）。\n\n"
    "Create or upgrade the database and write a sample actors file, a sample standards file and an "
    "example reception with its list (existing files are kept unless --force).",
)
@click.option("--force", is_flag=True, help="覆盖已有文件 / overwrite existing files.")
@click.option(
    "--examples/--no-examples",
    default=True,
    show_default=True,
    help="同时写出示例接待 jiedai-reception.toml 和清单 jiedai-list.toml / write the example files.",
)
@json_option
@pass_app
def init(app: App, force: bool, examples: bool) -> None:
    before, revision = _upgraded(app)
    today = _today()
    standards_path = app.standards_paths[0] if app.standards_paths else Path(DEFAULT_STANDARDS)
    config_path = app.config_path or Path(CONFIG_FILE)
    files: list[tuple[Path, Callable[[], str]]] = [
        (config_path, lambda: _config_text(app, config_path, standards_path)),
        (app.actors_path, starter.actors_toml),
        (standards_path, lambda: starter.STANDARDS_TOML),
    ]
    if examples:
        files += [
            (Path("jiedai-reception.toml"), lambda: starter.reception_toml(today)),
            (Path("jiedai-list.toml"), lambda: starter.list_toml(today)),
        ]
    written = [(path, _write(path, text(), force)) for path, text in files]
    if app.json:
        app.emit(
            {
                "database": app.shown_db,
                "revision": revision,
                "previous_revision": before,
                "files": [{"path": str(p), "status": s} for p, s in written],
            }
        )
        return
    _say_upgraded(app, before, revision)
    table = Table(label("文件", "file"), label("结果", "status"), title=label("示例文件", "sample files"))
    table.title_justify = "left"
    shown = {
        "written": label("已写出", "written"),
        "kept": say("已存在，保留（--force 覆盖）", "kept (use --force)"),
    }
    for path, status in written:
        table.add_row(Text(str(path)), shown[status])
    app.out.print(table)
    app.out.print(
        say(
            "下一步：jiedai new jiedai-reception.toml · jiedai submit <ID> --as zhang.wei · "
            "jiedai approve <ID> --as sun.hao，再 --as li.na（两级审批）· 全程见 README",
            "next: jiedai new jiedai-reception.toml · jiedai submit <ID> --as zhang.wei · "
            "jiedai approve <ID> --as sun.hao, then --as li.na (two levels) · the whole way in the README",
        )
    )


def _config_text(app: App, config_path: Path, standards_path: Path) -> str:
    """``jiedai.toml`` naming what ``init`` set up, file names relative to its folder."""
    import sqlalchemy as sa

    from jiedai_flow.cli.config import config_toml

    try:
        secret = sa.make_url(app.db).password is not None
    except sa.exc.ArgumentError:
        secret = False
    folder = config_path.parent.resolve()
    return config_toml(
        database=None if secret else app.db,
        actors=Path(os.path.relpath(app.actors_path.resolve(), folder)),
        standards=Path(os.path.relpath(standards_path.resolve(), folder)),
    )


def _today() -> date:
    return datetime.now(CHINA_TZ).date()


def _write(path: Path, text: str, force: bool) -> str:
    if path.exists() and not force:
        return "kept"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(
            [Problem("$", f"无法写入 {path}：{exc.strerror}", f"cannot write {path}: {exc.strerror}")]
        ) from None
    return "written"


@click.command(help="演示一次完整的公务接待 / run one complete reception as a demo.")
@click.option(
    "--here", is_flag=True, help="用 --db 指定的数据库而不是临时文件 / use --db, not a temporary file."
)
@json_option
@pass_app
def demo(app: App, here: bool) -> None:
    from jiedai_flow.cli import demo as demo_module

    if not app.json:
        sys.exit(demo_module.run(url=app.db if here else None))
    transcript = io.StringIO()
    code = demo_module.run(Console(file=transcript, width=120), url=app.db if here else None)
    app.emit({"exit_code": code, "transcript": transcript.getvalue()})
    sys.exit(code)


@click.command(
    short_help="列出已安装的插件、发行包和钩子 / list installed plugins with distributions and hooks.",
    help="列出已安装的插件、发行包和钩子，被屏蔽的插件（状态「已停用」），以及加载失败的插件（有则退出码 4）"
    "/ list installed plugins with distributions and hooks, the blocked ones (state 'blocked'), and those "
    "that failed to load (exit code 4 if any).",
)
@json_option
@pass_app
def plugins(app: App) -> None:
    from jiedai_flow.cli.common import EXIT_PLUGIN
    from jiedai_flow.plugins import PluginLoadWarning, make_plugin_manager

    quiet = logging.getLogger("jiedai_flow.plugins")
    was, quiet.disabled = quiet.disabled, True  # each failure is listed below: not logged twice
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginLoadWarning)
            host = make_plugin_manager(strict=False)  # a diagnosis: list what failed, do not stop
    finally:
        quiet.disabled = was
    infos, blocked = host.plugins(), host.blocked()
    # a blocked name no entry point or built-in bears is a misspelling (or a plugin not installed):
    # said so, or the plugin meant stays loaded while the list shows something blocked
    found = {i.name: host.found(i.name) for i in blocked}
    if app.json:
        app.emit(
            {
                "plugins": [
                    {"name": i.name, "distribution": i.distribution, "hooks": list(i.hooks)} for i in infos
                ],
                "blocked": [
                    {"name": i.name, "distribution": i.distribution, "found": found[i.name]} for i in blocked
                ],
                "failures": [
                    {
                        "name": f.name,
                        "distribution": f.distribution,
                        "error": repr(f.error),
                        "message_zh": error.message_zh,
                        "message_en": error.message_en,
                    }
                    for f, error in ((f, f.as_error()) for f in host.failures)
                ],
            }
        )
        if host.failures:
            sys.exit(EXIT_PLUGIN)
        return
    table = Table(title=label("插件", "plugins"), title_justify="left")
    for zh, en in (("插件", "plugin"), ("状态", "state"), ("发行包", "distribution"), ("钩子", "hooks")):
        table.add_column(label(zh, en))
    for info in infos:
        table.add_row(
            Text(info.name), label("已加载", "loaded"), Text(info.distribution), Text(", ".join(info.hooks))
        )
    for info in blocked:  # left out on purpose: listed, so that it does not look uninstalled
        if found[info.name] is False:
            state = Text(
                label("已停用，但没有这个名字的插件", "blocked, but no plugin has this name"), style="red"
            )
        else:
            state = Text(label("已停用", "blocked"), style="yellow")
        table.add_row(Text(info.name), state, Text(info.distribution))
    app.out.print(table)
    for failure in host.failures:
        error = failure.as_error()
        app.out.print(Text(f"{error.message_zh}\n{error.message_en}", style="red"))
    if host.failures:
        sys.exit(EXIT_PLUGIN)


@click.group(help="数据库 database commands.")
def db() -> None:
    """Database commands."""


@db.command("upgrade", help="创建或升级数据库结构 / create or upgrade the database schema.")
@json_option
@pass_app
def db_upgrade(app: App) -> None:
    before, revision = _upgraded(app)
    if app.json:
        app.emit({"database": app.shown_db, "revision": revision, "previous_revision": before})
        return
    _say_upgraded(app, before, revision)


@db.command(
    "backup",
    short_help="备份 SQLite 数据库 / back up the SQLite database.",
    help="在用的 SQLite 数据库备份到一个文件：服务和投递器照常写入，副本是同一时刻的完整快照，"
    "经 SQLite 完整性检查和审计链校验后才换上（失败时原有的备份不动）。"
    "PostgreSQL、MySQL/MariaDB 请用它们自带的工具，见 docs/operations.md。\n\n"
    "Back up the SQLite database in use into FILE: one consistent snapshot while "
    "the service and the dispatcher go on writing, checked by SQLite and by verifying its audit trail before "
    "it is renamed into place. For PostgreSQL and MySQL/MariaDB use their own tools (docs/operations.md).",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="替换已有的备份文件 / replace an existing backup file.")
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="校验副本的审计链 / verify the copy's audit trail.",
)
@json_option
@pass_app
def db_backup(app: App, file: Path, force: bool, verify: bool) -> None:
    from jiedai_flow.cli.outputs import check_backup_target
    from jiedai_flow.cli.signals import interrupt, on_sigterm
    from jiedai_flow.storage.sql.backup import backup, sqlite_source

    url = app.sql_url()
    sqlite_source(url)  # a server database is told its own tool before anything connects
    app.existing_store().close()  # the database is there and is jiedai's, at a revision this version knows
    check_backup_target(app, file, force)
    if not file.parent.is_dir():
        raise usage_problem("FILE", f"目录 {file.parent} 不存在", f"folder {file.parent} does not exist")
    with on_sigterm(interrupt):  # why: a stopped backup still removes its temporary copy
        report = backup(url, file, replace=force, verify=verify)
    verified = report.verified
    problem = None if verified is None else verified.problem
    if app.json:
        shown = None if problem is None else {"text": str(problem), "event_id": problem.event_id}
        app.emit(
            {
                "path": str(report.path),
                "size": report.size,
                "revision": report.revision,
                "verified": None
                if verified is None
                else {"ok": verified.ok, "checked": verified.checked, "problem": shown},
            }
        )
    elif verified is None or problem is None:
        app.out.print(
            say(
                f"已备份到 {report.path}（{report.size:,} 字节，结构 {report.revision}，只读）",
                f"backed up to {report.path} ({report.size:,} bytes, revision {report.revision}, read-only)",
            )
        )
        if verified is not None:
            checked = say(
                f"副本的审计链完整：{verified.checked} 条记录",
                f"the copy's audit chain is intact: {verified.checked} events",
            )
            app.out.print(f"[green]{checked}[/green]")
    else:
        broken = say(
            "副本的审计链校验失败（数据库本身也是如此，请运行 jiedai audit verify）；"
            f"副本写在 {report.path}，没有换掉 {file}：",
            f"the copy's audit chain does not verify (nor does the database's: run jiedai audit verify); the "
            f"copy is at {report.path}, {file} is left as it was:",
        )
        app.out.print(f"[red]{escape(broken)}[/red]")
        app.out.print(Text(say(problem.message_zh, problem.message_en)))
    if problem is not None:
        sys.exit(EXIT_REFUSED)


def _upgraded(app: App) -> tuple[str | None, str]:
    """Create or upgrade the database: the revision it was at (None: no schema yet) and is at now,
    read and written through one engine."""
    import sqlalchemy as sa

    from jiedai_flow.storage.migrate import current_revision, upgrade
    from jiedai_flow.storage.sql.opening import check_connects

    engine = sa.create_engine(app.sql_url())
    try:
        check_connects(engine)
        return current_revision(engine), upgrade(engine)
    finally:
        engine.dispose()


def _say_upgraded(app: App, before: str | None, revision: str) -> None:
    if before is None:
        said = say("数据库已创建，结构", "database created at revision") + f" {revision}"
    elif before != revision:
        said = say("数据库结构已升级", "schema upgraded") + f" {before} → {revision}"
    else:
        said = say("数据库已是最新结构", "schema already at revision") + f" {revision}"
    app.out.print(f"{said}: {app.shown_db}")


@click.group(help="审计 audit trail commands.")
def audit() -> None:
    """Audit commands."""


@audit.command(
    "checkpoint",
    help="签名检查点：用数据库之外的密钥（$JIEDAI_AUDIT_KEY 或 $JIEDAI_AUDIT_KEY_FILE）对审计链头签名，"
    "导出到数据库写不到的地方（文件、webhook、时间戳插件）。\n\nSign the chain head with a key the database "
    "does not hold and export it out of the writer's reach.",
)
@click.option(
    "--to", "to_file", type=click.Path(dir_okay=False, path_type=Path), help="追加到文件 / append to a file."
)
@click.option("--webhook", help="POST 到另一个系统 / POST to another system.")
@json_option
@pass_app
def audit_checkpoint(app: App, to_file: Path | None, webhook: str | None) -> None:
    from jiedai_flow.plugins import make_plugin_manager
    from jiedai_flow.storage.checkpoints import FileSink, WebhookSink, load_keys, take_checkpoint

    keys = load_keys()
    if not keys:
        raise usage_problem(
            "$JIEDAI_AUDIT_KEY",
            "未配置审计密钥：设置 JIEDAI_AUDIT_KEY=编号:十六进制密钥 或 JIEDAI_AUDIT_KEY_FILE",
            "no audit key: set JIEDAI_AUDIT_KEY=id:hex or JIEDAI_AUDIT_KEY_FILE",
        )
    store = app.existing_store()
    try:
        checkpoint = take_checkpoint(store, keys[0])
    finally:
        store.close()
    sinks = ([FileSink(to_file)] if to_file else []) + ([WebhookSink(webhook)] if webhook else [])
    for sink in sinks:
        sink.export(checkpoint)
    make_plugin_manager().hooks.jiedai_checkpoint(checkpoint=checkpoint)
    if app.json:
        app.emit(attrs.asdict(checkpoint))
        return
    app.out.print(
        say(
            f"检查点：共 {checkpoint.chain_index} 条审计记录，{len(checkpoint.heads)} 个分片，"
            f"{checkpoint.receptions} 件接待，{checkpoint.at}，密钥 {checkpoint.key_id}",
            f"checkpoint: {checkpoint.chain_index} events, {len(checkpoint.heads)} shards, "
            f"{checkpoint.receptions} receptions, {checkpoint.at}, key {checkpoint.key_id}",
        )
    )


@audit.command("verify", help="校验审计链是否被篡改 / verify the tamper-evident audit chain.")
@click.option(
    "--checkpoints",
    "checkpoints_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="同时对照导出的签名检查点（需要密钥）/ also verify against exported signed checkpoints.",
)
@json_option
@pass_app
def audit_verify(app: App, checkpoints_file: Path | None) -> None:
    from jiedai_flow.storage.checkpoints import load_keys, read_checkpoints, verify_checkpoints

    keys = load_keys() if checkpoints_file is not None else []
    if checkpoints_file is not None and not keys:  # a missing key is not a tampered trail (exit 1)
        raise usage_problem(
            "--checkpoints",
            "对照签名检查点需要审计密钥：设置 JIEDAI_AUDIT_KEY 或 JIEDAI_AUDIT_KEY_FILE（与签名时相同）",
            "checking signed checkpoints needs the audit key: set JIEDAI_AUDIT_KEY or JIEDAI_AUDIT_KEY_FILE "
            "(as when they were signed)",
        )
    store = app.existing_store()
    try:
        report = store.verify()
        late = []
        if checkpoints_file is not None:
            late = verify_checkpoints(store, read_checkpoints(checkpoints_file), keys)
    finally:
        store.close()
    if report.ok and late:
        from jiedai_flow.storage.chain import AuditProblem

        first = late[0]
        report = attrs.evolve(
            report,
            problem=AuditProblem(first.checkpoint.chain_index, "", "", first.reason_zh, first.reason_en),
        )
    if app.json:
        problem = report.problem
        app.emit(
            {
                "ok": report.ok,
                "checked": report.checked,
                "problem": None if problem is None else {"text": str(problem), "event_id": problem.event_id},
            }
        )
    elif report.ok:
        checked = say(f"审计链完整：{report.checked} 条记录", f"audit chain intact: {report.checked} events")
        app.out.print(f"[green]{checked}[/green]")
    else:
        broken = say(
            f"审计链校验失败，已校验 {report.checked} 条：",
            f"audit chain broken after {report.checked} events:",
        )
        app.out.print(f"[red]{broken}[/red]")
        problem = report.problem
        app.out.print(Text(say(problem.message_zh, problem.message_en) if problem else ""))
    if not report.ok:
        sys.exit(EXIT_REFUSED)


COMMANDS = (init, demo, plugins, db, audit)

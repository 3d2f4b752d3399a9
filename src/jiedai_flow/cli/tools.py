"""Tools 工具: ``diagram`` (the lifecycle, or one reception's path through it) and ``import``
(receptions from CSV or Excel)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.app import EXIT_USAGE, App, json_option, pass_app, usage_problem
from jiedai_flow.cli.common import current_lang, heading, label, say
from jiedai_flow.cli.inputs import parse_explanations
from jiedai_flow.cli.outputs import check_output
from jiedai_flow.domain.loading import dump
from jiedai_flow.domain.model import Role
from jiedai_flow.errors import Problem, ValidationError
from jiedai_flow.process import diagram as diagrams
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS

if TYPE_CHECKING:
    from jiedai_flow.importer import ImportReport


@click.command(
    short_help="流程图 / the lifecycle as Mermaid, DOT or SVG.",
    help="流程图：整个接待流程，或给出 ID 时标出该接待走过的路径和当前状态。\n\n"
    "The lifecycle as a Mermaid stateDiagram-v2 (default), Graphviz DOT, or SVG (needs Graphviz "
    "`dot`); with an ID, the reception's path and current state are highlighted.",
)
@click.argument("reception_id", metavar="[ID]", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg"]),
    default="mermaid",
    show_default=True,
    help="输出格式 / output format.",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="输出文件 / output file.")
@json_option
@pass_app
def diagram(app: App, reception_id: str | None, fmt: str, output: Path | None) -> None:
    definition = DEFAULT_PROCESS
    path = None
    if reception_id is not None:
        engine = app.engine()
        reception = engine.get(engine.resolve(reception_id))
        definition = engine.process_of(reception).definition
        path = diagrams.trail(engine.history(reception.id), reception, definition)
    if fmt == "mermaid":
        text = diagrams.mermaid(definition, path)
    else:
        text = diagrams.dot(definition, path)
        if fmt == "svg":
            try:
                text = diagrams.svg(text)
            except diagrams.GraphvizError as error:
                raise usage_problem("--format", error.message_zh, error.message_en) from None
    if output is not None:
        check_output(app, output)
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(
                [Problem("$", f"无法写入 {output}：{exc.strerror}", f"cannot write {output}: {exc.strerror}")]
            ) from None
    if app.json:
        app.emit(
            {"format": fmt, "output": str(output) if output else None, "content": None if output else text}
        )
    elif output is not None:
        app.err.print(f"{label('已写出', 'written')}: {output}")
    else:
        click.echo(text, nl=False)


_IMPORT_HELP = (
    "批量导入既有接待记录（CSV 或 xlsx，每行一次接待）。每行按流程经引擎逐步登记（审计链完整），"
    "先在内存中预演；默认有任何一行出错就全部不导入并列出所有错误（行号、列名），--skip-bad 只导入正确的行。"
    "同一问题在多行重复时合并为一条，列出所在各行（如「第 2–5、9 行」；--json 另列每一行）。"
    "同一文件再次导入不会重复。\n\n"
    "Bulk import of past receptions from CSV or xlsx, one row per reception. Each row is walked "
    "through the engine as import actors (so audit chains stay valid) after a rehearsal in memory; "
    "by default one bad row imports nothing and every problem is listed by row and column; "
    "--skip-bad imports the good rows. A problem repeated over rows is listed once with its rows "
    "(--json lists every row too). Importing the same file again changes nothing.\n\n"
    "历史补录 --as-history：导入已办结的往年接待（已结算、已归档、不予接待、已撤销）。每一步按它当时的"
    "日期记录（审计事件也是那一天），规则按那一天判断：报销时限（F-04）按报销日期判断，按时报销的不再报逾期，"
    "也就不必写情况说明、不计入年度汇总的违规事件；确实逾期的照样报 F-04。步骤日期：提交与审批默认发函日期"
    "（最迟开始日期），开始、结束按开始日期、结束日期，报销默认审签日期（最早结束日期），结算默认报销次日，"
    "归档默认同结算日；可用 submitted_on、approved_on、claimed_on、settled_on、archived_on 列逐行指定，"
    "日期须先后有序且不晚于导入当天。每一步的理由写明「历史补录」和导入日期。不加 --as-history 时"
    "各步按导入当天记录，适合仍在办理中的接待，步骤日期列须留空。\n\n"
    "History import --as-history: finished receptions of past years (settled, archived, refused, "
    "cancelled). Every step is recorded on the day it happened (its audit event too) and judged as "
    "of that day: the claim deadline (F-04) against the day of the claim, so a claim made in time "
    "needs no explanation and adds no violation to the annual summary, while a late one still gets "
    "F-04. Step days: submission and approval default to the letter's date (at the latest the "
    "start), start and finish to the start and end dates, the claim to the list's signing date (at "
    "the earliest the end), settlement to the day after the claim, the archive to the settlement "
    "day; the columns submitted_on, approved_on, claimed_on, settled_on and archived_on set them per "
    "row, in order and not after the day of the import. Every step's reason says it is a history "
    "import and when it was made. Without --as-history the steps are dated on the day of the "
    "import (for receptions still under way) and the step-date columns must be empty."
)


def _import_epilog() -> str:
    from jiedai_flow.importer import columns_help

    lines = columns_help().splitlines()
    return "\b\n列 columns（表头可用中文或英文）:\n" + "\n".join(f"  {line}" for line in lines)


@click.command(
    "import",
    short_help="批量导入 CSV/xlsx / bulk import past receptions.",
    help=_IMPORT_HELP,
    epilog=_import_epilog(),
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "actor_id",
    metavar="ACTOR",
    help="导入人（须有管理员或办公室角色）/ who runs the import (an admin or office actor).",
)
@click.option("--skip-bad", is_flag=True, help="跳过有误的行，导入其余 / import the good rows anyway.")
@click.option("--dry-run", is_flag=True, help="只检查和预演，不写入 / check and rehearse only.")
@click.option(
    "--as-history",
    "history",
    is_flag=True,
    help="历史补录：已办结的往年接待，每步按当时日期记录和判断 / "
    "history import: finished receptions, each step dated and judged as it happened.",
)
@click.option(
    "--explain",
    multiple=True,
    metavar="RULE=TEXT",
    help="每行都附的情况说明，如 F-07=来宾临时增加 / explanation given for every row.",
)
@click.option(
    "--template",
    is_flag=True,
    help="把导入模板（表头、一行示例：上周一次已归档的接待，原样即可导入，用时换成实际记录）写到 FILE，"
    ".xlsx 带列说明和下拉选项 / write the import template (header and an example row: an archived "
    "reception of last week that imports as it stands, to replace with real rows; as .xlsx with column "
    "notes and drop-down lists) to FILE.",
)
@click.option("--force", is_flag=True, help="--template 时覆盖已有的 FILE / with --template, overwrite FILE.")
@json_option
@pass_app
def import_(
    app: App,
    file: Path,
    actor_id: str | None,
    skip_bad: bool,
    dry_run: bool,
    history: bool,
    explain: tuple[str, ...],
    template: bool,
    force: bool,
) -> None:
    from jiedai_flow.importer import import_file, template_csv, write_template_xlsx

    if template:
        check_output(app, file, "FILE")
        if file.exists() and not force:
            raise usage_problem(
                "--force",
                f"{file} 已存在，保留（模板写到新文件，或加 --force 覆盖）",
                f"{file} exists and is kept (write the template to a new file, or --force to overwrite)",
            )
        try:
            if file.suffix.lower() == ".xlsx":
                write_template_xlsx(file)
            else:
                file.write_text(template_csv(), encoding="utf-8-sig")  # why: Excel reads a BOM as UTF-8
        except OSError as exc:
            raise ValidationError(
                [Problem("$", f"无法写入 {file}：{exc.strerror}", f"cannot write {file}: {exc.strerror}")]
            ) from None
        if app.json:
            app.emit({"template": str(file)})
        else:
            app.out.print(f"{label('已写出模板', 'template written')}: {file}")
        return
    if not actor_id:
        raise usage_problem("--as", "导入须用 --as 指定导入人", "an import needs --as ACTOR (who runs it)")
    operator = app.actor(actor_id)
    if not operator.roles & {Role.ADMIN, Role.OFFICE}:
        raise usage_problem(
            "--as",
            f"{operator.id} 没有管理员或办公室角色，不能批量导入",
            f"{operator.id} is neither admin nor office and may not bulk-import",
        )
    explanations = parse_explanations(explain)
    engine = app.engine(create=True)  # a new database may start with the receptions of past years
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=app.err,
        transient=True,
        disable=not app.err.is_terminal,  # why: a bar in a log or pipe is noise
    ) as bar:
        tasks = {
            "check": bar.add_task(label("检查与预演", "checking"), total=None),
            "import": bar.add_task(label("导入", "importing"), total=None, visible=False),
        }

        def progress(phase: str, done: int, total: int) -> None:
            bar.update(tasks[phase], completed=done, total=total, visible=True)

        report = import_file(
            engine,
            file,
            operator,
            skip_bad=skip_bad,
            dry_run=dry_run,
            explanations=explanations,
            progress=progress,
            history=history,
        )
    _print_report(app, report, dry_run)
    if not report.ok:
        raise SystemExit(EXIT_USAGE)


_STATUS = {
    "imported": ("已导入", "imported"),
    "resumed": ("已续完", "resumed"),
    "already": ("此前已导入", "already"),
}


def _column(name: str) -> str:
    """An import column by its Chinese header, its English name, or both."""
    from jiedai_flow.importer.columns import BY_NAME

    found = BY_NAME.get(name)
    return label(found.label, found.name) if found is not None else name


def _print_report(app: App, report: ImportReport, dry_run: bool) -> None:
    labels = {s.name: (s.label, s.label_en or s.name) for s in DEFAULT_PROCESS.states}
    if app.json:
        app.emit(
            {
                "source": report.source,
                "rows": report.rows,
                "written": report.written,
                "dry_run": dry_run,
                "history": report.history,
                "imported": [dump(i) for i in report.imported],
                "errors": [dump(e) | {"label": e.label} for e in report.errors],
                "grouped_errors": [
                    dump(g) | {"label": g.label, "rows_zh": g.rows_zh, "rows_en": g.rows_en}
                    for g in report.grouped_errors
                ],
            }
        )
        return
    if report.errors:
        table = Table(title=label("有误的行", "bad rows"), show_lines=True)
        table.add_column(heading("行", "rows"), no_wrap=True)
        table.add_column(heading("列", "column"), overflow="fold", min_width=8)
        table.add_column(heading("问题", "problem"), overflow="fold")
        for g in report.grouped_errors:
            message = Text(say(g.message_zh, g.message_en) if current_lang() != "both" else g.message_zh)
            if current_lang() == "both":
                message.append(f"\n{g.message_en}", style="dim")
            if g.varies:
                varies = say(
                    f"（各行细节不同，此为第 {g.rows[0]} 行；--json 列出每一行）",
                    f"(details differ by row, row {g.rows[0]} shown; --json lists every row)",
                )
                message.append(f"\n{varies}", style="dim")
            rows = Text(say(g.rows_zh, g.rows_en) if current_lang() != "both" else g.rows_zh)
            if len(g.rows) > 1:
                rows.append(f"\n{label(f'共 {len(g.rows)} 行', f'{len(g.rows)} rows')}", style="dim")
            table.add_row(rows, Text(_column(g.column) if g.column else "—"), message)
        app.err.print(table)
    if report.imported:
        table = Table(
            heading("行", "row"),
            heading("编号", "number"),
            "ID",
            heading("状态", "state"),
            heading("结果", "status"),
            title=label("已导入", "imported"),
        )
        table.columns[1].no_wrap = table.columns[2].no_wrap = True  # why: copied whole
        for i in report.imported:
            state = label(*labels.get(i.state, (i.state, i.state)))
            status = label(*_STATUS[i.status])
            table.add_row(str(i.row), Text(i.number), Text(i.reception_id, style="dim"), state, status)
        app.out.print(table)
    _print_outcome(app, report, dry_run)


def _print_outcome(app: App, report: ImportReport, dry_run: bool) -> None:
    good = report.rows - len(report.bad_rows)
    bad = len(report.bad_rows)
    if report.history:
        app.out.print(
            say("历史补录：每一步按当时日期记录和判断", "history import: each step dated as it happened")
        )
    if dry_run:
        app.out.print(
            say(
                f"预演完成：{report.rows} 行，{good} 行可导入，{bad} 行有误（未写入）",
                f"rehearsed {report.rows} row(s): {good} can be imported, {bad} bad (nothing written)",
            )
        )
    elif report.errors and not report.written:
        nothing = say("未导入任何记录", "nothing imported")
        app.out.print(
            Text.assemble(
                (nothing, "red"),
                say(
                    f"：{bad} 行有误；改正后重试，或用 --skip-bad 只导入正确的行",
                    f": {bad} bad row(s); fix them, or use --skip-bad",
                ).removeprefix(f"{nothing} / "),
            )
        )
    else:
        new = sum(i.status != "already" for i in report.imported)
        old = len(report.imported) - new
        app.out.print(
            say(
                f"已导入 {new} 行" + (f"，{old} 行此前已导入" if old else ""),
                f"imported {new} row(s)" + (f", {old} already imported before" if old else ""),
            )
        )


COMMANDS = (diagram, import_)

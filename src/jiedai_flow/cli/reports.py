"""Reports and exports 报表与导出: ``report`` (annual summary, 三公经费 disclosure, red flags) and
``export`` (one reception's 接待清单), through :mod:`jiedai_flow.reports`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.app import App, json_option, pass_app, usage_problem
from jiedai_flow.cli.common import label
from jiedai_flow.domain.loading import dump
from jiedai_flow.errors import Problem, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from rich.console import Console

    from jiedai_flow.reports.forms import Lang

KINDS = {
    "summary": "年度接待汇总 annual summary",
    "disclosure": "公务接待费公开 disclosure (三公经费)",
    "red-flags": "审计疑点 red flags",
}


@contextlib.contextmanager
def progress_bar(console: Console, label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, as a ``progress(done, total)`` callback."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # why: a bar in a log or pipe is noise
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _write(path: Path, write: Callable[[Path], None]) -> None:
    try:
        write(path)
    except OSError as exc:
        raise ValidationError(
            [
                Problem(
                    "$",
                    f"无法写入 {path}：{exc.strerror or exc}",
                    f"cannot write {path}: {exc.strerror or exc}",
                )
            ]
        ) from None


def _text_out(app: App, text: str, output: Path | None, fmt: str) -> None:
    if output is None and app.json:
        app.emit({"format": fmt, "content": text})
        return
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    _write(output, lambda p: _save(p, text))
    _done(app, output)


def _save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _done(app: App, output: Path) -> None:
    if app.json:
        app.emit({"output": str(output)})
    else:
        app.err.print(f"{label('已写出', 'written')}: {output}")


@click.command(
    short_help="年度报表 / annual summary, disclosure, red flags.",
    help="报表：年度接待汇总（summary）、公务接待费公开（disclosure）、审计疑点（red-flags）。\n\n"
    "Reports for a year: the annual summary, the disclosure of reception spending, audit red flags; "
    "as a table, CSV, Excel or HTML (xlsx needs --output).",
)
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("--year", type=click.IntRange(1990, 2100), required=True, help="年度 / year.")
@click.option("--host-unit", help="只看这个接待单位 / only this host unit.")
@click.option("--jurisdiction", help="只看这个辖区 / only this jurisdiction.")
@click.option(
    "--by-month/--by-year",
    default=True,
    show_default=True,
    help="公开报表按月或按年汇总 / disclosure per month or per year.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "xlsx", "html"]),
    default="table",
    show_default=True,
    help="输出格式 / output format.",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="输出文件 / output file.")
@json_option
@pass_app
def report(
    app: App,
    kind: str,
    year: int,
    host_unit: str | None,
    jurisdiction: str | None,
    by_month: bool,
    fmt: str,
    output: Path | None,
) -> None:
    from jiedai_flow import reports

    engine = app.engine()
    title = f"{year} 年{KINDS[kind]}"
    filters: dict[str, Any] = {"host_unit": host_unit, "jurisdiction": jurisdiction}
    if fmt == "xlsx" and output is None:
        raise usage_problem(
            "--output", "xlsx 格式须用 --output 指定文件", "the xlsx format needs --output FILE"
        )
    with progress_bar(app.err, title) as progress:
        rows: Sequence[Any]
        if kind == "summary":
            row_type: type[Any] = reports.AnnualSummaryRow
            rows = reports.annual_summary(engine.store, year, engine=engine, progress=progress, **filters)
        elif kind == "disclosure":
            row_type = reports.DisclosureRow
            rows = reports.disclosure(
                engine.store, year, by_month=by_month, engine=engine, progress=progress, **filters
            )
        else:
            row_type = reports.RedFlag
            rows = reports.red_flags(engine.store, year, engine=engine, progress=progress, **filters)
    if fmt == "xlsx" and output is not None:
        _write(output, lambda p: reports.write_table_xlsx(rows, p, title=title, row_type=row_type))
        _done(app, output)
    elif fmt == "csv":
        _text_out(app, reports.render_table_csv(rows, row_type=row_type), output, fmt)
    elif fmt == "html":
        _text_out(app, reports.render_table_html(rows, title, row_type=row_type), output, fmt)
    elif app.json:
        app.emit({"report": kind, "year": year, "rows": [_row_json(r, row_type) for r in rows]})
    else:
        app.out.print(_table(rows, row_type, title))


def _row_json(row: Any, row_type: type[Any]) -> dict[str, Any]:
    return {c.key: dump(getattr(row, c.key)) for c in row_type.COLUMNS}


def _table(rows: Sequence[Any], row_type: type[Any], title: str) -> Table:
    from jiedai_flow.reports.common import cell_text

    table = Table(title=title, title_justify="left")
    for column in row_type.COLUMNS:
        numeric = column.kind in ("int", "money", "percent")
        # Chinese over English: a wide report (the annual summary) still fits a terminal
        table.add_column(f"{column.zh}\n{column.en}", overflow="fold", justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(Text(cell_text(getattr(row, c.key), c)) for c in row_type.COLUMNS))
    if not rows:
        table.caption = "无数据 no data"
    return table


@click.command(
    short_help="导出接待清单或审批单 / export a reception list or approval form.",
    help="导出一次接待的接待清单（HTML、Excel 或 CSV）或审批单（HTML）。打印版为 A4，默认只有中文，"
    "--lang both 加英文；县插件可用自己的模板（jiedai_templates 钩子）。\n\n"
    "Export a reception's 接待清单 (reception list) as HTML, Excel or CSV (xlsx needs --output), or "
    "its 审批单 (approval form) as HTML. The printed forms are A4 and Chinese only unless --lang both; "
    "a county plugin may supply its own templates (the jiedai_templates hook).",
)
@click.argument("reception_id", metavar="ID")
@click.option(
    "--form",
    "form",
    type=click.Choice(["list", "approval"]),
    default="list",
    show_default=True,
    help="文书：接待清单（list）或审批单（approval，只有 HTML）/ "
    "the reception list, or the approval form (HTML only).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "xlsx", "csv"]),
    default="html",
    show_default=True,
    help="输出格式 / output format.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "both"]),
    default="zh",
    show_default=True,
    help="打印版的栏目名：只有中文（zh）或中英文（both）/ captions of the printed form: Chinese, or both.",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="输出文件 / output file.")
@json_option
@pass_app
def export(app: App, reception_id: str, form: str, fmt: str, lang: Lang, output: Path | None) -> None:
    from jiedai_flow import reports

    if fmt == "xlsx" and output is None:
        raise usage_problem(
            "--output", "xlsx 格式须用 --output 指定文件", "the xlsx format needs --output FILE"
        )
    if form == "approval" and fmt != "html":
        raise usage_problem("--format", "审批单只有 HTML 格式", "the approval form comes as HTML only")
    engine = app.engine()
    reception = engine.get(engine.resolve(reception_id))
    templates = engine.hooks.jiedai_templates()
    events, definition = engine.history(reception.id), engine.process_of(reception).definition
    if form == "approval":
        approval = reports.approval_document(reception, events=events, definition=definition)
        _text_out(app, reports.render_approval_html(approval, lang=lang, templates=templates), output, fmt)
        return
    doc = reports.list_document(reception, events=events, definition=definition)
    if fmt == "xlsx" and output is not None:
        _write(output, lambda p: reports.write_list_xlsx(doc, p))
        _done(app, output)
    elif fmt == "csv":
        _text_out(app, reports.render_list_csv(doc), output, fmt)
    else:
        _text_out(app, reports.render_list_html(doc, lang=lang, templates=templates), output, fmt)


COMMANDS = (report, export)

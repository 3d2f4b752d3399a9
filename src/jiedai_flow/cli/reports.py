"""Reports and exports 报表与导出: ``report`` (annual summary, 三公经费 disclosure, red flags) and
``export`` (one reception's 接待清单), through :mod:`jiedai_flow.reports`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich import box
from rich.cells import cell_len
from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.app import App, json_option, pass_app, usage_problem
from jiedai_flow.cli.common import current_lang, heading, label
from jiedai_flow.cli.outputs import check_output
from jiedai_flow.domain.loading import dump
from jiedai_flow.errors import Problem, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from rich.console import Console, RenderableType

    from jiedai_flow.reports.forms import Lang

KINDS = {
    "summary": ("年度接待汇总", "annual summary"),
    "disclosure": ("公务接待费公开", "disclosure (三公经费)"),
    "red-flags": ("审计疑点", "red flags"),
}
"""Each report's name in Chinese and in English."""

_SHOWN_EN = {"disclosure": "disclosure of reception spending"}
"""English names on screen where the file title carries Chinese (三公经费)."""


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


def _write(app: App, path: Path, write: Callable[[Path], None], fmt: str) -> None:
    check_output(app, path, fmt=fmt)
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
    _write(app, output, lambda p: _save(p, text), fmt)
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
    zh, en = KINDS[kind]
    title = f"{year} 年{zh} {en}"  # the files' title: a report is filed, so both languages
    shown = {"zh": f"{year} 年{zh}", "en": f"{_SHOWN_EN.get(kind, en)}, {year}"}.get(
        current_lang(), f"{year} 年{zh} {_SHOWN_EN.get(kind, en)}"
    )
    filters: dict[str, Any] = {"host_unit": host_unit, "jurisdiction": jurisdiction}
    if fmt == "xlsx" and output is None:
        raise usage_problem(
            "--output", "xlsx 格式须用 --output 指定文件", "the xlsx format needs --output FILE"
        )
    with progress_bar(app.err, shown) as progress:
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
        _write(app, output, lambda p: reports.write_table_xlsx(rows, p, title=title, row_type=row_type), fmt)
        _done(app, output)
    elif fmt == "csv":
        _text_out(app, reports.render_table_csv(rows, row_type=row_type), output, fmt)
    elif fmt == "html":
        _text_out(app, reports.render_table_html(rows, title, row_type=row_type), output, fmt)
    elif app.json:
        app.emit({"report": kind, "year": year, "rows": [_row_json(r, row_type) for r in rows]})
    else:
        app.out.print(report_table(app.out, rows, row_type, shown))


def _row_json(row: Any, row_type: type[Any]) -> dict[str, Any]:
    return {c.key: dump(getattr(row, c.key)) for c in row_type.COLUMNS}


_NUMERIC = ("int", "money", "percent")


def report_table(console: Console, rows: Sequence[Any], row_type: type[Any], title: str) -> RenderableType:
    """A report on screen, in this run's language: a grid when every header, word and number fits
    the terminal whole; else one block of field–value lines per row (like ``psql``'s expanded
    display), so that a number, a date or a unit's name is never broken across lines."""
    columns = [c for c in row_type.COLUMNS if _shown(c.key)]
    records = [[_cell(getattr(row, c.key), c) for c in columns] for row in rows]
    headers = [_heading(c) for c in columns]
    widths = [
        max([_least(header, False), *(_least(r[i].plain, c.kind in _NUMERIC) for r in records)])
        for i, (c, header) in enumerate(zip(columns, headers, strict=True))
    ]
    if not records:
        return Text.assemble((title, "italic"), "\n", label("无数据", "no data"))
    if sum(widths) + 3 * len(widths) + 1 > console.width:
        return _blocks(title, columns, records)
    table = Table(title=title, title_justify="left")
    for column, header, width in zip(columns, headers, widths, strict=True):
        numeric = column.kind in _NUMERIC
        table.add_column(
            header,
            justify="right" if numeric else "left",
            no_wrap=numeric,  # why: an amount or a count is read and copied whole
            overflow="fold",  # a long text folds in place; never cut with "…"
            min_width=width,
        )
    for record in records:
        table.add_row(*record)
    return table


_LONGEST_WORD = 20
"""Cells a text column needs at least for its longest word; longer words (a Chinese sentence has no
spaces) fold."""


def _least(text: str, whole: bool) -> int:
    """The cells ``text`` needs: all of it for a number, else its longest word (at most
    :data:`_LONGEST_WORD`, and two cells at least: one CJK character)."""
    if whole:
        return max((cell_len(line) for line in text.splitlines()), default=0)
    return max(2, min(_LONGEST_WORD, max((cell_len(w) for w in text.split()), default=0)))


def _blocks(title: str, columns: Sequence[Any], records: Sequence[Sequence[Text]]) -> RenderableType:
    """Each row as field–value lines under the title, a rule between rows."""
    blocks: list[RenderableType] = [Text(title, style="italic")]
    for record in records:
        block = Table(show_header=False, box=box.SIMPLE, padding=(0, 1), pad_edge=False)
        block.add_column(no_wrap=True, style="bold")
        block.add_column(overflow="fold")
        for column, cell in zip(columns, record, strict=True):
            block.add_row(label(column.zh, column.en), cell)
        blocks.append(block)
    return Group(*blocks)


def _shown(key: str) -> bool:
    """A column in one language (the red flags' ``message_zh``) shows in that language only."""
    if key.endswith("_zh"):
        return current_lang() != "en"
    if key.endswith("_en"):
        return current_lang() != "zh"
    return True


def _heading(column: Any) -> str:
    """A column header (alone, the English description needs no tag)."""
    return heading(column.zh, column.en if current_lang() == "both" else column.en.removesuffix(" (English)"))


def _cell(value: Any, column: Any) -> Text:
    """A cell in this run's language: a labelled value (疑点类型, 程度) by its Chinese label or its
    English name; a count of repeats as （2 次） or (2×)."""
    from jiedai_flow.reports.common import cell_text

    if value is not None and column.kind == "label" and hasattr(value, "label"):
        return Text(label(value.label, str(getattr(value, "value", value))))
    if value and column.kind == "counts" and current_lang() == "en":
        return Text("; ".join(f"{k} ({n}×)" if n > 1 else str(k) for k, n in value.items()))
    return Text(cell_text(value, column), no_wrap=column.kind in _NUMERIC)


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
        _write(app, output, lambda p: reports.write_list_xlsx(doc, p), fmt)
        _done(app, output)
    elif fmt == "csv":
        _text_out(app, reports.render_list_csv(doc), output, fmt)
    else:
        _text_out(app, reports.render_list_html(doc, lang=lang, templates=templates), output, fmt)


COMMANDS = (report, export)

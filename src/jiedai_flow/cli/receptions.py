"""Receptions 接待记录: ``new``, ``show``, ``list``, ``check`` and ``history``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.text import Text

from jiedai_flow.cli import render
from jiedai_flow.cli.app import EXIT_REFUSED, App, json_option, pass_app, usage_problem
from jiedai_flow.cli.common import label, say
from jiedai_flow.cli.inputs import (
    load_reception_file,
    resolve_states,
    stand_in,
    to_date,
    unsaved_reception,
)
from jiedai_flow.domain.loading import dump
from jiedai_flow.domain.model import ReceptionType
from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.errors import NotFoundError
from jiedai_flow.process.signoff import names_of, signoff

if TYPE_CHECKING:
    from datetime import date

    from jiedai_flow.process.engine import CheckReport
    from jiedai_flow.process.lifecycle import CompiledProcess

NEW_EPILOG = """\b
文件格式 file format（TOML；JSON 结构相同 / JSON has the same shape）:
[reception] jurisdiction = "341502", host_unit = "县政府办公室", handler = "zhang.wei", type = "国内公务接待"
[letter] kind, number, sending_unit, issued_on, purpose, content; [letter.itinerary] start, end, places
[[letter.personnel]] name, unit, post, rank（每位来宾一段 / one table per guest）
[plan] budget; [[plan.meals]] on, kind, venue, venue_type, guests, companions, cost; [[plan.activities]] …
jiedai init 写出的 jiedai-reception.toml 是完整示例 / is a complete example."""


@click.command(
    short_help="登记一次接待 / register a reception from a file.",
    epilog=NEW_EPILOG,
    help="登记一次接待：从 TOML 或 JSON 文件读 [reception]、[letter]（公函）和 [plan]（接待方案），"
    "打印新接待的 ID 和编号。\n\n"
    "Register a reception from a TOML or JSON file with [reception] (jurisdiction, host_unit, type, "
    "handler), [letter] and [plan]; prints the new id and number. Every problem in the file is "
    "reported with its path.",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "actor_id",
    metavar="ACTOR",
    help="经办人（默认取文件中的 handler）/ handler, default: the file's.",
)
@click.option("--request-id", help="请求号：重试同一请求只登记一次 / idempotency key for retries.")
@json_option
@pass_app
def new(app: App, file: Path, actor_id: str | None, request_id: str | None) -> None:
    source = load_reception_file(file)
    handler_id = actor_id or source.reception.handler
    if not handler_id:
        raise usage_problem(
            "--as",
            "未指定经办人：在 [reception] 写 handler，或用 --as",
            "no handler: set [reception] handler or pass --as",
        )
    engine = app.engine(create=True)  # the first reception of a database named on purpose
    head = source.reception
    result = engine.create_reception(
        source.letter,
        source.plan,
        handler=app.actor(handler_id),
        host_unit=head.host_unit,
        jurisdiction=head.jurisdiction,
        reception_type=head.type,
        start=head.start,
        end=head.end,
        reception_id=head.id,
        request_id=request_id,
    )
    if app.json:
        app.emit(render.result_json(result, engine.process))
        return
    render.print_result(app.out, result, engine.process)


@click.command(
    help="查看一次接待：详情、当前检查结果和时间线 / show a reception: details, findings, timeline."
)
@click.argument("reception_id", metavar="ID")
@json_option
@pass_app
def show(app: App, reception_id: str) -> None:
    engine = app.engine()
    reception = engine.get(engine.resolve(reception_id))
    report = engine.check(reception)
    events = engine.history(reception.id)
    if app.json:
        app.emit(
            {
                "reception": dump(reception),
                "state_label": engine.process_of(reception).label(reception.state),
                "check": {stage: [dump(f) for f in found] for stage, found in report.by_stage.items()},
                "history": [dump(e) for e in events],
                "signoff": dump(
                    signoff(
                        reception,
                        definition=engine.process_of(reception).definition,
                        names=names_of(reception, events, engine.directory),
                    )
                ),
            }
        )
        return
    process = engine.process_of(reception)
    app.out.print(render.details_table(reception, process, events, engine.directory))
    _print_check(app, report, process)
    app.out.print(render.timeline_table(events, process))


@click.command(
    "list",
    short_help="列出接待记录 / list receptions (filters, pages).",
    help="列出接待记录，可按状态、辖区、接待单位、类型和开始日期筛选，分页显示。\n\n"
    "List receptions by state, jurisdiction, host unit, type and start date, a page at a time "
    "(--limit, then --after with the cursor printed under the table).",
)
@click.option(
    "--state", "states", multiple=True, help="状态（可多次；英文或中文）/ state(s), e.g. draft or 草拟."
)
@click.option("--jurisdiction", help="辖区代码 / jurisdiction code, e.g. 341502.")
@click.option("--host-unit", help="接待单位 / host unit.")
@click.option(
    "--type", "reception_type", help="接待类型 / reception type: domestic, business, foreign or 中文."
)
@click.option(
    "--from", "start_from", metavar="YYYY-MM-DD", callback=to_date, help="开始日期不早于 / start on or after."
)
@click.option(
    "--to", "start_to", metavar="YYYY-MM-DD", callback=to_date, help="开始日期不晚于 / start on or before."
)
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="每页条数 / page size."
)
@click.option("--after", metavar="CURSOR", help="上一页给出的游标 / the cursor of the previous page.")
@json_option
@pass_app
def list_(
    app: App,
    states: tuple[str, ...],
    jurisdiction: str | None,
    host_unit: str | None,
    reception_type: str | None,
    start_from: date | None,
    start_to: date | None,
    limit: int,
    after: str | None,
) -> None:
    if start_from is not None and start_to is not None and start_from > start_to:
        raise usage_problem(
            "--to",
            f"--to {start_to} 早于 --from {start_from}：没有接待能同时满足（两个日期写反了？）",
            f"--to {start_to} is before --from {start_from}: no reception can match (swapped?)",
        )
    engine = app.engine()
    if after is not None and (after.count("|") != 1 or not _is_cursor(after)):
        raise usage_problem(
            "--after", f"--after 游标无效：{after!r}", f"--after: not a cursor of jiedai list: {after!r}"
        )
    query = ReceptionQuery(
        states=resolve_states(engine.processes, states),
        jurisdiction=jurisdiction,
        host_unit=host_unit,
        reception_type=ReceptionType.parse(reception_type) if reception_type else None,
        start_from=start_from,
        start_to=start_to,
        limit=limit,
        after=after,
    )
    page = engine.query(query)
    if app.json:
        app.emit(
            {
                "items": [render.summary(r, engine.process_of(r)) for r in page.items],
                "next_cursor": page.next_cursor,
            }
        )
        return
    if not page.items:
        app.out.print(say("没有符合条件的接待", "no receptions match."))
        return
    app.out.print(render.receptions_table(page.items, engine.process_of, app.out.width))
    if page.next_cursor:
        following = label("下一页", "next page")
        app.out.print(Text(f"{following}: jiedai list --after '{page.next_cursor}' …", style="dim"))


def _is_cursor(text: str) -> bool:
    from datetime import date

    start, _, last_id = text.partition("|")
    try:
        date.fromisoformat(start)
    except ValueError:
        return False
    return bool(last_id)


@click.command(
    short_help="合规预检（不保存）/ dry-run the rules on a file or a reception.",
    help="合规预检（不保存、不改变任何记录）：FILE 是尚未登记的接待文件，ID 是已登记的接待。"
    "有「不予通过」或「须书面说明」的结果时退出码为 1。\n\n"
    "Dry run of the rules, nothing saved: FILE is a reception file not yet registered, ID a saved "
    "reception. Exit code 1 when a finding would refuse the next step.",
)
@click.argument("target", metavar="FILE|ID")
@click.option(
    "--stage", "stages", multiple=True, help="只查这些环节（操作名）/ only these stages (triggers)."
)
@click.option("--all", "all_stages", is_flag=True, help="查所有有规则的环节 / every stage that has rules.")
@json_option
@pass_app
def check(app: App, target: str, stages: tuple[str, ...], all_stages: bool) -> None:
    from jiedai_flow.cli.inputs import resolve_trigger

    engine = app.engine()
    path = Path(target)
    if path.is_file() or path.suffix.lower() in {".toml", ".json"}:
        source = load_reception_file(path)
        handler_id = source.reception.handler
        handler = app.actor(handler_id) if handler_id and app.actors_path.is_file() else stand_in(handler_id)
        reception = unsaved_reception(engine, source, handler)
    else:
        try:
            reception = engine.get(engine.resolve(target))
        except NotFoundError:
            raise usage_problem(
                "FILE|ID",
                f"「{target}」既不是文件，也不是已登记的接待 ID",
                f"{target!r} is neither a file nor the id of a registered reception",
            ) from None
    process = engine.process_of(reception)
    chosen = [process.trigger_defs[resolve_trigger(process.definition, s)].rule_stage for s in stages]
    report = engine.check(reception, "all" if all_stages else (chosen or None))
    refused = render.refusing(report.findings)
    if app.json:
        app.emit(
            {
                "id": reception.id,
                "ok": not refused,
                "by_stage": {stage: [dump(f) for f in found] for stage, found in report.by_stage.items()},
            }
        )
    else:
        _print_check(app, report, process)
    if refused:
        sys.exit(EXIT_REFUSED)


def _print_check(app: App, report: CheckReport, process: CompiledProcess) -> None:
    if not report.by_stage:
        app.out.print(
            say("当前状态没有需要规则检查的下一步操作", "no next step from this state is checked by rules.")
        )
        return
    labels: dict[str, str] = {}  # a stage is named in Chinese by the first trigger that runs it
    for trigger in process.trigger_defs.values():
        labels.setdefault(trigger.rule_stage, trigger.label)
    for stage, found in report.by_stage.items():
        named = labels.get(stage, stage)
        if found:
            render.print_findings(app.out, found, say(f"「{named}」环节检查结果", f"findings at {stage}"))
        else:
            app.out.print(
                Text(say(f"✓ 「{named}」环节未发现问题", f"✓ no findings at {stage}"), style="green")
            )


@click.command(help="审计时间线：谁、何时、做了什么、为什么 / the audit trail of a reception.")
@click.argument("reception_id", metavar="ID")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "html"]),
    default="table",
    show_default=True,
    help="表格，或可打印的 HTML（审批情况、待办、接待执行和时间线）/ "
    "a table, or printable HTML (approval steps, open tasks, execution items and the timeline).",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="输出文件 / output file.")
@json_option
@pass_app
def history(app: App, reception_id: str, fmt: str, output: Path | None) -> None:
    engine = app.engine()
    reception_id = engine.resolve(reception_id)
    events = engine.history(reception_id)
    if fmt == "html":
        from jiedai_flow.cli.reports import _text_out
        from jiedai_flow.reports.render_html import render_timeline_html

        reception = engine.get(reception_id)
        html = render_timeline_html(reception, events, engine.process_of(reception).definition)
        _text_out(app, html, output, fmt)
        return
    if output is not None:
        raise usage_problem(
            "--output", "--output 须与 --format html 一起使用", "--output goes with --format html"
        )
    if app.json:
        app.emit([dump(e) for e in events])
        return
    app.out.print(render.timeline_table(events, engine.process_of(engine.get(reception_id))))


COMMANDS = (new, show, list_, check, history)

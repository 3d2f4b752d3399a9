"""Bulk import 批量导入 of existing reception records from CSV or Excel (.xlsx), one row per reception.

Honest by construction: a row is not written into the database as a finished record. It is
registered and walked through the lifecycle by the engine — create, submit, approve (each step of
the chain), start, finish, claim, settle, archive, as far as its ``state`` column says — so every
rule runs, every step has an audit event and the tamper-evident chain stays valid. The steps are
taken by *import actors* named after the people in the row (id ``import:<name>``: the handler, each
approver, finance); each event's reason records the file, the row and who ran the import, and every
request id starts with ``import:`` and is derived from the row's content, so running the same file
again imports nothing twice and finishes a row an interrupted run left half-way.

Imports write no notifications (no outbox rows): they record what happened, nobody has to act.

All or nothing 要么全部导入，要么都不导入: every row is first checked (the model refuses at load
time what the database cannot hold: amounts and totals past 64-bit fen, text longer than its
column, NUL characters) and rehearsed on an in-memory copy (same plugins, same standards and clock,
the real budget ledger as its starting point, no notifications). Only when every row went through
is anything written; otherwise nothing is, and every problem is reported with its row number and
column (``skip_bad=True`` imports the good rows instead).

The rows are then written in **one transaction** where the store offers it
(:class:`~jiedai_flow.storage.base.Transactional`: the SQL and the in-memory stores): what can still
fail is the writing itself — the database goes away, another writer races, a plugin vetoes on the
real store what it let through in the rehearsal — and then the whole file is rolled back, nothing
is imported, and the error names the row. A store without transactions across commands gets the
same effect another way: the import stops at that row and says so (:attr:`ImportReport.interrupted`,
and an error naming the rows written, the row stopped half-way with its state, and the rows not
begun), and running the same file again finishes it: every step's request id is derived from the
row's content, so written steps are replayed, not repeated.

An ordinary import dates its events when it runs (the audit trail says when things were
recorded); the reception's own dates come from the row, and rules that look at "today" (the claim
deadline F-04) judge the steps as of today — right for receptions still under way. Past, archived
receptions are imported with ``history=True`` (``jiedai import --as-history``): every step is taken
with the clock set to the day it happened (:mod:`jiedai_flow.importer.history`: the letter's date,
the start, the end, the list's signing date, or the step-date columns ``submitted_on`` …
``archived_on``), so a claim made in time passes F-04 and one made late still gets it; only finished
states may be imported so (已结算、已归档、不予接待、已撤销), and every step's reason says it is a
history import and on which day it was made.

Rows are numbered as in a spreadsheet: the header is row 1. The columns are :data:`COLUMNS`. A
problem repeated over many rows is also reported once, with its rows
(:attr:`ImportReport.grouped_errors`: ``第 2–5、9 行``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.importer.columns import COLUMNS, WALKS, Column, RowError, column_of
from jiedai_flow.importer.files import read_rows, read_table
from jiedai_flow.importer.grouping import ErrorGroup, group_errors, spans
from jiedai_flow.importer.history import HISTORY_NOTE, HISTORY_NOTE_EN, StepClock
from jiedai_flow.importer.rows import ImportRow, parse_row
from jiedai_flow.importer.template import template_csv, write_template_xlsx
from jiedai_flow.importer.walk import (
    IMPORT_PREFIX,
    Imported,
    Rehearsal,
    RowFailed,
    import_actor,
    quiet_engine,
    walk,
)
from jiedai_flow.storage.base import Transactional

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import date

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.engine import Engine

    Progress = Callable[[str, int, int], None]

__all__ = [
    "COLUMNS",
    "IMPORT_PREFIX",
    "WALKS",
    "Column",
    "ErrorGroup",
    "ImportReport",
    "ImportRow",
    "Imported",
    "RowError",
    "column_of",
    "columns_help",
    "group_errors",
    "import_actor",
    "import_file",
    "parse_row",
    "read_rows",
    "read_table",
    "template_csv",
    "write_template_xlsx",
]

_log = logging.getLogger(__name__)


@attrs.frozen
class ImportReport:
    """What an import did: rows read, receptions in the database, and every problem."""

    source: str
    rows: int
    imported: tuple[Imported, ...]
    errors: tuple[RowError, ...]
    written: bool
    """Whether anything was written (False after a dry run, or when bad rows stopped the import)."""
    history: bool = False
    """A history import: every step dated as it happened."""
    interrupted: bool = False
    """Writing stopped at a row after every row had been checked and rehearsed (the database, a
    race, a plugin): the rows before it are imported; running the same file again finishes it."""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> tuple[int, ...]:
        return tuple(sorted({e.row for e in self.errors}))

    @property
    def grouped_errors(self) -> tuple[ErrorGroup, ...]:
        """:attr:`errors` with each repeated problem once, and the rows it applies to."""
        return group_errors(self.errors)


def import_file(
    engine: Engine,
    path: str | Path,
    operator: Actor,
    *,
    skip_bad: bool = False,
    dry_run: bool = False,
    explanations: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    history: bool = False,
) -> ImportReport:
    """Import the receptions of a CSV or xlsx file through ``engine`` (see the module docstring).

    :param operator: who runs the import; named in the reason of every imported step.
    :param skip_bad: import the good rows even if some are bad (default: then import nothing).
    :param dry_run: check and rehearse every row, write nothing.
    :param explanations: written explanations by rule id for every row (a row's own column wins).
    :param progress: called as ``progress(phase, done, total)``, phase ``"check"`` then ``"import"``.
    :param history: a history import 历史补录 of finished receptions, each step dated as it
        happened and judged as of that day (:mod:`jiedai_flow.importer.history`).
    :raises ValidationError: the file cannot be read, or its header is wrong (nothing imported).
    """
    source = Path(path).name
    rows, errors = read_rows(path)
    bad = {e.row for e in errors}
    good: list[ImportRow] = []
    today = _today(engine) if history else None
    clock = StepClock(engine.clock.now()) if history else None
    rehearsal = Rehearsal(engine, clock)
    for done, (number, cells) in enumerate(rows, start=1):
        parsed = parse_row(number, cells, engine.process.definition, today)
        if isinstance(parsed, list):
            errors += parsed
        elif number not in bad:
            row = attrs.evolve(parsed, explanations={**(explanations or {}), **parsed.explanations})
            if engine.store.command(f"{IMPORT_PREFIX}{row.key}:0:create") is None:
                try:
                    rehearsal.run(row, _note(source, row, operator, today))
                except RowFailed as failed:
                    errors += failed.errors
                    continue
            good.append(row)  # rows an earlier run started are finished (or replayed) for real
        if progress is not None:
            progress("check", done, len(rows))
    if dry_run or (errors and not skip_bad):
        return ImportReport(source, len(rows), (), tuple(errors), written=False, history=history)
    recorder = quiet_engine(engine, clock=clock)
    if isinstance(engine.store, Transactional):
        return _write_all(
            engine.store, recorder, good, rows, errors, source, operator, today, clock, progress, history
        )
    imported: list[Imported] = []
    stopped: Reception | None = None
    interrupted = False
    for done, row in enumerate(good, start=1):
        try:
            reception, new, replayed = walk(recorder, row, _note(source, row, operator, today), clock)
        except RowFailed as failed:
            # why: the rehearsal passed, so this is the database, a race or a plugin; stop here
            errors += failed.errors
            stopped, interrupted = failed.reception, True
        except Exception as exc:  # why: a driver's own error (connection lost …) is not a row error
            _log.exception("import of %s stopped at row %s", source, row.row)
            errors.append(_write_failed(row.row, exc))
            stopped, interrupted = _started(engine, row), True
        if interrupted:
            errors.append(_interrupted(row.row, imported, good[done:], stopped))
            break
        status = "imported" if not replayed else ("resumed" if new else "already")
        imported.append(Imported(row.row, reception.id, reception.number, reception.state, status))
        if progress is not None:
            progress("import", done, len(good))
    written = stopped is not None or any(i.status != "already" for i in imported)
    return ImportReport(
        source,
        len(rows),
        tuple(imported),
        tuple(errors),
        written=written,
        history=history,
        interrupted=interrupted,
    )


class _RolledBack(Exception):  # why: internal signal: leave the transaction block, rolled back
    """A row failed at write time inside the one transaction of the import."""


def _write_all(
    store: Transactional,
    recorder: Engine,
    good: list[ImportRow],
    rows: Sequence[object],
    errors: list[RowError],
    source: str,
    operator: Actor,
    today: date | None,
    clock: StepClock | None,
    progress: Progress | None,
    history: bool,
) -> ImportReport:
    """Write every good row in one transaction of the store: all of them, or — when one fails at
    write time (the database, a race, a plugin's veto) — none, with that row's error."""
    imported: list[Imported] = []
    try:
        with store.transaction():
            for done, row in enumerate(good, start=1):
                try:
                    reception, new, replayed = walk(recorder, row, _note(source, row, operator, today), clock)
                except RowFailed as failed:
                    errors += failed.errors
                    raise _RolledBack from None
                except Exception as exc:  # why: a driver's own error is not a row error
                    _log.exception("import of %s failed at row %s; nothing was written", source, row.row)
                    errors.append(_write_failed(row.row, exc))
                    raise _RolledBack from exc
                status = "imported" if not replayed else ("resumed" if new else "already")
                imported.append(Imported(row.row, reception.id, reception.number, reception.state, status))
                if progress is not None:
                    progress("import", done, len(good))
    except _RolledBack:
        errors.append(_rolled_back(len(good)))
        return ImportReport(source, len(rows), (), tuple(errors), written=False, history=history)
    written = any(i.status != "already" for i in imported)
    return ImportReport(source, len(rows), tuple(imported), tuple(errors), written=written, history=history)


def _rolled_back(count: int) -> RowError:
    return RowError(
        0,
        "",
        f"写入时出错，整个文件在一个事务里，已全部回滚：{count} 行都没有导入；改正后重新运行即可",
        f"a write failed; the whole file was one transaction and was rolled back: none of the {count} "
        "rows was imported; fix it and run again",
    )


def _today(engine: Engine) -> date:
    now = engine.clock.now()
    return (now.astimezone(CHINA_TZ) if now.tzinfo is not None else now).date()


def _note(source: str, row: ImportRow, operator: Actor, history: date | None = None) -> str:
    if history is None:
        return (
            f"批量导入：{source} 第 {row.row} 行，导入人 {operator.name}（{operator.id}）/ "
            f"bulk import of {source} row {row.row} by {operator.id}"
        )
    return (
        f"批量导入：{source} 第 {row.row} 行，导入人 {operator.name}（{operator.id}），"
        f"{HISTORY_NOTE}，{history} 导入 / bulk import of {source} row {row.row} by {operator.id}, "
        f"{HISTORY_NOTE_EN}, imported {history}"
    )


def _write_failed(row: int, exc: Exception) -> RowError:
    text = f"{type(exc).__name__}: {exc}"[:300]
    return RowError(row, "", f"写入数据库时出错：{text}", f"writing to the database failed: {text}")


def _started(engine: Engine, row: ImportRow) -> Reception | None:
    """The row's reception if its creation was committed before the failure (None if not, or if
    the database cannot say)."""
    try:
        record = engine.store.command(f"{IMPORT_PREFIX}{row.key}:0:create")
        return engine.store.load(record.reception_id) if record is not None else None
    except Exception:  # why: the database that just failed may still be down
        return None


def _interrupted(
    row: int, imported: Sequence[Imported], rest: Sequence[ImportRow], stopped: Reception | None
) -> RowError:
    """What an interrupted import wrote and what it did not, and how to finish it."""
    done_zh = f"第 {spans([i.row for i in imported], '、')} 行已导入" if imported else "此前各行都未写入"
    done_en = (
        f"rows {spans([i.row for i in imported], ', ')} are imported" if imported else "no row before it"
    )
    if stopped is not None:
        here_zh = f"第 {row} 行的接待 {stopped.number} 停在「{stopped.state}」"
        here_en = f"row {row} (reception {stopped.number}) is left at {stopped.state}"
    else:
        here_zh, here_en = f"第 {row} 行未写入", f"row {row} is not written"
    rest_zh = f"，第 {spans([r.row for r in rest], '、')} 行未开始" if rest else ""
    rest_en = f", rows {spans([r.row for r in rest], ', ')} not begun" if rest else ""
    return RowError(
        row,
        "",
        f"导入中断：{done_zh}，{here_zh}{rest_zh}。排除问题后重新运行同一文件即从中断处继续，已写入的步骤不会重复",
        f"import stopped: {done_en}; {here_en}{rest_en}. Run the same file again to finish it; "
        "steps already written are not repeated",
    )


def columns_help() -> str:
    """The column reference, one line per column (for ``jiedai import --help`` and docs/cli.md)."""
    lines = []
    for c in COLUMNS:
        mark = "（必填 required）" if c.required else ""
        lines.append(f"{c.name}  {c.label}{mark}：{c.help_zh} / {c.help_en}")
    return "\n".join(lines)

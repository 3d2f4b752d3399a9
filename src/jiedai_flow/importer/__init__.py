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

Nothing half-written: every row is first rehearsed on an in-memory copy (same plugins, same
standards and clock, the real budget ledger as its starting point, no notifications). Only rows
whose rehearsal went through are imported; by default, if any row fails, nothing is imported and
every problem is reported with its row number and column; ``skip_bad=True`` imports the good rows.

The events are dated when the import runs (the audit trail says when things were recorded); the
reception's own dates come from the row. Rules that look at "today" (the claim deadline F-04)
therefore see a late claim: explain it in the ``explanations`` column (``F-04=历史记录补录``).

Rows are numbered as in a spreadsheet: the header is row 1. The columns are :data:`COLUMNS`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.importer.columns import COLUMNS, WALKS, Column, RowError, column_of
from jiedai_flow.importer.files import read_rows, read_table
from jiedai_flow.importer.rows import ImportRow, parse_row
from jiedai_flow.importer.walk import (
    IMPORT_PREFIX,
    Imported,
    Rehearsal,
    RowFailed,
    import_actor,
    quiet_engine,
    walk,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from jiedai_flow.engine import Engine
    from jiedai_flow.model import Actor

    Progress = Callable[[str, int, int], None]

__all__ = [
    "COLUMNS",
    "IMPORT_PREFIX",
    "WALKS",
    "Column",
    "ImportReport",
    "ImportRow",
    "Imported",
    "RowError",
    "column_of",
    "columns_help",
    "import_actor",
    "import_file",
    "parse_row",
    "read_rows",
    "read_table",
    "template_csv",
]


@attrs.frozen
class ImportReport:
    """What an import did: rows read, receptions in the database, and every problem."""

    source: str
    rows: int
    imported: tuple[Imported, ...]
    errors: tuple[RowError, ...]
    written: bool
    """Whether anything was written (False after a dry run, or when bad rows stopped the import)."""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> tuple[int, ...]:
        return tuple(sorted({e.row for e in self.errors}))


def import_file(
    engine: Engine,
    path: str | Path,
    operator: Actor,
    *,
    skip_bad: bool = False,
    dry_run: bool = False,
    explanations: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the receptions of a CSV or xlsx file through ``engine`` (see the module docstring).

    :param operator: who runs the import; named in the reason of every imported step.
    :param skip_bad: import the good rows even if some are bad (default: then import nothing).
    :param dry_run: check and rehearse every row, write nothing.
    :param explanations: written explanations by rule id for every row (a row's own column wins).
    :param progress: called as ``progress(phase, done, total)``, phase ``"check"`` then ``"import"``.
    :raises ValidationError: the file cannot be read, or its header is wrong (nothing imported).
    """
    source = Path(path).name
    rows, errors = read_rows(path)
    bad = {e.row for e in errors}
    good: list[ImportRow] = []
    rehearsal = Rehearsal(engine)
    for done, (number, cells) in enumerate(rows, start=1):
        parsed = parse_row(number, cells, engine.process.definition)
        if isinstance(parsed, list):
            errors += parsed
        elif number not in bad:
            row = attrs.evolve(parsed, explanations={**(explanations or {}), **parsed.explanations})
            if engine.store.command(f"{IMPORT_PREFIX}{row.key}:0:create") is None:
                try:
                    rehearsal.run(row, _note(source, row, operator))
                except RowFailed as failed:
                    errors += failed.errors
                    continue
            good.append(row)  # rows an earlier run started are finished (or replayed) for real
        if progress is not None:
            progress("check", done, len(rows))
    if dry_run or (errors and not skip_bad):
        return ImportReport(source, len(rows), (), tuple(errors), written=False)
    imported: list[Imported] = []
    recorder = quiet_engine(engine)
    stopped = False
    for done, row in enumerate(good, start=1):
        try:
            reception, new, replayed = walk(recorder, row, _note(source, row, operator))
        except RowFailed as failed:
            # why: the rehearsal passed, so this is the database or a race; stop rather than go on
            errors += failed.errors
            if failed.reception is not None:
                stopped = True
                errors.append(_stopped(row.row, failed.reception.number, failed.reception.state))
            break
        status = "imported" if not replayed else ("resumed" if new else "already")
        imported.append(Imported(row.row, reception.id, reception.number, reception.state, status))
        if progress is not None:
            progress("import", done, len(good))
    written = stopped or any(i.status != "already" for i in imported)
    return ImportReport(source, len(rows), tuple(imported), tuple(errors), written=written)


def _note(source: str, row: ImportRow, operator: Actor) -> str:
    return (
        f"批量导入：{source} 第 {row.row} 行，导入人 {operator.name}（{operator.id}）/ "
        f"bulk import of {source} row {row.row} by {operator.id}"
    )


def _stopped(row: int, number: str, state: str) -> RowError:
    return RowError(
        row,
        "",
        f"导入中断：接待 {number} 停在「{state}」；排除问题后重新运行同一文件即可从中断处继续",
        f"import stopped: reception {number} is left at {state}; run the same file again to finish it",
    )


def columns_help() -> str:
    """The column reference, one line per column (for ``jiedai import --help`` and docs/cli.md)."""
    lines = []
    for c in COLUMNS:
        mark = "（必填 required）" if c.required else ""
        lines.append(f"{c.name}  {c.label}{mark}：{c.help_zh} / {c.help_en}")
    return "\n".join(lines)


def template_csv() -> str:
    """An empty import file: the header row, Chinese labels (English names work as headers too)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([c.label for c in COLUMNS])
    return out.getvalue()

"""Grouping repeated row errors 同类问题合并: one entry per column and problem, with the rows it
applies to (``第 2–5、9 行``), instead of hundreds of identical lines. Two problems are the same when
they are at the same column, come from the same rule (if any) and their messages differ at most in
numbers, dates and quoted values."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.importer.columns import column_label

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from jiedai_flow.importer.columns import RowError

_DETAILS = re.compile(r"'[^']*'|\"[^\"]*\"|「[^」]*」|\d+(?:[.\-/:]\d+)*")
"""What may differ between rows in one problem: quoted values and numbers (amounts, dates, days)."""


@attrs.frozen
class ErrorGroup:
    """One problem at one column, and the rows it applies to (``row`` 0: the file as a whole)."""

    column: str
    code: str
    message_zh: str
    message_en: str
    rows: tuple[int, ...]
    varies: bool
    """The rows' messages differ in their details; the message is then the first row's."""

    @property
    def label(self) -> str:
        return column_label(self.column)

    @property
    def rows_zh(self) -> str:
        """``第 2–5、9 行`` (``文件`` for the file as a whole)."""
        return _spans(self.rows, "、", "第 {} 行", "文件")

    @property
    def rows_en(self) -> str:
        """``rows 2–5, 9`` (``file`` for the file as a whole)."""
        found = _spans(self.rows, ", ", "{}", "file")
        return found if found == "file" else f"row{'s' if len(self.rows) > 1 else ''} {found}"

    def __str__(self) -> str:
        where = self.rows_zh + (f"「{self.label}」" if self.column else "")
        example = f"（各行细节不同，此为第 {self.rows[0]} 行）" if self.varies else ""
        example_en = f" (details differ by row; row {self.rows[0]} shown)" if self.varies else ""
        return f"{where}：{self.message_zh}{example} / {self.rows_en}: {self.message_en}{example_en}"


def group_errors(errors: Iterable[RowError]) -> tuple[ErrorGroup, ...]:
    """``errors`` grouped by column, rule and message pattern, ordered by their first row."""
    groups: dict[tuple[str, str, str], list[RowError]] = {}
    for error in errors:
        groups.setdefault((error.column, error.code, _DETAILS.sub("…", error.message_zh)), []).append(error)
    found = [_group(members) for members in groups.values()]
    return tuple(sorted(found, key=lambda g: g.rows[0]))


def _group(members: Sequence[RowError]) -> ErrorGroup:
    first = members[0]
    varies = any(e.message_zh != first.message_zh for e in members)
    rows = tuple(sorted({e.row for e in members}))
    return ErrorGroup(first.column, first.code, first.message_zh, first.message_en, rows, varies)


def _spans(rows: Sequence[int], sep: str, shape: str, whole: str) -> str:
    if not rows or rows == (0,):
        return whole
    return shape.format(spans(rows, sep))


def spans(rows: Sequence[int], sep: str) -> str:
    """Consecutive rows as ranges: (2, 3, 4, 5, 9) → ``2–5`` and ``9`` joined by ``sep``."""
    found: list[list[int]] = []
    for row in rows:
        if found and row == found[-1][1] + 1:
            found[-1][1] = row
        else:
            found.append([row, row])
    return sep.join(f"{a}" if a == b else f"{a}–{b}" for a, b in found)

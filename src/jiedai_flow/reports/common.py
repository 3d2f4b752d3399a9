"""What the reports share: their errors, the states they count, table columns, and SQL reading.

Reports read a :class:`~jiedai_flow.storage.sql.SQLStore` only: they aggregate in SQL on the typed,
indexed columns of ``jd_receptions`` and stream the JSON ``data`` column in batches where a
figure is not in a typed column yet. All statements of one report run in one read snapshot.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import attrs

from jiedai_flow.domain.model import from_fen
from jiedai_flow.errors import (
    FormTemplateError as FormTemplateError,  # re-exported: reports is where users look
)
from jiedai_flow.errors import ListNotFiledError as ListNotFiledError
from jiedai_flow.errors import ReportsNeedSQLError as ReportsNeedSQLError
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS
from jiedai_flow.storage import schema
from jiedai_flow.storage.sql import SQLStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from decimal import Decimal

    import sqlalchemy as sa

    from jiedai_flow.process.engine import Engine
    from jiedai_flow.process.lifecycle import Phase


def taken_place(engine: Engine | None = None) -> tuple[str, ...]:
    """States of a reception that took place 已发生的接待 (counted as a 批次 by the annual summary):
    those whose phase says so, across the engine's processes (the default process without one)."""
    return _states(engine, lambda phase: phase.taken_place)


def every_state(engine: Engine | None = None) -> tuple[str, ...]:
    """Every state of the engine's processes (the default process without one)."""
    return _states(engine, lambda _phase: True)


def settled(engine: Engine | None = None) -> tuple[str, ...]:
    """States of a settled reception 已结算 (counted by the 三公经费 disclosure)."""
    return _states(engine, lambda phase: phase.settled)


def _states(engine: Engine | None, test: Callable[[Phase], bool]) -> tuple[str, ...]:
    definitions = engine.processes if engine is not None else (DEFAULT_PROCESS,)
    return tuple(dict.fromkeys(name for d in definitions for name in d.states_where(test)))


BATCH = 500
"""Rows fetched per round trip when the JSON column is streamed (``yield_per``)."""

R = schema.receptions
E = schema.audit_events


def require_sql(store: object) -> SQLStore:
    """``store`` as a :class:`SQLStore`, or :class:`ReportsNeedSQLError`."""
    if not isinstance(store, SQLStore):
        raise ReportsNeedSQLError(store)
    return store


def year_filter(
    year: int, states: tuple[str, ...], host_unit: str | None, jurisdiction: str | None
) -> list[sa.ColumnElement[bool]]:
    """WHERE terms for receptions of ``year`` (by start date) in ``states``: the (state,
    start_date) index, or the host-unit / jurisdiction index when one is given, finds them."""
    terms = [
        R.c.state.in_(states),
        R.c.start_date >= date(year, 1, 1),
        R.c.start_date < date(year + 1, 1, 1),
    ]
    if host_unit is not None:
        terms.append(R.c.host_unit == host_unit)
    if jurisdiction is not None:
        terms.append(R.c.jurisdiction == jurisdiction)
    return terms


@contextmanager
def snapshot(store: SQLStore) -> Iterator[sa.Connection]:
    """A read-only connection whose statements all see one snapshot, so a report's SQL sums and
    its streamed figures agree even while commands commit."""
    with store.db.connect() as conn:
        if store.is_sqlite:
            # why: pysqlite starts no transaction for SELECTs; in WAL mode an explicit one pins
            # the snapshot for every statement until the rollback below
            conn.exec_driver_sql("BEGIN")
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            yield conn
        finally:
            conn.rollback()


def stream(conn: sa.Connection, statement: sa.Select[Any], batch: int = BATCH) -> Iterator[Sequence[Any]]:
    """Rows of ``statement`` fetched ``batch`` at a time (a server-side cursor where the driver has
    one), so memory stays flat however many rows match."""
    result = conn.execute(statement.execution_options(stream_results=True, yield_per=batch))
    try:
        yield from result
    finally:
        result.close()


class Ticker:
    """Calls a progress callback every ``every`` steps and once at the end."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int, every: int = BATCH) -> None:
        self.progress, self.total, self.every, self.done = progress, total, every, 0
        if progress is not None:
            progress(0, total)

    def step(self) -> None:
        self.done += 1
        if self.progress is not None and self.done % self.every == 0:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))


def yuan(fen: int | None) -> Decimal:
    """Fen from SQL (None for an empty SUM) as ``Decimal`` yuan."""
    return from_fen(int(fen or 0))


# -- table rows -----------------------------------------------------------------------------------

CellKind = Literal["text", "int", "money", "percent", "label", "list", "mapping", "counts"]


@attrs.frozen
class Column:
    """One column of a report table: the row attribute, its Chinese and English headers, its kind."""

    key: str
    zh: str
    en: str
    kind: CellKind = "text"

    @property
    def header(self) -> str:
        """Chinese first, then English: ``批次 batches``."""
        return f"{self.zh} {self.en}"


class TableRow(Protocol):
    """A row the table renderers know: an attrs value with a ``COLUMNS`` class attribute."""

    COLUMNS: ClassVar[tuple[Column, ...]]


NO_DATA = (Column("", "无数据", "no data"),)


def table_columns(rows: Sequence[TableRow], row_type: type[TableRow] | None) -> tuple[Column, ...]:
    """The columns of a report table: its rows' class, else ``row_type`` (for an empty table)."""
    if rows:
        return type(rows[0]).COLUMNS
    if row_type is not None:
        return row_type.COLUMNS
    return NO_DATA


def cell_value(row: object, column: Column) -> Any:
    """The value of ``column`` in ``row`` as the renderers show it: numbers stay numbers
    (``Decimal`` for money and percentages), everything else becomes text."""
    value = getattr(row, column.key)
    if value is None:
        return None
    if column.kind in ("int", "money", "percent"):
        return value
    return cell_text(value, column)


def cell_text(value: Any, column: Column) -> str:
    """A cell as text: money with two places, enums by their Chinese label, lists joined with
    「、」, mappings as ``key=value`` pairs, counts as ``text（n 次）``."""
    if value is None:
        return ""
    if column.kind == "label":
        return str(getattr(value, "label", value))
    if column.kind == "list":
        return "、".join(str(v) for v in value)
    if column.kind == "mapping":
        return "；".join(f"{k}={v}" for k, v in value.items())
    if column.kind == "counts":  # how often each text was given: 请补充行程（2 次）；超标
        return "；".join(f"{k}（{n} 次）" if n > 1 else str(k) for k, n in value.items())
    if column.kind == "money":
        return f"{value:.2f}"
    return str(value)

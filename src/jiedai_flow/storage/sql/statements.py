"""Statements compiled once per dialect and the values they bind 预编译语句: the leaf every part of
the SQL store builds on (no import of the store itself)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """A Core statement compiled once for a dialect, executed on a DBAPI cursor.

    Parameters go to the driver as the dialect wants them: a tuple in the compiled order for a
    positional paramstyle (SQLite), else a dict; SQLAlchemy's bind processors (dates as text on
    SQLite) are applied only to the parameters that have one.
    """

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled = cast("SQLCompiler", statement.compile(dialect=dialect))
        self.sql = str(compiled)
        # why: literals in a statement (``id == 1``) compile to bind parameters with fixed values
        self.fixed = {
            compiled.bind_names[b]: b.value
            for b in compiled.binds.values()
            if not b.required and b.value is not None
        }
        processors: dict[str, Any] = {}
        for bind in compiled.binds.values():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[compiled.bind_names[bind]] = isoformat_or(processor)
        self.processors = processors
        self.names: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        if self.names is not None:
            names = tuple(self.names)
            getter = itemgetter(*names) if names else (lambda _values: ())
            self._row: Callable[[Mapping[str, Any]], Any] = (
                getter if len(names) != 1 else (lambda values: (getter(values),))
            )
            self._convert = tuple((i, processors[n]) for i, n in enumerate(names) if n in processors)

    def params(self, values: Mapping[str, Any]) -> Any:
        if self.fixed:
            values = {**self.fixed, **values}
        if self.names is None:
            if self.processors:
                processors = self.processors
                return {k: (processors[k](v) if k in processors else v) for k, v in values.items()}
            return values
        row = self._row(values)
        if self._convert:
            row = list(row)
            for i, processor in self._convert:
                row[i] = processor(row[i])
        return row

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        cursor.execute(self.sql, self.params(values))
        return cursor

    def execute_many(self, cursor: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Each of ``rows``: one ``executemany`` (on PostgreSQL a pipeline, one round trip), or a
        plain ``execute`` for a single row (most commands write one notification, one task), which
        spares psycopg entering and leaving pipeline mode."""
        if len(rows) == 1:
            cursor.execute(self.sql, self.params(rows[0]))
        elif rows:
            cursor.executemany(self.sql, [self.params(row) for row in rows])


_PROBES = (datetime(2026, 10, 1, 8, 30, 5, 120), datetime(1999, 12, 31), datetime(2026, 2, 17, 23, 59, 59))


def isoformat_or(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``processor``, or a faster equivalent where it writes naive datetimes (or dates) as their
    ISO text — SQLite's default storage format: the probes must come out the same, else
    SQLAlchemy's processor is kept. Other values (aware datetimes, None) still go through it."""

    def writes(text: Callable[[datetime], str]) -> bool:
        try:
            return all(processor(v) == text(v) for v in _PROBES)
        except Exception:
            return False

    if writes(lambda v: v.isoformat(" ", "microseconds")):

        def datetime_text(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is None:
                return value.isoformat(" ", "microseconds")
            return processor(value)

        return datetime_text
    if writes(lambda v: v.date().isoformat()):

        def date_text(value: Any) -> Any:
            return value.isoformat() if type(value) is date else processor(value)

        return date_text
    return processor


def stored_text(value: date) -> str:
    """The text the store writes for a date or datetime on SQLite (its bind processors, above): a
    datetime as naive UTC with microseconds, a date as ``YYYY-MM-DD``. Verify compares SQLite's
    stored text with it, not the value parsed from it: SQL compares the text, so a day rewritten
    in another form (``2026-W51-1``, ``20261214``) would read the same yet sort and filter apart."""
    if isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        return naive.isoformat(" ", "microseconds")
    return value.isoformat()


def as_stored(column: sa.Column[Any], dialect: sa.Dialect) -> sa.ColumnElement[Any]:
    """``column`` as read for verify: on SQLite a date or datetime column's raw stored value (text,
    or whatever else was put there), not parsed, so that :func:`stored_text` can be compared."""
    if dialect.name == "sqlite" and isinstance(column.type, sa.Date | sa.DateTime):
        return sa.type_coerce(column, sa.String()).label(column.name)
    return column


def bp(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


_last_utc: tuple[datetime | None, datetime | None] = (None, None)


def utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC, the form the tables hold. A command stamps the reception, its event
    and its notifications with one ``now``: the last conversion is reused for the same object."""
    global _last_utc
    last = _last_utc
    if last[0] is moment:
        return cast("datetime", last[1])
    converted = moment.astimezone(UTC).replace(tzinfo=None)
    _last_utc = (moment, converted)
    return converted


IN_CHUNK = 256
"""The most ids one ``WHERE id IN (…)`` names (well under every driver's parameter limit)."""


def id_chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def execute_in(statement: Any, cur: Any, ids: Sequence[str], values: dict[str, Any]) -> Any:
    """Run an ``id IN (…)`` statement compiled for ``len(ids)`` rounded up to a power of two, the
    last id repeated to fill it: why, a handful of compiled sizes serve every batch, and naming
    an id twice in ``IN`` changes nothing."""
    size = power_of_two(len(ids))
    padded = [*ids, *[ids[-1]] * (size - len(ids))]
    return statement.execute(cur, {**values, **{f"id_{i}": v for i, v in enumerate(padded)}})


def power_of_two(count: int) -> int:
    """``count`` rounded up to a power of two."""
    return 1 << max(count - 1, 0).bit_length()


# -- exact comparison of text -------------------------------------------------------------------
#
# MySQL/MariaDB compare text by the column's collation, and a database made with a bare ``CREATE
# DATABASE`` gets the server's ``utf8mb4_general_ci``: ``li.na`` and ``Li.Na`` are one person there,
# and no collation but a binary one tells ``a`` from ``a `` (PAD SPACE). Where identity matters (whose
# task a row is, whose stand-in) the comparison is made on the bytes too, as Python, SQLite and
# PostgreSQL compare: the plain ``=`` stays first, so the server still reads the index by it.
# Migration 0012 makes jiedai's own tables exact (``utf8mb4_nopad_bin``); the statements stay exact
# all the same, on a server that has only a padding ``utf8mb4_bin`` or a table someone converted back.


class same_text(FunctionElement[Any]):  # an SQL function, named as one
    """``a = b`` to the letter on every database (MySQL/MariaDB: also on the bytes)."""

    type = sa.types.NullType()  # no Boolean: SQLite and MySQL would append "= 1"
    name = "same_text"
    inherit_cache = True


class other_text(FunctionElement[Any]):  # an SQL function, named as one
    """``a <> b`` to the letter on every database (MySQL/MariaDB: on the bytes)."""

    type = sa.types.NullType()
    name = "other_text"
    inherit_cache = True


def _bytes(element: Any) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    a, b = element.clauses
    return sa.cast(a, sa.LargeBinary), sa.cast(b, sa.LargeBinary)


@compiles(same_text)
def _same_text(element: same_text, compiler: Any, **kw: Any) -> str:
    a, b = element.clauses
    return str(compiler.process(a == b, **kw))


@compiles(same_text, "mysql")
@compiles(same_text, "mariadb")
def _same_bytes(element: same_text, compiler: Any, **kw: Any) -> str:
    a, b = element.clauses
    x, y = _bytes(element)
    return f"({compiler.process(a == b, **kw)} AND {compiler.process(x == y, **kw)})"


@compiles(other_text)
def _other_text(element: other_text, compiler: Any, **kw: Any) -> str:
    a, b = element.clauses
    return str(compiler.process(a != b, **kw))


@compiles(other_text, "mysql")
@compiles(other_text, "mariadb")
def _other_bytes(element: other_text, compiler: Any, **kw: Any) -> str:
    x, y = _bytes(element)
    return str(compiler.process(x != y, **kw))


class in_code_points(FunctionElement[Any]):  # an SQL expression, named as one
    """A text column to order by as Python compares strings, by code point — what a merge of
    streams compared in Python relies on. A database's own collation may not order so (MySQL/
    MariaDB's ``*_ci`` ignores case, PostgreSQL's ``en_US`` too), and ids chosen by people may mix
    cases. Byte order of UTF-8 is code point order: SQLite's default, PostgreSQL's ``C`` collation,
    MySQL's ``BINARY``."""

    type = sa.types.NullType()
    name = "in_code_points"
    inherit_cache = True


@compiles(in_code_points)
def _in_code_points(element: in_code_points, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return str(compiler.process(column, **kw))


@compiles(in_code_points, "postgresql")
def _in_c_collation(element: in_code_points, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return str(compiler.process(column.collate("C"), **kw))


@compiles(in_code_points, "mysql")
@compiles(in_code_points, "mariadb")
def _in_bytes(element: in_code_points, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return str(compiler.process(sa.cast(column, sa.LargeBinary), **kw))

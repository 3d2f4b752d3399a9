"""The task lists on SQL 待办/已办/抄送/发起: the rows of ``jd_tasks`` and ``jd_copies`` a command
writes, the indexed queries that read them, and verify's check of every row against the hashed
reception.

A task list never loads a reception: each list is one indexed SELECT over the task index (the
owner's or the pool's index for 待办, the actor's for 已办 and 抄送, the handler's for 我发起的),
ordered by due day and paged by keyset cursor.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.records import (
    AssigneeKind,
    CarbonCopy,
    Reception,
    Task,
    TaskCounts,
    TaskKind,
    TaskPage,
    TaskQuery,
    TaskRow,
    TaskState,
    TaskView,
)
from jiedai_flow.storage import schema
from jiedai_flow.storage.chain import AuditProblem
from jiedai_flow.storage.codec import decode
from jiedai_flow.storage.sql.statements import (
    as_stored,
    in_code_points,
    other_text,
    same_text,
    stored_text,
    utc,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

_T, _CC, _R = schema.tasks, schema.copies, schema.receptions

TASK_COLUMNS = tuple(c.name for c in _T.columns)
COPY_COLUMNS = tuple(c.name for c in _CC.columns)
_FAR = date(9999, 12, 31)
"""The due day stored for a task that has none: it sorts last, so 待办 is read in index order."""
_FAR_TEXT = _FAR.isoformat()


def task_row(reception: Reception, task: Task) -> dict[str, Any]:
    """The ``jd_tasks`` row of one task, computed from the reception (verify recomputes it)."""
    return {
        "id": task.id,
        "reception_id": reception.id,
        "number": reception.number,
        "jurisdiction": reception.jurisdiction,
        "host_unit": reception.host_unit,
        "handler_id": reception.handler.id,
        "kind": task.kind.value,
        "step": task.step,
        "state": task.state.value,
        "assignee_kind": task.assignee.kind.value,
        "assignee": task.assignee.ref,
        "owner": task.owner,
        "title": reception.task_title(task)[:200],
        "due": task.due or _FAR,
        "created_at": utc(task.created_at),
        "done_by": task.done_by,
        "done_at": utc(task.done_at) if task.done_at is not None else None,
        "outcome": task.outcome,
        "read": task.read_at is not None,
        # only an unclaimed pool task names anyone: a held task is its holder's, and an empty
        # column there spares a countersign rewriting every signer's row at each signature
        "barred": barred_text(reception.barred(task)),
    }


_KEPT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def barred_key(person: str) -> str:
    """``person`` as ``jd_tasks.barred`` spells it: lower-case ASCII letters, digits, ``.`` and
    ``-`` kept, every other character as ``~hex;`` — so the column holds no ``|`` but the
    separators, no wildcard of ``LIKE``, and no letter a case-insensitive collation (MySQL's
    default) could confuse with another."""
    return "".join(c if c in _KEPT else f"~{ord(c):x};" for c in person)


def barred_text(people: Iterable[str]) -> str:
    """The ``barred`` column of a task: each person's :func:`barred_key` between ``|``, sorted ("" for
    nobody)."""
    keys = sorted(barred_key(p) for p in people)
    return f"|{'|'.join(keys)}|" if keys else ""


def barred_pattern(person: str) -> str:
    """The ``LIKE`` pattern of a ``barred`` column that names ``person``."""
    return f"%|{barred_key(person)}|%"


def copy_row(reception: Reception, copy: CarbonCopy) -> dict[str, Any]:
    """The ``jd_copies`` row of one carbon copy."""
    return {
        "reception_id": reception.id,
        "actor_id": copy.actor_id,
        "number": reception.number,
        "host_unit": reception.host_unit,
        "by_id": copy.by,
        "at": utc(copy.at),
        "read": copy.read_at is not None,
    }


_P = schema.proxies

STATEMENTS: dict[str, sa.ClauseElement] = {
    "select_principals": sa.select(_P.c.principal).where(
        same_text(_P.c.stand_in, sa.bindparam("b_stand_in", type_=_P.c.stand_in.type)),
        _P.c.end_date >= sa.bindparam("b_day", type_=sa.Date()),
        _P.c.start_date <= sa.bindparam("b_day", type_=sa.Date()),
        _P.c.revoked.is_(False),
    ),
}
"""Compiled once per dialect by the store, executed in the command's transaction."""


def write_statements(dialect: str) -> dict[str, sa.ClauseElement]:
    """``upsert_task`` and ``upsert_copy`` in ``dialect``'s own form (``ON CONFLICT … DO UPDATE`` on
    SQLite and PostgreSQL, ``ON DUPLICATE KEY UPDATE`` on MySQL/MariaDB): a new task and a changed
    one are one statement, one round trip, whichever the command made."""
    return {
        "upsert_task": _upsert(dialect, _T, ("id",)),
        "upsert_copy": _upsert(dialect, _CC, ("reception_id", "actor_id")),
    }


def _upsert(dialect: str, table: sa.Table, key: tuple[str, ...]) -> sa.ClauseElement:
    rest = [c.name for c in table.columns if c.name not in key]
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects import mysql

        mine = mysql.insert(table)
        return mine.on_duplicate_key_update({name: mine.inserted[name] for name in rest})
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=list(key), set_={n: pg.excluded[n] for n in rest})
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        lite = sqlite.insert(table)
        return lite.on_conflict_do_update(index_elements=list(key), set_={n: lite.excluded[n] for n in rest})
    raise ValueError(f"no upsert for the {dialect} dialect")


# -- the lists ---------------------------------------------------------------------------------
#
# A list's statement is compiled once per *shape* (the view, whether it counts, how many people and
# pools 待办 reads, which filters are given) with named bind parameters; the values of one query are
# bound at execution. 待办 is a UNION ALL of one arm per owner and per pool, each an equality prefix of
# an index ending in (due, created_at, id), so every arm is read in index order and the merge stops
# after the page: the cost is the page, not the number of open tasks. The arms are disjoint (an
# owner is never "", one pool's tasks are unclaimed), so the union has no duplicates and its count
# is the list's length. A pool whose approval tasks the actor may not sign filters them out of its
# arm (``kind <> 'approval'``), on the same index.

Shape = tuple[Any, ...]
"""What a list statement is compiled for (see :func:`list_shape`)."""
Pool = tuple[tuple[int, ...], bool]
"""One pool's arm of 待办: whom it is listed for (``()``: the actor's own pool, else the principals'
places among the owners), and whether with its approval tasks (``TaskQuery.approval_pools``)."""
Arms = tuple[int, tuple[Pool, ...], tuple[Pool, ...], bool]
"""待办's arms: how many owners (the actor first, then the principals), each level pool and each
department pool, and whether the store looks up the day's principals itself."""


def list_shape(query: TaskQuery, *, count: bool = False) -> tuple[Shape, dict[str, Any]]:
    """The shape of ``query``'s statement and the values of its bind parameters (a new dict)."""
    shape, values = _shape_of(query, count)
    return shape, dict(values)


@functools.lru_cache(maxsize=1024)
def _shape_of(query: TaskQuery, count: bool) -> tuple[Shape, tuple[tuple[str, Any], ...]]:
    """:func:`list_shape`, worked out once per distinct query: 待办 is read again and again by the
    same people with the same pools, and working it out costs about as much as building a page's
    rows (several µs); a cached answer is a hash of the query."""
    view = query.view
    values: dict[str, Any] = {"actor": query.actor_id}
    arms: Arms = (0, (), (), False)
    if view is TaskView.MINE:
        # the actor first, then the principals: a pool task is listed while the actor (and, for a
        # pool the actor sees only as a stand-in, one of its principals) may take it
        people = [query.actor_id, *sorted(query.principals - {query.actor_id, ""})]
        values.update({f"person_{i}": p for i, p in enumerate(people)})
        values.update({f"barred_{i}": barred_pattern(p) for i, p in enumerate(people)})
        through = {(kind, ref): who for kind, ref, who in query.principal_pools}
        slot = {p: i for i, p in enumerate(people)}

        def pool(kind: AssigneeKind, ref: str) -> Pool:
            """For whom a pool is listed (() the actor's own, else the principals' slots), and
            whether with its approval tasks."""
            whom = tuple(slot[p] for p in through.get((kind, ref), ()) if p in slot)
            return whom, query.signs_in(kind, ref)

        levels = sorted(query.levels)
        units = sorted({query.unit, *query.units} - {""})
        values.update({f"level_{i}": lv for i, lv in enumerate(levels)})
        values.update({f"unit_{i}": u for i, u in enumerate(units)})
        if query.due_by is not None:
            values["due_by"] = query.due_by
        if query.stand_ins_on is not None:
            values["stand_day"] = query.stand_ins_on
        arms = (
            len(people),
            tuple(pool(AssigneeKind.LEVEL, lv) for lv in levels),
            tuple(pool(AssigneeKind.UNIT, u) for u in units),
            query.stand_ins_on is not None,
        )
    if query.jurisdiction is not None:
        values["jurisdiction"] = query.jurisdiction
    if query.kind is not None and view in (TaskView.MINE, TaskView.DONE):
        values["kind"] = query.kind.value
    if not count:
        values["limit"] = query.limit + 1
        if query.after is not None:
            values["after_day"], values["after_at"], values["after_key"] = _cursor(query.after)
    flags = tuple(name in values for name in ("jurisdiction", "kind", "due_by", "after_at"))
    return (view, count, arms, *flags), tuple(values.items())


def _lit(value: str) -> sa.ColumnElement[Any]:
    """A constant of the code (a task state, an assignee kind) written into the SQL rather than bound:
    the planner picks the index by it, and the generic plan a server caches for the prepared
    statement stays the right one."""
    return sa.literal_column(f"'{value}'")


def list_statement(shape: Shape, *, nested: bool = False) -> sa.Select[Any] | sa.CompoundSelect[Any]:
    """The statement of a list of ``shape``, with the bind parameters :func:`list_shape` gives values.
    ``nested``: each arm of 待办 ordered and limited by itself, in parentheses (PostgreSQL and MySQL
    then merge the arms' first pages; SQLite merges sorted arms by itself and takes no parentheses)."""
    view, count, arms, jurisdiction, kind, due_by, after = shape

    def bound(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
        return sa.bindparam(name, type_=column.type)

    limit = sa.bindparam("limit", type_=sa.Integer())
    if view is TaskView.MINE:
        common: list[sa.ColumnElement[bool]] = [_T.c.state == _lit(TaskState.OPEN.value)]
        if jurisdiction:
            common.append(_T.c.jurisdiction == bound("jurisdiction", _T.c.jurisdiction))
        if kind:
            common.append(_T.c.kind == bound("kind", _T.c.kind))
        if due_by:
            common.append(_T.c.due <= bound("due_by", _T.c.due))
        if after:
            common.append(
                sa.tuple_(_T.c.due, _T.c.created_at, _T.c.id)
                > sa.tuple_(
                    bound("after_day", _T.c.due),
                    bound("after_at", _T.c.created_at),
                    bound("after_key", _T.c.id),
                )
            )
        return _mine(arms, common, count, limit, bound, nested=nested)
    if view is TaskView.DONE:
        conditions: list[sa.ColumnElement[Any]] = [same_text(_T.c.done_by, bound("actor", _T.c.done_by))]
        if jurisdiction:
            conditions.append(_T.c.jurisdiction == bound("jurisdiction", _T.c.jurisdiction))
        if kind:
            conditions.append(_T.c.kind == bound("kind", _T.c.kind))
        if count:
            return sa.select(sa.func.count()).select_from(_T).where(*conditions)
        if after:
            conditions.append(
                sa.tuple_(_T.c.done_at, _T.c.id)
                < sa.tuple_(bound("after_at", _T.c.done_at), bound("after_key", _T.c.id))
            )
        return (
            sa.select(*_task_columns())
            .where(*conditions)
            .order_by(_T.c.done_at.desc(), _T.c.id.desc())
            .limit(limit)
        )
    if view is TaskView.CC:
        conditions = [same_text(_CC.c.actor_id, bound("actor", _CC.c.actor_id))]
        copied: sa.FromClause = _CC
        if jurisdiction:
            # a copy's county is its reception's: the list reads the reception (its state) by
            # primary key anyway, the count joins it only for the filter
            copied = _CC.join(_R, _R.c.id == _CC.c.reception_id)
            conditions.append(_R.c.jurisdiction == bound("jurisdiction", _R.c.jurisdiction))
        if count:
            unread: sa.ColumnElement[Any] = sa.func.sum(sa.case((_CC.c.read, 0), else_=1))
            return sa.select(sa.func.count(), unread).select_from(copied).where(*conditions)
        if after:
            conditions.append(
                sa.tuple_(_CC.c.at, _CC.c.reception_id)
                < sa.tuple_(bound("after_at", _CC.c.at), bound("after_key", _CC.c.reception_id))
            )
        return (
            sa.select(
                _CC.c.reception_id,
                _CC.c.number,
                _CC.c.host_unit,
                _CC.c.by_id,
                _CC.c.at,
                _CC.c.read,
                _R.c.state,
            )
            .join(_R, _R.c.id == _CC.c.reception_id)
            .where(*conditions)
            .order_by(_CC.c.at.desc(), _CC.c.reception_id.desc())
            .limit(limit)
        )
    conditions = [same_text(_R.c.handler_id, bound("actor", _R.c.handler_id))]
    if jurisdiction:
        conditions.append(_R.c.jurisdiction == bound("jurisdiction", _R.c.jurisdiction))
    if count:
        return sa.select(sa.func.count()).select_from(_R).where(*conditions)
    if after:
        conditions.append(
            sa.tuple_(_R.c.created_at, _R.c.id)
            < sa.tuple_(bound("after_at", _R.c.created_at), bound("after_key", _R.c.id))
        )
    return (
        sa.select(_R.c.id, _R.c.number, _R.c.host_unit, _R.c.state, _R.c.created_at, _R.c.start_date)
        .where(*conditions)
        .order_by(_R.c.created_at.desc(), _R.c.id.desc())
        .limit(limit)
    )


def _mine(
    arms: Arms,
    common: list[sa.ColumnElement[bool]],
    count: bool,
    limit: sa.BindParameter[Any],
    bound: Any,
    *,
    nested: bool,
) -> sa.Select[Any] | sa.CompoundSelect[Any]:
    """待办: one arm per owner (the actor and whom they stand in for) and per pool (each level, the
    department); every arm leaves out approval tasks of receptions the actor handles (a principal's
    too: the handler never acts on one), a pool's arm all of them when nobody it is listed for may
    sign them. With a stand-in day, one more arm for the principals of that day's proxies (the
    owners named already left out)."""
    people, levels, units, stand_ins = arms
    # every comparison of people to the letter (same_text): on MySQL/MariaDB's usual collation
    # ``Li.Na`` would otherwise read ``li.na``'s 待办, and ``li.na`` count as the handler ``Li.Na``
    guard = sa.or_(
        _T.c.kind != _lit(TaskKind.APPROVAL.value),
        other_text(_T.c.handler_id, bound("actor", _T.c.handler_id)),
    )
    # a principal's approval task that is the handler's own (a 或签 or 票签 may name them): nobody's
    owned = sa.or_(_T.c.kind != _lit(TaskKind.APPROVAL.value), other_text(_T.c.handler_id, _T.c.owner))

    def free(i: int) -> sa.ColumnElement[bool]:
        """Owner ``i`` (0: the actor) is not barred from the task."""
        return _T.c.barred.not_like(sa.bindparam(f"barred_{i}", type_=_T.c.barred.type))

    named = [bound(f"person_{i}", _T.c.owner) for i in range(people)]
    who: list[sa.ColumnElement[bool]] = [
        sa.and_(same_text(_T.c.owner, person), guard, *([owned] if i else []))
        for i, person in enumerate(named)
    ]
    if stand_ins:
        principals = sa.select(_P.c.principal).where(
            same_text(_P.c.stand_in, bound("actor", _P.c.stand_in)),
            _P.c.start_date <= bound("stand_day", _P.c.start_date),
            _P.c.end_date >= bound("stand_day", _P.c.end_date),
            _P.c.revoked.is_(False),
            *(other_text(_P.c.principal, bound(f"person_{i}", _P.c.principal)) for i in range(people)),
        )
        who.append(sa.and_(_T.c.owner.in_(principals), guard, owned))

    def pool(
        kind: AssigneeKind, name: str, principals_in: tuple[int, ...], signs: bool
    ) -> sa.ColumnElement[bool]:
        """A pool's unclaimed tasks the actor may take: with ``signs``, its approval tasks too while
        the actor (and one of the principals it is listed for) is not barred; else only its
        execution items, which bar nobody."""
        which: list[sa.ColumnElement[bool]] = [_T.c.kind != _lit(TaskKind.APPROVAL.value)]
        if signs:
            which = [guard, free(0), *([sa.or_(*(free(i) for i in principals_in))] if principals_in else [])]
        return sa.and_(
            _T.c.assignee_kind == _lit(kind.value),
            _T.c.assignee == bound(name, _T.c.assignee),
            _T.c.owner == _lit(""),
            *which,
        )

    who += [pool(AssigneeKind.LEVEL, f"level_{i}", *p) for i, p in enumerate(levels)]
    who += [pool(AssigneeKind.UNIT, f"unit_{i}", *p) for i, p in enumerate(units)]
    columns = (_T.c.id,) if count else _task_columns()
    selects = [sa.select(*columns).where(w, *common) for w in who] or [sa.select(*columns).where(sa.false())]
    if count:
        return sa.select(sa.func.count()).select_from(sa.union_all(*selects).subquery())
    order = (_T.c.due, _T.c.created_at, _T.c.id)
    if len(selects) == 1:
        return selects[0].order_by(*order).limit(limit)
    if nested:
        selects = [s.order_by(*order).limit(limit) for s in selects]
    union = sa.union_all(*selects)
    c = union.selected_columns
    return union.order_by(c.due, c.created_at, c.id).limit(limit)


def task_statement(query: TaskQuery, *, count: bool = False) -> sa.Select[Any] | sa.CompoundSelect[Any]:
    """The one SELECT of a task list (or of its count), with the query's values bound."""
    shape, values = list_shape(query, count=count)
    return list_statement(shape).params(values)


def _task_columns() -> tuple[sa.Column[Any], ...]:
    c = _T.c
    return (
        c.reception_id, c.number, c.id, c.kind, c.title, c.state, c.assignee, c.owner, c.step, c.due,
        c.created_at, c.done_at, c.outcome, c.host_unit, c.read,
    )  # fmt: skip


def rows_to_page(query: TaskQuery, rows: Sequence[Sequence[Any]]) -> TaskPage:
    """A page from the rows of :func:`task_statement` (one more than the limit: there is a next)."""
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    view = query.view
    items: list[TaskRow]
    if view in (TaskView.MINE, TaskView.DONE):  # the hot path: 待办 is read constantly
        items = _task_rows(rows, done=view is TaskView.DONE)
    elif view is TaskView.CC:
        items = [
            TaskRow(
                rid,
                number,
                "",
                "cc",
                f"{by_id} 抄送",
                state,
                at=_moment(at),
                host_unit=unit,
                read=bool(read),
                owner=by_id,
            )
            for rid, number, unit, by_id, at, read, state in rows
        ]
    else:
        items = [
            TaskRow(
                rid,
                number,
                "",
                "started",
                str(_day(start) or ""),
                state,
                at=_moment(created),
                host_unit=unit,
            )
            for rid, number, unit, state, created, start in rows
        ]
    cursor = None
    if more and items:
        last, raw = items[-1], rows[-1]
        if view is TaskView.MINE:
            cursor = _encode_cursor(last.due or _FAR, raw[10], last.task_id)
        elif view is TaskView.DONE:
            cursor = _encode_cursor(None, raw[11], last.task_id)
        elif view is TaskView.CC:
            cursor = _encode_cursor(None, raw[4], last.reception_id)
        else:
            cursor = _encode_cursor(None, raw[4], last.reception_id)
    return TaskPage(tuple(items), cursor)


def _task_rows(rows: Sequence[Sequence[Any]], *, done: bool) -> list[TaskRow]:
    """The lines of 待办 (``done``: 已办), with the dates converted as the driver returned them —
    ISO text on SQLite, typed elsewhere — decided once per page, not per value."""
    if not rows:
        return []
    due_of: Callable[[Any], date | None] = _due
    moment_of: Callable[[Any], datetime | None] = _moment
    if type(rows[0][9]) is str and type(rows[0][10]) is str:
        due_of, moment_of = _due_text, _moment_text
    elif type(rows[0][9]) is date and type(rows[0][10]) is datetime:
        due_of, moment_of = _due_typed, _aware
    return [
        TaskRow(
            rid,
            num,
            tid,
            kind,
            title,
            state,
            who,
            owner,
            step,
            due_of(due),
            None if (at := acted if done else made) is None else moment_of(at),
            out,
            unit,
            bool(read),
        )
        for rid, num, tid, kind, title, state, who, owner, step, due, made, acted, out, unit, read in rows
    ]


def _due_text(value: str) -> date | None:
    return None if value == _FAR_TEXT else date.fromisoformat(value)


def _due_typed(value: date) -> date | None:
    return None if value == _FAR else value


def _moment_text(text: str) -> datetime:
    """Stored naive UTC text made an aware moment in China time, as the records write it: parsed
    with its offset (a fifth of the cost of ``.replace(tzinfo=UTC)``), then moved to +08:00."""
    return datetime.fromisoformat(text + "+00:00").astimezone(CHINA_TZ)


def counts_from(values: Mapping[TaskView, Sequence[Any]]) -> TaskCounts:
    cc = values[TaskView.CC]
    return TaskCounts(
        mine=int(values[TaskView.MINE][0] or 0),
        done=int(values[TaskView.DONE][0] or 0),
        cc=int(cc[0] or 0),
        cc_unread=int(cc[1] or 0),
        started=int(values[TaskView.STARTED][0] or 0),
    )


def _encode_cursor(day: date | None, moment: Any, key: str) -> str:
    stamp = moment.isoformat() if isinstance(moment, datetime) else str(moment)
    return f"{day.isoformat() if day else ''}|{stamp}|{key}"


def _cursor(text: str) -> tuple[date, datetime, str]:
    day, stamp, key = text.split("|", 2)
    return (date.fromisoformat(day) if day else _FAR), datetime.fromisoformat(stamp), key


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _due(value: Any) -> date | None:
    """A stored due day (ISO text on SQLite), None for the no-due-day sentinel."""
    if type(value) is str:
        return _due_text(value)
    day = _day(value)
    return None if day == _FAR else day


def _moment(value: Any) -> datetime | None:
    """A stored moment as the records carry it: the tables hold naive UTC, the records aware times
    in China time (as the memory store's rows are, and every record the engine writes)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(CHINA_TZ) if moment.tzinfo is not None else _aware(moment)


def _aware(naive: datetime) -> datetime:
    """``naive`` (UTC) made aware, in China time: ``combine`` is the same as ``.replace(tzinfo=UTC)``
    at a quarter of its cost on CPython 3.11, whose ``replace`` parses its eight keywords on every
    call."""
    return datetime.combine(naive, naive.time(), UTC).astimezone(CHINA_TZ)


# -- verify ------------------------------------------------------------------------------------


def tasks_problem(engine: sa.Engine) -> AuditProblem | None:
    """Every ``jd_tasks`` and ``jd_copies`` row against the tasks and copies of the hashed reception:
    a row deleted, added or edited straight in the database (a task hidden from someone's 待办) is
    named with the reception number, the task and the column. One streamed pass over receptions,
    tasks and copies, each in reception order (a merge, not a table in memory)."""
    # three streams at once, each on its own connection (MySQL drivers stream one result per connection)
    with engine.connect() as a, engine.connect() as b, engine.connect() as c:
        return _merge(
            _stream(a, sa.select(_R.c.id, _R.c.data).order_by(in_code_points(_R.c.id))),
            _Cursor(
                _stream(
                    b, sa.select(*_as_stored(_T, engine)).order_by(in_code_points(_T.c.reception_id), _T.c.id)
                ),
                1,
            ),
            _Cursor(
                _stream(
                    c,
                    sa.select(*_as_stored(_CC, engine)).order_by(
                        in_code_points(_CC.c.reception_id), _CC.c.actor_id
                    ),
                ),
                0,
            ),
        )


def _merge(receptions: Iterator[Sequence[Any]], tasks: _Cursor, copies: _Cursor) -> AuditProblem | None:
    for rid, data in receptions:
        reception = decode(Reception, data)
        stored_tasks = {r[0]: dict(zip(TASK_COLUMNS, r, strict=True)) for r in tasks.take(rid)}
        expected_tasks = {t.id: task_row(reception, t) for t in reception.tasks}
        stored_copies = {r[1]: dict(zip(COPY_COLUMNS, r, strict=True)) for r in copies.take(rid)}
        expected_copies = {c.actor_id: copy_row(reception, c) for c in reception.copies}
        problem = (
            _stray_problem(tasks, copies)
            or _index_problem(reception, expected_tasks, stored_tasks, _task_named)
            or _index_problem(reception, expected_copies, stored_copies, _copy_named)
        )
        if problem is not None:
            return problem
    tasks.finish()
    copies.finish()
    return _stray_problem(tasks, copies)


def _stray_problem(tasks: _Cursor, copies: _Cursor) -> AuditProblem | None:
    """A task or copy row whose reception does not exist (the foreign key bypassed): a 待办 or 抄送
    added straight in the database, named by the reception id it claims."""
    if tasks.stray is not None:
        row = dict(zip(TASK_COLUMNS, tasks.stray, strict=True))
        zh, en = _task_named(row["id"])
        who = row["owner"] or row["assignee"]  # a pool task unclaimed has neither: its title only
        what = (
            f"{zh}（{who + '，' if who else ''}「{row['title']}」）",
            f"{en} ({who + ', ' if who else ''}{row['title']!r})",
        )
        return _problem(row["reception_id"], "", what, *_ADDED)
    if copies.stray is not None:
        row = dict(zip(COPY_COLUMNS, copies.stray, strict=True))
        what = _copy_named(row["actor_id"])
        return _problem(row["reception_id"], "", what, *_ADDED)
    return None


_ADDED = ("没有对应的接待记录，是被添加的", "has no reception: it was added")


def _task_named(key: str) -> tuple[str, str]:
    return f"任务 {key[:8]}", f"task {key[:8]}"


def _copy_named(key: str) -> tuple[str, str]:
    return f"抄送 {key}", f"copy to {key}"


def _index_problem(
    reception: Reception,
    expected: dict[str, dict[str, Any]],
    stored: dict[str, dict[str, Any]],
    named: Callable[[str], tuple[str, str]],
) -> AuditProblem | None:
    """The first index row of one reception that is missing, edited or not in its record."""
    for key, row in expected.items():
        found = stored.pop(key, None)
        if found is None:
            return _problem(
                reception.id, reception.number, named(key), "的索引行被删除", "its index row was deleted"
            )
        problem = _row_problem(reception.id, reception.number, named(key), row, found)
        if problem is not None:
            return problem
    if stored:
        extra = next(iter(stored))
        return _problem(
            reception.id, reception.number, named(extra), "不在审计记录中", "is not in the audited record"
        )
    return None


class _Cursor:
    """Rows of a stream ordered by reception id, taken one reception at a time."""

    def __init__(self, rows: Iterator[Sequence[Any]], column: int) -> None:
        self._rows = rows
        self._column = column
        self._next: Sequence[Any] | None = next(rows, None)
        self.stray: Sequence[Any] | None = None
        """The first row passed over: its reception id is none of the receptions' (the foreign key
        forbids it, but whoever writes the tables can drop the key)."""

    def take(self, reception_id: str) -> list[Sequence[Any]]:
        """The rows of ``reception_id``; a row of an id before it, which no reception has, is kept
        as :attr:`stray`."""
        found = []
        while self._next is not None and self._next[self._column] <= reception_id:
            if self._next[self._column] == reception_id:
                found.append(self._next)
            elif self.stray is None:
                self.stray = self._next
            self._next = next(self._rows, None)
        return found

    def finish(self) -> None:
        """After the last reception: a row left is of no reception either."""
        if self.stray is None:
            self.stray = self._next


def _row_problem(
    rid: str, number: str, what: tuple[str, str], expected: dict[str, Any], stored: dict[str, Any]
) -> AuditProblem | None:
    for name, value in expected.items():
        if not _equal(value, stored[name]):
            return AuditProblem(
                0,
                "",
                rid,
                f"{what[0]} 的「{name}」列为 {stored[name]!r}，审计记录中为 {value!r}：任务索引被直接改动",
                f"{what[1]}: column {name!r} holds {stored[name]!r} but the audited record says {value!r}: "
                "the task index was edited directly",
                number,
            )
    return None


def _problem(rid: str, number: str, what: tuple[str, str], zh: str, en: str) -> AuditProblem:
    return AuditProblem(
        0,
        "",
        rid,
        f"{what[0]} {zh}：任务索引被直接改动",
        f"{what[1]} {en}: the task index was edited",
        number,
    )


def _as_stored(table: sa.Table, engine: sa.Engine) -> list[sa.ColumnElement[Any]]:
    """Every column, dates and times as SQLite stores them (compared as text by :func:`_equal`)."""
    return [as_stored(column, engine.dialect) for column in table.columns]


def _equal(expected: Any, stored: Any) -> bool:
    if isinstance(expected, date) and stored is not None and not isinstance(stored, date):
        return isinstance(stored, str) and stored == stored_text(expected)  # SQLite: the form written
    if isinstance(expected, datetime) and stored is not None:
        stored_dt = _moment(stored)  # aware; the row's expected value is naive UTC, as stored
        instant = expected if expected.tzinfo is not None else expected.replace(tzinfo=UTC)
        return stored_dt is not None and instant == stored_dt
    if isinstance(expected, date) and stored is not None:
        return expected == _day(stored)
    if isinstance(expected, bool):
        return expected == bool(stored)
    return bool(expected == stored)


def _stream(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[Sequence[Any]]:
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    try:
        yield from result
    finally:
        result.close()


def write_rows(
    execute: Any, reception: Reception, tasks: Iterable[Task], copies: Iterable[CarbonCopy]
) -> None:
    """Write the index rows of new and changed tasks and copies with ``execute(name, rows)``: one
    upsert each (a changed task replaces its row)."""
    task_rows = [task_row(reception, t) for t in tasks]
    if task_rows:
        execute("upsert_task", task_rows)
    copy_rows = [copy_row(reception, c) for c in copies]
    if copy_rows:
        execute("upsert_copy", copy_rows)

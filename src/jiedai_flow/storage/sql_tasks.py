"""The task lists on SQL 待办/已办/抄送/发起: the rows of ``jd_tasks`` and ``jd_copies`` a command
writes, the indexed queries that read them, and verify's check of every row against the hashed
reception.

A task list never loads a reception: each list is one indexed SELECT over the task index (the
owner's or the pool's index for 待办, the actor's for 已办 and 抄送, the handler's for 我发起的),
ordered by due day and paged by keyset cursor.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jiedai_flow.audit import AuditProblem
from jiedai_flow.records import (
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
from jiedai_flow.storage.codec import decode
from jiedai_flow.storage.sql_outbox import utc

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

_T, _CC, _R = schema.tasks, schema.copies, schema.receptions

TASK_COLUMNS = tuple(c.name for c in _T.columns)
COPY_COLUMNS = tuple(c.name for c in _CC.columns)
_FAR = date(9999, 12, 31)
"""Where a task without a due day sorts: last."""


def task_title(reception: Reception, task: Task) -> str:
    """What a task list shows as the task: the step's label, or the execution item."""
    if task.kind is TaskKind.EXECUTION:
        return task.title
    chain = reception.approval_chain
    step = chain[task.step] if 0 <= task.step < len(chain) else None
    label = step.shown if step is not None else task.assignee.shown
    return f"{label}（{step.kind.label}）" if step is not None and step.kind.value != "single" else label


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
        "title": task_title(reception, task)[:200],
        "due": task.due,
        "created_at": utc(task.created_at),
        "done_by": task.done_by,
        "done_at": utc(task.done_at) if task.done_at is not None else None,
        "outcome": task.outcome,
        "read": task.read_at is not None,
    }


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


STATEMENTS: dict[str, sa.ClauseElement] = {
    "delete_task": _T.delete().where(_T.c.id == sa.bindparam("b_id")),
    "insert_task": _T.insert(),
    "delete_copy": _CC.delete().where(
        _CC.c.reception_id == sa.bindparam("b_reception"), _CC.c.actor_id == sa.bindparam("b_actor")
    ),
    "insert_copy": _CC.insert(),
}
"""Compiled once per dialect by the store, executed in the command's transaction."""


# -- the lists ---------------------------------------------------------------------------------


def _mine_condition(query: TaskQuery) -> sa.ColumnElement[bool]:
    people = sorted({query.actor_id, *query.principals})
    pools: list[sa.ColumnElement[bool]] = []
    if query.levels:
        pools.append(
            sa.and_(_T.c.assignee_kind == AssigneeKind.LEVEL.value, _T.c.assignee.in_(sorted(query.levels)))
        )
    if query.unit:
        pools.append(sa.and_(_T.c.assignee_kind == AssigneeKind.UNIT.value, _T.c.assignee == query.unit))
    who: sa.ColumnElement[bool] = _T.c.owner.in_(people)
    if pools:
        unclaimed = sa.and_(
            _T.c.owner == "",
            sa.or_(*pools),
            # the handler never acts on an approval task of their own reception
            sa.or_(_T.c.kind != TaskKind.APPROVAL.value, _T.c.handler_id != query.actor_id),
        )
        who = sa.or_(who, unclaimed)
    return sa.and_(_T.c.state == TaskState.OPEN.value, who)


def _filters(query: TaskQuery, table: sa.Table) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if query.jurisdiction is not None and "jurisdiction" in table.c:
        conditions.append(table.c.jurisdiction == query.jurisdiction)
    if query.kind is not None and table is _T:
        conditions.append(_T.c.kind == query.kind.value)
    return conditions


def task_statement(query: TaskQuery, *, count: bool = False) -> sa.Select[Any]:
    """The one SELECT of a task list (or of its count)."""
    view = query.view
    if view is TaskView.MINE:
        due = sa.func.coalesce(_T.c.due, _FAR)
        conditions = [_mine_condition(query), *_filters(query, _T)]
        if query.due_by is not None:
            conditions.append(_T.c.due <= query.due_by)
        if count:
            return sa.select(sa.func.count()).select_from(_T).where(*conditions)
        if query.after is not None:
            d, c, i = _cursor(query.after)
            conditions.append(
                sa.or_(
                    due > d,
                    sa.and_(due == d, _T.c.created_at > c),
                    sa.and_(due == d, _T.c.created_at == c, _T.c.id > i),
                )
            )
        return (
            sa.select(*_task_columns())
            .where(*conditions)
            .order_by(due, _T.c.created_at, _T.c.id)
            .limit(query.limit + 1)
        )
    if view is TaskView.DONE:
        conditions = [_T.c.done_by == query.actor_id, *_filters(query, _T)]
        if count:
            return sa.select(sa.func.count()).select_from(_T).where(*conditions)
        if query.after is not None:
            _, c, i = _cursor(query.after)
            conditions.append(sa.or_(_T.c.done_at < c, sa.and_(_T.c.done_at == c, _T.c.id < i)))
        return (
            sa.select(*_task_columns())
            .where(*conditions)
            .order_by(_T.c.done_at.desc(), _T.c.id.desc())
            .limit(query.limit + 1)
        )
    if view is TaskView.CC:
        conditions = [_CC.c.actor_id == query.actor_id]
        if count:
            unread: sa.ColumnElement[Any] = sa.func.sum(sa.case((_CC.c.read, 0), else_=1))
            counted: sa.Select[Any] = sa.select(sa.func.count(), unread).where(*conditions)
            return counted
        if query.after is not None:
            _, c, i = _cursor(query.after)
            conditions.append(sa.or_(_CC.c.at < c, sa.and_(_CC.c.at == c, _CC.c.reception_id < i)))
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
            .limit(query.limit + 1)
        )
    conditions = [_R.c.handler_id == query.actor_id, *_filters(query, _R)]
    if count:
        return sa.select(sa.func.count()).select_from(_R).where(*conditions)
    if query.after is not None:
        _, c, i = _cursor(query.after)
        conditions.append(sa.or_(_R.c.created_at < c, sa.and_(_R.c.created_at == c, _R.c.id < i)))
    return (
        sa.select(_R.c.id, _R.c.number, _R.c.host_unit, _R.c.state, _R.c.created_at, _R.c.start_date)
        .where(*conditions)
        .order_by(_R.c.created_at.desc(), _R.c.id.desc())
        .limit(query.limit + 1)
    )


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
    items: list[TaskRow] = []
    view = query.view
    for row in rows:
        if view in (TaskView.MINE, TaskView.DONE):
            (
                rid,
                number,
                tid,
                kind,
                title,
                state,
                assignee,
                owner,
                step,
                due,
                created,
                done_at,
                outcome,
                unit,
                read,
            ) = row
            items.append(
                TaskRow(
                    rid,
                    number,
                    tid,
                    kind,
                    title,
                    state,
                    assignee,
                    owner,
                    step,
                    _day(due),
                    _moment(done_at if view is TaskView.DONE else created),
                    outcome,
                    unit,
                    bool(read),
                )
            )
        elif view is TaskView.CC:
            rid, number, unit, by_id, at, read, state = row
            items.append(
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
            )
        else:
            rid, number, unit, state, created, start = row
            items.append(
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
            )
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


def _moment(value: Any) -> datetime | None:
    """A stored moment as the records carry it: the tables hold naive UTC, the records aware times
    (as the memory store's rows are)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- verify ------------------------------------------------------------------------------------


def tasks_problem(engine: sa.Engine) -> AuditProblem | None:
    """Every ``jd_tasks`` and ``jd_copies`` row against the tasks and copies of the hashed reception:
    a row deleted, added or edited straight in the database (a task hidden from someone's 待办) is
    named with the reception number, the task and the column. One streamed pass over receptions,
    tasks and copies, each in reception order (a merge, not a table in memory)."""
    # three streams at once, each on its own connection (MySQL drivers stream one result per connection)
    with engine.connect() as a, engine.connect() as b, engine.connect() as c:
        return _merge(
            _stream(a, sa.select(_R.c.id, _R.c.data).order_by(_R.c.id)),
            _Cursor(_stream(b, sa.select(*_T.c).order_by(_T.c.reception_id, _T.c.id)), 1),
            _Cursor(_stream(c, sa.select(*_CC.c).order_by(_CC.c.reception_id, _CC.c.actor_id)), 0),
        )


def _merge(receptions: Iterator[Sequence[Any]], tasks: _Cursor, copies: _Cursor) -> AuditProblem | None:
    for rid, data in receptions:
        reception = decode(Reception, data)
        stored_tasks = {r[0]: dict(zip(TASK_COLUMNS, r, strict=True)) for r in tasks.take(rid)}
        for task in reception.tasks:
            what = (f"任务 {task.id[:8]}", f"task {task.id[:8]}")
            row = stored_tasks.pop(task.id, None)
            if row is None:
                return _problem(rid, reception.number, what, "的索引行被删除", "its index row was deleted")
            problem = _row_problem(rid, reception.number, what, task_row(reception, task), row)
            if problem is not None:
                return problem
        if stored_tasks:
            extra = next(iter(stored_tasks))
            return _problem(
                rid,
                reception.number,
                (f"任务 {extra[:8]}", f"task {extra[:8]}"),
                "不在审计记录中",
                "is not in the audited record",
            )
        stored_copies = {r[1]: dict(zip(COPY_COLUMNS, r, strict=True)) for r in copies.take(rid)}
        for copy in reception.copies:
            what = (f"抄送 {copy.actor_id}", f"copy to {copy.actor_id}")
            row = stored_copies.pop(copy.actor_id, None)
            if row is None:
                return _problem(rid, reception.number, what, "的索引行被删除", "its index row was deleted")
            problem = _row_problem(rid, reception.number, what, copy_row(reception, copy), row)
            if problem is not None:
                return problem
        if stored_copies:
            extra = next(iter(stored_copies))
            return _problem(
                rid,
                reception.number,
                (f"抄送 {extra}", f"copy to {extra}"),
                "不在审计记录中",
                "is not in the audited record",
            )
    return None


class _Cursor:
    """Rows of a stream ordered by reception id, taken one reception at a time."""

    def __init__(self, rows: Iterator[Sequence[Any]], column: int) -> None:
        self._rows = rows
        self._column = column
        self._next: Sequence[Any] | None = next(rows, None)

    def take(self, reception_id: str) -> list[Sequence[Any]]:
        """The rows of ``reception_id`` (rows of receptions before it, which cannot exist with the
        foreign key, are skipped)."""
        found = []
        while self._next is not None and self._next[self._column] <= reception_id:
            if self._next[self._column] == reception_id:
                found.append(self._next)
            self._next = next(self._rows, None)
        return found


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


def _equal(expected: Any, stored: Any) -> bool:
    if isinstance(expected, datetime) and stored is not None:
        stored_dt = _moment(stored)
        return stored_dt is not None and expected.replace(tzinfo=None) == stored_dt.replace(tzinfo=None)
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
    """Write the index rows of changed tasks and copies with ``execute(name, rows)`` (delete, then
    insert: a changed task replaces its row)."""
    task_rows = [task_row(reception, t) for t in tasks]
    if task_rows:
        execute("delete_task", [{"b_id": r["id"]} for r in task_rows])
        execute("insert_task", task_rows)
    copy_rows = [copy_row(reception, c) for c in copies]
    if copy_rows:
        execute(
            "delete_copy", [{"b_reception": r["reception_id"], "b_actor": r["actor_id"]} for r in copy_rows]
        )
        execute("insert_copy", copy_rows)

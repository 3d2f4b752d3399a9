"""Stand-ins 代理 on SQL: the rows of ``jd_proxies``, one in force per designation however many
processes set it at once (a unique index on the designation in force, and one on the request id),
read a page at a time by keyset over ``at, id``.

Whom a stand-in acts for today is read with the task lists (:mod:`jiedai_flow.storage.sql.tasks`).
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.records import Proxy, ProxyPage, ProxyQuery, ProxyResult, proxy_cursor
from jiedai_flow.errors import StorageError
from jiedai_flow.storage import schema
from jiedai_flow.storage.base import next_cursor, proxy_key_reused
from jiedai_flow.storage.sql.races import Race, retryable, run_again_on_race
from jiedai_flow.storage.sql.statements import same_text, utc

if TYPE_CHECKING:
    from collections.abc import Sequence

_P = schema.proxies
_COLUMNS = (
    _P.c.id,
    _P.c.principal,
    _P.c.stand_in,
    _P.c.start_date,
    _P.c.end_date,
    _P.c.reason,
    _P.c.set_by,
    _P.c.at,
    _P.c.revoked,
)


def designate(db: sa.Engine, proxy: Proxy, request_id: str | None) -> ProxyResult:
    """:meth:`~jiedai_flow.storage.base.TaskStore.designate` on ``db``: looked for, then written;
    a writer that lost the race to the same row (the unique indexes refuse its insert) looks again."""
    return run_again_on_race(
        lambda: _designate(db, proxy, request_id),
        lambda: StorageError(
            "代理多次写入冲突，请重试", "the stand-in kept conflicting with other writers; retry"
        ),
    )


def _designate(db: sa.Engine, proxy: Proxy, request_id: str | None) -> ProxyResult:
    try:
        with db.begin() as conn:
            if request_id is not None:
                row = conn.execute(sa.select(*_COLUMNS).where(_is(_P.c.request_id, request_id))).first()
                if row is not None:
                    made = _proxy(row)
                    if not made.same_request(proxy):
                        raise proxy_key_reused(request_id, made, proxy)
                    return ProxyResult(made, created=False)
            in_force = sa.select(*_COLUMNS).where(
                _is(_P.c.principal, proxy.principal),
                _is(_P.c.stand_in, proxy.stand_in),
                _P.c.start_date == proxy.start,
                _P.c.end_date == proxy.end,
                _P.c.in_force.is_(True),
            )
            row = conn.execute(in_force).first()
            if row is not None:
                return ProxyResult(_proxy(row), created=False)
            conn.execute(_P.insert().values(proxy_row(proxy, request_id)))
    except sa.exc.IntegrityError as error:
        raise Race from error  # the same designation or request id was written meanwhile: look again
    except sa.exc.DBAPIError as error:
        if retryable(error.orig or error):
            raise Race from error
        raise
    return ProxyResult(proxy, created=True)


def save(db: sa.Engine, proxy: Proxy) -> None:
    """Replace the row of ``proxy`` by id (revoking it), keeping the request id that made it."""
    values = proxy_row(proxy)
    del values["request_id"]
    with db.begin() as conn:
        if conn.execute(_P.update().where(_P.c.id == proxy.id).values(values)).rowcount == 0:
            conn.execute(_P.insert().values(values))


def every(db: sa.Engine) -> Sequence[Proxy]:
    """Every row, in the order they were set."""
    with db.connect() as conn:
        rows = conn.execute(sa.select(*_COLUMNS).order_by(_P.c.at, _P.c.id)).all()
    return tuple(_proxy(row) for row in rows)


def page(db: sa.Engine, query: ProxyQuery) -> ProxyPage:
    """One page, the latest set first: every filter (whose it is included) is in the statement, so
    the page holds ``limit`` rows while more match."""
    conditions: list[sa.ColumnElement[Any]] = []
    if query.party is not None:
        conditions.append(sa.or_(_is(_P.c.principal, query.party), _is(_P.c.stand_in, query.party)))
    if query.principal is not None:
        conditions.append(_is(_P.c.principal, query.principal))
    if query.stand_in is not None:
        conditions.append(_is(_P.c.stand_in, query.stand_in))
    if query.active_on is not None:
        day = query.active_on
        # why revoked, not in_force: the task lists read stand-ins so (sql/tasks.py), and a row an
        # older version wrote during a rolling upgrade has no in_force
        conditions += [_P.c.revoked.is_(False), _P.c.start_date <= day, _P.c.end_date >= day]
    after = proxy_cursor(query.after) if query.after is not None else None
    if after is not None:
        at, last_id = utc(after[0]), after[1]
        conditions.append(sa.or_(_P.c.at < at, sa.and_(_P.c.at == at, _P.c.id < last_id)))
    statement = (
        sa.select(*_COLUMNS)
        .where(*conditions)
        .order_by(_P.c.at.desc(), _P.c.id.desc())
        .limit(query.limit + 1)
    )
    with db.connect() as conn:
        rows = conn.execute(statement).all()
    items = tuple(_proxy(row) for row in rows[: query.limit])
    return ProxyPage(items, next_cursor(items, len(rows) > query.limit))


def find(db: sa.Engine, ref: str) -> Proxy | None:
    """The row whose id is ``ref``, else the first (by id) whose id starts with it."""
    exact = sa.select(*_COLUMNS).where(_is(_P.c.id, ref))
    starting = sa.select(*_COLUMNS).where(_P.c.id.startswith(ref, autoescape=True)).order_by(_P.c.id).limit(1)
    with db.connect() as conn:
        row = conn.execute(exact).first() or conn.execute(starting).first()
    return None if row is None else _proxy(row)


def _is(column: sa.Column[Any], value: str) -> sa.ColumnElement[Any]:
    """``column = value`` to the letter (see :class:`~jiedai_flow.storage.sql.statements.same_text`)."""
    return same_text(column, sa.literal(value, column.type))


def proxy_row(proxy: Proxy, request_id: str | None = None) -> dict[str, Any]:
    """``proxy`` as its ``jd_proxies`` row (made with ``request_id``)."""
    return {
        "id": proxy.id,
        "principal": proxy.principal,
        "stand_in": proxy.stand_in,
        "start_date": proxy.start,
        "end_date": proxy.end,
        "reason": proxy.reason,
        "set_by": proxy.set_by,
        "at": utc(proxy.at),
        "revoked": proxy.revoked,
        # NULL once revoked: the unique index then lets the same designation be set anew
        "in_force": None if proxy.revoked else True,
        "request_id": request_id,
    }


def _proxy(row: Sequence[Any]) -> Proxy:
    i, principal, stand_in, start, end, reason, set_by, at, revoked = row
    # the table holds naive UTC; the record is in China time, as the engine made it
    moment = at.replace(tzinfo=UTC).astimezone(CHINA_TZ)
    return Proxy(i, principal, stand_in, start, end, reason, set_by, moment, bool(revoked))

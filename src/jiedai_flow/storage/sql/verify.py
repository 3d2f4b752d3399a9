"""What verify checks besides the hash chain 校验派生列: every typed column reports or decisions read,
recomputed from the hashed record, and each event's outbox rows against its recorded digest."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jiedai_flow.domain.records import AuditEvent, LedgerEntry, Reception
from jiedai_flow.storage import schema
from jiedai_flow.storage.chain import AuditProblem, outbox_digest
from jiedai_flow.storage.codec import decode
from jiedai_flow.storage.sql.outbox import DIGEST_KEY
from jiedai_flow.storage.sql.statements import as_stored, stored_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

_R, _E, _O = schema.receptions, schema.audit_events, schema.outbox
_C, _N = schema.commands, schema.counters


RECEPTION_COLUMNS_FROM_DATA: dict[str, Callable[[Reception], Any]] = {
    "number": lambda r: r.number,
    "jurisdiction": lambda r: r.jurisdiction,
    "host_unit": lambda r: r.host_unit,
    "reception_type": lambda r: r.reception_type.value,
    "state": lambda r: r.state,
    "start_date": lambda r: r.start,
    "end_date": lambda r: r.end,
    "planned_fen": lambda r: r.plan.planned_fen,
    "actual_fen": lambda r: None if r.reception_list is None else r.reception_list.total_fen,
    "version": lambda r: r.version,
    "process": lambda r: r.process,
    "rule_pack": lambda r: r.rule_pack,
    "created_at": lambda r: r.created_at,
    "updated_at": lambda r: r.updated_at,
    "handler_id": lambda r: r.handler.id,
    "guests": lambda r: report_columns(r)["guests"],
    "item_count": lambda r: report_columns(r)["item_count"],
}
"""Each typed column of ``jd_receptions`` that reports or decisions read, as computed from the
hashed record: verify recomputes every one and names any that differs."""

RECEPTION_COLUMNS_EXEMPT = {
    "id": "the key that joins the row to its events (an edited id breaks the chain)",
    "data": "the record itself, hashed into the last event (state_hash)",
    "last_hash": "the chain position, compared with the last event",
}
"""Columns of ``jd_receptions`` not recomputed, and why; a test keeps the two tables complete."""


def typed_columns_problem(
    conn: sa.Connection, committed: dict[tuple[str, int], int] | None = None
) -> AuditProblem | None:
    """The first reception row whose typed columns differ from its hashed record; on the way, each
    record's budget commitment is added up in ``committed`` by host unit and year (for
    :func:`ledger_problem`, without decoding every record twice)."""
    names = list(RECEPTION_COLUMNS_FROM_DATA)
    query = sa.select(_R.c.id, _R.c.data, *(as_stored(_R.c[n], conn.dialect) for n in names)).order_by(
        _R.c.id
    )
    with _streamed(conn, query) as rows:
        for rid, data, *typed in rows:
            reception = decode(Reception, data)
            problem = _reception_columns_problem(names, rid, reception, typed)
            if problem is not None:
                return problem
            if committed is not None and reception.budget_committed_fen:
                key = (reception.host_unit, reception.start.year)
                committed[key] = committed.get(key, 0) + reception.budget_committed_fen
    return None


def ledger_problem(conn: sa.Connection, committed: dict[tuple[str, int], int]) -> AuditProblem | None:
    """Each budget ledger row's ``committed_fen`` against the commitments the hashed receptions hold
    (``Reception.budget_committed_fen``, by host unit and start year — the ledger entry a command
    books is exactly the change of that field, and neither the host unit nor the start changes after
    registration), and each row's key against its host unit and year (the store finds a row by key).
    ``spent_fen`` is not recomputed: what was spent is booked when a reception enters a *settled
    phase*, which only the process definition knows, not the store."""
    _L = schema.budget_ledger
    # the commitments of each row as the store books them: it finds a row by key in the database,
    # whose collation may take keys Python tells apart as one (MySQL/MariaDB ignore case and
    # trailing spaces), so each unit and year is looked up there, not matched in Python
    by_row: dict[str, int] = {}
    missing: dict[tuple[str, int], int] = {}
    for (unit, year), amount in committed.items():
        found = conn.execute(sa.select(_L.c.key).where(_L.c.key == LedgerEntry(unit, year).key)).scalar()
        if found is None:
            missing[unit, year] = amount
        else:
            by_row[found] = by_row.get(found, 0) + amount
    for key, host_unit, year, stored in conn.execute(
        sa.select(_L.c.key, _L.c.host_unit, _L.c.year, _L.c.committed_fen).order_by(_L.c.key)
    ).all():  # a row per host unit and year: few, read whole (no server cursor left open on a return)
        expected = by_row.pop(key, 0)
        if key != LedgerEntry(host_unit, int(year)).key:
            zh = f"的行键「{key}」与其单位、年度（{host_unit}，{year}）不符"
            en = f"row {key!r} does not match its host unit and year ({host_unit}, {year})"
        elif int(stored) != expected:
            zh = (
                f"{host_unit} {year} 年的「committed_fen」为 {stored}，"
                f"审计记录中各接待占用的预算合计为 {expected}"
            )
            en = (
                f"column 'committed_fen' of {host_unit} in {year} holds {stored} but the audited "
                f"receptions hold {expected} committed"
            )
        else:
            continue
        return _ledger(zh, en)
    for (host_unit, year), expected in sorted(missing.items()):
        return _ledger(
            f"缺少 {host_unit} {year} 年的行，审计记录中各接待占用的预算合计为 {expected}",
            f"has no row for {host_unit} in {year}, though the audited receptions hold {expected} committed",
        )
    return None


def _ledger(zh: str, en: str) -> AuditProblem:
    """A budget ledger that no longer matches the hashed receptions: whoever lowered it could get an
    approval past the annual cap (F-05)."""
    return AuditProblem(
        0,
        "",
        "",
        f"预算台账（jd_budget_ledger）{zh}：台账被直接改动，可能放过超出年度预算的审批",
        f"the budget ledger (jd_budget_ledger) {en}: the ledger was edited directly and could let an "
        "approval past the annual budget",
    )


def _reception_columns_problem(
    names: list[str], rid: str, reception: Reception, typed: list[Any]
) -> AuditProblem | None:
    for name, stored in zip(names, typed, strict=True):
        expected = RECEPTION_COLUMNS_FROM_DATA[name](reception)
        if not _column_equal(expected, stored):
            return AuditProblem(
                0,
                "",
                rid,
                f"的「{name}」列为 {stored!r}，审计记录中为 {expected!r}：该列被直接改动",
                f"column {name!r} holds {stored!r} but the audited record says {expected!r}: "
                "the column was edited directly",
                reception.number,
            )
    return None


def events_problem(conn: sa.Connection) -> AuditProblem | None:
    """Each event's ``violations`` column against the findings in its hashed content, and its
    outbox rows against the digest that content records — in one pass over the trail. Reminders,
    written later by the deadline scan, are no command's and are left out; so are the outbox rows
    of events written before the digest existed, which carry no ``outbox_digest`` key."""
    outbox: dict[str, list[tuple[str, str]]] = {}
    for row_id, event_id, data in conn.execute(
        sa.select(_O.c.id, _O.c.event_id, _O.c.data).where(sa.not_(_O.c.topic.startswith("remind:")))
    ):
        outbox.setdefault(event_id, []).append((row_id, data))
    query = (
        sa.select(
            _E.c.shard, _E.c.chain_index, _E.c.id, _E.c.reception_id, _E.c.violations, _E.c.data, _R.c.number
        )
        .select_from(_E.outerjoin(_R, _E.c.reception_id == _R.c.id))  # a row gone: see finish
        .order_by(_E.c.shard, _E.c.chain_index)
    )
    with _streamed(conn, query) as rows:
        for shard, index, event_id, rid, stored, data, number in rows:
            event = decode(AuditEvent, data)
            expected = sum(f.refuses for f in event.findings)  # as written at save
            if stored != expected:
                zh = f"的「violations」列为 {stored}，审计记录中的违规结果为 {expected} 项：该列被直接改动"
                en = (
                    f"column 'violations' holds {stored} but the audited event has {expected} violating "
                    "finding(s): the column was edited directly"
                )
            elif _DIGEST_KEY in data and event.outbox_digest != outbox_digest(outbox.pop(event_id, ())):
                zh = "的通知（发件箱）与审计记录不符：有通知被删除、改动或添加"
                en = (
                    "its outbox rows do not match the audited event: a notification was deleted, "
                    "edited or added"
                )
            else:
                continue
            return AuditProblem(int(index), event_id, rid, zh, en, number or "", shard=int(shard))
    return stray_outbox_problem(conn)


def stray_outbox_problem(conn: sa.Connection) -> AuditProblem | None:
    """The first outbox row (reminders too) that is no notification of an event of its reception —
    its event or reception does not exist, or the event is another reception's: a notification
    added (or moved) straight in the database, which the dispatcher would otherwise send. The
    database finds them (an anti-join), so verify holds no outbox row in memory for this."""
    query = (
        sa.select(_O.c.id, _O.c.reception_id, _O.c.event_id, _O.c.topic, _R.c.number)
        .select_from(_O.outerjoin(_E, _E.c.id == _O.c.event_id).outerjoin(_R, _R.c.id == _O.c.reception_id))
        .where(sa.or_(_E.c.id.is_(None), _R.c.id.is_(None), _E.c.reception_id != _O.c.reception_id))
        .order_by(_O.c.id)
        .limit(1)
    )
    found = conn.execute(query).first()
    if found is None:
        return None
    row_id, rid, event_id, topic, number = found
    return AuditProblem(
        0,
        "",
        rid,
        f"的通知 {row_id}（{topic}，审计记录 {event_id}）不属于该接待的任何审计记录：通知被添加或改动",
        f"notification {row_id} ({topic}, event {event_id}) belongs to no audited event of this "
        "reception: a notification was added or moved",
        number or "",
    )


def number_from_commands(conn: sa.Connection, reception_id: str) -> str:
    """A reception's number as its command log recorded it ("" if none did): names a reception
    whose row was deleted. For the message only — the log is not part of the hashed trail."""
    result = conn.execute(sa.select(_C.c.result).where(_C.c.reception_id == reception_id).limit(1)).scalar()
    try:
        return "" if result is None else str(json.loads(result)["reception"]["number"])
    except (ValueError, KeyError, TypeError):
        return ""


def numbering_problem(conn: sa.Connection) -> AuditProblem | None:
    """Two receptions with one number, or a numbering counter below the highest number issued under
    its key: a counter turned back in the database makes the next registration reuse a number (the
    store refuses it, but a database written before that may hold duplicates). Numbers are
    ``{jurisdiction}-{year}-{n:05d}`` under counter ``{jurisdiction}:{year}`` (``Engine.create_reception``);
    one streamed pass keeps only the highest number of each key."""
    twice = conn.execute(
        sa.select(_R.c.number, sa.func.count()).group_by(_R.c.number).having(sa.func.count() > 1).limit(1)
    ).first()
    if twice is not None:
        return AuditProblem(
            0,
            "",
            "",
            f"：编号重复，{twice[1]} 件接待使用同一编号（编号计数器曾被回拨）",
            f"{twice[1]} receptions hold this number, more than one: the numbering counter was turned back",
            twice[0],
        )
    highest: dict[str, tuple[int, str, str]] = {}
    with _streamed(conn, sa.select(_R.c.id, _R.c.number)) as rows:
        for rid, number in rows:
            issued = _ISSUED.fullmatch(number)
            if issued is not None:
                key, n = f"{issued['jurisdiction']}:{issued['year']}", int(issued["n"])
                if n > highest.get(key, (0, "", ""))[0]:
                    highest[key] = (n, rid, number)
    counters = dict(conn.execute(sa.select(_N.c.key, _N.c.value)).all())
    for key, (n, rid, number) in sorted(highest.items()):
        value = counters.get(key)
        if value is None or int(value) < n:
            shown = "缺失" if value is None else str(value)
            return AuditProblem(
                0,
                "",
                rid,
                f"：编号计数器「{key}」为 {shown}，低于已发出的编号 {number}——计数器被回拨或删除，"
                "下一件接待将重复使用已有编号",
                f"the numbering counter {key!r} holds {'nothing' if value is None else value}, below "
                f"number {number} already issued: the counter was turned back or deleted, and the next "
                "reception would reuse an existing number",
                number,
            )
    return None


_ISSUED = re.compile(r"(?P<jurisdiction>.+)-(?P<year>\d{4})-(?P<n>\d+)")
"""A number the engine issues, with the counter key and value it came from."""


_DIGEST_KEY = DIGEST_KEY
"""The key as stored JSON writes it: only a key can hold it unescaped, so its absence marks an
event written before notifications were bound into the event hash (the dispatcher reads it so too)."""


@contextmanager
def _streamed(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[Iterable[Sequence[Any]]]:
    """Rows in batches from a server-side cursor where the driver has one: verify reads the whole
    trail and must not hold it in memory; a verify that stops early closes the cursor."""
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(query)
    try:
        yield result
    finally:
        result.close()


def _column_equal(expected: Any, stored: Any) -> bool:
    if isinstance(expected, date) and not isinstance(stored, date):  # SQLite's raw text, or junk
        return isinstance(stored, str) and stored == stored_text(expected)
    if isinstance(expected, datetime) and isinstance(stored, datetime):
        moment = expected.astimezone(UTC).replace(tzinfo=None) if expected.tzinfo else expected
        plain = stored.astimezone(UTC).replace(tzinfo=None) if stored.tzinfo else stored
        return moment.replace(microsecond=0) == plain.replace(microsecond=0)
    return bool(expected == stored)


def report_columns(r: Reception, prefix: str = "") -> dict[str, Any]:
    """The typed columns a command can change besides the state: money in fen and counts."""
    listing = r.reception_list
    return {
        f"{prefix}planned_fen": r.plan.planned_fen,
        f"{prefix}actual_fen": None if listing is None else listing.total_fen,
        f"{prefix}guests": len(listing.guests if listing is not None else r.letter.personnel),
        f"{prefix}item_count": len(listing.items) + len(listing.meals)
        if listing is not None
        else len(r.plan.activities) + len(r.plan.meals),
    }

#!/usr/bin/env python
"""Storage benchmark 存储性能基准: the SQL back end against hand-written driver code, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_storage.py                   # full run (a few minutes)
    .venv/bin/python benchmarks/bench_storage.py --quick           # short run (< ~30 s)
    .venv/bin/python benchmarks/bench_storage.py --receptions 200000 --profile

What is measured (see docs/performance.md, 存储 Storage):

1. SQLite lifecycles per second: full lifecycles (create → submit → approve → start → finish →
   claim with a reception list paid by 公务卡 → settle → archive, every command with a request id)
   through ``make_engine(url="sqlite:///<tmp>/engine.db")`` (WAL, synchronous=FULL, the default),
   against a raw floor: the same rows written with the ``sqlite3`` driver at the same durability,
   one ``BEGIN IMMEDIATE … COMMIT`` per command, on a second file created by
   ``jiedai_flow.storage.migrate.upgrade`` (identical schema and indexes).
2. The same on PostgreSQL (if reachable): the engine on ``postgresql+psycopg://…`` against raw
   psycopg (same statements, one transaction per command, ``SELECT … FOR UPDATE`` on the head of
   the reception's shard); then 1, 2 and 4 concurrent writer processes, each running lifecycles on
   its own receptions, for the engine and for a raw floor without the chain (the same inserts and
   updates, no chain head read or written, no chain hash): total lifecycles/s. What is left
   between them is what the chain costs under concurrency. Private schemas, dropped at the end.
3. Reports: a SQLite database of N receptions (default 1,000,000; bulk-loaded with the raw driver
   and cached under /tmp/jiedai-bench/, keyed by N, so re-runs skip the load), then the annual
   statistics by jurisdiction and month: ``SQLStore(url).monthly_statistics(2025)`` against the
   same GROUP BY written by hand with ``sqlite3`` — the plans are printed and must be the same.

The floor writes the rows the store writes for each command — the reception row (INSERT, or a
compare-and-set UPDATE on version), budget ledger rows where the engine books them, the audit
event with its hashes, the outbox row where the engine writes a notification, the idempotency
record, the chain head, the counter on create — after reading the reception row and the chain
head. Payloads: each step's reception JSON is serialized once, outside the timed loop, from a real
lifecycle (``codec.encode``) and reused as text; each audit event is ``json.dumps`` of the real
event's dict with fresh ids (sorted keys, like ``codec.canonical``), hashed per event with hashlib
as the store does (``sm3`` where available: the state hash of the reception JSON when the schema
has it, the event hash, the chain hash); each outbox row is ``json.dumps`` of the real
notification's dict with fresh ids; the idempotency record wraps the reception and event JSON like
the store. Delivery marks (``UPDATE jd_outbox SET status='delivered'``) go into the next command's
transaction, as the store does them. ``SQLStore.verify()`` is run on every database afterwards: the
floor's rows pass the library's own audit check.

One more column explains the difference: ``memory`` is the engine on ``memory://`` (its own work
without a database). The statements (SQLite) or round trips (PostgreSQL) and commits per lifecycle
of both sides are counted and printed.

Method: ``time.perf_counter_ns``; the columns take turns in rounds (the first round is a warm-up
and is discarded), ratios are the median of per-round ratios; the garbage collector is collected
before and disabled during timed loops. ``--profile`` adds a cProfile of the engine on SQLite,
summed by cost (commit, SQL, JSON, hashing, pluggy, SQLAlchemy, …).

The last five lines are machine-readable::

    RATIO lifecycle sqlite engine/raw = X     (target ≤ 1.5)
    RATIO lifecycle postgres engine/raw = Y   (target ≤ 1.5; "n/a (unreachable)" without a server)
    RATIO report engine/raw = Z               (target ≤ 1.2)
    RATIO writers4 engine/raw = W             (throughput, 4 writers, target ≥ 0.67)
    RATIO writers 4/1 = V                     (engine throughput, 4 writers over 1)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import inspect
import itertools
import json
import multiprocessing as mp
import os
import platform
import pstats
import queue
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from jiedai_flow.domain import model
from jiedai_flow.domain.model import Payment, PaymentMethod, ReceptionList
from jiedai_flow.storage import codec, schema
from jiedai_flow.storage import sql as sql_module
from jiedai_flow.storage.chain import GENESIS, preferred_algorithm, shard_of
from jiedai_flow.storage.migrate import head_revision, upgrade
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.storage.sql import tasks as sql_tasks
from jiedai_flow.storage.sql.outbox import INLINE_LEASE, INLINE_WORKER
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from jiedai_flow.domain.model import OfficialLetter, Plan
    from jiedai_flow.process.engine import Engine

perf_ns = time.perf_counter_ns

HANDLER, APPROVER, FINANCE = ACTORS["handler"], ACTORS["approver"], ACTORS["finance"]
JURISDICTION = "341502"
HOST_UNIT = "县政府办公室"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CACHE_DIR = Path(os.environ.get("JIEDAI_BENCH_CACHE") or "/tmp/jiedai-bench")
REPORT_YEAR = 2025
LOAD_FORMAT = 2
"""Bump when the generated report database changes, so cached files are rebuilt (the cache key
also carries a digest of the builder's own source, so an edit to it rebuilds even if unbumped)."""

LIFECYCLE = ("create", "submit", "approve", "start", "finish", "claim", "settle", "archive")
STEPS: tuple[tuple[str, str], ...] = (
    ("submit", "handler"),
    ("approve", "approver"),
    ("start", "handler"),
    ("finish", "handler"),
    ("claim", "handler"),
    ("settle", "finance"),
    ("archive", "finance"),
)
TARGET_LIFECYCLE = 1.5
TARGET_REPORT = 1.2
TARGET_WRITERS = 0.67
WRITERS = (1, 2, 4)


class Settings:
    """How much work each section does."""

    def __init__(self, quick: bool, receptions: int | None) -> None:
        self.quick = quick
        # many short rounds: the columns take turns often, so a slow spell of the shared machine
        # (other jobs' fsyncs and CPU) hits them alike
        self.rounds = 9 if quick else 15  # timed rounds after one warm-up round
        # a WAL checkpoint falls every ~10 SQLite lifecycles: a round should span several
        self.batch = 20 if quick else 40  # SQLite lifecycles per round and column
        self.pg_batch = 5 if quick else 20  # PostgreSQL lifecycles per round and column
        self.concurrent_seconds = 1.5 if quick else 5.0
        # the writer counts take turns, engine and floor alternating: a busy spell of the shared
        # machine then hits both sides of a ratio, and the ratios are medians over the rounds
        self.writer_rounds = 2 if quick else 5
        self.receptions = receptions if receptions is not None else (100_000 if quick else 1_000_000)
        self.report_runs = 9
        self.profile_lifecycles = 100 if quick else 300


# -- helpers ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Collect, then keep the collector off for a timed loop."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def new_id() -> str:
    return uuid.uuid4().hex


def reception_list(letter: OfficialLetter, plan: Plan) -> ReceptionList:
    """The list 接待清单 filed with the claim: the guests, the meal with its invoice, one 公务卡
    payment, companions and support staff, signed, with the full voucher set (the fields this
    version of the model has)."""
    total = sum((m.cost for m in plan.meals), Decimal(0))
    fields: dict[str, Any] = {
        "guests": letter.personnel,
        "meals": plan.meals,
        "payments": (Payment(PaymentMethod.OFFICIAL_CARD, total, "POS-20260310-001"),),
        "companions": plan.companions,
        "signed_by": "王强",
        "signed_on": letter.itinerary.end,
    }
    known = attrs.fields_dict(ReceptionList)
    if "invoices" in known:
        invoice = model.Invoice("No.34150220260001", letter.itinerary.start, plan.meals[0].venue, total)
        fields["invoices"] = (invoice,)
    if "support_staff" in known:
        fields["support_staff"] = (model.Person("李明", "县政府办公室科员"),)
    if "documents" in known:
        fields["documents"] = frozenset(model.DocumentKind)  # the full voucher set
    return ReceptionList(**fields)


def fsync_median_us(directory: str, n: int = 40) -> float:
    """Median time of an fsync after a 4 KiB write, in ``directory`` (what one commit waits for)."""
    path = os.path.join(directory, "fsync.probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t0 = perf_ns()
            os.fsync(fd)
            times.append(perf_ns() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times) / 1000


# -- the engine side -------------------------------------------------------------------------------


class EngineWriter:
    """Full lifecycles through the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.letter, self.plan = sample_letter(), sample_plan()
        self.listing = reception_list(self.letter, self.plan)
        self.actors = {"handler": HANDLER, "approver": APPROVER, "finance": FINANCE}

    def lifecycle(self, times: list[int]) -> None:
        engine, actors = self.engine, self.actors
        t0 = perf_ns()
        result = engine.create_reception(
            self.letter,
            self.plan,
            handler=HANDLER,
            host_unit=HOST_UNIT,
            jurisdiction=JURISDICTION,
            request_id=new_id(),
        )
        rid = result.reception.id
        t1 = perf_ns()
        times[0] += t1 - t0
        for i, (trigger, who) in enumerate(STEPS, 1):
            if trigger == "claim":
                engine.fire(rid, trigger, actors[who], request_id=new_id(), reception_list=self.listing)
            else:
                engine.fire(rid, trigger, actors[who], request_id=new_id())
            t2 = perf_ns()
            times[i] += t2 - t1
            t1 = t2

    def check(self) -> None:
        page = self.engine.store.pending_notifications(1)
        assert not page, "the engine left notifications pending"

    def close(self) -> None:
        self.engine.store.close()


# -- the raw floor ---------------------------------------------------------------------------------


class Payloads:
    """What the floors write, taken once from a real lifecycle (outside any timed loop): the engine
    runs it on ``memory://`` with its store's methods wrapped, so each step records what the store
    was handed (outbox rows, budget ledger changes), which rows were delivered right after the
    commit, and how many reads the engine made around the write."""

    def __init__(self) -> None:
        engine = make_engine()
        writer = EngineWriter(engine)
        store: Any = engine.store
        seen: list[dict[str, Any]] = []

        def record(name: str, *args: Any, **kwargs: Any) -> Any:
            step = seen[-1]
            if name in ("create", "save"):
                outbox = kwargs["outbox"] if "outbox" in kwargs else args[2]
                step["outbox"] = list(outbox)
                step["ledger"] = tuple(_ledger_row(e) for e in kwargs.get("ledger", ()))
                step["tasks"] = [sql_tasks.task_row(args[0], t) for t in kwargs.get("tasks", ())]
                step["written"] = True
            elif name == "mark_notified":
                step["delivered"].update(args[0])
            return originals[name](*args, **kwargs)

        names = ("create", "save", "mark_notified")
        originals = {name: getattr(store, name) for name in names}
        for name in names:
            setattr(store, name, lambda *a, _name=name, **k: record(_name, *a, **k))

        def step() -> None:
            seen.append({"written": False, "delivered": set()})

        letter, plan = writer.letter, writer.plan
        step()
        results = [
            engine.create_reception(
                letter, plan, handler=HANDLER, host_unit=HOST_UNIT, jurisdiction=JURISDICTION, request_id="r0"
            )
        ]
        rid = results[0].reception.id
        for i, (trigger, who) in enumerate(STEPS, 1):
            listing = writer.listing if trigger == "claim" else None
            actor = writer.actors[who]
            step()
            results.append(engine.fire(rid, trigger, actor, request_id=f"r{i}", reception_list=listing))
        self.steps: list[dict[str, Any]] = []
        for result, got in zip(results, seen, strict=True):
            r, e = result.reception, result.event
            self.steps.append(
                {
                    "trigger": e.trigger,
                    "actor_id": e.actor_id,
                    "from_state": e.from_state,
                    "state": r.state,
                    "version": r.version,
                    **sql_module.report_columns(r),  # planned_fen, actual_fen, guests, item_count
                    "violations": sum(f.refuses for f in e.findings),
                    "data": codec.encode(r),
                    "event": json.loads(codec.canonical(e)),
                    "outbox": [
                        (
                            json.loads(codec.encode(n)),
                            n.topic,
                            getattr(n, "channel", ""),
                            n.id in got["delivered"],
                            n.inline,
                        )
                        for n in got["outbox"]
                    ],
                    "ledger": got["ledger"],
                    "tasks": got.get("tasks", []),
                }
            )
        first = results[0].reception
        self.number_prefix = f"{JURISDICTION}-{first.start.year}-"
        self.recorded_number = f'"number":"{first.number}"'
        """How the recorded reception JSON carries its number: each lifecycle writes its own there."""
        self.recorded_id = first.id
        """The recorded reception's id, in its JSON and its tasks': each lifecycle writes its own."""
        self.task_ids = sorted({row["id"] for step in self.steps for row in step["tasks"]})
        """The recorded tasks' ids: each lifecycle gives its tasks ids of its own, rows and JSON alike."""
        self.counter_key = f"{JURISDICTION}:{first.start.year}"
        self.start, self.end = first.start, first.end
        self.reception_type = first.reception_type.value
        self.process, self.rule_pack = first.process, first.rule_pack
        moment = first.created_at.astimezone(UTC).replace(tzinfo=None)
        self.moment = moment  # the frozen clock's time, as the store writes it (naive UTC)
        self.moment_text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
        self.lease = moment + INLINE_LEASE  # how long inline notifiers hold their rows
        self.lease_text = self.lease.strftime("%Y-%m-%d %H:%M:%S.%f")
        self.sizes = {
            "reception": statistics.mean(len(s["data"].encode()) for s in self.steps),
            "event": statistics.mean(len(codec.canonical(r.event)) for r in results),
        }
        self.outbox_rows = sum(len(s["outbox"]) for s in self.steps)


def _ledger_row(entry: Any) -> tuple[Any, ...]:
    """(key, host_unit, year, committed_fen, spent_fen, cap_fen) of a LedgerEntry."""
    return (entry.key, entry.host_unit, entry.year, entry.committed_fen, entry.spent_fen, entry.cap_fen)


SQL_LEDGER_GET = "SELECT committed_fen, spent_fen FROM jd_budget_ledger WHERE key = ?"
SQL_LEDGER_NEW = (
    "INSERT INTO jd_budget_ledger (key, host_unit, year, committed_fen, spent_fen) VALUES (?, ?, ?, ?, ?)"
)
SQL_LEDGER_SET = "UPDATE jd_budget_ledger SET committed_fen = ?, spent_fen = ? WHERE key = ?"
SQL_COUNTER_GET = "SELECT value FROM jd_counters WHERE key = ?"
SQL_COUNTER_NEW = "INSERT INTO jd_counters (key, value) VALUES (?, ?)"
SQL_COUNTER_SET = "UPDATE jd_counters SET value = ? WHERE key = ?"
SQL_SHARDS = "SELECT shards FROM jd_chain_layout WHERE id = 1"
SQL_HEAD_GET = "SELECT chain_index, hash FROM jd_chain_head WHERE id = ?"
SQL_HEAD_SET = "UPDATE jd_chain_head SET chain_index = ?, hash = ? WHERE id = ?"
SQL_RECEPTION_GET = "SELECT version, last_hash, data FROM jd_receptions WHERE id = ?"
SQL_RECEPTION_NEW = (
    "INSERT INTO jd_receptions (id, number, jurisdiction, host_unit, reception_type, state, start_date,"
    " end_date, planned_fen, actual_fen, version, process, rule_pack, created_at, updated_at, last_hash,"
    " data, guests, item_count, handler_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SQL_RECEPTION_SET = (
    "UPDATE jd_receptions SET state = ?, version = ?, process = ?, updated_at = ?, last_hash = ?,"
    " actual_fen = ?, planned_fen = ?, data = ?, guests = ?, item_count = ? WHERE id = ? AND version = ?"
)
STATE_HASH = "state_hash" in schema.audit_events.c
"""Whether events carry the hash of the reception as saved (covered by the event hash)."""
SQL_EVENT_NEW = (
    'INSERT INTO jd_audit_events (shard, chain_index, id, reception_id, seq, "trigger", actor_id,'
    " from_state, to_state, at, request_id, hash_algorithm, prev_hash, hash, chain_prev, chain_hash, data,"
    " violations"
    + (
        ", state_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        if STATE_HASH
        else ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
)
CHANNEL = "channel" in schema.outbox.c
"""Whether outbox rows are per notifier channel."""
SQL_OUTBOX_NEW = (
    "INSERT INTO jd_outbox (id, reception_id, event_id, topic, status, attempts, created_at, data,"
    " lease_until, claimed_by"
    + (
        ", channel) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)"
        if CHANNEL
        else ") VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)"
    )
)
SQL_OUTBOX_DELIVERED = "UPDATE jd_outbox SET status = 'delivered'" + (
    ", delivered_at = CURRENT_TIMESTAMP WHERE id = ?"
    if "delivered_at" in schema.outbox.c
    else " WHERE id = ?"
)
TASK_COLUMNS = tuple(c.name for c in schema.tasks.columns)
SQL_TASK_UPSERT = (
    f"INSERT INTO jd_tasks ({', '.join(TASK_COLUMNS)}) VALUES ({', '.join('?' for _ in TASK_COLUMNS)})"
    " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in TASK_COLUMNS if c != "id")
)
"""The task index row of a task the command added or changed (待办 reads it), as the store writes
it: one upsert (SQLite and PostgreSQL share the form)."""
SQL_COMMAND_NEW = (
    'INSERT INTO jd_commands (request_id, reception_id, "trigger", actor_id, event_id, result)'
    " VALUES (?, ?, ?, ?, ?, ?)"
)


class RawWriter:
    """The floor: the store's rows written by hand, one transaction per command.

    ``postgres`` switches placeholders to ``%s``, locks the shard's chain head and the counter with
    ``FOR UPDATE`` (as the store does on PostgreSQL) and binds dates as ``date``/``datetime``.
    Without ``chain`` the floor writes no chain at all: no head read or written, no chain hash, each
    event numbered from a sequence of its own process (the floor for concurrent writers).
    """

    def __init__(self, conn: Any, payloads: Payloads, *, postgres: bool, chain: bool = True) -> None:
        self.conn = conn
        self.p = payloads
        self.postgres = postgres
        self.chain = chain
        self.sequence = itertools.count((os.getpid() << 32) + 1)  # unique across writer processes
        self.algorithm = preferred_algorithm()
        self.pending: list[str] = []  # delivered notifications, marked in the next transaction
        self.task_ids: dict[str, str] = {}  # recorded task id → this lifecycle's
        # the recorded task rows bound once, as the store binds them (outside any timed loop)
        self.steps = [dict(step, tasks=[self._bound(r) for r in step["tasks"]]) for step in payloads.steps]
        self.numbers = 0

        def sql(text: str, lock: bool = False) -> str:
            if postgres:
                text = text.replace("?", "%s") + (" FOR UPDATE" if lock else "")
            return text

        self.q = {
            "counter_get": sql(SQL_COUNTER_GET, lock=True),
            "counter_new": sql(SQL_COUNTER_NEW),
            "counter_set": sql(SQL_COUNTER_SET),
            "head_get": sql(SQL_HEAD_GET, lock=True),
            "head_set": sql(SQL_HEAD_SET),
            "reception_get": sql(SQL_RECEPTION_GET),
            "reception_new": sql(SQL_RECEPTION_NEW),
            "reception_set": sql(SQL_RECEPTION_SET),
            "event_new": sql(SQL_EVENT_NEW),
            "outbox_new": sql(SQL_OUTBOX_NEW),
            "outbox_delivered": sql(SQL_OUTBOX_DELIVERED),
            "command_new": sql(SQL_COMMAND_NEW),
            "task_upsert": sql(SQL_TASK_UPSERT),
            "ledger_get": sql(SQL_LEDGER_GET, lock=True),
            "ledger_new": sql(SQL_LEDGER_NEW),
            "ledger_set": sql(SQL_LEDGER_SET),
        }
        # bound as date/datetime on PostgreSQL; as the text SQLAlchemy writes for SQLite
        self.start: Any
        self.end: Any
        self.moment: Any
        if postgres:
            self.start, self.end, self.moment = payloads.start, payloads.end, payloads.moment
            self.lease = payloads.lease
        else:
            self.start, self.end = payloads.start.isoformat(), payloads.end.isoformat()
            self.moment, self.lease = payloads.moment_text, payloads.lease_text
        cur = conn.cursor()
        found = cur.execute(sql(SQL_SHARDS)).fetchone()
        cur.close()
        self.conn.commit()
        self.shards = int(found[0])

    def _begin(self, cur: Any) -> None:
        if not self.postgres:
            cur.execute("BEGIN IMMEDIATE")  # psycopg begins implicitly

    def _commit(self, cur: Any) -> None:
        if self.postgres:
            self.conn.commit()
        else:
            cur.execute("COMMIT")

    def _event(self, cur: Any, step: dict[str, Any], rid: str, request_id: str, prev_hash: str) -> str:
        """Chain head, the hashes (state, event, chain), the reception row, ledger rows, the event
        row, the outbox row, the command row, the head update, and the delivery marks buffered from
        the previous command. Returns the event hash."""
        q, alg = self.q, self.algorithm
        event_id = new_id()
        event = dict(step["event"], id=event_id, reception_id=rid, request_id=request_id)
        notes = [  # (id, stored JSON, topic, channel, delivered inline, leased) of this command's outbox
            (
                note_id := new_id(),
                json.dumps(
                    dict(template, id=note_id, reception_id=rid, event_id=event_id),
                    ensure_ascii=False,
                    separators=(",", ":"),
                ),
                topic,
                channel,
                delivered_inline,
                leased,
            )
            for template, topic, channel, delivered_inline, leased in step["outbox"]
        ]
        if notes:  # the event binds its outbox rows: SM3 of their ids and JSON, sorted
            listed = "\n".join(f"{i}\t{d}" for i, d in sorted((n[0], n[1]) for n in notes))
            event["outbox_digest"] = hashlib.new("sm3", b"\n" + listed.encode()).hexdigest()
        content = json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        # the reception as saved carries this lifecycle's own number, id and task ids, as its columns
        # and task rows do (the audit check recomputes them from the hashed record)
        data = step["data"].replace(
            self.p.recorded_number, f'"number":"{self.p.number_prefix}{self.numbers:05d}"'
        )
        data = data.replace(self.p.recorded_id, rid)
        for recorded, own in self.task_ids.items():
            data = data.replace(recorded, own)
        signed = body = content.encode()
        state_hash = ""
        if STATE_HASH:  # hash of the reception as saved, covered by the event hash
            state_hash = hashlib.new(alg, b"\n" + data.encode()).hexdigest()
            signed = body + b"\n" + state_hash.encode("ascii")
        event_hash = hashlib.new(alg, prev_hash.encode("ascii") + b"\n" + signed).hexdigest()
        shard = shard_of(rid, self.shards) if self.chain else 0
        if self.chain:
            index, chain_prev = cur.execute(q["head_get"], (shard,)).fetchone()
            chain_hash = hashlib.new(
                alg, chain_prev.encode("ascii") + b"\n" + event_hash.encode("ascii")
            ).hexdigest()
        else:
            index, chain_prev, chain_hash = next(self.sequence) - 1, GENESIS, GENESIS
        if step["trigger"] == "create":
            self._reception_new(cur, step, rid, event_hash, data)
        else:
            cur.execute(
                q["reception_set"],
                (
                    step["state"],
                    step["version"],
                    self.p.process,
                    self.moment,
                    event_hash,
                    step["actual_fen"],
                    step["planned_fen"],
                    data,
                    step["guests"],
                    step["item_count"],
                    rid,
                    step["version"] - 1,
                ),
            )
            if cur.rowcount != 1:
                raise RuntimeError(f"raw floor: compare-and-set failed on {rid}")
        for entry in step["ledger"]:
            self._book(cur, entry)
        for row in step["tasks"]:
            cur.execute(q["task_upsert"], self._task_values(row, rid))
        cur.execute(
            q["event_new"],
            (
                shard,
                index + 1,
                event_id,
                rid,
                step["version"],
                step["trigger"],
                step["actor_id"],
                step["from_state"],
                step["state"],
                self.moment,
                request_id,
                alg,
                prev_hash,
                event_hash,
                chain_prev,
                chain_hash,
                content,
                step["violations"],
                *((state_hash,) if STATE_HASH else ()),
            ),
        )
        delivered = []
        for note_id, note, topic, channel, delivered_inline, leased in notes:
            lease = (self.lease, INLINE_WORKER) if leased else (None, None)
            row = (note_id, rid, event_id, topic, self.moment, note, *lease)
            cur.execute(q["outbox_new"], (*row, channel) if CHANNEL else row)
            if delivered_inline:
                delivered.append(note_id)
        result = f'{{"reception":{data},"event":{content}}}'
        cur.execute(q["command_new"], (request_id, rid, step["trigger"], step["actor_id"], event_id, result))
        if self.chain:
            cur.execute(q["head_set"], (index + 1, chain_hash, shard))
        for marked in self.pending:
            cur.execute(q["outbox_delivered"], (marked,))
        self.pending = delivered  # inline notifiers deliver after the commit; marked next time
        return event_hash

    def _bound(self, row: dict[str, Any]) -> dict[str, Any]:
        """A recorded task row with its values as the store binds them: on SQLite SQLAlchemy's
        text for dates and moments and 0/1 for booleans, typed on PostgreSQL."""
        if self.postgres:
            return row
        moments = {n: row[n].strftime("%Y-%m-%d %H:%M:%S.%f") for n in ("created_at", "done_at") if row[n]}
        return {**row, **moments, "due": row["due"].isoformat(), "read": int(row["read"])}

    def _task_values(self, row: dict[str, Any], rid: str) -> tuple[Any, ...]:
        """A bound task row for this lifecycle's reception: its own task id (the same task keeps it
        from step to step) and number."""
        values = dict(row, reception_id=rid, number=f"{self.p.number_prefix}{self.numbers:05d}")
        values["id"] = self.task_ids[row["id"]]
        return tuple(values[c] for c in TASK_COLUMNS)

    def _book(self, cur: Any, entry: tuple[Any, ...]) -> None:
        """A budget ledger change, as the store books it: read the row (locked on PostgreSQL),
        check the cap, insert or update."""
        key, host_unit, year, committed, spent, cap = entry
        q = self.q
        found = cur.execute(q["ledger_get"], (key,)).fetchone()
        now_committed, now_spent = (int(found[0]), int(found[1])) if found is not None else (0, 0)
        growth = committed + spent
        if cap is not None and growth > 0 and now_committed + now_spent + growth > cap:
            raise RuntimeError(f"raw floor: budget {key} exceeded")
        if found is None:
            cur.execute(q["ledger_new"], (key, host_unit, year, now_committed + committed, now_spent + spent))
        else:
            cur.execute(q["ledger_set"], (now_committed + committed, now_spent + spent, key))

    def _reception_new(self, cur: Any, step: dict[str, Any], rid: str, last_hash: str, data: str) -> None:
        p = self.p
        cur.execute(
            self.q["reception_new"],
            (
                rid,
                f"{p.number_prefix}{self.numbers:05d}",
                JURISDICTION,
                HOST_UNIT,
                p.reception_type,
                step["state"],
                self.start,
                self.end,
                step["planned_fen"],
                step["actual_fen"],
                step["version"],
                p.process,
                p.rule_pack,
                self.moment,
                self.moment,
                last_hash,
                data,
                step["guests"],
                step["item_count"],
                HANDLER.id,
            ),
        )

    def _counter(self, cur: Any) -> None:
        q, key = self.q, self.p.counter_key
        found = cur.execute(q["counter_get"], (key,)).fetchone()
        if found is None:
            cur.execute(q["counter_new"], (key, 1))
            self.numbers = 1
        else:
            self.numbers = int(found[0]) + 1
            cur.execute(q["counter_set"], (self.numbers, key))

    def lifecycle(self, times: list[int]) -> None:
        """One lifecycle. The floor: one transaction per command that reads the reception row,
        writes the rows and commits (the counter is taken in the create transaction)."""
        steps, q = self.steps, self.q
        cur = self.conn.cursor()
        t0 = perf_ns()
        rid, request_id = new_id(), new_id()
        self.task_ids = {recorded: new_id() for recorded in self.p.task_ids}
        self._begin(cur)
        self._counter(cur)
        last_hash = self._event(cur, steps[0], rid, request_id, GENESIS)
        self._commit(cur)
        t1 = perf_ns()
        times[0] += t1 - t0
        for i in range(1, len(steps)):
            step = steps[i]
            request_id = new_id()
            self._begin(cur)
            found = cur.execute(q["reception_get"], (rid,)).fetchone()
            if found is None or found[0] != step["version"] - 1:
                raise RuntimeError(f"raw floor: {rid} is not at version {step['version'] - 1}")
            last_hash = self._event(cur, step, rid, request_id, found[1])
            self._commit(cur)
            t2 = perf_ns()
            times[i] += t2 - t1
            t1 = t2
        del last_hash
        cur.close()

    def check(self) -> None:
        """Flush the last delivery marks (outside timing) so both databases end alike."""
        if self.pending:
            cur = self.conn.cursor()
            self._begin(cur)
            for marked in self.pending:
                cur.execute(self.q["outbox_delivered"], (marked,))
            self._commit(cur)
            cur.close()
            self.pending = []

    def close(self) -> None:
        self.check()
        self.conn.close()


def raw_sqlite(path: str, payloads: Payloads) -> RawWriter:
    conn = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN IMMEDIATE … COMMIT
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=60000")
    return RawWriter(conn, payloads, postgres=False)


def pg_conninfo(url: str, schema: str) -> str:
    u = sa.make_url(url)
    parts = {
        "host": u.host or "127.0.0.1",
        "port": u.port or 5432,
        "user": u.username or "postgres",
        "dbname": u.database or "postgres",
        "options": f"-csearch_path={schema}",
    }
    if u.password:
        parts["password"] = u.password
    return " ".join(f"{k}='{v}'" for k, v in parts.items())


def pg_engine_url(url: str, schema: str) -> str:
    return str(sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}))


def raw_postgres(url: str, schema: str, payloads: Payloads, *, chain: bool = True) -> RawWriter:
    import psycopg

    conn = psycopg.connect(pg_conninfo(url, schema))
    return RawWriter(conn, payloads, postgres=True, chain=chain)


# -- sections 1 and 2: lifecycles ------------------------------------------------------------------

Writer = EngineWriter | RawWriter


def run_batch(writer: Writer, batch: int) -> tuple[float, list[float]]:
    """ns per lifecycle and ns per command kind, over ``batch`` lifecycles."""
    times = [0] * len(LIFECYCLE)
    with gc_paused():
        t0 = perf_ns()
        for _ in range(batch):
            writer.lifecycle(times)
        elapsed = perf_ns() - t0
    return elapsed / batch, [t / batch for t in times]


def count_sqlite(writer: Writer) -> tuple[float, float]:
    """Statements (BEGIN and COMMIT included) and commits per lifecycle, from sqlite3's trace
    callback over 3 untimed lifecycles."""
    if isinstance(writer, RawWriter):
        conn = writer.conn
    else:
        store: Any = writer.engine.store
        if not getattr(store, "_idle", None):  # the connection the next command takes (one thread)
            return float("nan"), float("nan")
        conn = store._idle[-1].driver_connection
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        times = [0] * len(LIFECYCLE)
        for _ in range(3):
            writer.lifecycle(times)
    finally:
        conn.set_trace_callback(None)
    commits = sum(1 for s in seen if s.strip().upper() == "COMMIT")
    return len(seen) / 3, commits / 3


def count_postgres(writer: Writer) -> tuple[float, float]:
    """Round trips and commits per lifecycle over 3 untimed lifecycles: psycopg's cursor and
    connection methods are wrapped for the count (an implicit BEGIN, sent before the first
    statement of a transaction, counts as one; an executemany, pipelined, as one)."""
    import psycopg
    from psycopg.pq import TransactionStatus

    counts = {"trips": 0, "commits": 0}
    originals: dict[tuple[type, str], Callable[..., Any]] = {
        (psycopg.Cursor, "execute"): psycopg.Cursor.execute,
        (psycopg.Cursor, "executemany"): psycopg.Cursor.executemany,
        (psycopg.Connection, "commit"): psycopg.Connection.commit,
        (psycopg.Connection, "rollback"): psycopg.Connection.rollback,
    }

    def counted(cls: type, name: str) -> Callable[..., Any]:
        original = originals[(cls, name)]

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            conn = self if isinstance(self, psycopg.Connection) else self.connection
            idle = conn.info.transaction_status == TransactionStatus.IDLE
            if name in ("commit", "rollback"):
                counts["trips"] += 0 if idle else 1
                counts["commits"] += 1 if name == "commit" and not idle else 0
            else:
                counts["trips"] += 1 + (1 if idle and not conn.autocommit else 0)
            return original(self, *args, **kwargs)

        return wrapper

    for cls, name in originals:
        setattr(cls, name, counted(cls, name))
    try:
        times = [0] * len(LIFECYCLE)
        for _ in range(3):
            writer.lifecycle(times)
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
    return counts["trips"] / 3, counts["commits"] / 3


def alternate(writers: dict[str, Writer], rounds: int, batch: int) -> dict[str, Any]:
    """The writers in rounds, the order rotating each round; the first round is the warm-up.
    Per writer: median ns per lifecycle and per command kind; ``ratio``: median of the per-round
    ratios engine/raw."""
    names = list(writers)
    per: dict[str, list[float]] = {name: [] for name in names}
    steps: dict[str, list[list[float]]] = {name: [] for name in names}
    for i in range(rounds + 1):
        for k in range(len(names)):
            name = names[(i + k) % len(names)]
            lifecycle, by_step = run_batch(writers[name], batch)
            if i:
                per[name].append(lifecycle)
                steps[name].append(by_step)
    for writer in writers.values():
        writer.check()
    ratios = [e / r for e, r in zip(per["engine"], per["raw"], strict=True)]
    got: dict[str, Any] = {
        "ratio": statistics.median(ratios),
        "ratio_range": (min(ratios), max(ratios)),
        "lifecycles": (rounds + 1) * batch,
    }
    for name in names:
        got[name] = statistics.median(per[name])
        got[f"{name}_steps"] = [statistics.median(s[k] for s in steps[name]) for k in range(len(LIFECYCLE))]
    # where engine − raw goes, each part the median of its per-round values (ns per lifecycle)
    e, r, m = per["engine"], per["raw"], per["memory"]
    got["split"] = {
        "total": statistics.median(a - b for a, b in zip(e, r, strict=True)),
        "engine_own": statistics.median(m),
        "rest": statistics.median(a - b - c for a, b, c in zip(e, r, m, strict=True)),
    }
    return got


def sqlite_lifecycles(s: Settings, workdir: str, payloads: Payloads) -> dict[str, Any]:
    paths = {name: os.path.join(workdir, f"{name}.db") for name in ("engine", "raw")}
    upgrade(f"sqlite:///{paths['raw']}")
    writers: dict[str, Writer] = {
        "engine": EngineWriter(make_engine(url=f"sqlite:///{paths['engine']}")),
        "raw": raw_sqlite(paths["raw"], payloads),
        "memory": EngineWriter(make_engine()),
    }
    try:
        got = alternate(writers, s.rounds, s.batch)
        got["counts"] = {name: count_sqlite(w) for name, w in writers.items() if name != "memory"}
    finally:
        for writer in writers.values():
            writer.close()
    got["same_rows"] = compare_sqlite(paths["engine"], paths["raw"])
    got["verify"] = verify_all({name: f"sqlite:///{path}" for name, path in paths.items()})
    return got


def verify_all(urls: dict[str, str]) -> str:
    """The library's own audit check (``SQLStore.verify``) on every database written: the floor's
    rows must be valid rows of the store (hash chains, state hashes, heads, typed columns, outbox
    and task rows bound to their events); the run stops if they are not."""
    out = []
    for name, url in urls.items():
        store = SQLStore(url, create=False)
        try:
            report = store.verify()
        finally:
            store.close()
        if not report.ok:  # the comparison means nothing if either side wrote rows the store refuses
            raise SystemExit(f"audit verify failed on the {name} database: {report.problem}")
        out.append(f"{name} ok ({report.checked} events)")
    return "; ".join(out)


def compare_sqlite(engine_path: str, raw_path: str) -> str:
    """Row counts per table and average JSON sizes, engine vs floor (a sanity check, printed)."""
    out = []
    for path in (engine_path, raw_path):
        c = sqlite3.connect(path)
        counts = [
            c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # fixed table names
            for t in ("jd_receptions", "jd_audit_events", "jd_outbox", "jd_commands", "jd_tasks")
        ]
        open_tasks = c.execute("SELECT count(*) FROM jd_tasks WHERE state = 'open'").fetchone()[0]
        pending = c.execute("SELECT count(*) FROM jd_outbox WHERE status = 'pending'").fetchone()[0]
        guests, items = c.execute("SELECT sum(guests), sum(item_count) FROM jd_receptions").fetchone()
        violations = c.execute("SELECT sum(violations) FROM jd_audit_events").fetchone()[0]
        leased = c.execute(
            "SELECT count(*) FROM jd_outbox WHERE claimed_by = ?", (INLINE_WORKER,)
        ).fetchone()[0]
        sizes = c.execute("SELECT avg(length(data)) FROM jd_receptions").fetchone()[0]
        ledger = ""
        if c.execute("SELECT 1 FROM sqlite_master WHERE name = 'jd_budget_ledger'").fetchone():
            totals = c.execute("SELECT sum(committed_fen), sum(spent_fen) FROM jd_budget_ledger").fetchone()
            ledger = f" ledger committed/spent {totals[0]}/{totals[1]} fen"
        out.append(
            f"{'/'.join(map(str, counts))} (open tasks {open_tasks}) pending {pending} "
            f"data≈{sizes:.0f}ch{ledger}; guests/items "
            f"{guests}/{items}, violations {violations}, leased inline {leased}"
        )
        c.close()
    return "engine " + out[0] + "; raw " + out[1]


# -- PostgreSQL ------------------------------------------------------------------------------------


def pg_reachable(url: str) -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(pg_conninfo(url, "public"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # any failure means "not reachable" for this benchmark
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


@contextlib.contextmanager
def pg_schemas(url: str, *names: str) -> Iterator[list[str]]:
    """Private schemas (jdbench_<pid>_<name>), each upgraded to the current revision; dropped after."""
    import psycopg

    schemas = [f"jdbench_{os.getpid()}_{n}" for n in names]
    with psycopg.connect(pg_conninfo(url, "public"), autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
    try:
        for schema in schemas:
            upgrade(pg_engine_url(url, schema))
        yield schemas
    finally:
        with psycopg.connect(pg_conninfo(url, "public"), autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def pg_settings(url: str) -> str:
    import psycopg

    with psycopg.connect(pg_conninfo(url, "public")) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
    assert version is not None
    assert sync is not None
    assert fsync is not None
    return f"PostgreSQL {version[0]}, synchronous_commit={sync[0]}, fsync={fsync[0]}"


def concurrent_worker(
    kind: str, url: str, schema: str, seconds: float, barrier: Any, out: Any, index: int
) -> None:
    """One writer process: warm up, wait for the others, run lifecycles for ``seconds``. The raw
    floor here writes no chain."""
    try:
        payloads = Payloads() if kind == "raw" else None
        writer: Writer
        if kind == "raw":
            assert payloads is not None
            writer = raw_postgres(url, schema, payloads, chain=False)
        else:
            writer = EngineWriter(make_engine(url=pg_engine_url(url, schema)))
        times = [0] * len(LIFECYCLE)
        for _ in range(3):
            writer.lifecycle(times)
        barrier.wait()
        count = 0
        gc.collect()
        t0 = perf_ns()
        deadline = t0 + int(seconds * 1e9)
        while perf_ns() < deadline:
            writer.lifecycle(times)
            count += 1
        elapsed = perf_ns() - t0
        writer.close()
        out.put((index, count, elapsed, ""))
    except Exception as exc:
        with contextlib.suppress(Exception):
            barrier.abort()
        out.put((index, 0, 1, f"{type(exc).__name__}: {exc}"))


def concurrent(kind: str, url: str, schema: str, seconds: float, writers: int = 2) -> float:
    """Total lifecycles/s of ``writers`` processes writing at once (each on its own receptions)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(writers)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=concurrent_worker, args=(kind, url, schema, seconds, barrier, out, i))
        for i in range(writers)
    ]
    for p in procs:
        p.start()
    results: list[tuple[int, int, int, str]] = []
    deadline = time.monotonic() + seconds + 300
    while len(results) < writers:
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                with contextlib.suppress(Exception):
                    barrier.abort()
                for p in procs:
                    p.kill()
                raise RuntimeError(
                    f"{kind} writer process failed (exit code {dead[0].exitcode if dead else '?'})"
                ) from None
    for p in procs:
        p.join(timeout=30)
    errors = [r[3] for r in results if r[3]]
    if errors:
        raise RuntimeError(f"{kind} writer failed: {errors[0]}")
    return sum(count / (elapsed / 1e9) for _, count, elapsed, _ in results)


def writer_rounds(s: Settings, url: str, engine_schema: str, raw_schema: str) -> dict[str, Any]:
    """1, 2 and 4 writer processes at once, each on its own receptions (shared counter and ledger
    rows on both sides; the engine's chains are sharded, the floor writes none), in rounds.
    Per writer count the median lifecycles/s of each side; ``ratio4``: median of the per-round
    engine/raw at 4 writers; ``scaling``: median of the per-round engine 4 writers / 1 writer."""
    runs: dict[tuple[str, int], list[float]] = {}
    for r in range(s.writer_rounds):
        order = WRITERS if r % 2 == 0 else tuple(reversed(WRITERS))
        for n in order:
            kinds = ("engine", "raw") if (r + n) % 2 == 0 else ("raw", "engine")
            for kind in kinds:
                schema = engine_schema if kind == "engine" else raw_schema
                runs.setdefault((kind, n), []).append(concurrent(kind, url, schema, s.concurrent_seconds, n))
    top = WRITERS[-1]
    engine, raw = runs[("engine", top)], runs[("raw", top)]
    return {
        "median": {
            n: (statistics.median(runs[("engine", n)]), statistics.median(runs[("raw", n)])) for n in WRITERS
        },
        "runs": runs,
        "ratio4": statistics.median(e / r for e, r in zip(engine, raw, strict=True)),
        "scaling": statistics.median(e / one for e, one in zip(engine, runs[("engine", 1)], strict=True)),
    }


def postgres_lifecycles(s: Settings, url: str, payloads: Payloads) -> dict[str, Any]:
    with pg_schemas(url, "engine", "raw") as (engine_schema, raw_schema):
        writers: dict[str, Writer] = {
            "engine": EngineWriter(make_engine(url=pg_engine_url(url, engine_schema))),
            "raw": raw_postgres(url, raw_schema, payloads),
            "memory": EngineWriter(make_engine()),
        }
        try:
            got = alternate(writers, s.rounds, s.pg_batch)
            got["counts"] = {name: count_postgres(w) for name, w in writers.items() if name != "memory"}
        finally:
            for writer in writers.values():
                writer.close()
        schemas = {"engine": engine_schema, "raw": raw_schema}
        got["verify"] = verify_all({name: pg_engine_url(url, sc) for name, sc in schemas.items()})
        got["writers"] = writer_rounds(s, url, engine_schema, raw_schema)
        got["schemas"] = f"{engine_schema}, {raw_schema} (dropped at the end)"
    return got


# -- section 3: reports ----------------------------------------------------------------------------

REPORT_RAW_SQL = (
    "SELECT jurisdiction, strftime('%m', start_date) AS m, count(*), sum(planned_fen), sum(actual_fen)"
    " FROM jd_receptions WHERE start_date >= ? AND start_date < ?"
    " GROUP BY jurisdiction, m ORDER BY jurisdiction, m"
)
STATES = ("draft", "submitted", "approved", "in_progress", "completed", "settling", "settled", "archived")
STATE_WEIGHTS = (3, 3, 4, 2, 5, 5, 8, 70)


def report_db_path(n: int) -> Path:
    builder = hashlib.sha256(inspect.getsource(build_report_db).encode()).hexdigest()[:12]
    return CACHE_DIR / f"reports-n{n}-rev{head_revision()}-f{LOAD_FORMAT}-{builder}.db"


def build_report_db(n: int) -> tuple[Path, float, bool]:
    """The cached report database (path, seconds spent, built now?). Built with the raw driver:
    schema by ``upgrade``, secondary indexes dropped, rows in id order by executemany in 100k-row
    transactions at synchronous=OFF, then the same indexes recreated from their stored SQL."""
    path = report_db_path(n)
    if path.exists():
        with contextlib.closing(sqlite3.connect(path)) as c:
            if c.execute("SELECT count(*) FROM jd_receptions").fetchone()[0] == n:
                return path, 0.0, False
        path.unlink()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"reports-n{n}-*.db"):  # same size, older schema or format
        stale.unlink()
    t0 = time.perf_counter()
    tmp = path.with_suffix(".loading")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    schema_engine = sa.create_engine(f"sqlite:///{tmp}")
    upgrade(schema_engine)
    schema_engine.dispose()  # no other connection may hold the file during the load
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")  # 400 MB page cache for the index builds
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jd_receptions'"
        " AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f"DROP INDEX {name}")
    rng = random.Random(20250101 + n)
    # ~100 county-level codes (6 digits), some jurisdictions busier than others (weight 1/√rank)
    codes = sorted(
        {
            f"{rng.choice(('32', '34', '37', '42', '44', '51'))}{rng.randrange(100, 9999):04d}"
            for _ in range(400)
        }
    )
    codes = rng.sample(codes, 100)
    code_weights = list(itertools.accumulate(1 / (k + 1) ** 0.5 for k in range(100)))
    state_weights = list(itertools.accumulate(STATE_WEIGHTS))
    units = [
        f"{u}办公室"
        for u in (
            "县政府",
            "县委",
            "县财政局",
            "县农业农村局",
            "县教育局",
            "县卫健委",
            "县商务局",
            "县文旅局",
            "县发改委",
            "县工信局",
        )
    ]
    types = ("domestic", "domestic", "domestic", "domestic", "business", "foreign")
    day0 = date(2024, 1, 1)
    days = (date(2027, 1, 1) - day0).days
    dates = [(day0 + timedelta(days=d)).isoformat() for d in range(days + 4)]
    ids = sorted(f"{rng.getrandbits(128):032x}" for _ in range(n))
    data = '{"bench":"report row; reports never read data"}'
    last_hash = "0" * 64
    created = "2025-01-01 01:00:00.000000"
    chunk = 100_000
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        chunk_codes = rng.choices(codes, cum_weights=code_weights, k=hi - lo)
        chunk_states = rng.choices(STATES, cum_weights=state_weights, k=hi - lo)
        rows = []
        for i in range(lo, hi):
            d = rng.randrange(days)
            planned = rng.randrange(20_000, 2_000_000)
            state = chunk_states[i - lo]
            settled = state in ("settling", "settled", "archived")
            code = chunk_codes[i - lo]
            rows.append(
                (
                    ids[i],
                    f"{code}-{2024 + d // 366}-{i:07d}",
                    code,
                    units[i % len(units)],
                    types[i % len(types)],
                    state,
                    dates[d],
                    dates[d + rng.randrange(4)],
                    planned,
                    rng.randrange(planned // 2, planned + 1) if settled else None,
                    STATES.index(state) + 1,
                    "reception@1",
                    "national-2025",
                    created,
                    created,
                    last_hash,
                    data,
                    rng.randrange(1, 9),  # guests
                    rng.randrange(1, 4),  # item_count
                    HANDLER.id,
                )
            )
        conn.execute("BEGIN")
        conn.executemany(SQL_RECEPTION_NEW, rows)
        conn.execute("COMMIT")
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode=DELETE")  # readers (store and raw) switch it to WAL, as the store does
    conn.close()
    tmp.rename(path)
    return path, time.perf_counter() - t0, True


def plan_of(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[str]:
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, tuple(params))]


def reports(s: Settings) -> dict[str, Any]:
    path, load_seconds, built = build_report_db(s.receptions)
    url = f"sqlite:///{path}"
    store = SQLStore(url)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "GROUP BY" in statement:
            captured.append((statement, parameters))

    sa.event.listen(store.db, "before_cursor_execute", capture)
    lib_rows = store.monthly_statistics(REPORT_YEAR)
    sa.event.remove(store.db, "before_cursor_execute", capture)
    lib_sql, lib_params = captured[-1]

    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    bounds = (date(REPORT_YEAR, 1, 1).isoformat(), date(REPORT_YEAR + 1, 1, 1).isoformat())

    def run_raw() -> list[tuple[Any, ...]]:
        return raw.execute(REPORT_RAW_SQL, bounds).fetchall()

    raw_rows = run_raw()
    same_result = [
        (r.jurisdiction, r.month, r.receptions, r.planned_fen, r.actual_fen) for r in lib_rows
    ] == [(j, int(m), c, p or 0, a or 0) for j, m, c, p, a in raw_rows]
    lib_plan = plan_of(raw, lib_sql, lib_params)
    raw_plan = plan_of(raw, REPORT_RAW_SQL, bounds)
    year_rows = raw.execute(
        "SELECT count(*) FROM jd_receptions WHERE start_date >= ? AND start_date < ?", bounds
    ).fetchone()[0]

    lib_t: list[float] = []
    raw_t: list[float] = []
    for _ in range(2):  # warm the page cache for both
        store.monthly_statistics(REPORT_YEAR)
        run_raw()
    for i in range(s.report_runs):
        order = [(lambda: store.monthly_statistics(REPORT_YEAR), lib_t), (run_raw, raw_t)]
        if i % 2:
            order.reverse()
        fn: Callable[[], object]
        for fn, into in order:
            with gc_paused():
                t0 = perf_ns()
                fn()
                into.append(perf_ns() - t0)
    raw.close()
    store.close()
    return {
        "path": str(path),
        "size_mb": path.stat().st_size / 1e6,
        "built": built,
        "load_seconds": load_seconds,
        "engine": statistics.median(lib_t),
        "raw": statistics.median(raw_t),
        "ratio": statistics.median(lib_t) / statistics.median(raw_t),
        "ranges": ((min(lib_t), max(lib_t)), (min(raw_t), max(raw_t))),
        "groups": len(lib_rows),
        "year_rows": year_rows,
        "same_result": same_result,
        "lib_sql": " ".join(lib_sql.split()),
        "lib_params": lib_params,
        "lib_plan": lib_plan,
        "raw_plan": raw_plan,
    }


# -- profile ---------------------------------------------------------------------------------------


def profile_sqlite(s: Settings, workdir: str) -> str:
    """cProfile of the engine on SQLite over ``s.profile_lifecycles`` lifecycles, by cost category."""
    path = os.path.join(workdir, "profile.db")
    writer = EngineWriter(make_engine(url=f"sqlite:///{path}"))
    times = [0] * len(LIFECYCLE)
    for _ in range(10):
        writer.lifecycle(times)
    prof = cProfile.Profile()
    n = s.profile_lifecycles
    with gc_paused():
        prof.enable()
        for _ in range(n):
            writer.lifecycle(times)
        prof.disable()
    writer.close()
    st = pstats.Stats(prof)
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = st.stats  # type: ignore[attr-defined]
    total = st.total_tt  # type: ignore[attr-defined]

    def tot(pred: Callable[[str, str], bool]) -> float:
        return sum(v[2] for (f, _l, fn), v in raw_stats.items() if pred(f, fn))

    def cum(pred: Callable[[str, str], bool]) -> float:
        return sum(v[3] for (f, _l, fn), v in raw_stats.items() if pred(f, fn))

    def calls(pred: Callable[[str, str], bool]) -> int:
        return sum(v[1] for (f, _l, fn), v in raw_stats.items() if pred(f, fn))

    # the store's parameter binding (_Prepared.params and the comprehensions inside it), by line range
    params_own_time = 0.0
    prepared = getattr(sql_module, "_Prepared", None)
    if prepared is not None and hasattr(prepared, "params"):
        lines, first = inspect.getsourcelines(prepared.params)
        span = range(first, first + len(lines))
        params_own_time = sum(
            v[2]
            for (f, line, _fn), v in raw_stats.items()
            if f == inspect.getsourcefile(prepared) and line in span
        )
    cats = [
        (
            "sqlite3 COMMIT (WAL fsync, synchronous=FULL)",
            tot(lambda f, fn: "'commit' of 'sqlite3.Connection'" in fn),
            f"{calls(lambda f, fn: 'commit' in fn and 'sqlite3' in fn) / n:.0f} commits per lifecycle",
        ),
        (
            "sqlite3 execute/executemany/fetch (SQL work)",
            tot(lambda f, fn: "sqlite3.Cursor" in fn),
            f"{calls(lambda f, fn: 'sqlite3.Cursor' in fn and 'execute' in fn) / n:.0f} calls per lifecycle",
        ),
        (
            "JSON encoding (codec.encode/canonical: cattrs unstructure + orjson)",
            cum(
                lambda f, fn: (
                    f.endswith(os.path.join("storage", "codec.py")) and fn in ("encode", "canonical")
                )
            ),
            f"{calls(lambda f, fn: f.endswith('codec.py') and fn in ('encode', 'canonical')) / n:.0f}"
            " encodes per lifecycle",
        ),
        (
            "hashing (audit.digest, sm3)",
            cum(lambda f, fn: f.endswith("audit.py") and fn == "digest"),
            f"{calls(lambda f, fn: f.endswith('audit.py') and fn == 'digest') / n:.0f} digests per lifecycle",
        ),
        (
            "pluggy hook calls (dispatch + the built-in plugins they run)",
            cum(lambda f, fn: "pluggy" in f and f.endswith("_hooks.py") and fn == "__call__")
            + cum(lambda f, fn: "pluggy" in f and f.endswith("_caller.py") and fn == "__call__"),
            f"of which pluggy's own code {tot(lambda f, fn: 'pluggy' in f) / total * 100:.1f}%",
        ),
        (
            "SQLAlchemy at run time (bind processors) + the store's _Prepared.params",
            tot(lambda f, fn: os.sep + "sqlalchemy" + os.sep in f) + params_own_time,
            "statements are compiled once; no ORM, no Core execute on the write path",
        ),
        (
            "transitions (state machine adapter)",
            tot(lambda f, fn: os.sep + "transitions" + os.sep in f),
            "",
        ),
        ("uuid4 (ids)", cum(lambda f, fn: f.endswith("uuid.py") and fn == "uuid4"), ""),
    ]
    lines = [
        f"cProfile of the engine on SQLite: {n} lifecycles ({n * 8} commands), "
        f"{total / n * 1000:.2f} ms per lifecycle under the profiler",
        f"{'category':<74} {'ms/lc':>7} {'share':>6}  note",
    ]
    covered = 0.0
    for label, seconds, note in cats:
        covered += seconds
        lines.append(f"{label:<74} {seconds / n * 1000:>7.3f} {seconds / total * 100:>5.1f}%  {note}")
    lines.append(
        f"{'everything else (engine, rules, attrs.evolve, store glue, …)':<74} "
        f"{(total - covered) / n * 1000:>7.3f} {(total - covered) / total * 100:>5.1f}%"
    )
    lines.append("")
    lines.append("top 15 functions by own time:")
    top = sorted(raw_stats.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    for (f, line, fn), v in top:
        where = fn if f == "~" else f"{Path(f).name}:{line}({fn})"
        lines.append(f"  {v[2] / n * 1e6:>8.1f} µs/lc  {v[1] / n:>6.1f} calls/lc  {where}")
    return "\n".join(lines)


# -- the report ------------------------------------------------------------------------------------


def ms(ns: float) -> str:
    return f"{ns / 1e6:.2f}"


COLUMNS = ("engine", "raw", "memory")


def lifecycle_rows(name: str, got: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    """Table rows (label, values for COLUMNS, engine/raw) for one database."""

    def cells(pick: Callable[[str], float], fmt: str) -> list[str]:
        return [format(pick(c), fmt) if c in got else "" for c in COLUMNS]

    rows = [
        (f"{name}: ms per lifecycle", cells(lambda c: got[c] / 1e6, ".2f"), f"{got['ratio']:.2f}"),
        (f"{name}: lifecycles/s", cells(lambda c: 1e9 / got[c], ".0f"), ""),
    ]
    for k, step in enumerate(LIFECYCLE):
        ratio = got["engine_steps"][k] / got["raw_steps"][k]
        values = cells(lambda c, k=k: float(got[f"{c}_steps"][k]) / 1e3, ".0f")  # type: ignore[misc]
        rows.append((f"    {step:<8} µs per command", values, f"{ratio:.2f}"))
    return rows


def print_report(
    s: Settings,
    env: dict[str, Any],
    payloads: Payloads,
    lite: dict[str, Any],
    pg: dict[str, Any] | None,
    pg_why: str | None,
    rep: dict[str, Any],
    profile: str,
) -> None:
    print(f"jiedai_flow storage benchmark — {'quick' if s.quick else 'full'} run, {env['stamp']}")
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}; hash {preferred_algorithm()}; "
        f"load average {env['load_before']:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"temp dir {env['tmp']}: fsync after a 4 KiB write, median {env['fsync_us']:.0f} µs")
    print(env["pg_version"] or f"PostgreSQL: {pg_why}")
    print(
        f"payloads: reception JSON ≈{payloads.sizes['reception']:.0f} B (serialized once per step from a "
        f"real lifecycle, reused as text by the floors); event JSON ≈{payloads.sizes['event']:.0f} B "
        f"(json.dumps per event); {payloads.outbox_rows} outbox rows per lifecycle; hashes computed per "
        "event as the store does"
    )
    print(
        f"lifecycles: {s.rounds} rounds × {s.batch} (SQLite) / {s.pg_batch} (PostgreSQL) lifecycles per "
        "column after a warm-up round, columns taking turns; median per lifecycle; eng/raw = median "
        "of per-round ratios"
    )
    print(
        "columns: engine = the engine on the SQL store; raw = the floor, one transaction per command; "
        "memory = the engine on memory:// (its own work, no database)"
    )
    print()
    rows = lifecycle_rows("SQLite", lite)
    if pg is not None:
        rows += lifecycle_rows("PostgreSQL", pg)
        for n, (ce, cr) in pg["writers"]["median"].items():
            plural = "es" if n > 1 else ""
            label = f"PostgreSQL, {n} writer process{plural}: lifecycles/s, median of {s.writer_rounds}"
            rows.append((label, [f"{ce:.0f}", f"{cr:.0f}", ""], f"{cr / ce:.2f}"))
    else:
        rows.append(("PostgreSQL", ["n/a", "n/a", ""], "n/a"))
    report_label = f"report monthly_statistics({REPORT_YEAR}), {s.receptions:,} rows: ms"
    rows.append((report_label, [ms(rep["engine"]), ms(rep["raw"]), ""], f"{rep['ratio']:.2f}"))
    width = max(len(label) for label, _, _ in rows)
    heads = ("engine", "raw", "memory")
    print(f"{'measurement':<{width}}  " + "  ".join(f"{h:>8}" for h in heads) + f"  {'eng/raw':>7}")
    print("-" * (width + 40))
    for label, values, ratio in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{v:>8}" for v in values) + f"  {ratio:>7}")
    print()
    for name, got in (("SQLite", lite), ("PostgreSQL", pg)):
        if got is None:
            continue
        lo, hi = got["ratio_range"]
        print(f"{name}: engine/raw per round {lo:.2f}–{hi:.2f}; audit verify: {got['verify']}")
        what = "statements (BEGIN, COMMIT included)" if name == "SQLite" else "round trips"
        print(
            f"  {what} per lifecycle: "
            + ", ".join(f"{col} {n:.0f} ({c:.0f} commits)" for col, (n, c) in got["counts"].items())
        )
        sp = got["split"]
        print(
            f"  engine − raw {sp['total'] / 1e6:.2f} ms per lifecycle ≈ the engine's own work (memory) "
            f"{sp['engine_own'] / 1e6:.2f} + the store's Python (JSON, binding, glue) and CPU contention "
            f"(engine − raw − memory) {sp['rest'] / 1e6:.2f}  [medians of per-round values]"
        )
    print(f"SQLite rows (receptions/events/outbox/commands/tasks): {lite['same_rows']}")
    if pg is not None:
        print(f"PostgreSQL: private schemas {pg['schemas']}")
        runs = pg["writers"]["runs"]
        print(
            f"PostgreSQL writers, lifecycles/s per round ({s.concurrent_seconds:g} s each, the floor without "
            "the chain): "
            + "; ".join(
                f"{n}: engine {'/'.join(f'{v:.0f}' for v in runs[('engine', n)])}, raw "
                + "/".join(f"{v:.0f}" for v in runs[("raw", n)])
                for n in WRITERS
            )
        )
    lo_e, hi_e = rep["ranges"][0]
    lo_r, hi_r = rep["ranges"][1]
    how = f"built now in {rep['load_seconds']:.1f} s" if rep["built"] else "cached from an earlier run"
    print(
        f"report database {rep['path']} ({rep['size_mb']:.0f} MB, {how}; delete it to rebuild): "
        f"{rep['year_rows']:,} receptions in {REPORT_YEAR}, {rep['groups']} groups; median of "
        f"{s.report_runs} runs each after 2 warm-up runs (engine {ms(lo_e)}–{ms(hi_e)} ms, raw "
        f"{ms(lo_r)}–{ms(hi_r)} ms); identical results: {rep['same_result']}"
    )
    print(f"  library SQL: {rep['lib_sql']}  {rep['lib_params']}")
    print(f"  raw SQL:     {REPORT_RAW_SQL}  ('{REPORT_YEAR}-01-01', '{REPORT_YEAR + 1}-01-01')")
    print("  EXPLAIN QUERY PLAN library: " + " | ".join(rep["lib_plan"]))
    print("  EXPLAIN QUERY PLAN raw:     " + " | ".join(rep["raw_plan"]))
    print(f"  same plan: {rep['lib_plan'] == rep['raw_plan']}")
    if profile:
        print()
        print(profile)
    print()
    checks = [
        ("lifecycle sqlite engine/raw", lite["ratio"], TARGET_LIFECYCLE),
        ("lifecycle postgres engine/raw", pg["ratio"] if pg else None, TARGET_LIFECYCLE),
        ("report engine/raw", rep["ratio"], TARGET_REPORT),
    ]
    for name, value, target in checks:
        verdict = "n/a" if value is None else f"{value:5.2f}  {'ok' if value <= target else 'MISSED'}"
        print(f"{name:<32} target ≤ {target:g}: {verdict}")
    writers = writer_ratios(pg)
    if writers is not None:
        verdict = "ok" if writers[0] >= TARGET_WRITERS else "MISSED"
        print(
            f"{'writers4 engine/raw (per second)':<32} target ≥ {TARGET_WRITERS:g}: "
            f"{writers[0]:5.2f}  {verdict}"
        )
        print(
            f"  ({os.cpu_count()} CPUs shared by the writers, the database server and anything else running)"
        )
    print(f"wall time {time.perf_counter() - env['wall']:.1f} s")
    print(f"RATIO lifecycle sqlite engine/raw = {lite['ratio']:.2f}")
    if pg is not None:
        print(f"RATIO lifecycle postgres engine/raw = {pg['ratio']:.2f}")
    else:
        print("RATIO lifecycle postgres engine/raw = n/a (unreachable)")
    print(f"RATIO report engine/raw = {rep['ratio']:.2f}")
    if writers is not None:
        print(f"RATIO writers4 engine/raw = {writers[0]:.2f}")
        print(f"RATIO writers 4/1 = {writers[1]:.2f}")
    else:
        print("RATIO writers4 engine/raw = n/a (unreachable)")
        print("RATIO writers 4/1 = n/a (unreachable)")


def writer_ratios(pg: dict[str, Any] | None) -> tuple[float, float] | None:
    """Throughput of 4 engine writers over 4 raw ones, and of 4 engine writers over 1 (medians of
    per-round ratios)."""
    if pg is None:
        return None
    return pg["writers"]["ratio4"], pg["writers"]["scaling"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="short run (< ~30 s): 100k rows, fewer lifecycles"
    )
    parser.add_argument("--receptions", type=int, default=None, help="rows in the report database")
    parser.add_argument("--postgres", default=DEFAULT_PG, help=f"PostgreSQL URL (default {DEFAULT_PG})")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the SQLite engine")
    args = parser.parse_args(argv)
    s = Settings(args.quick, args.receptions)
    env: dict[str, Any] = {
        "wall": time.perf_counter(),
        "load_before": os.getloadavg()[0],
        "stamp": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "tmp": tempfile.gettempdir(),
        "pg_version": "",
    }
    payloads = Payloads()
    workdir = tempfile.mkdtemp(prefix="jiedai-bench-")
    try:
        env["fsync_us"] = fsync_median_us(workdir)
        lite = sqlite_lifecycles(s, workdir, payloads)
        pg: dict[str, Any] | None = None
        pg_why = "skipped (--no-postgres)" if args.no_postgres else pg_reachable(args.postgres)
        if pg_why is None:
            env["pg_version"] = pg_settings(args.postgres)
            pg = postgres_lifecycles(s, args.postgres, payloads)
        else:
            pg_why = f"unreachable ({pg_why})"
        rep = reports(s)
        profile = profile_sqlite(s, workdir) if args.profile else ""
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(s, env, payloads, lite, pg, pg_why, rep, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers of the SQL back-end tests: walking receptions through the default process, and
consistency checks run as plain SQL against the stored tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jiedai_flow.domain.model import (
    DocumentKind,
    Invoice,
    Payment,
    PaymentMethod,
    Person,
    ReceptionList,
    ReceptionType,
)
from jiedai_flow.process.engine import DEFAULT_ROUTES
from jiedai_flow.storage import schema
from jiedai_flow.testing import ACTORS, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow.domain.records import CommandResult, Reception
    from jiedai_flow.process.engine import Engine

HOST_UNIT = "县政府办公室"
JURISDICTION = "341502"
TERMINAL = frozenset({"archived", "refused", "cancelled"})

HAPPY: dict[str, tuple[str, str]] = {
    "draft": ("submit", "handler"),
    "submitted": ("approve", "approver"),
    "approved": ("start", "handler"),
    "in_progress": ("finish", "handler"),
    "completed": ("claim", "handler"),
    "settling": ("settle", "finance"),
    "settled": ("archive", "finance"),
}
"""The next step of the happy path from each state: (trigger, key of the actor in ACTORS)."""

DETOURS: dict[str, tuple[tuple[str, str], ...]] = {
    "draft": (("edit", "handler"),),
    "submitted": (("return", "approver"), ("withdraw", "handler")),
    "approved": (("amend", "handler"),),
    "settling": (("return", "finance"),),
}
"""Steps that loop back (or stay), so a reception lives through more commands."""

NEEDS_REASON = frozenset({"return", "refuse", "amend", "cancel"})


def reception_list(reception: Reception) -> ReceptionList:
    """A complete 接待清单 matching the plan's meals, paid by official card, naming the
    companions and support staff (so no settlement rule blocks the claim)."""
    meals = reception.plan.meals
    total = sum((m.cost for m in meals), Decimal(0))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=meals,
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡尾号 1234"),),
        companions=reception.plan.companions,
        support_staff=(Person("张伟", "县政府办公室科员"),),
        signed_by="王强",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def create(
    engine: Engine,
    *,
    start: date = date(2026, 3, 10),
    jurisdiction: str = JURISDICTION,
    host_unit: str = HOST_UNIT,
    reception_type: ReceptionType = ReceptionType.DOMESTIC,
    guests: int = 4,
    companions: int = 2,
    reception_id: str | None = None,
    request_id: str | None = None,
) -> CommandResult:
    """Register a reception from the sample letter and a one-meal plan starting on ``start``."""
    return engine.create_reception(
        sample_letter(start, guests=guests),
        sample_plan(start, guests=guests, companions=companions),
        handler=ACTORS["handler"],
        host_unit=host_unit,
        jurisdiction=jurisdiction,
        reception_type=reception_type,
        reception_id=reception_id,
        request_id=request_id,
    )


def fire(
    engine: Engine,
    reception: Reception,
    trigger: str,
    actor: str,
    *,
    request_id: str | None = None,
    expected_version: int | None = None,
) -> CommandResult:
    """Fire ``trigger`` as ``ACTORS[actor]`` with the payload the trigger needs (reason, list)."""
    return engine.fire(
        reception.id,
        trigger,
        ACTORS[actor],
        reason="请补充说明" if trigger in NEEDS_REASON else "",
        reception_list=reception_list(reception) if trigger == "claim" else None,
        request_id=request_id,
        expected_version=expected_version,
    )


def advance(engine: Engine, reception: Reception, steps: int = 99) -> Reception:
    """Walk the happy path ``steps`` commands forward (or to the end)."""
    for _ in range(steps):
        if reception.state not in HAPPY:
            break
        trigger, actor = HAPPY[reception.state]
        reception = fire(engine, reception, trigger, actor).reception
    return reception


def routed_rows(trigger: str, from_state: str, to_state: str) -> int:
    """How many outbox rows the engine writes for an event (its routing, restated)."""
    recipients = DEFAULT_ROUTES.get(f"{trigger}:{from_state}>{to_state}") or DEFAULT_ROUTES.get(trigger)
    return 1 if recipients else 0


def consistency_problems(url: str) -> list[str]:
    """Everything that should hold between the tables after any sequence of commits, as plain SQL.

    Empty when: each reception's version equals its number of events with seq 1..version, its
    state is the to_state of its last event; every outbox row belongs to an event and every event
    has exactly the outbox rows its trigger is routed to; no request id appears on two events;
    every request id on an event has its idempotency record pointing at that event.
    """
    r, e, o, c = schema.receptions, schema.audit_events, schema.outbox, schema.commands
    problems: list[str] = []
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = (
                sa.select(
                    r.c.id,
                    r.c.version,
                    sa.func.count(e.c.id).label("events"),
                    sa.func.max(e.c.seq).label("top"),
                )
                .select_from(r.outerjoin(e, e.c.reception_id == r.c.id))
                .group_by(r.c.id, r.c.version)
            )
            for rid, version, events, top in conn.execute(counts):
                if not version == events == top:
                    problems.append(f"reception {rid}: version {version}, {events} events, last seq {top}")
            last = sa.select(r.c.id, r.c.state, e.c.to_state).select_from(
                r.outerjoin(e, sa.and_(e.c.reception_id == r.c.id, e.c.seq == r.c.version))
            )
            for rid, state, to_state in conn.execute(last):
                if state != to_state:
                    problems.append(f"reception {rid}: state {state!r} but last event to_state {to_state!r}")
            orphans = sa.select(o.c.id).select_from(o.outerjoin(e, e.c.id == o.c.event_id))
            for (oid,) in conn.execute(orphans.where(e.c.id.is_(None))):
                problems.append(f"outbox row {oid} has no audit event")
            per_event = (
                sa.select(e.c.id, e.c.trigger, e.c.from_state, e.c.to_state, sa.func.count(o.c.id))
                .select_from(e.outerjoin(o, o.c.event_id == e.c.id))
                .group_by(e.c.id, e.c.trigger, e.c.from_state, e.c.to_state)
            )
            for eid, trigger, from_state, to_state, rows in conn.execute(per_event):
                if rows != routed_rows(trigger, from_state, to_state):
                    problems.append(
                        f"event {eid} ({trigger}→{to_state}): {rows} outbox rows, "
                        f"routing says {routed_rows(trigger, from_state, to_state)}"
                    )
            reused = (
                sa.select(e.c.request_id, sa.func.count())
                .where(e.c.request_id.is_not(None))
                .group_by(e.c.request_id)
                .having(sa.func.count() > 1)
            )
            for request_id, n in conn.execute(reused):
                problems.append(f"request id {request_id} on {n} audit events")
            records = sa.select(e.c.id, e.c.request_id, c.c.event_id).select_from(
                e.outerjoin(c, c.c.request_id == e.c.request_id)
            )
            for eid, request_id, recorded in conn.execute(records.where(e.c.request_id.is_not(None))):
                if recorded != eid:
                    problems.append(f"request {request_id}: event {eid} but idempotency record {recorded}")
    finally:
        engine.dispose()
    return problems


def table_rows(url: str, table: sa.Table) -> list[dict[str, Any]]:
    """Every row of ``table`` as dicts."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(sa.select(table))]
    finally:
        engine.dispose()

"""The annual summary 年度汇总 (reference R-02) and the 三公经费 disclosure figures 信息公开 (R-01).

Everything is a SQL aggregate over typed columns, found through the (state, start_date) index:
``COUNT`` and ``SUM`` of ``planned_fen``, ``actual_fen``, ``guests`` (人次) and ``item_count``
(项目数) of ``jd_receptions``, and the audit events with ``violations > 0``. Returns (退回, 驳回到环节,
票签不通过) are the audit events of the triggers that declare them, with the reasons read from each
such event's JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping  # noqa: TC003  # why: attrs resolves the field types when dumped
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import sqlalchemy as sa

from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.model import ProjectOutcome, ReceptionType
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS, Operation, Phase
from jiedai_flow.reports.common import (
    Column,
    E,
    R,
    Ticker,
    every_state,
    require_sql,
    settled,
    snapshot,
    taken_place,
    year_filter,
    yuan,
)
from jiedai_flow.reports.facts import parse

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from jiedai_flow.process.engine import Engine
    from jiedai_flow.storage.base import Store

_VIOLATING = (Severity.BLOCKING.value, Severity.NEEDS_EXPLANATION.value)


@attrs.frozen
class AnnualSummaryRow:
    """One host unit's year 年度汇总: batches, headcount, items, money against budget, violations."""

    year: int
    jurisdiction: str
    host_unit: str
    batches: int
    """批次: receptions that took place (接待中 … 已归档), by start date."""
    headcount: int
    """人次: visitors named in the letters of those receptions."""
    items: int
    """项目数: activity items and meals on their lists (the plan's before a list is filed)."""
    planned: Decimal
    actual: Decimal
    """实际费用: list totals (receptions whose list is not filed yet count 0)."""
    budget: Decimal | None
    remaining: Decimal | None
    execution_rate: Decimal | None
    """Actual as a percentage of the budget, one decimal (45.3 means 45.3 %)."""
    violations: int
    """Audit events whose findings were blocking or needed a written explanation."""
    flagged: int
    """Receptions with at least one such event."""
    business: int = 0
    """招商引资接待: business receptions among the batches."""
    signed: int = 0
    """… whose project's latest recorded outcome (跟踪) is 签约."""
    landed: int = 0
    """… is 落地."""
    failed: int = 0
    """… is 未成."""
    returned: int = 0
    """退回: approvals (or claims) returned to the applicant, over the year's receptions in any state."""
    sent_back: int = 0
    """驳回到环节: approvals sent back to an earlier step."""
    vote_failed: int = 0
    """票签不通过: weighted votes that could no longer pass (the reception refused)."""
    return_reasons: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    """The reasons given for those returns, each with how often it was given, most frequent first."""

    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("year", "年度", "year", "int"),
        Column("jurisdiction", "地区代码", "area code"),
        Column("host_unit", "接待单位", "host unit"),
        Column("batches", "批次", "batches", "int"),
        Column("headcount", "人次", "guests", "int"),
        Column("items", "项目数", "items", "int"),
        Column("planned", "预计费用（元）", "planned (yuan)", "money"),
        Column("actual", "实际费用（元）", "actual (yuan)", "money"),
        Column("budget", "年度预算（元）", "budget (yuan)", "money"),
        Column("remaining", "预算余额（元）", "remaining (yuan)", "money"),
        Column("execution_rate", "预算执行率（%）", "budget used (%)", "percent"),
        Column("violations", "违规事件", "violation events", "int"),
        Column("flagged", "涉及批次", "receptions concerned", "int"),
        Column("business", "招商接待", "business receptions", "int"),
        Column("signed", "签约", "signed", "int"),
        Column("landed", "落地", "landed", "int"),
        Column("failed", "未成", "failed", "int"),
        Column("returned", "退回", "returned", "int"),
        Column("sent_back", "驳回到环节", "sent back", "int"),
        Column("vote_failed", "票签不通过", "votes failed", "int"),
        Column("return_reasons", "退回理由", "reasons", "counts"),
    )


@attrs.frozen
class DisclosureRow:
    """公务接待费 of one unit (and month) for the 三公经费 disclosure: amount, 批次, 人次."""

    year: int
    month: int | None
    jurisdiction: str
    host_unit: str
    amount: Decimal
    """Actual spending of settled receptions 已结算 / 已归档."""
    batches: int
    headcount: int

    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("year", "年度", "year", "int"),
        Column("month", "月份", "month", "int"),
        Column("jurisdiction", "地区代码", "area code"),
        Column("host_unit", "单位", "unit"),
        Column("amount", "公务接待费（元）", "reception spending (yuan)", "money"),
        Column("batches", "接待批次", "batches", "int"),
        Column("headcount", "接待人次", "guests", "int"),
    )


_Key = tuple[str, str]
_MonthKey = tuple[str, str, int | None]


def annual_summary(
    store: Store,
    year: int,
    *,
    host_unit: str | None = None,
    jurisdiction: str | None = None,
    budgets: Mapping[str | tuple[str, str], Decimal] | None = None,
    engine: Engine | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[AnnualSummaryRow]:
    """The annual summary of ``year``, one row per (jurisdiction, host unit), sorted.

    :param budgets: annual budgets by host unit (or by ``(jurisdiction, host_unit)``).
    :param engine: where ``budgets`` does not name a unit, its budget is read from the standards
        in force (``engine.standards_for(jurisdiction, …).budget_for(host_unit, year)``).
    :param progress: called with (rows read, rows to read) while the JSON column is streamed.
    """
    sql = require_sql(store)
    where = year_filter(year, taken_place(engine), host_unit, jurisdiction)
    unit = (R.c.jurisdiction, R.c.host_unit)
    totals: sa.Select[Any] = sa.select(
        *unit,
        sa.func.count(),
        sa.func.sum(R.c.planned_fen),
        sa.func.sum(R.c.actual_fen),
        sa.func.sum(R.c.guests),
        sa.func.sum(R.c.item_count),
    ).where(*where)
    events = (
        sa.select(*unit, sa.func.count(), sa.func.count(sa.distinct(E.c.reception_id)))
        .select_from(E.join(R, E.c.reception_id == R.c.id))
        .where(*where, E.c.violations > 0)
        .group_by(*unit)
    )
    business = sa.select(*unit, R.c.data).where(*where, R.c.reception_type == ReceptionType.BUSINESS.value)
    kinds = _ReturnKinds.of(engine)
    returns = (
        sa.select(*unit, E.c.trigger, E.c.to_state, E.c.data)
        .select_from(E.join(R, E.c.reception_id == R.c.id))
        .where(
            *year_filter(year, every_state(engine), host_unit, jurisdiction), E.c.trigger.in_(kinds.triggers)
        )
    )
    ticker = Ticker(progress, 1)
    outcomes: dict[tuple[str, str], Counter[str]] = {}
    sent: dict[tuple[str, str], _Returns] = {}
    with snapshot(sql) as conn:
        found = {(j, u): row for j, u, *row in conn.execute(totals.group_by(*unit))}
        flagged = {(j, u): (int(n), int(r)) for j, u, n, r in conn.execute(events)}
        for j, u, data in conn.execute(business):
            outcomes.setdefault((j, u), Counter())[_outcome(parse(data))] += 1
        for j, u, trigger, to_state, data in conn.execute(returns):
            kind = kinds.kind(trigger, to_state)
            if kind:
                sent.setdefault((j, u), _Returns()).add(kind, str(parse(data).get("reason", "")))
    ticker.step()
    ticker.finish()
    sums = {k: (int(n), p, a) for k, (n, p, a, _g, _i) in found.items()}
    sums |= {k: (0, 0, 0) for k in sent if k not in sums}  # a unit whose receptions were all refused
    heads = {k: int(g or 0) for k, (_n, _p, _a, g, _i) in found.items()}
    items = {k: int(i or 0) for k, (_n, _p, _a, _g, i) in found.items()}
    rows = []
    for (j, u), (batches, planned_fen, actual_fen) in sorted(sums.items()):
        back = sent.get((j, u), _Returns())
        actual = yuan(actual_fen)
        budget = _budget(j, u, year, budgets, engine)
        rows.append(
            AnnualSummaryRow(
                year=year,
                jurisdiction=j,
                host_unit=u,
                batches=batches,
                headcount=heads.get((j, u), 0),
                items=items.get((j, u), 0),
                planned=yuan(planned_fen),
                actual=actual,
                budget=budget,
                remaining=None if budget is None else budget - actual,
                execution_rate=_rate(actual, budget),
                violations=flagged.get((j, u), (0, 0))[0],
                flagged=flagged.get((j, u), (0, 0))[1],
                business=sum(outcomes.get((j, u), Counter()).values()),
                signed=outcomes.get((j, u), Counter())[ProjectOutcome.SIGNED.value],
                landed=outcomes.get((j, u), Counter())[ProjectOutcome.LANDED.value],
                failed=outcomes.get((j, u), Counter())[ProjectOutcome.FAILED.value],
                returned=back.counts[_RETURNED],
                sent_back=back.counts[_SENT_BACK],
                vote_failed=back.counts[_VOTE_FAILED],
                return_reasons=back.reasons(),
            )
        )
    return rows


_RETURNED, _SENT_BACK, _VOTE_FAILED = "returned", "sent_back", "vote_failed"


@attrs.frozen
class _ReturnKinds:
    """Which audit events are returns, read from the process declarations (never by name): a
    reviewing trigger that does not end the reception refused is a 退回; the trigger of the 驳回到环节
    operation a 驳回; the 票签 vote against that leaves the reception refused a 票签不通过."""

    returned: frozenset[str]
    sent_back: frozenset[str]
    against: frozenset[str]
    refused: frozenset[str]
    """States whose phase is 不予接待."""

    @classmethod
    def of(cls, engine: Engine | None) -> _ReturnKinds:
        definitions = engine.processes if engine is not None else (DEFAULT_PROCESS,)
        returned, sent_back, against, refused = set(), set(), set(), set()
        for d in definitions:
            ends = set(d.states_in(Phase.REFUSED))
            refused |= ends
            for t in d.triggers:
                if t.operation is Operation.SEND_BACK:
                    sent_back.add(t.name)
                elif t.operation is Operation.AGAINST:
                    against.add(t.name)
                elif t.review and t.operation is None:
                    dests = {x.dest for x in d.transitions if x.trigger == t.name}
                    if dests - ends:
                        returned.add(t.name)
        return cls(frozenset(returned), frozenset(sent_back), frozenset(against), frozenset(refused))

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(sorted(self.returned | self.sent_back | self.against))

    def kind(self, trigger: str, to_state: str) -> str:
        """The kind of return an event of ``trigger`` into ``to_state`` is, or "" for none."""
        if trigger in self.sent_back:
            return _SENT_BACK
        if trigger in self.against:
            return _VOTE_FAILED if to_state in self.refused else ""
        if trigger in self.returned and to_state not in self.refused:
            return _RETURNED
        return ""


@attrs.define
class _Returns:
    """One unit's returns: how many of each kind, and the reasons given."""

    counts: Counter[str] = attrs.field(factory=Counter)
    given: Counter[str] = attrs.field(factory=Counter)

    def add(self, kind: str, reason: str) -> None:
        self.counts[kind] += 1
        self.given[reason.strip() or "（未写理由）"] += 1

    def reasons(self) -> dict[str, int]:
        """Most frequent first; ties in the order first given."""
        return dict(self.given.most_common())


def _outcome(reception: dict[str, Any]) -> str:
    """The project's latest recorded outcome 项目结果 of a business reception ("" if none yet)."""
    found = [f["outcome"] for f in reception.get("follow_ups", ()) if f.get("outcome")]
    return str(found[-1]) if found else ""


def _budget(
    jurisdiction: str,
    host_unit: str,
    year: int,
    budgets: Mapping[str | tuple[str, str], Decimal] | None,
    engine: Engine | None,
) -> Decimal | None:
    if budgets is not None:
        for key in ((jurisdiction, host_unit), host_unit):
            if key in budgets:
                return Decimal(budgets[key]).quantize(Decimal("0.01"))
    if engine is None:
        return None
    for on in (date(year, 1, 1), date(year, 12, 31)):  # a budget layer may start mid-year
        found = engine.standards_for(jurisdiction, on).budget_for(host_unit, year)
        if found is not None:
            return found.amount
    return None


def _rate(actual: Decimal, budget: Decimal | None) -> Decimal | None:
    if not budget:
        return None
    return (actual * 100 / budget).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def disclosure(
    store: Store,
    year: int,
    *,
    by_month: bool = True,
    host_unit: str | None = None,
    jurisdiction: str | None = None,
    engine: Engine | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[DisclosureRow]:
    """公务接待费 for the 三公经费 disclosure: per (jurisdiction, unit) and, with ``by_month``, per
    month of the start date — the actual spending, 批次 and 人次 of settled receptions.

    :param engine: whose processes say which states are settled (the default process without one).
    """
    sql = require_sql(store)
    where = year_filter(year, settled(engine), host_unit, jurisdiction)
    keys: list[sa.ColumnElement[Any]] = [R.c.jurisdiction, R.c.host_unit]
    if by_month:
        keys.append(sa.extract("month", R.c.start_date).label("month"))
    totals = (
        sa.select(*keys, sa.func.count(), sa.func.sum(R.c.actual_fen), sa.func.sum(R.c.guests))
        .where(*where)
        .group_by(*keys)
    )
    ticker = Ticker(progress, 1)
    with snapshot(sql) as conn:
        rows = conn.execute(totals).all()
    ticker.step()
    ticker.finish()
    sums = {_month_key(row[: len(keys)]): (int(row[-3]), row[-2]) for row in rows}
    heads = {_month_key(row[: len(keys)]): int(row[-1] or 0) for row in rows}
    return [
        DisclosureRow(year, m, j, u, yuan(actual_fen), batches, heads[(j, u, m)])
        for (j, u, m), (batches, actual_fen) in sorted(
            sums.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)
        )
    ]


def _month_key(values: Sequence[Any]) -> _MonthKey:
    return (values[0], values[1], int(values[2]) if len(values) > 2 else None)

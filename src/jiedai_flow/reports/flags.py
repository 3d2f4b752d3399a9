"""Audit red flags 审计疑点 (reference R-03): patterns an auditor looks at across receptions.

- 拆分报销 split bills: meals of one unit at the same venue on the same date, in different
  receptions, whose per-person amounts each sit just under the cap (≥ ``near_cap`` × cap);
- 连号发票 consecutive invoice numbers from one issuer across receptions of one unit;
- 陪同人数异常 a reception whose companions-per-guest ratio is far above the unit's median;
- 高频消费场所 the venues a unit eats at most often (canteens exempt), above a threshold;
- 工作日午餐饮酒 alcohol at a Monday-to-Friday lunch.

A flag is a lead for a person to check, never a finding: nothing is refused because of one.

Where the data lives: venues, meals, invoices and companions exist only in the JSON ``data``
column, so no flag can be aggregated in SQL today. SQL selects the receptions that took place in
the year (state and start date, on the (state, start_date) index) and returns them ordered by
unit; they are streamed in batches and analysed one unit at a time, so memory holds one unit's
compact facts, never the year's records, and other years are never read.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar

import attrs
import sqlalchemy as sa

from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.model import CENT, LabelledEnum, MealKind, VenueType
from jiedai_flow.reports.common import (
    Column,
    R,
    Ticker,
    require_sql,
    snapshot,
    stream,
    taken_place,
    year_filter,
)
from jiedai_flow.reports.facts import MealFact, ReceptionFacts, parse, reception_facts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from datetime import date

    from jiedai_flow.process.engine import Engine
    from jiedai_flow.storage.base import Store
    from jiedai_flow.storage.sql import SQLStore

    CapFor = Callable[[ReceptionFacts, MealFact], Decimal | None]
    """The per-person cap of one meal, or None where no standard applies."""


class FlagKind(LabelledEnum):
    """Kind of red flag 疑点类型."""

    SPLIT_BILL = "split_bill", "疑似拆分报销"
    CONSECUTIVE_INVOICES = "consecutive_invoices", "连号发票"
    COMPANION_OUTLIER = "companion_outlier", "陪同人数异常"
    FREQUENT_VENUE = "frequent_venue", "高频消费场所"
    WEEKDAY_LUNCH_ALCOHOL = "weekday_lunch_alcohol", "工作日午餐饮酒"


_KIND_ORDER = {kind: n for n, kind in enumerate(FlagKind)}


@attrs.frozen
class RedFlag:
    """One red flag: its kind and weight, the receptions concerned, why, and the numbers behind it."""

    kind: FlagKind
    severity: Severity
    jurisdiction: str
    host_unit: str
    reception_ids: tuple[str, ...]
    reception_numbers: tuple[str, ...]
    message_zh: str
    message_en: str
    evidence: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("kind", "疑点类型", "kind", "label"),
        Column("severity", "程度", "severity", "label"),
        Column("jurisdiction", "地区代码", "area code"),
        Column("host_unit", "接待单位", "host unit"),
        Column("reception_numbers", "接待编号", "receptions", "list"),
        Column("message_zh", "说明", "description"),
        Column("message_en", "英文说明", "description (English)"),
        Column("evidence", "依据", "evidence", "mapping"),
    )


def monday_to_friday(day: date) -> bool:
    """A working day as reference R-03 puts it: Monday to Friday (see ``FlagSettings.workday``)."""
    return day.weekday() < 5


@attrs.frozen
class FlagSettings:
    """Thresholds of the red flags; the defaults are starting points for an audit, not rules."""

    near_cap: Decimal = Decimal("0.9")
    """A per-person amount counts as "just under the cap" from this share of the cap up to it."""
    meal_cap: Decimal | None = None
    """One per-person cap for every meal; None: each meal's standard from ``engine`` (M-03)."""
    companion_factor: Decimal = Decimal(2)
    """A ratio of companions to guests this many times the unit's median is an outlier …"""
    companion_min_excess: int = 2
    """… when it also brings at least this many companions more than the median ratio would."""
    min_sample: int = 4
    """Receptions a unit needs in the year before its median ratio means anything."""
    venue_min_count: int = 5
    """A venue is frequent when this many of the unit's receptions ate there."""
    venue_top: int = 3
    """At most this many frequent venues per unit, the most used first."""
    venue_exempt: frozenset[VenueType] = frozenset({VenueType.CANTEEN, VenueType.TOWNSHIP_CANTEEN})
    """Venue types never flagged as frequent: eating at the canteen is what the rules ask."""
    workday: Callable[[date], bool] = monday_to_friday
    """Which days are working days; ``chinese_calendar.is_workday`` also knows 调休 and holidays."""


def red_flags(
    store: Store,
    year: int,
    *,
    host_unit: str | None = None,
    jurisdiction: str | None = None,
    engine: Engine | None = None,
    settings: FlagSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[RedFlag]:
    """Red flags among the receptions that took place in ``year``, sorted by unit and kind.

    :param engine: gives each meal's standard (the per-person cap of split bills) unless
        ``settings.meal_cap`` sets one; with neither, split bills are not looked for.
    :param progress: called with (receptions read, receptions to read).
    """
    sql = require_sql(store)
    settings = settings or FlagSettings()
    where = year_filter(year, taken_place(engine), host_unit, jurisdiction)
    cap_for = _cap_source(sql, engine, settings)
    flags: list[RedFlag] = []
    with snapshot(sql) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(R).where(*where)).scalar_one()
        ticker = Ticker(progress, int(total))
        rows = stream(
            conn,
            sa.select(R.c.jurisdiction, R.c.host_unit, R.c.data)
            .where(*where)
            .order_by(R.c.jurisdiction, R.c.host_unit, R.c.start_date, R.c.id),
        )
        for _unit, unit_rows in itertools.groupby(rows, key=lambda row: (row[0], row[1])):
            facts = []
            for row in unit_rows:
                facts.append(reception_facts(parse(row[2])))
                ticker.step()
            flags.extend(_unit_flags(facts, settings, cap_for))
    ticker.finish()
    return sorted(
        flags, key=lambda f: (f.jurisdiction, f.host_unit, _KIND_ORDER[f.kind], f.reception_numbers)
    )


def _unit_flags(
    facts: Sequence[ReceptionFacts], settings: FlagSettings, cap_for: CapFor | None
) -> Iterator[RedFlag]:
    if cap_for is not None:
        yield from _split_bills(facts, settings, cap_for)
    yield from _consecutive_invoices(facts)
    yield from _companion_outliers(facts, settings)
    yield from _frequent_venues(facts, settings)
    yield from _weekday_lunch_alcohol(facts, settings)


def _flag(
    kind: FlagKind, severity: Severity, concerned: Iterable[ReceptionFacts], zh: str, en: str, **evidence: str
) -> RedFlag:
    unique = sorted({f.id: f for f in concerned}.values(), key=lambda f: (f.number, f.id))
    first = unique[0]
    return RedFlag(
        kind,
        severity,
        first.jurisdiction,
        first.host_unit,
        tuple(f.id for f in unique),
        tuple(f.number for f in unique),
        zh,
        en,
        evidence,
    )


def _yuan(value: Fraction | Decimal) -> str:
    exact = Fraction(value)
    return str((Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, rounding=ROUND_HALF_UP))


# -- 拆分报销 split bills ---------------------------------------------------------------------------


def _cap_source(store: SQLStore, engine: Engine | None, settings: FlagSettings) -> CapFor | None:
    if settings.meal_cap is not None:
        cap = settings.meal_cap
        return lambda _facts, _meal: cap
    if engine is None:
        return None

    def from_standards(facts: ReceptionFacts, meal: MealFact) -> Decimal | None:
        # Only meals that share a venue and a date with another reception get here: few, so
        # decoding those receptions whole to ask the standards (M-03) costs little.
        reception = store.load(facts.id)
        listing = reception.reception_list
        meals = listing.meals if facts.meals_from_list and listing is not None else reception.plan.meals
        standards = engine.standards_of(reception)
        row = standards.meal_standard(
            meals[meal.index], reception.letter, reception.jurisdiction, reception.reception_type
        )
        return row.amount if row is not None else None

    return from_standards


def _split_bills(
    facts: Sequence[ReceptionFacts],
    settings: FlagSettings,
    cap_for: CapFor,
) -> Iterator[RedFlag]:
    places: dict[tuple[str, date], list[tuple[ReceptionFacts, MealFact]]] = defaultdict(list)
    for f in facts:
        for meal in f.meals:
            places[meal.venue.strip(), meal.on].append((f, meal))
    for (venue, on), meals in sorted(places.items()):
        if len({f.id for f, _m in meals}) < 2:
            continue
        near = []
        for f, meal in meals:
            cap = cap_for(f, meal)
            if cap is not None and Fraction(settings.near_cap) * Fraction(cap) <= meal.per_person <= Fraction(
                cap
            ):
                near.append((f, meal, cap))
        if len({f.id for f, _m, _c in near}) < 2:
            continue
        near.sort(key=lambda entry: (entry[0].number, entry[1].index))
        diners = sum(m.diners for _f, m, _c in near)
        cost = sum((m.cost for _f, m, _c in near), Decimal(0))
        amounts = ", ".join(f"{f.number} {_yuan(m.per_person)}/{c}" for f, m, c in near)
        yield _flag(
            FlagKind.SPLIT_BILL,
            Severity.WARNING,
            (f for f, _m, _c in near),
            f"{on.isoformat()} 在「{venue}」用餐 {len(near)} 次、分属不同接待，人均均略低于标准（合并后 "
            f"{diners} 人、{_yuan(cost)} 元、人均 {_yuan(Fraction(cost) / diners)} 元），疑似拆分报销",
            f"{len(near)} meals at {venue} on {on.isoformat()} in different receptions, each just under "
            f"the per-person cap (together {diners} diners, {_yuan(cost)} yuan); possibly a split bill",
            venue=venue,
            date=on.isoformat(),
            per_person_vs_cap=amounts,
            combined_per_person=_yuan(Fraction(cost) / diners),
        )


# -- 连号发票 consecutive invoices ----------------------------------------------------------------

_NUMBERED = re.compile(r"(.*?)(\d+)")


def _consecutive_invoices(facts: Sequence[ReceptionFacts]) -> Iterator[RedFlag]:
    series: dict[tuple[str, str, int], list[tuple[int, str, ReceptionFacts]]] = defaultdict(list)
    for f in facts:
        for invoice in f.invoices:
            found = _NUMBERED.fullmatch(invoice.number.strip())
            if found is not None:
                prefix, digits = found.groups()
                series[invoice.issuer.strip(), prefix, len(digits)].append((int(digits), invoice.number, f))
    for (issuer, _prefix, _width), numbered in sorted(series.items()):
        numbered.sort(key=lambda entry: entry[0])
        run = [numbered[0]]
        for entry in [*numbered[1:], None]:
            if entry is not None and entry[0] - run[-1][0] == 1:
                run.append(entry)
                continue
            if len({f.id for _n, _s, f in run}) >= 2:
                shown = ", ".join(number for _n, number, _f in run)
                yield _flag(
                    FlagKind.CONSECUTIVE_INVOICES,
                    Severity.WARNING,
                    (f for _n, _s, f in run),
                    f"「{issuer}」开具的连号发票 {shown.replace(', ', '、')} 分属 "
                    f"{len({f.id for _n, _s, f in run})} 批接待",
                    f"consecutive invoices {shown} from {issuer} belong to different receptions",
                    issuer=issuer,
                    invoices=shown,
                )
            if entry is not None:
                run = [entry]


# -- 陪同人数异常 companion outliers --------------------------------------------------------------


def _companion_outliers(facts: Sequence[ReceptionFacts], settings: FlagSettings) -> Iterator[RedFlag]:
    counted = [f for f in facts if f.guests > 0]
    if len(counted) < settings.min_sample:
        return
    median = statistics.median(Fraction(f.companions, f.guests) for f in counted)
    factor = Fraction(settings.companion_factor)
    for f in counted:
        ratio = Fraction(f.companions, f.guests)
        excess = f.companions - median * f.guests
        if ratio > factor * median and excess >= settings.companion_min_excess:
            yield _flag(
                FlagKind.COMPANION_OUTLIER,
                Severity.WARNING,
                (f,),
                f"陪同 {f.companions} 人、来宾 {f.guests} 人（每位来宾 {_ratio(ratio)} 人），"
                f"远高于本单位中位数 {_ratio(median)}（{len(counted)} 批）",
                f"{f.companions} companions for {f.guests} guest(s) ({_ratio(ratio)} per guest), far above "
                f"the unit's median of {_ratio(median)} over {len(counted)} receptions",
                companions=str(f.companions),
                guests=str(f.guests),
                ratio=_ratio(ratio),
                unit_median=_ratio(median),
                sample=str(len(counted)),
            )


def _ratio(value: Fraction) -> str:
    return _yuan(value)


# -- 高频消费场所 frequent venues -----------------------------------------------------------------


def _frequent_venues(facts: Sequence[ReceptionFacts], settings: FlagSettings) -> Iterator[RedFlag]:
    users: dict[str, dict[str, ReceptionFacts]] = defaultdict(dict)
    spent: dict[str, Decimal] = defaultdict(Decimal)
    for f in facts:
        for meal in f.meals:
            if meal.venue_type not in settings.venue_exempt:
                users[meal.venue.strip()][f.id] = f
                spent[meal.venue.strip()] += meal.cost
    frequent = sorted(
        ((venue, by_id) for venue, by_id in users.items() if len(by_id) >= settings.venue_min_count),
        key=lambda pair: (-len(pair[1]), pair[0]),
    )
    for venue, by_id in frequent[: settings.venue_top]:
        share = Fraction(len(by_id) * 100, len(facts))
        yield _flag(
            FlagKind.FREQUENT_VENUE,
            Severity.INFO,
            by_id.values(),
            f"「{venue}」用于 {len(by_id)} 批接待（占本单位 {_yuan(share)}%），合计 {_yuan(spent[venue])} 元",
            f"{venue} served {len(by_id)} receptions ({_yuan(share)}% of the unit's), "
            f"{_yuan(spent[venue])} yuan in all",
            venue=venue,
            receptions=str(len(by_id)),
            share_percent=_yuan(share),
            spent=_yuan(spent[venue]),
        )


# -- 工作日午餐饮酒 weekday-lunch alcohol ---------------------------------------------------------


def _weekday_lunch_alcohol(facts: Sequence[ReceptionFacts], settings: FlagSettings) -> Iterator[RedFlag]:
    for f in facts:
        meals = [m for m in f.meals if m.kind is MealKind.LUNCH and m.alcohol and settings.workday(m.on)]
        if not meals:
            continue
        days = "、".join(f"{m.on.isoformat()}（{_WEEKDAYS[m.on.weekday()]}）{m.venue}" for m in meals)
        shown = ", ".join(f"{m.on.isoformat()} at {m.venue}" for m in meals)
        source = "清单" if f.meals_from_list else "方案"
        yield _flag(
            FlagKind.WEEKDAY_LUNCH_ALCOHOL,
            Severity.WARNING,
            (f,),
            f"工作日午餐有酒水：{days}（据{source}）",
            f"alcohol at a weekday lunch: {shown} (per the {'list' if f.meals_from_list else 'plan'})",
            meals=days,
            source="list" if f.meals_from_list else "plan",
        )


_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

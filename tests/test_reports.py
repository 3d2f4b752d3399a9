"""Reports on real databases: the annual summary and the 三公经费 disclosure equal figures computed
independently from the decoded receptions and their audit trails; each audit red flag is found on
data made to show it and nowhere else; reports refuse stores that are not SQL databases."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import sqlalchemy as sa

from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.loading import dump
from jiedai_flow.domain.model import (
    Actor,
    Invoice,
    MealKind,
    Person,
    Plan,
    ProjectOutcome,
    Purpose,
    ReceptionType,
    Role,
    VenueType,
)
from jiedai_flow.domain.records import ApprovalStep, Assignee, ReceptionQuery, StepKind
from jiedai_flow.domain.standards import Budget, Level, MealStandard, StandardsLayer
from jiedai_flow.errors import JiedaiFlowError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.process.tasks import Against, SendBack
from jiedai_flow.reports import (
    FlagKind,
    FlagSettings,
    ReportsNeedSQLError,
    annual_summary,
    disclosure,
    red_flags,
    render_table_csv,
    render_table_html,
)
from jiedai_flow.reports.examples import (
    AGRICULTURE,
    COUNTY,
    OFFICE,
    StepClock,
    build_year,
    complete_list,
    meal,
    run_lifecycle,
)
from jiedai_flow.reports.facts import parse, reception_facts
from jiedai_flow.storage.codec import encode
from jiedai_flow.testing import ACTORS, make_engine, sample_letter
from tests.databases import BACKENDS, private_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.engine import Engine

TAKEN_PLACE = {"in_progress", "completed", "settling", "settled", "archived"}
SETTLED = {"settled", "archived"}
VIOLATING = {Severity.BLOCKING, Severity.NEEDS_EXPLANATION}


class CountyStandards:
    """The county's annual budgets and a 60 元 per-person meal standard, as standards layers."""

    def __init__(self, budgets: tuple[Budget, ...] = ()) -> None:
        changes: dict[str, Any] = {"meal_standards": (MealStandard(Decimal(60)),)}
        if budgets:
            changes["budgets"] = budgets
        self.layer = StandardsLayer("县标准", Level.COUNTY, COUNTY, changes)

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


@attrs.frozen
class World:
    engine: Engine
    clock: StepClock

    @property
    def store(self) -> Any:
        return self.engine.store

    def receptions(self) -> list[Reception]:
        return list(self.engine.query(ReceptionQuery(limit=10_000)).items)


def open_world(url: str, *plugins: object) -> World:
    clock = StepClock()
    engine = make_engine(*plugins, url=url, clock=clock)  # type: ignore[arg-type]
    engine.routes = {}  # reports read no notifications: keep the outbox out of these tests
    return World(engine, clock)


@pytest.fixture(scope="module", params=BACKENDS)
def year(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The example county's year 2025 (docs/examples), built once per back end."""
    budgets = (Budget(OFFICE, 2025, Decimal(20000)), Budget(AGRICULTURE, 2025, Decimal(9000)))
    for url in private_database(request.param, tmp_path_factory.mktemp(request.param)):
        world = open_world(url, CountyStandards(budgets))
        try:
            build_year(world.engine, world.clock)
            yield world
        finally:
            world.engine.store.close()


# -- annual summary and disclosure ------------------------------------------------------------------


def violation_events(world: World, reception: Reception) -> int:
    return sum(
        1 for e in world.engine.history(reception.id) if any(f.severity in VIOLATING for f in e.findings)
    )


def returns_of(world: World, receptions: list[Reception]) -> tuple[int, int, int, dict[str, int]]:
    """退回, 驳回到环节, 票签不通过 in the audit trails, and the reasons given, most frequent first."""
    counts = {"return": 0, "send_back": 0, "vote_against": 0}
    reasons: dict[str, int] = {}
    for r in receptions:
        for e in world.engine.history(r.id):
            if e.trigger in counts and (e.trigger == "vote_against") == (e.to_state == "refused"):
                counts[e.trigger] += 1
                reasons[e.reason] = reasons.get(e.reason, 0) + 1
    ordered = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    return counts["return"], counts["send_back"], counts["vote_against"], ordered


def expected_summary(world: World, year: int, budgets: dict[str, Decimal | None]) -> list[tuple[Any, ...]]:
    units: dict[tuple[str, str], list[Reception]] = defaultdict(list)
    every: dict[tuple[str, str], list[Reception]] = defaultdict(list)
    for r in world.receptions():
        if r.start.year == year:
            every[r.jurisdiction, r.host_unit].append(r)
        if r.state in TAKEN_PLACE and r.start.year == year:
            units[r.jurisdiction, r.host_unit].append(r)
    rows = []
    for (code, unit), found in sorted(units.items()):
        actual = sum((r.reception_list.total for r in found if r.reception_list), Decimal(0))
        items = sum(
            len(r.reception_list.items) + len(r.reception_list.meals)
            if r.reception_list
            else len(r.plan.activities) + len(r.plan.meals)
            for r in found
        )
        events = {r.id: violation_events(world, r) for r in found}
        budget = budgets.get(unit) if code == COUNTY else None
        rows.append(
            (
                year,
                code,
                unit,
                len(found),
                sum(r.letter.headcount for r in found),
                items,
                sum((r.plan.planned_total for r in found), Decimal(0)),
                actual,
                budget,
                None if budget is None else budget - actual,
                sum(events.values()),
                sum(1 for n in events.values() if n),
                *business_outcomes(found),
                *returns_of(world, every[code, unit]),
            )
        )
    return rows


def business_outcomes(found: list[Reception]) -> tuple[int, int, int, int]:
    """招商接待 and their projects' latest recorded outcomes: (business, signed, landed, failed)."""
    business = [r for r in found if r.reception_type is ReceptionType.BUSINESS]
    latest = [next((f.outcome for f in reversed(r.follow_ups) if f.outcome), None) for r in business]
    return (
        len(business),
        latest.count(ProjectOutcome.SIGNED),
        latest.count(ProjectOutcome.LANDED),
        latest.count(ProjectOutcome.FAILED),
    )


def as_tuples(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [attrs.astuple(r, recurse=False, filter=lambda a, _v: a.name != "execution_rate") for r in rows]


def test_annual_summary_equals_figures_counted_from_the_decoded_receptions(year: World) -> None:
    """批次, 人次, 项目, planned, actual, budget (from the standards) and violations per unit."""
    budgets: dict[str, Decimal | None] = {OFFICE: Decimal("20000.00"), AGRICULTURE: Decimal("9000.00")}
    rows = annual_summary(year.store, 2025, engine=year.engine)
    assert as_tuples(rows) == expected_summary(year, 2025, budgets)
    office = next(r for r in rows if (r.jurisdiction, r.host_unit) == (COUNTY, OFFICE))
    assert office.violations >= 1
    assert (office.returned, office.return_reasons) == (1, {"请补充调研点位和座谈议程": 1})
    assert office.flagged == 1  # the 其他 purpose explained at submission, accepted at approval
    assert office.execution_rate == (office.actual * 100 / office.budget).quantize(Decimal("0.1"))


def test_annual_summary_takes_budgets_given_by_unit_or_by_area_and_unit(year: World) -> None:
    rows = annual_summary(year.store, 2025, budgets={OFFICE: Decimal(5000), ("341503", OFFICE): Decimal(700)})
    budgets = {(r.jurisdiction, r.host_unit): r.budget for r in rows}
    assert budgets == {
        (COUNTY, AGRICULTURE): None,
        (COUNTY, OFFICE): Decimal("5000.00"),
        ("341503", OFFICE): Decimal("700.00"),
    }


def test_annual_summary_filters_by_unit_and_area_and_reads_only_its_year(year: World) -> None:
    everything = annual_summary(year.store, 2025)
    only = annual_summary(year.store, 2025, host_unit=OFFICE, jurisdiction=COUNTY)
    assert [(r.jurisdiction, r.host_unit) for r in only] == [(COUNTY, OFFICE)]
    assert only[0] == next(r for r in everything if (r.jurisdiction, r.host_unit) == (COUNTY, OFFICE))
    assert [(r.jurisdiction, r.batches) for r in annual_summary(year.store, 2024)] == [(COUNTY, 1)]
    assert annual_summary(year.store, 2023) == []


@pytest.mark.parametrize("by_month", [True, False])
def test_disclosure_equals_settled_spending_batches_and_headcount(year: World, by_month: bool) -> None:
    """三公经费: actual spending, 批次 and 人次 of settled and archived receptions, per unit and month."""
    wanted: dict[tuple[str, str, int | None], list[Reception]] = defaultdict(list)
    for r in year.receptions():
        if r.state in SETTLED and r.start.year == 2025:
            wanted[r.jurisdiction, r.host_unit, r.start.month if by_month else None].append(r)
    rows = disclosure(year.store, 2025, by_month=by_month)
    assert [(r.jurisdiction, r.host_unit, r.month, r.amount, r.batches, r.headcount) for r in rows] == [
        (
            code,
            unit,
            month,
            sum((r.reception_list.total for r in found if r.reception_list), Decimal(0)),
            len(found),
            sum(r.letter.headcount for r in found),
        )
        for (code, unit, month), found in sorted(
            wanted.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)
        )
    ]
    assert all(r.year == 2025 for r in rows)


def test_long_reports_report_progress_up_to_the_rows_read(year: World) -> None:
    for report in (annual_summary, disclosure, red_flags):
        calls: list[tuple[int, int]] = []
        report(year.store, 2025, progress=lambda done, total, calls=calls: calls.append((done, total)))
        assert calls[0][0] == 0
        assert calls[-1][0] == calls[-1][1] > 0, report.__name__
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)


class VoteChain:
    """A parallel countersign of a and b, then a 票签 of c, d and e weighing 3, 2 and 2."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Any) -> list[ApprovalStep]:
        del reception, standards
        both = (Assignee.person("a"), Assignee.person("b"))
        votes = (Assignee.person("c", 3), Assignee.person("d", 2), Assignee.person("e", 2))
        return [
            ApprovalStep("", "会签", kind=StepKind.PARALLEL, assignees=both),
            ApprovalStep("", "党组会票签", kind=StepKind.VOTE, assignees=votes),
        ]


def voter(actor_id: str) -> Actor:
    return Actor(actor_id, f"审批人{actor_id}", frozenset({Role.APPROVER}))


@pytest.fixture(params=BACKENDS)
def votes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    for url in private_database(request.param, tmp_path):
        world = open_world(url, VoteChain())
        try:
            yield world
        finally:
            world.engine.store.close()


def test_annual_summary_counts_returns_send_backs_and_failed_votes_with_their_reasons(votes: World) -> None:
    """The office's reception is returned to the handler, later sent back from the vote to the
    countersign, then passes; the bureau's is refused by the vote (its first vote against could
    still pass and is no return). A unit whose only reception was refused still has its row."""
    engine, handler = votes.engine, ACTORS["handler"]
    a, b, c, d = (voter(i) for i in "abcd")

    def create(unit: str) -> str:
        letter, plan = sample_letter(date(2025, 6, 10)), Plan()
        return engine.create_reception(
            letter, plan, handler=handler, host_unit=unit, jurisdiction=COUNTY
        ).reception.id

    office = create(OFFICE)
    engine.fire(office, "submit", handler)
    engine.fire(office, "approve", a)
    engine.fire(office, "return", b, reason="请补充行程")
    engine.fire(office, "submit", handler)
    engine.fire(office, "approve", a)
    engine.fire(office, "approve", b)
    engine.operate(office, SendBack(0), c, reason="请补充行程")
    engine.fire(office, "approve", a)
    engine.fire(office, "approve", b)
    engine.fire(office, "approve", c)
    engine.fire(office, "approve", d)
    engine.fire(office, "start", handler)
    bureau = create(AGRICULTURE)
    engine.fire(bureau, "submit", handler)
    engine.fire(bureau, "approve", a)
    engine.fire(bureau, "approve", b)
    engine.operate(bureau, Against(), c, reason="规模偏大")
    assert engine.operate(bureau, Against(), d, reason="人均超标").reception.state == "refused"

    rows = {r.host_unit: r for r in annual_summary(votes.store, 2025)}
    assert (rows[OFFICE].batches, rows[OFFICE].returned, rows[OFFICE].sent_back) == (1, 1, 1)
    assert (rows[OFFICE].vote_failed, rows[OFFICE].return_reasons) == (0, {"请补充行程": 2})
    assert (rows[AGRICULTURE].batches, rows[AGRICULTURE].vote_failed) == (0, 1)
    assert rows[AGRICULTURE].return_reasons == {"人均超标": 1}
    assert dump(rows[OFFICE])["return_reasons"] == {"请补充行程": 2}  # as the HTTP service sends it
    html = render_table_html(list(rows.values()), "汇总")
    assert "请补充行程（2 次）" in html
    csv = render_table_csv(list(rows.values()))
    assert "退回理由 reasons" in csv
    assert "人均超标" in csv


def test_reports_refuse_a_store_that_is_not_a_sql_database() -> None:
    engine = make_engine()  # memory://
    for report in (annual_summary, disclosure, red_flags):
        with pytest.raises(ReportsNeedSQLError) as caught:
            report(engine.store, 2025)
        assert isinstance(caught.value, JiedaiFlowError)
        assert "报表需要 SQL 数据库" in str(caught.value)
        assert "reports need a SQL database" in str(caught.value)
        assert caught.value.code == "reports_need_sql"


def test_the_json_readers_agree_with_the_decoded_receptions(year: World) -> None:
    """The reports read headcounts, meals and invoices from the JSON column without decoding it."""
    for r in year.receptions():
        facts = reception_facts(parse(encode(r)))
        listing = r.reception_list
        meals = listing.meals if listing is not None and listing.meals else r.plan.meals
        assert (facts.id, facts.number, facts.host_unit, facts.start) == (
            r.id,
            r.number,
            r.host_unit,
            r.start,
        )
        assert facts.guests == len(listing.guests if listing else r.letter.personnel)
        assert facts.companions == len(listing.companions if listing else r.plan.companions)
        assert [
            (m.on, m.kind, m.venue, m.venue_type, m.guests, m.companions, m.cost, m.alcohol)
            for m in facts.meals
        ] == [(m.on, m.kind, m.venue, m.venue_type, m.guests, m.companions, m.cost, m.alcohol) for m in meals]
        invoices = listing.invoices if listing else ()
        assert [(i.number, i.issuer, i.issued_on, i.amount) for i in facts.invoices] == [
            (i.number, i.issuer, i.issued_on, i.amount) for i in invoices
        ]


def test_sqlite_reports_find_the_year_through_an_index(tmp_path: Path) -> None:
    """No report scans the receptions table: the (state, start_date) index finds the year."""
    world = open_world(f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        on = date(2025, 3, 11)
        run_lifecycle(world.engine, world.clock, sample_letter(on), plan_at(on))
        seen: list[tuple[str, Any]] = []

        def listen(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
            del conn, cursor, rest
            if "jd_receptions" in statement:
                seen.append((statement, parameters))

        sa.event.listen(world.store.db, "before_cursor_execute", listen)
        try:
            annual_summary(world.store, 2025)
            disclosure(world.store, 2025)
            red_flags(world.store, 2025)
        finally:
            sa.event.remove(world.store.db, "before_cursor_execute", listen)
        assert len(seen) >= 5  # summary: sums + violations; disclosure: sums; red flags: a stream or more
        with world.store.db.connect() as conn:
            for statement, parameters in seen:
                plan = " | ".join(
                    str(row[-1])
                    for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                )
                assert "SCAN jd_receptions" not in plan, (statement, plan)
                indexed = (
                    "INDEX ix_jd_receptions_state (state=? AND start_date>",
                    "INDEX ix_jd_receptions_type (reception_type=? AND start_date>",  # 招商 outcomes
                    "(id=?)",
                )
                assert any(index in plan for index in indexed), plan
    finally:
        world.engine.store.close()


# -- red flags ----------------------------------------------------------------------------------------


def plan_at(on: date, guests: int = 4, companions: int = 2, per_person: int = 40, **fields: Any) -> Plan:
    named = (
        Person("王强", "局长"),
        Person("赵磊", "副主任"),
        Person("钱进", "副局长"),
        Person("孙丽", "科长"),
    )
    meals = (meal(on, guests, companions, per_person, **fields),)
    return Plan(meals=meals, companions=named[:companions], budget=Decimal(1000))


def reception(
    world: World,
    unit: str,
    on: date,
    *,
    guests: int = 4,
    companions: int = 2,
    per_person: int = 40,
    invoices: tuple[str, ...] = (),
    named: int | None = None,
    **fields: Any,
) -> Reception:
    """An archived reception of ``unit`` with one meal on ``on`` (at the canteen unless ``fields``
    say otherwise) and a complete list naming ``named`` companions; two ``invoices`` split the bill."""
    letter = attrs.evolve(sample_letter(on, guests), purpose=Purpose.RESEARCH)
    plan = plan_at(on, guests, companions, per_person, **fields)
    people = tuple(Person(f"陪同{n}", "科员") for n in range(named if named is not None else companions))
    listing = complete_list(letter, plan, invoice_numbers=invoices[:1], companions=people)
    if len(invoices) == 2:
        (whole,) = listing.invoices
        half = (whole.amount / 2).quantize(Decimal("0.01"))
        parts = (
            attrs.evolve(whole, amount=half),
            Invoice(invoices[1], on, whole.issuer, whole.amount - half),
        )
        listing = attrs.evolve(listing, invoices=parts)
    return run_lifecycle(world.engine, world.clock, letter, plan, host_unit=unit, listing=listing)


HOTEL = {"venue": "县宾馆", "venue_type": VenueType.DESIGNATED, "kind": MealKind.DINNER}
RESTAURANT = {"venue": "东方饭店", "venue_type": VenueType.RESTAURANT}
CLEAN, SPLIT, SERIAL, CROWD, HABIT, WINE = (
    "清洁单位",
    "拆单单位",
    "连号单位",
    "陪同单位",
    "高频单位",
    "饮酒单位",
)


@pytest.fixture(scope="module", params=BACKENDS)
def crafted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Units of 2025 (under the 2013 rule pack, which allows ordinary alcohol) each made to show
    one red flag, and a clean unit whose data comes close to every flag without showing one."""
    d = date
    for url in private_database(request.param, tmp_path_factory.mktemp(request.param)):
        world = open_world(url, CountyStandards())
        try:
            # clean: canteen five times (exempt), two receptions at the canteen the same day far
            # under the cap, invoices of one issuer but not consecutive, an even companion ratio,
            # alcohol only at a Saturday lunch and a weekday dinner
            for n, on in enumerate(
                (d(2025, 1, 7), d(2025, 1, 14), d(2025, 1, 14), d(2025, 2, 4), d(2025, 2, 11))
            ):
                reception(world, CLEAN, on, invoices=(f"No.C{1000 + 2 * n}",))
            reception(world, CLEAN, d(2025, 3, 8), alcohol=True)  # a Saturday
            reception(world, CLEAN, d(2025, 3, 11), alcohol=True, kind=MealKind.DINNER)
            # split: two dinners at the guest house the same evening just under 60, a third far under
            reception(world, SPLIT, d(2025, 4, 15), per_person=58, invoices=("No.S100",), **HOTEL)
            reception(world, SPLIT, d(2025, 4, 15), per_person=57, invoices=("No.S200",), **HOTEL)
            reception(world, SPLIT, d(2025, 4, 15), per_person=40, invoices=("No.S300",), **HOTEL)
            # consecutive invoices across two receptions; a consecutive pair inside one reception
            reception(world, SERIAL, d(2025, 2, 18), invoices=("No.00012345",), **RESTAURANT)
            reception(world, SERIAL, d(2025, 3, 4), invoices=("No.00012346",), **RESTAURANT)
            reception(world, SERIAL, d(2025, 3, 25), invoices=("No.00050000", "No.00050001"))
            # companions: four receptions with 1 companion for 4 guests, one with 4 for 1 guest
            for on in (d(2025, 1, 8), d(2025, 1, 22), d(2025, 2, 5), d(2025, 2, 19)):
                reception(world, CROWD, on, companions=1)
            reception(world, CROWD, d(2025, 3, 5), guests=1, companions=3, named=4)
            # habit: five receptions at the same restaurant
            for on in (d(2025, 1, 9), d(2025, 2, 6), d(2025, 3, 6), d(2025, 4, 10), d(2025, 5, 8)):
                reception(world, HABIT, on, **RESTAURANT)
            # wine: a Tuesday lunch with alcohol
            reception(world, WINE, d(2025, 4, 8), alcohol=True)
            yield world
        finally:
            world.engine.store.close()


def flags_of(world: World, **options: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for flag in red_flags(world.store, 2025, **options):
        found[flag.host_unit].append(flag)
    return found


def numbers(world: World, unit: str) -> list[str]:
    return sorted(r.number for r in world.receptions() if r.host_unit == unit)


def test_each_unit_shows_only_the_red_flag_its_data_was_made_for(crafted: World) -> None:
    found = flags_of(crafted, engine=crafted.engine)
    assert {unit: [f.kind for f in flags] for unit, flags in found.items()} == {
        SPLIT: [FlagKind.SPLIT_BILL],
        SERIAL: [FlagKind.CONSECUTIVE_INVOICES],
        CROWD: [FlagKind.COMPANION_OUTLIER],
        HABIT: [FlagKind.FREQUENT_VENUE],
        WINE: [FlagKind.WEEKDAY_LUNCH_ALCOHOL],
    }
    assert CLEAN not in found


def test_split_bill_names_the_meals_just_under_the_cap_from_the_standards(crafted: World) -> None:
    """Same venue, same date, different receptions, each per person in [54, 60] of a 60 元 cap."""
    (flag,) = flags_of(crafted, engine=crafted.engine)[SPLIT]
    assert flag.reception_numbers == tuple(numbers(crafted, SPLIT)[:2])
    assert flag.severity is Severity.WARNING
    assert flag.evidence["venue"] == "县宾馆"
    assert flag.evidence["date"] == "2025-04-15"
    assert "58.00/60" in flag.evidence["per_person_vs_cap"]
    assert "57.00/60" in flag.evidence["per_person_vs_cap"]
    assert "拆分" in flag.message_zh
    assert "split bill" in flag.message_en


def test_split_bills_use_a_cap_given_in_the_settings_and_need_a_cap(crafted: World) -> None:
    assert FlagKind.SPLIT_BILL not in {f.kind for f in red_flags(crafted.store, 2025)}
    lower = FlagSettings(meal_cap=Decimal(58))
    (flag,) = [f for f in red_flags(crafted.store, 2025, settings=lower) if f.kind is FlagKind.SPLIT_BILL]
    assert flag.host_unit == SPLIT
    assert not [f for f in red_flags(crafted.store, 2025, settings=FlagSettings(meal_cap=Decimal(70)))
                if f.kind is FlagKind.SPLIT_BILL]  # fmt: skip


def test_consecutive_invoices_across_receptions_are_flagged_not_within_one(crafted: World) -> None:
    (flag,) = flags_of(crafted)[SERIAL]
    assert flag.evidence == {"issuer": "东方饭店", "invoices": "No.00012345, No.00012346"}
    assert len(flag.reception_ids) == 2


def test_a_companion_ratio_far_above_the_unit_median_is_flagged(crafted: World) -> None:
    (flag,) = flags_of(crafted)[CROWD]
    assert flag.reception_numbers == (numbers(crafted, CROWD)[-1],)
    assert (flag.evidence["companions"], flag.evidence["guests"], flag.evidence["unit_median"]) == (
        "4",
        "1",
        "0.25",
    )


def test_a_venue_used_by_five_receptions_is_frequent_but_the_canteen_is_exempt(crafted: World) -> None:
    (flag,) = flags_of(crafted)[HABIT]
    assert flag.severity is Severity.INFO
    assert flag.evidence["venue"] == "东方饭店"
    assert flag.evidence["receptions"] == "5"
    assert list(flag.reception_numbers) == numbers(crafted, HABIT)
    canteen = FlagSettings(venue_exempt=frozenset())
    assert [f.evidence["venue"] for f in flags_of(crafted, settings=canteen)[CLEAN]] == ["县机关食堂"]


def test_alcohol_at_a_weekday_lunch_is_flagged_not_at_weekends_or_dinners(crafted: World) -> None:
    (flag,) = flags_of(crafted)[WINE]
    assert "2025-04-08（周二）" in flag.message_zh
    assert flag.evidence["source"] == "list"
    every_day = FlagSettings(workday=lambda _day: True)
    assert [f.kind for f in flags_of(crafted, settings=every_day)[CLEAN]] == [FlagKind.WEEKDAY_LUNCH_ALCOHOL]


def test_red_flags_read_only_their_year_and_filter_by_unit(crafted: World) -> None:
    assert red_flags(crafted.store, 2024) == []
    only = red_flags(crafted.store, 2025, host_unit=WINE)
    assert [f.host_unit for f in only] == [WINE]


def test_the_example_year_shows_every_kind_of_red_flag(year: World) -> None:
    from jiedai_flow.reports.examples import SETTINGS

    kinds = [f.kind for f in red_flags(year.store, 2025, settings=SETTINGS)]
    assert sorted(set(kinds)) == sorted(FlagKind)

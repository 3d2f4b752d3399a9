"""The rendered examples of docs/reports.md, made by the real engine.

``python -m jiedai_flow.reports.examples [DIR]`` (default ``docs/examples``) runs a county's year
2025 of receptions through every step of the default process on a temporary SQLite file, then
writes the 接待清单 and 审批单 of the first one and the annual summary, disclosure and red flags of the
year. ``tests/test_exports.py`` regenerates them and fails when the committed files are stale.

The helpers :func:`complete_list` and :func:`run_lifecycle` are also what the report tests use.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.model import (
    DocumentKind,
    Guest,
    Invoice,
    ListItem,
    Meal,
    MealKind,
    Payment,
    PaymentMethod,
    Person,
    Plan,
    Purpose,
    Rank,
    ReceptionList,
    VenueType,
)
from jiedai_flow.domain.records import Assignee
from jiedai_flow.domain.samples import ACTORS, sample_letter
from jiedai_flow.process.engine import open_engine
from jiedai_flow.process.tasks import Assign, Complete, ExecutionItem
from jiedai_flow.reports.approval_form import approval_document
from jiedai_flow.reports.flags import FlagSettings, red_flags
from jiedai_flow.reports.forms import render_approval_html, render_list_html
from jiedai_flow.reports.listing import list_document
from jiedai_flow.reports.render_csv import render_list_csv, render_table_csv
from jiedai_flow.reports.render_html import render_table_html
from jiedai_flow.reports.summary import AnnualSummaryRow, annual_summary, disclosure

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jiedai_flow.domain.model import Actor, OfficialLetter
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.engine import Engine

YEAR = 2025
COUNTY = "341502"
OFFICE = "县政府办公室"
AGRICULTURE = "县农业农村局"
GUESTHOUSE = "县宾馆"
CANTEEN = "县机关食堂"
SETTINGS = FlagSettings(meal_cap=Decimal(60), venue_min_count=4)
"""The example's thresholds: a 60 元 per-person cap, venues used four times or more."""
BUDGETS: Mapping[str | tuple[str, str], Decimal] = {
    (COUNTY, OFFICE): Decimal(20000),
    AGRICULTURE: Decimal(8000),
}
"""Annual budgets: by (county, unit) where two counties have a unit of the same name."""

STOPS = ("draft", "approved", "in_progress", "completed", "settling", "settled", "archived")
"""Where :func:`run_lifecycle` may stop, in process order."""


class StepClock:
    """A clock the examples set to each moment of a reception's life."""

    def __init__(self) -> None:
        self.current = datetime(2025, 1, 2, 9, 0, tzinfo=CHINA_TZ)

    def now(self) -> datetime:
        return self.current

    def set(self, day: date, hour: int = 9, minute: int = 0) -> None:
        self.current = datetime.combine(day, time(hour, minute), tzinfo=CHINA_TZ)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment of ``day`` in China."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA_TZ)


def meal(on: date, guests: int, companions: int, per_person: int, **fields: Any) -> Meal:
    """A working meal at the canteen (``fields`` override), billed ``per_person`` × diners."""
    values: dict[str, Any] = {
        "on": on,
        "kind": MealKind.LUNCH,
        "venue": CANTEEN,
        "venue_type": VenueType.CANTEEN,
        "guests": guests,
        "companions": companions,
        "cost": Decimal(per_person) * (guests + companions),
        "dishes": ("家常豆腐", "清炒时蔬", "米饭"),
    }
    values.update(fields)
    return Meal(**values)


def complete_list(
    letter: OfficialLetter,
    plan: Plan,
    *,
    invoice_numbers: Sequence[str] = (),
    companions: Sequence[Person] | None = None,
    items: Sequence[ListItem] = (),
) -> ReceptionList:
    """A complete 接待清单: the letter's guests, the planned meals as they happened and ``items``,
    one invoice per meal (numbers from ``invoice_numbers`` or made up), an official-card payment,
    the companions (the plan's by default) and support staff, signed by the office head the day
    after the visit, with the national voucher set (票据、公函、清单)."""
    start, end = letter.itinerary.start, letter.itinerary.end
    numbers = list(invoice_numbers) or [f"No.{start:%y%m%d}{n:02d}" for n in range(1, len(plan.meals) + 1)]
    invoices = tuple(Invoice(numbers[n], m.on, m.venue, m.cost) for n, m in enumerate(plan.meals))
    paid = sum((m.cost for m in plan.meals), Decimal(0)) + sum((i.cost for i in items), Decimal(0))
    return ReceptionList(
        guests=letter.personnel,
        items=tuple(items),
        meals=plan.meals,
        invoices=invoices,
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, paid, "公务卡尾号 6688"),),
        companions=tuple(companions) if companions is not None else plan.companions,
        support_staff=(Person("张伟", "县政府办公室科员"),),
        signed_by="孙浩（县政府办公室主任）",
        signed_on=end + timedelta(days=1),
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def run_lifecycle(
    engine: Engine,
    clock: StepClock,
    letter: OfficialLetter,
    plan: Plan,
    *,
    host_unit: str = OFFICE,
    jurisdiction: str = COUNTY,
    until: str = "archived",
    listing: ReceptionList | None = None,
    explanations: Mapping[str, str] | None = None,
    returned: str = "",
    execution: Sequence[tuple[ExecutionItem, Actor]] = (),
) -> Reception:
    """Take one reception from its letter to ``until`` (a state of :data:`STOPS`, or
    ``cancelled``) with the sample county office's actors, the clock moving as days pass.

    The list is ``listing`` or :func:`complete_list`; it is filed with the claim, or with an
    edit when stopping at ``completed``. With ``returned``, the approver first returns the
    submission with that reason and the handler submits it again the next morning. Each item of
    ``execution`` is handed out once approved and completed by its actor at the item's time.
    """
    handler, approver, finance = ACTORS["handler"], ACTORS["approver"], ACTORS["finance"]
    start, end = letter.itinerary.start, letter.itinerary.end
    clock.set(start - timedelta(days=5))
    created = engine.create_reception(
        letter, plan, handler=handler, host_unit=host_unit, jurisdiction=jurisdiction
    )
    rid = created.reception.id
    if until == "cancelled":
        return engine.fire(rid, "cancel", handler, reason="来访取消").reception
    steps: list[tuple[str, str, Any, dict[str, Any]]] = [
        ("approved", "submit", handler, {"explanations": explanations}),
        ("approved", "approve", approver, {"reason": "同意"}),
        ("in_progress", "start", handler, {}),
        ("completed", "finish", handler, {}),
        ("settling", "claim", handler, {}),
        ("settled", "settle", finance, {}),
        ("archived", "archive", finance, {}),
    ]
    moments = {"submit": (start - timedelta(days=5), 10), "approve": (start - timedelta(days=4), 15)}
    moments |= {"start": (start, 8), "finish": (end, 17), "claim": (end + timedelta(days=1), 10)}
    moments |= {"settle": (end + timedelta(days=3), 11), "archive": (end + timedelta(days=4), 16)}
    reception = engine.get(rid)
    for stop, trigger, actor, options in steps:
        if STOPS.index(stop) > STOPS.index(until):
            break
        clock.set(*moments[trigger])
        if trigger == "claim":
            options = {"reception_list": listing or complete_list(letter, plan)}
        if trigger == "approve" and returned:
            clock.set(start - timedelta(days=5), 16)
            engine.fire(rid, "return", approver, reason=returned)
            clock.set(start - timedelta(days=4), 9)
            engine.fire(rid, "submit", handler, explanations=explanations)
            clock.set(*moments[trigger])
        if trigger == "finish":
            for item, doer in execution:
                clock.set(item.at.date() if item.at else start, item.at.hour if item.at else 8)
                engine.operate(
                    rid, Complete(task=_task_of(engine.get(rid), item.title)), doer, reason="已办妥"
                )
            clock.set(*moments[trigger])
        reception = engine.fire(rid, trigger, actor, **options).reception
        if trigger == "approve" and execution:
            clock.set(start - timedelta(days=3), 10)
            items = [item for item, _doer in execution]
            reception = engine.operate(rid, Assign(items), handler).reception
    if until == "completed":
        clock.set(end + timedelta(days=1), 10)
        filed = listing or complete_list(letter, plan)
        reception = engine.fire(rid, "edit", handler, reception_list=filed).reception
    return reception


def _task_of(reception: Reception, title: str) -> str:
    """The id of the open execution task ``title``."""
    return next(t.id for t in reception.open_tasks() if t.title == title)


def _letter(start: date, guests: int, sender: str, purpose: Purpose, content: str) -> OfficialLetter:
    ranks = (Rank.BUREAU, Rank.COUNTY, Rank.TOWNSHIP)
    posts = ("副局长", "处长", "科员")
    names = ("刘建国", "陈晓华", "周明", "吴婷", "郑磊", "冯丽")[:guests]
    personnel = tuple(Guest(name, sender, posts[min(n, 2)], ranks[min(n, 2)]) for n, name in enumerate(names))
    number = f"{sender[1:3]}函〔{start.year}〕{start.month}{start.day:02d}号"
    return attrs.evolve(
        sample_letter(start, guests),
        number=number,
        sending_unit=sender,
        purpose=purpose,
        content=content,
        personnel=personnel,
    )


_COMPANIONS = (
    Person("王强", "县农业农村局局长"),
    Person("赵磊", "县政府办公室副主任"),
    Person("钱进", "县财政局副局长"),
    Person("孙丽", "县政府办公室科长"),
    Person("李响", "县政府办公室科员"),
)
_HOTEL = {"venue": GUESTHOUSE, "venue_type": VenueType.DESIGNATED}
_DINNER = {"kind": MealKind.DINNER, **_HOTEL}
_OTHER_PURPOSE = "市档案馆来县接收撤并乡镇档案，属执行任务，公函事由误填为其他"

_d = date
_INSPECTION, _RESEARCH = Purpose.INSPECTION, Purpose.RESEARCH
# start, guests, sending unit, purpose, content, meal (companions, yuan per person, fields), options
_VISITS: tuple[tuple[date, int, str, Purpose, str, tuple[int, int, dict[str, Any]], dict[str, Any]], ...] = (
    (_d(2025, 4, 8), 3, "省财政厅", _INSPECTION, "财政资金检查", (2, 58, {"alcohol": True, **_HOTEL}), {}),
    (_d(2025, 5, 13), 5, "市应急管理局", Purpose.TASK, "安全生产执法", (2, 50, {}), {"until": "settled"}),
    (_d(2025, 6, 17), 4, "市档案馆", Purpose.OTHER, "档案移交", (2, 45, _DINNER), {"why": _OTHER_PURPOSE}),
    (_d(2025, 9, 16), 4, "市水利局", _INSPECTION, "防汛检查", (2, 58, _DINNER), {"invoice": "No.25091601"}),
    (_d(2025, 9, 16), 4, "市自然资源局", _INSPECTION, "耕地保护督导", (2, 59, _DINNER),
     {"invoice": "No.25091602", "until": "settled"}),
    (_d(2025, 10, 21), 1, "市统计局", _RESEARCH, "统计调研", (3, 50, {}), {"companions": 5}),
    (_d(2025, 11, 18), 2, "市民政局", _RESEARCH, "养老服务调研", (1, 40, {}), {"until": "in_progress"}),
    (_d(2025, 12, 9), 3, "市审计局", _INSPECTION, "审计整改回访", (1, 40, {}), {"until": "completed"}),
    (_d(2025, 8, 5), 2, "市交通运输局", _RESEARCH, "农村公路调研", (1, 40, {}), {"until": "cancelled"}),
    (_d(2024, 11, 12), 3, "市农业农村局", _RESEARCH, "秋粮收购调研", (1, 40, {}), {}),
    (_d(2025, 3, 20), 3, "省农科院", Purpose.STUDY, "技术交流", (1, 45, {}), {"host_unit": AGRICULTURE}),
    (_d(2025, 7, 15), 3, "市林业局", Purpose.STUDY, "技术交流", (1, 45, {}),
     {"host_unit": AGRICULTURE, "until": "settled"}),
    (_d(2025, 5, 8), 2, "市发展改革委", _RESEARCH, "项目调研", (1, 50, {}), {"jurisdiction": "341503"}),
)  # fmt: skip
"""The rest of the example year: a weekday lunch with alcohol, an explained 其他 purpose, two
dinners at the guest house the same evening with consecutive invoices, a visit with five
companions for one guest, receptions still under way, a cancelled one, one of 2024, another
unit's and another county's."""


def build_year(engine: Engine, clock: StepClock) -> Reception:
    """Run the example county's receptions (mostly 2025) through the engine; returns the one
    whose 接待清单 is rendered: a research visit with two activity items and a canteen lunch."""
    visit = date(2025, 3, 11)
    letter = _letter(visit, 4, "市农业农村局", Purpose.RESEARCH, "高标准农田建设考察调研")
    letter = attrs.evolve(letter, number="市农函〔2025〕12号")
    plan = Plan(meals=(meal(visit, 4, 2, 55),), companions=_COMPANIONS[:2], budget=Decimal(1000))
    items = (
        ListItem(visit, "高标准农田现场调研", "县农业产业园", Decimal(0), "09:00-11:30"),
        ListItem(
            visit + timedelta(days=1), "春耕备耕座谈会", "县农业农村局会议室", Decimal(0), "09:00-11:00"
        ),
    )
    listing = complete_list(letter, plan, invoice_numbers=["0451207"], items=items)
    office = ACTORS["office"]
    execution = (
        (
            ExecutionItem("接站", Assignee.person(office.id, name=office.name), at(visit, 8, 30), "县汽车站"),
            office,
        ),
        (
            ExecutionItem(
                "座谈会会场布置",
                Assignee.person(office.id, name=office.name),
                at(visit + timedelta(days=1), 8),
                "县农业农村局会议室",
            ),
            office,
        ),
    )
    featured = run_lifecycle(
        engine, clock, letter, plan, listing=listing, returned="请补充调研点位和座谈议程", execution=execution
    )
    for start, guests, sender, purpose, content, (companions, per_person, fields), options in _VISITS:
        letter = _letter(start, guests, sender, purpose, content)
        named = _COMPANIONS[: options.get("companions", 2)]
        plan = Plan(
            meals=(meal(start, guests, companions, per_person, **fields),),
            companions=named[:3],
            budget=Decimal(1000),
        )
        invoices = [options["invoice"]] if "invoice" in options else []
        run_lifecycle(
            engine,
            clock,
            letter,
            plan,
            host_unit=options.get("host_unit", OFFICE),
            jurisdiction=options.get("jurisdiction", COUNTY),
            until=options.get("until", "archived"),
            listing=complete_list(letter, plan, invoice_numbers=invoices, companions=named),
            explanations={"S-01": options["why"]} if "why" in options else None,
        )
    return featured


def generate(directory: Path) -> dict[str, str]:
    """Build the example year on a temporary SQLite file and write the example files to
    ``directory``; returns {file name: text}."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jiedai-examples-") as tmp:
        clock = StepClock()
        engine = open_engine(f"sqlite:///{Path(tmp) / 'examples.db'}", autoload=False, clock=clock)
        engine.routes = {}  # the examples need no notifications (nor the outbox)
        try:
            featured = build_year(engine, clock)
            files = _render(engine, featured)
        finally:
            engine.store.close()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8", newline="")
    return files


def _render(engine: Engine, featured: Reception) -> dict[str, str]:
    store = engine.store
    reception = engine.get(featured.id)
    doc = list_document(reception)
    summary = annual_summary(store, YEAR, budgets=BUDGETS)
    months = disclosure(store, YEAR)
    flags = red_flags(store, YEAR, settings=SETTINGS)
    return {
        "jiedai-qingdan.html": render_list_html(doc),
        "jiedai-qingdan.csv": render_list_csv(doc),
        "jiedai-shenpidan.html": render_approval_html(approval_document(reception)),
        "annual-summary.html": render_table_html(summary, f"{YEAR} 年度公务接待汇总 annual summary"),
        "annual-summary.csv": render_table_csv(summary),
        "annual-summary.md": markdown_table(summary),
        "disclosure.html": render_table_html(months, f"{YEAR} 年公务接待费（三公经费）disclosure"),
        "red-flags.html": render_table_html(flags, f"{YEAR} 年审计疑点 red flags"),
        "red-flags.md": markdown_table(flags),
    }


def markdown_table(rows: Sequence[Any]) -> str:
    """A report table as a Markdown table (for docs/reports.md)."""
    from jiedai_flow.reports.common import cell_text

    columns = type(rows[0]).COLUMNS if rows else AnnualSummaryRow.COLUMNS
    lines = ["| " + " | ".join(c.header for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [cell_text(getattr(row, c.key), c).replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    directory = Path(args[0]) if args else Path("docs/examples")
    for name in generate(directory):
        print(directory / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

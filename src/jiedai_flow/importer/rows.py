"""Parsing an import row 解析导入行 into what the engine takes — letter, plan, list, people, target
state and, in a history import, the day of each step — with every problem in the row reported at
its column."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.domain.loading import load
from jiedai_flow.domain.model import (
    MAX_ACTOR_ID,
    MAX_HOST_UNIT,
    DocumentKind,
    InvalidValueError,
    LetterKind,
    MealKind,
    OfficialLetter,
    PaymentMethod,
    Plan,
    Purpose,
    Rank,
    ReceptionList,
    ReceptionType,
    VenueType,
    check_text,
    money,
)
from jiedai_flow.errors import ValidationError
from jiedai_flow.importer.columns import (
    BY_NAME,
    DATE_COLUMNS,
    STEP_DAYS,
    RowError,
    actor_column,
    column_of,
    default_state,
    walks,
)
from jiedai_flow.importer.history import finished, finished_labels, schedule
from jiedai_flow.importer.walk import IMPORT_PREFIX

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jiedai_flow.domain.model import LabelledEnum
    from jiedai_flow.process.lifecycle import ProcessDefinition

_SPLIT = re.compile(r"\s*[;；\n]\s*")
_SPLIT_NAMES = re.compile(r"\s*[;；,，、\n]\s*")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_NAME_LENGTH = MAX_ACTOR_ID - len(IMPORT_PREFIX)
"""A person's name becomes the id ``import:<name>`` of an import actor, stored in 64 characters."""


@attrs.frozen
class ImportRow:
    """One row, parsed and validated into what the engine takes."""

    row: int
    key: str
    letter: OfficialLetter
    plan: Plan
    listing: ReceptionList | None
    jurisdiction: str
    host_unit: str
    reception_type: ReceptionType
    start: date
    end: date
    handler: str
    approvers: tuple[str, ...]
    finance: str
    state: str
    reason: str
    explanations: Mapping[str, str]
    days: Mapping[str, date] | None = None
    """History import: the day of each step by column (:data:`~jiedai_flow.importer.columns.STEP_DAYS`);
    None in an ordinary import (the steps are dated when it runs)."""


# -- parsing rows ----------------------------------------------------------------------------------


class _Cells:
    """One row's cells by column name, collecting every problem instead of stopping at the first."""

    def __init__(self, row: int, cells: Mapping[str, str]) -> None:
        self.row, self.cells = row, cells
        self.errors: list[RowError] = []

    def error(self, column: str, zh: str, en: str) -> None:
        self.errors.append(RowError(self.row, column, zh, en))

    def text(self, column: str, default: str = "") -> str:
        value = self.cells.get(column, "").strip()
        if not value and BY_NAME[column].required:
            self.error(column, "必填，不能为空", "required, must not be blank")
        return value or default

    def day(self, column: str, default: date | None = None) -> date | None:
        value = self.text(column)
        if not value:
            return default
        match = _DATE.match(value)
        try:
            if match:
                return date(int(match[1]), int(match[2]), int(match[3]))
            return date.fromisoformat(value)
        except ValueError:
            self.error(column, f"不是有效日期：{value!r}（应为 YYYY-MM-DD）", f"not a date: {value!r}")
            return default

    def amount(self, column: str) -> str | None:
        value = self.text(column).replace(",", "").replace("，", "").removesuffix("元")
        if not value:
            return None
        try:
            return format(money(value), "f")
        except InvalidValueError as exc:
            self.error(column, exc.message_zh, exc.message_en)
            return None

    def count(self, column: str) -> int | None:
        value = self.text(column)
        if not value:
            return None
        if not value.isdigit():
            self.error(column, f"应为非负整数，收到 {value!r}", f"expected a whole number, got {value!r}")
            return None
        return int(value)

    def choice(self, column: str, cls: type[LabelledEnum], default: str) -> str:
        value = self.text(column)
        if not value:
            return default
        try:
            return cls.parse(value).value
        except InvalidValueError as exc:
            self.error(column, exc.message_zh, exc.message_en)
            return default

    def people(self, column: str, unit: str | None = None) -> list[dict[str, str]]:
        """``name/post[/unit[/rank]]; …`` (unit and rank only when ``unit`` is given: guests)."""
        people = []
        for i, entry in enumerate(p for p in _SPLIT.split(self.text(column)) if p):
            parts = [p.strip() for p in re.split(r"[/／]", entry)]
            if len(parts) > (4 if unit is not None else 2) or not parts[0]:
                shape = "姓名/职务/单位/职级" if unit is not None else "姓名/职务"
                self.error(
                    column, f"第 {i + 1} 位「{entry}」应写成 {shape}", f"entry {i + 1} {entry!r}: use {shape}"
                )
                continue
            person = {"name": parts[0], "post": parts[1] if len(parts) > 1 else ""}
            if unit is not None:
                person["unit"] = parts[2] if len(parts) > 2 and parts[2] else unit
                rank = parts[3] if len(parts) > 3 and parts[3] else "其他"
                try:
                    person["rank"] = Rank.parse(rank).value
                except InvalidValueError as exc:
                    self.error(column, f"第 {i + 1} 位：{exc.message_zh}", f"entry {i + 1}: {exc.message_en}")
            people.append(person)
        return people

    def names(self, column: str) -> tuple[str, ...]:
        return tuple(n for n in _SPLIT_NAMES.split(self.text(column)) if n)

    def explanations(self, column: str) -> dict[str, str]:
        given = {}
        for entry in (e for e in _SPLIT.split(self.text(column)) if e):
            rule, sep, text = entry.replace("＝", "=").partition("=")
            if not sep or not rule.strip() or not text.strip():
                self.error(column, f"「{entry}」应写成 规则编号=说明", f"{entry!r}: use RULE=TEXT")
                continue
            given[rule.strip()] = text.strip()
        return given


def parse_row(
    row: int, cells: Mapping[str, str], definition: ProcessDefinition, history: date | None = None
) -> ImportRow | list[RowError]:
    """One row into an :class:`ImportRow`, or every problem found in it.

    :param history: in a history import, the day it runs (no step may be dated after it); None in
        an ordinary import, where the step-date columns must be empty.
    """
    c = _Cells(row, cells)
    if not _storable(c):
        return c.errors  # why: later messages quote cells, and a NUL or lone surrogate cannot be shown
    sending_unit = c.text("sending_unit")
    start = c.day("start")
    end = c.day("end", start)
    issued_on = c.day("issued_on", start)
    state = _state(c, definition)
    guests = c.people("guests", sending_unit)
    companions = c.people("companion_names")
    meal = _meal(c, start, len(guests), len(companions))
    letter = {
        "kind": c.choice("letter_kind", LetterKind, LetterKind.LETTER.value),
        "number": c.text("letter_number"),
        "sending_unit": sending_unit,
        "issued_on": issued_on,
        "purpose": c.choice("purpose", Purpose, Purpose.OTHER.value),
        "content": c.text("content"),
        "itinerary": {"start": start, "end": end, "places": list(c.names("places"))},
        "personnel": guests,
        "sending_jurisdiction": c.text("sending_jurisdiction"),
        "meal_requested": meal is not None,
    }
    plan = {
        "meals": [meal] if meal else [],
        "companions": companions,
        "budget": c.amount("budget") or (meal["cost"] if meal else "0"),
    }
    path = walks(definition).get(state, ())
    carries_list = any(t.carries_list for t in definition.triggers if t.name in path)
    listing = _listing(c, meal, guests, companions, end) if carries_list else None
    approvers, finance, reason = c.names("approvers"), c.text("finance"), c.text("reason")
    _required_for_state(c, definition, state, approvers, finance, reason)
    header = {
        "jurisdiction": c.text("jurisdiction"),
        "host_unit": c.text("host_unit"),
        "type": c.choice("type", ReceptionType, ReceptionType.DOMESTIC.value),
        "handler": c.text("handler"),
    }
    explanations = c.explanations("explanations")
    signed_on = listing["signed_on"] if listing else None
    days = _history_days(c, definition, state, (start, end), (issued_on, signed_on), history)
    code = header["jurisdiction"]
    if code and not (code.isdigit() and len(code) in (2, 4, 6)):
        c.error(
            "jurisdiction",
            f"应为 2、4 或 6 位行政区划代码，收到 {code!r}",
            f"not a 2-, 4- or 6-digit area code: {code!r}",
        )
    _fits_columns(
        c,
        header["host_unit"],
        {"handler": (header["handler"],), "approvers": approvers, "finance": (finance,)},
    )
    if c.errors or start is None or end is None:
        return c.errors
    parts = _load_parts(c, letter, plan, listing)
    if parts is None:
        return c.errors
    return ImportRow(
        row=row,
        key=_key(cells),
        letter=parts[0],
        plan=parts[1],
        listing=parts[2],
        jurisdiction=header["jurisdiction"],
        host_unit=header["host_unit"],
        reception_type=ReceptionType(header["type"]),
        start=start,
        end=end,
        handler=header["handler"],
        approvers=approvers,
        finance=finance,
        state=state,
        reason=reason,
        explanations=explanations,
        days=days,
    )


def _storable(c: _Cells) -> bool:
    """Every cell can be stored: no NUL character, no lone surrogate."""
    for column, value in c.cells.items():
        try:
            check_text(value)
        except InvalidValueError as exc:
            c.error(column, exc.message_zh, exc.message_en)
    return not c.errors


def _fits_columns(c: _Cells, host_unit: str, people: Mapping[str, tuple[str, ...]]) -> None:
    """The host unit and the people's names fit the typed columns they end up in."""
    if len(host_unit) > MAX_HOST_UNIT:
        c.error(
            "host_unit",
            f"最多 {MAX_HOST_UNIT} 个字符，收到 {len(host_unit)} 个",
            f"at most {MAX_HOST_UNIT} characters, got {len(host_unit)}",
        )
    for column, names in people.items():
        for name in names:
            if len(name) > _NAME_LENGTH:
                c.error(
                    column,
                    f"姓名最多 {_NAME_LENGTH} 个字符，收到 {len(name)} 个",
                    f"a name has at most {_NAME_LENGTH} characters, got {len(name)}",
                )


def _state(c: _Cells, definition: ProcessDefinition) -> str:
    value = c.text("state") or default_state(definition)
    reachable = walks(definition)
    for s in definition.states:
        if value in (s.name, s.label) and s.name in reachable:
            return s.name
    allowed = "、".join(f"{s.name}（{s.label}）" for s in definition.states if s.name in reachable)
    c.error(
        "state",
        f"不能导入为「{value}」，可选：{allowed}",
        f"cannot import as {value!r}; one of: {', '.join(reachable)}",
    )
    return definition.initial


def _history_days(
    c: _Cells,
    definition: ProcessDefinition,
    state: str,
    dates: tuple[date | None, date | None],
    papers: tuple[date | None, date | None],
    today: date | None,
) -> dict[str, date] | None:
    """The day of each step of a history row (see :mod:`jiedai_flow.importer.history`), from its
    (start, end), the (issued_on, signed_on) of its letter and list, and the step-date columns."""
    if today is None:
        for column in DATE_COLUMNS:
            if c.text(column):
                c.error(
                    column,
                    "只用于历史导入（--as-history），普通导入须留空",
                    "only used by a history import (--as-history); leave it empty otherwise",
                )
        return None
    if not finished(definition, state):
        c.error(
            "state",
            f"历史导入不能导入为「{state}」，只能导入已办结的状态：{finished_labels(definition)}",
            f"a history import takes finished states only, not {state!r}",
        )
    given = {column: c.day(column) for column in DATE_COLUMNS}
    (start, end), (issued_on, signed_on) = dates, papers
    if start is None or end is None:
        return None
    days = _default_days(given, start, end, issued_on, signed_on)
    for earlier, later in pairwise(STEP_DAYS):
        if days[later] < days[earlier]:
            _out_of_order(c, days, given, earlier, later)
    for column, day in schedule(definition, walks(definition).get(state, ()), days):
        if day > today:
            c.error(
                column,
                f"{BY_NAME[column].label} {day} 晚于导入当天 {today}：历史导入只记已经发生的步骤",
                f"{column} {day} is after the day of the import ({today}): history records what happened",
            )
            break
    return days


def _out_of_order(
    c: _Cells, days: Mapping[str, date], given: Mapping[str, date | None], earlier: str, later: str
) -> None:
    """Two days out of order, reported at the one the row gave (the later one if both or neither)."""
    if given.get(later) or not given.get(earlier):
        column, other, zh, en = later, earlier, "早于", "before"
    else:
        column, other, zh, en = earlier, later, "晚于", "after"
    c.error(
        column,
        f"{BY_NAME[column].label} {days[column]} {zh}{BY_NAME[other].label} {days[other]}",
        f"{column} {days[column]} is {en} {other} {days[other]}",
    )


def _default_days(
    given: Mapping[str, date | None], start: date, end: date, issued_on: date | None, signed_on: date | None
) -> dict[str, date]:
    """The day of each of :data:`STEP_DAYS`: a given day as given; a missing one by default
    (submitted: the letter's date, at the latest the start; approved: the submission; claimed: the
    list's signing date, at the earliest the end; settled: the day after the claim; archived: the
    settlement), then kept between the days around it, so a default never contradicts a given day."""
    days = {"start": start, "end": end}
    days["submitted_on"] = given["submitted_on"] or min(issued_on or start, start)
    days["approved_on"] = given["approved_on"] or days["submitted_on"]
    days["claimed_on"] = given["claimed_on"] or max(signed_on or end, end)
    days["settled_on"] = given["settled_on"] or days["claimed_on"] + timedelta(days=1)
    days["archived_on"] = given["archived_on"] or days["settled_on"]
    steps = list(pairwise(STEP_DAYS))
    for earlier, later in steps:
        if later in given and given[later] is None:
            days[later] = max(days[later], days[earlier])
    for earlier, later in reversed(steps):
        if earlier in given and given[earlier] is None:
            days[earlier] = min(days[earlier], days[later])
    return days


def _meal(c: _Cells, start: date | None, guests: int, named: int) -> dict[str, Any] | None:
    cost = c.amount("meal_cost")
    if cost is None:
        return None
    venue = c.text("meal_venue")
    if not venue:
        c.error("meal_venue", "填了餐费就须填用餐地点", "a meal cost needs its venue")
    companions = c.count("companions")
    return {
        "on": c.day("meal_date", start),
        "kind": c.choice("meal_kind", MealKind, MealKind.LUNCH.value),
        "venue": venue,
        "venue_type": c.choice("venue_type", VenueType, VenueType.CANTEEN.value),
        "guests": max(guests, 1),
        "companions": named if companions is None else companions,
        "cost": cost,
    }


def _listing(
    c: _Cells,
    meal: dict[str, Any] | None,
    guests: list[dict[str, str]],
    companions: list[dict[str, str]],
    end: date | None,
) -> dict[str, Any]:
    invoice = c.text("invoice_number")
    documents = [d for d in (_document(c, text) for text in c.names("documents")) if d]
    return {
        "guests": guests,
        "meals": [meal] if meal else [],
        "invoices": [
            {
                "number": invoice,
                "issued_on": c.day("invoice_date", end),
                "issuer": meal["venue"],
                "amount": meal["cost"],
            }
        ]
        if invoice and meal
        else [],
        "payments": [
            {"method": c.choice("payment_method", PaymentMethod, "official_card"), "amount": meal["cost"]}
        ]
        if meal
        else [],
        "companions": companions,
        "support_staff": c.people("support_staff"),
        "signed_by": c.text("signed_by"),
        "signed_on": c.day("signed_on", end),
        "documents": documents or ["invoice", "letter", "list"],
    }


def _document(c: _Cells, text: str) -> str | None:
    try:
        return DocumentKind.parse(text).value
    except InvalidValueError as exc:
        c.error("documents", exc.message_zh, exc.message_en)
        return None


def _required_for_state(
    c: _Cells,
    definition: ProcessDefinition,
    state: str,
    approvers: tuple[str, ...],
    finance: str,
    reason: str,
) -> None:
    walk = walks(definition).get(state, ())
    columns = {actor_column(definition, t) for t in walk}
    if "approvers" in columns and not approvers:
        c.error("approvers", f"导入为「{state}」须填审批人", f"state {state} needs the approvers")
    if "finance" in columns and not finance:
        c.error("finance", f"导入为「{state}」须填财务（结算人）", f"state {state} needs the finance officer")
    if any(t.reason_required for t in definition.triggers if t.name in walk) and not reason:
        c.error("reason", f"导入为「{state}」须填理由", f"state {state} needs a reason")


def _load_parts(
    c: _Cells, letter: dict[str, Any], plan: dict[str, Any], listing: dict[str, Any] | None
) -> tuple[OfficialLetter, Plan, ReceptionList | None] | None:
    loaded: list[Any] = []
    for prefix, cls, data in (
        ("$.letter", OfficialLetter, letter),
        ("$.plan", Plan, plan),
        ("$.reception_list", ReceptionList, listing),
    ):
        if data is None:
            loaded.append(None)
            continue
        try:
            loaded.append(load(cls, data))
        except ValidationError as error:
            for p in error.problems:
                path = prefix + p.path[1:]
                c.error(column_of(path), f"{p.message_zh}（{path}）", f"{p.message_en} ({path})")
    if c.errors:
        return None
    return loaded[0], loaded[1], loaded[2]


def _key(cells: Mapping[str, str]) -> str:
    """The row's identity for idempotent import: a digest of its non-empty cells."""
    content = json.dumps(sorted((k, v) for k, v in cells.items() if v), ensure_ascii=False)
    return hashlib.sha256(content.encode()).hexdigest()[:20]

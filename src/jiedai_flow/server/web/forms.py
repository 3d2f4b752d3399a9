"""The plan and list forms 方案、清单表单 of the reception page: a trigger that carries a plan (修改,
变更) or a reception list (报销（提交清单）) gets a form of its own, prefilled from what the reception has.

Each repeated part of the model (meals, lodgings, items, invoices, payments) is a table whose inputs
are named after the model's path (``meals.0.cost`` for ``$.meals[0].cost``), so a problem the loader
reports comes back at its field; people are a textarea, one a line. A plan keeps what the form does
not show (activities, transport …) from the reception's current plan.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.domain import model
from jiedai_flow.domain.loading import ascii_digits, dump, load
from jiedai_flow.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.lifecycle import TriggerDef


@attrs.frozen
class Column:
    """One field of a row: its model name, its Chinese label, its input (text, date, number, select)."""

    name: str
    label: str
    kind: str = "text"
    """``text``, ``date``, ``number``, ``select``, ``check`` (a yes/no box) or ``list`` (items
    separated by 、, as a clerk writes a menu)."""
    choices: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Table:
    """A repeated part of the model (``meals``) shown as rows of inputs, with blank rows to add."""

    name: str
    label: str
    columns: tuple[Column, ...]


def _choices(kind: Any) -> tuple[tuple[str, str], ...]:
    return tuple((k.value, k.label) for k in kind)


MEALS = Table(
    "meals",
    "用餐",
    (
        Column("on", "日期", "date"),
        Column("kind", "餐次", "select", _choices(model.MealKind)),
        Column("venue", "就餐地点"),
        Column("venue_type", "场所类型", "select", _choices(model.VenueType)),
        Column("guests", "来宾人数", "number"),
        Column("companions", "陪餐人数", "number"),
        Column("cost", "餐费（元）"),
        Column("dishes", "菜品（用、分隔）", "list"),
        Column("alcohol", "上酒", "check"),
        Column("cigarettes", "香烟", "check"),
    ),
)
"""A meal of the plan or the list: with its dishes, and whether alcohol or cigarettes were served —
what the meal rules read (鱼翅、燕窝, 「不上酒」)."""
LODGINGS = Table(
    "lodgings",
    "住宿",
    (
        Column("hotel", "住宿酒店"),
        Column("room_type", "房型", "select", _choices(model.RoomType)),
        Column("rooms", "房间数", "number"),
        Column("nights", "晚数", "number"),
        Column("price_per_night", "房价（元/晚）"),
        Column("payer", "付费方", "select", _choices(model.Payer)),
    ),
)
ITEMS = Table(
    "items",
    "其他项目（住宿、交通、参观……）",
    (
        Column("on", "日期", "date"),
        Column("item", "项目"),
        Column("place", "地点"),
        Column("time", "时间段"),
        Column("cost", "费用（元）"),
        Column("invoice_number", "发票号码"),
    ),
)
INVOICES = Table(
    "invoices",
    "发票",
    (
        Column("number", "发票号码"),
        Column("issued_on", "开票日期", "date"),
        Column("issuer", "开票单位"),
        Column("amount", "金额（元）"),
    ),
)
PAYMENTS = Table(
    "payments",
    "支付记录",
    (
        Column("method", "支付方式", "select", _choices(model.PaymentMethod)),
        Column("amount", "金额（元）"),
        Column("reference", "凭证号或卡号"),
        Column("cash_reason", "现金支付理由"),
    ),
)
PEOPLE = {"guests": "实际接待的来宾", "companions": "陪同人员", "support_staff": "工作保障人员"}
"""The people of a list, a textarea each: 姓名, 单位, 职务, 级别 (guests) or 姓名, 职务."""
PERSON = {"name": "姓名", "unit": "单位", "post": "职务", "rank": "级别"}
DOCUMENTS = _choices(model.DocumentKind)
INTEGERS = frozenset({"guests", "companions", "rooms", "nights"})
BLANK_ROWS = 2

LABELS = {
    "budget": "预算（元）",
    "signed_by": "审签人",
    "signed_on": "审签日期",
    "documents": "所附凭证",
    **PEOPLE,
    **{
        f"{t.name}.{c.name}": c.label for t in (MEALS, LODGINGS, ITEMS, INVOICES, PAYMENTS) for c in t.columns
    },
}
"""Chinese labels by field, for the messages (``meals.cost`` for every row's cost)."""


def kind_of(trigger: TriggerDef, plan_frozen: bool) -> str:
    """Which form a trigger needs here: ``plan`` (修改, 变更 before the visit), ``list`` (报销, 修改 after
    it) or ``""`` (a button: 提交 carries a plan but submits the one the reception has)."""
    if trigger.carries_plan and not plan_frozen and (not trigger.opens_chain or trigger.resets_approvals):
        return "plan"
    if trigger.carries_list and (plan_frozen or not trigger.carries_plan):
        return "list"
    return ""


# --- Prefill: the reception as form values ---


def _rows(table: Table, found: list[dict[str, Any]], into: dict[str, str]) -> None:
    for index, row in enumerate(found):
        for column in table.columns:
            into[f"{table.name}.{index}.{column.name}"] = _shown(column, row.get(column.name))


def _shown(column: Column, value: Any) -> str:
    """A model value as its input shows it."""
    if column.kind == "check":
        return "1" if value else ""
    if column.kind == "list":
        return "、".join(value or ())
    return "" if value is None else str(value)


MAX_ROWS = 200
"""Rows a table of the form may have: a posted field named ``meals.99999999.cost`` must not make
the page build (and loop over) a hundred million rows."""


def dates_shown(form: Mapping[str, str], tables: Iterable[Table]) -> dict[str, str]:
    """The list or plan form as sent back, the dates of its tables and its 审签日期 typed with
    full-width digits (２０２６－０３－０１) written the way a date input shows them: the browser
    would blank them, and the next send lose them."""
    dated = {c.name for t in tables for c in t.columns if c.kind == "date"} | {"signed_on"}
    return days_shown(form, dated)


def days_shown(form: Mapping[str, str], dated: Collection[str]) -> dict[str, str]:
    """The form with the fields named ``dated`` (or a table's column of that name) in ASCII."""
    return {k: ascii_digits(v) if v and k.rsplit(".", 1)[-1] in dated else v for k, v in form.items()}


def rows_shown(form: Mapping[str, str], table: Table) -> list[int]:
    """The row numbers the form shows: up to the last with something written in it (below
    :data:`MAX_ROWS`), then blank ones — a form sent back does not grow by its blank rows."""
    numbers = {
        number
        for k, v in form.items()
        if re.fullmatch(rf"{table.name}\.\d{{1,4}}\.\w+", k)
        and v.strip()
        and (number := int(k.split(".")[1])) < MAX_ROWS
    }
    count = max(numbers, default=-1) + 1
    return list(range(count + BLANK_ROWS))


def _people(people: Any, with_unit: bool) -> str:
    lines = []
    for p in people:
        if with_unit:
            parts = [p["name"], p.get("unit", ""), p.get("post", ""), model.Rank(p["rank"]).label]
        else:
            parts = [p["name"], p.get("post", "")]
        lines.append(", ".join(parts).rstrip(", "))
    return "\n".join(lines)


def plan_values(reception: Reception) -> dict[str, str]:
    """The reception's plan as the plan form's values."""
    plan = dump(reception.plan)
    values = {"budget": str(plan.get("budget", ""))}
    _rows(MEALS, plan.get("meals", []), values)
    _rows(LODGINGS, plan.get("lodgings", []), values)
    return values


def list_values(reception: Reception) -> dict[str, str]:
    """The list form's values: the filed list, or the plan and the letter's visitors as a start."""
    if reception.reception_list is not None:
        found = dump(reception.reception_list)
    else:
        plan = dump(reception.plan)
        activities = [
            {
                "on": a["on"],
                "item": a["description"],
                "place": a["place"],
                "time": a["time"],
                "cost": a["cost"],
            }
            for a in plan.get("activities", [])
        ]
        found = {
            "guests": dump(reception.letter.personnel),
            "meals": plan.get("meals", []),
            "items": activities,
            "companions": plan.get("companions", []),
            "documents": ["letter", "list", "invoice"],
        }
    values = {
        "guests": _people(found.get("guests", []), with_unit=True),
        "companions": _people(found.get("companions", []), with_unit=False),
        "support_staff": _people(found.get("support_staff", []), with_unit=False),
        "signed_by": str(found.get("signed_by") or ""),
        "signed_on": str(found.get("signed_on") or ""),
        **{f"documents:{d}": "1" for d in found.get("documents", [])},
    }
    for table in (MEALS, ITEMS, INVOICES, PAYMENTS):
        _rows(table, found.get(table.name, []), values)
    return values


# --- Read back: the posted form as the model, problems at their fields ---


def items_of(text: str) -> list[str]:
    """A list written in one field (dishes): 、 or a line apart — a dish may have a comma or a
    space in its name (「鱼香肉丝（微辣，少油）」)."""
    return [word.strip() for word in re.split(r"[、\n]+", text) if word.strip()]


_WHOLE = re.compile(r"\s*(-?[0-9]{1,18})\s*")


def whole(text: str) -> int | str:
    """A form's whole number (ASCII digits, an optional ``-``, at most 18 digits) as an int; any
    other text as it is, for the loader to refuse at its field (``²``, ``--5``, a number of
    thousands of digits)."""
    found = _WHOLE.fullmatch(text)
    return int(found.group(1)) if found else text


def new_request_id() -> str:
    """A fresh request id for one rendered form (its hidden ``request_id``): pressing the button
    twice, or the browser sending the form again, returns the first result instead of doing it
    twice (the engine's idempotency by request id)."""
    return f"web-{secrets.token_hex(16)}"


def request_id(data: Mapping[str, str]) -> str | None:
    """The request id a form carries (:func:`new_request_id`), None when absent or not one of ours."""
    value = data.get("request_id", "")
    return value if _REQUEST_ID.fullmatch(value) else None


_REQUEST_ID = re.compile(r"web-[0-9a-f]{32}")


def form_version(data: Mapping[str, str]) -> int | None:
    """The reception version a form was rendered at (its hidden ``version``), None when absent or
    not a version."""
    value = whole(data.get("version", ""))
    return value if isinstance(value, int) and value >= 0 else None


def _value(column: Column, text: str) -> Any:
    text = text.strip()
    if column.kind == "check":
        return bool(text)
    if column.kind == "list":
        return items_of(text)
    return whole(text) if column.name in INTEGERS else text


def _table(form: Mapping[str, str], table: Table, base: list[dict[str, Any]]) -> tuple[list[Any], list[int]]:
    """The table's rows that have something in them (each over ``base``'s row of the same number,
    so what the form does not show is kept), and the form's row number of each."""
    rows, numbers = [], []
    for number in rows_shown(form, table):
        shown = {c: form.get(f"{table.name}.{number}.{c.name}", "") for c in table.columns}
        if not any(v.strip() for c, v in shown.items() if c.kind != "check"):
            continue  # blank, a ticked box alone included: the row is left out (deleted)
        row = dict(base[number]) if number < len(base) else {}
        for column, text in shown.items():
            if column.name in row and text == _shown(column, row[column.name]):
                continue  # as shown: kept as it is (a list keeps its items as they were split)
            if text.strip() or column.name in row:
                row[column.name] = _value(column, text)
        if row.get("alcohol") is False:
            row["premium_alcohol"] = False  # no alcohol, so none of it premium
        rows.append(row)
        numbers.append(number)
    return rows, numbers


def _person_lines(text: str, with_unit: bool) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if not any(parts):
            continue
        if with_unit:
            name, unit, post, rank = [*parts, "", "", "", ""][:4]
            found.append({"name": name, "unit": unit, "post": post, **({"rank": rank} if rank else {})})
        else:
            name, post = [*parts, "", ""][:2]
            found.append({"name": name, "post": post})
    return found


@attrs.frozen
class Read:
    """A posted form read back: the value, or the problems by field name."""

    value: Any
    problems: dict[str, list[str]]
    numbers: dict[str, list[int]] = attrs.field(factory=dict)
    """The form's row number of each model row, by table (blank rows are left out)."""

    def at_fields(self, found: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        """Messages by form field, from ``(path, message)`` pairs of the engine (a refusal's
        findings, a problem): paths start at ``$.plan`` or ``$.reception_list``."""
        at: dict[str, list[str]] = {}
        for path, text in found:
            field = field_of(re.sub(r"^\$\.(plan|reception_list)", "$", path), self.numbers)
            at.setdefault(field, []).append(text)
        return at


def read_plan(form: Mapping[str, str], reception: Reception) -> Read:
    current = dump(reception.plan)
    numbers: dict[str, list[int]] = {}
    document = dict(current)
    document["budget"] = form.get("budget", "").strip() or "0"
    for table in (MEALS, LODGINGS):
        document[table.name], numbers[table.name] = _table(form, table, current.get(table.name, []))
    return _load(model.Plan, document, numbers, form)


def read_list(form: Mapping[str, str], reception: Reception) -> Read:
    """The 接待清单 the form gives, over the one filed (or an empty one): what the form does not
    show — a meal's venue details, a payment's payer, a guest's state_employee — is kept."""
    current = dump(reception.reception_list) if reception.reception_list is not None else {}
    numbers: dict[str, list[int]] = {}
    document: dict[str, Any] = dict(current)
    for key, with_unit in (("guests", True), ("companions", False), ("support_staff", False)):
        known = {p["name"]: p for p in current.get(key, [])}
        document[key] = [
            {**known.get(p["name"], {}), **p} for p in _person_lines(form.get(key, ""), with_unit=with_unit)
        ]
    document["signed_by"] = form.get("signed_by", "").strip()
    document["documents"] = [v for v, _ in DOCUMENTS if form.get(f"documents:{v}")]
    if form.get("signed_on", "").strip():
        document["signed_on"] = form["signed_on"].strip()
    for table in (MEALS, ITEMS, INVOICES, PAYMENTS):
        document[table.name], numbers[table.name] = _table(form, table, current.get(table.name, []))
    return _load(model.ReceptionList, document, numbers, form)


def _load(
    kind: type[Any], document: dict[str, Any], numbers: dict[str, list[int]], form: Mapping[str, str]
) -> Read:
    try:
        return Read(load(kind, document, source="表单"), {}, numbers)
    except ValidationError as error:
        found: dict[str, list[str]] = {}
        for problem in error.problems:
            field = field_of(problem.path, numbers)
            if field in PEOPLE:
                text = person_message(problem.message_zh, problem.path)
            else:
                label = LABELS.get(re.sub(r"\.\d+\.", ".", field), "")
                text = message(problem.message_zh, label, form.get(field, ""))
            found.setdefault(field, []).append(text)
        return Read(None, found, numbers)


_ROW = re.compile(r"^\$\.(\w+)\[(\d+)\](?:\.(\w+))?")


def field_of(path: str, numbers: Mapping[str, list[int]]) -> str:
    """The form field of a problem's path: ``$.meals[0].cost`` → ``meals.3.cost`` (the form's row),
    ``$.guests[1].post`` → ``guests`` (the textarea); ``_`` when no field is meant."""
    found = _ROW.match(path)
    if found:
        table, index, leaf = found.group(1), int(found.group(2)), found.group(3)
        if table in PEOPLE:
            return table
        rows = numbers.get(table, [])
        number = rows[index] if index < len(rows) else index
        return f"{table}.{number}.{leaf}" if leaf else f"{table}.{number}"
    name = path.removeprefix("$.").split(".")[0].split("[")[0]
    return name if name in LABELS or name in numbers else "_"


_QUOTED = re.compile(r"「(\w+)」")
_NAMED = re.compile(r"(?<=[\u4e00-\u9fff]) [a-z_]+(?=（)")
"""A model name after its Chinese words (「结束日期 end（…）」): the Chinese says it already."""


def message(text: str, label: str, posted: str) -> str:
    """A problem's message as the form shows it: the field's Chinese label instead of its model name,
    no echo of an empty value, and a negative count said to be one."""
    if "整数" in text and re.fullmatch(r"\s*-\d+\s*", posted or ""):
        return f"「{label}」不能为负数，收到 {posted.strip()}"
    text = _NAMED.sub("", text.removesuffix("，收到 ''"))
    return _QUOTED.sub(lambda m: f"「{label or m.group(1)}」", text, count=1)


def person_message(text: str, path: str) -> str:
    """A problem of one person of a textarea (``$.guests[1].post``): its line and the column's label."""
    found = re.search(r"\[(\d+)\](?:\.(\w+))?$", path)
    if not found:
        return text
    leaf = PERSON.get(found.group(2) or "", "")
    shown = _QUOTED.sub(f"「{leaf}」", text, count=1) if leaf else text
    return f"第 {int(found.group(1)) + 1} 行：" + shown.removesuffix("，收到 ''")

"""The input reference 输入字段参考: every field of a reception file, a list file, a follow-up entry
and an import row, read from the attrs model and its enums — so the page docs/input-reference.md
(``python -m jiedai_flow.docgen input``) and the JSON Schemas of ``jiedai schema``
(:func:`json_schema`) have one source.

Types, defaults, required fields and accepted enum spellings come from the classes themselves.
Each field's meaning (Chinese first) and example come from :data:`_FIELDS`, with the field's
attribute docstring from the source added where it has one; a field added to the model without an
entry there stops the page and the schema from generating (and fails tests/test_input_reference.py).
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
import sys
import tomllib
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from jiedai_flow.cli import inputs
from jiedai_flow.cli.inputs import ReceptionFile
from jiedai_flow.cli.starter import list_toml, reception_toml
from jiedai_flow.domain import model
from jiedai_flow.domain.loading import dump, load
from jiedai_flow.domain.model import LabelledEnum, ReceptionList
from jiedai_flow.domain.records import FollowUp
from jiedai_flow.domain.standards import Standards
from jiedai_flow.errors import ValidationError
from jiedai_flow.importer.columns import COLUMNS

__all__ = [
    "INPUT_PATH",
    "REGENERATE_INPUT",
    "ROOTS",
    "SCHEMA_KINDS",
    "accepted",
    "attribute_docs",
    "example",
    "fields_of",
    "input_classes",
    "input_enums",
    "json_schema",
    "meaning",
    "reachable",
    "render_input_reference",
]

INPUT_PATH = Path("docs/input-reference.md")
REGENERATE_INPUT = "python -m jiedai_flow.docgen input > docs/input-reference.md"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SAMPLE_DAY = date(2026, 3, 3)
"""The "today" of the sample files shown on the page (``jiedai init`` uses the real today)."""

ROOTS: dict[str, type[Any]] = {"reception": ReceptionFile, "list": ReceptionList, "follow-up": FollowUp}
"""The file kinds and the class each is loaded as (:func:`jiedai_flow.domain.loading.load`)."""

SCHEMA_KINDS = (*ROOTS, "import-row")
"""What ``jiedai schema`` can print."""

MONEY_PATTERN = r"^[0-9]+(\.[0-9]{1,2})?$"

_TITLES = {
    "ReceptionFile": "接待文件",
    "ReceptionHeader": "接待信息",
    "OfficialLetter": "公函",
    "Itinerary": "行程",
    "Guest": "接待对象",
    "Plan": "接待方案",
    "Meal": "用餐",
    "Lodging": "住宿",
    "Transport": "交通与安保",
    "Activity": "活动安排",
    "Ceremony": "迎送礼仪",
    "Gift": "礼品",
    "Person": "陪同/工作保障人员",
    "ReceptionList": "接待清单",
    "ListItem": "清单活动项目",
    "Invoice": "发票",
    "Payment": "支付记录",
    "FollowUp": "跟踪记录",
    "LetterKind": "公函形式",
    "Purpose": "公务事由",
    "Rank": "职级",
    "ReceptionType": "接待类型",
    "MealKind": "餐次",
    "VenueType": "用餐场所类型",
    "MealFormat": "用餐形式",
    "RoomType": "房型",
    "Payer": "付费方",
    "ActivityKind": "活动类型",
    "GiftKind": "礼品类型",
    "PaymentMethod": "支付方式",
    "DocumentKind": "凭证类型",
    "FollowUpKind": "跟踪事项类型",
    "ProjectOutcome": "项目结果",
}
"""The Chinese name of each input class and enum."""

# "Class.field": (meaning, Chinese first; example as a TOML value, "" for a table or list of tables).
# Where the source has an attribute docstring, the page and the schema add it after the meaning.
_FIELDS: dict[str, tuple[str, str]] = {
    "ReceptionFile.reception": ("`[reception]` 接待信息 / where and by whom", ""),
    "ReceptionFile.letter": ("`[letter]` 公函（必填）/ the letter, required", ""),
    "ReceptionFile.plan": ("`[plan]` 接待方案 / the plan", ""),
    "ReceptionHeader.jurisdiction": ("辖区：接待单位的行政区划代码 / the host's area code", '"341502"'),
    "ReceptionHeader.host_unit": ("接待单位 / the host unit", '"县政府办公室"'),
    "ReceptionHeader.handler": ("经办人", '"zhang.wei"'),
    "ReceptionHeader.type": ("接待类型 / kind of reception", '"国内公务接待"'),
    "ReceptionHeader.id": (
        "接待 ID，省略时自动生成；只用字母、数字和 . _ -，以字母或数字开头"
        " / reception id, generated if omitted; letters, digits, '.', '_' and '-',"
        " beginning with a letter or digit",
        '"r-2026-0012"',
    ),
    "ReceptionHeader.start": ("接待开始日期，省略时取公函行程 / first day, default: itinerary", "2026-03-10"),
    "ReceptionHeader.end": ("接待结束日期，省略时取公函行程 / last day, default: itinerary", "2026-03-11"),
    "OfficialLetter.kind": ("公函形式（L-01 看本地是否接受）/ kind of letter", '"公函"'),
    "OfficialLetter.number": ("文号 / the letter's number", '"市农函〔2026〕12号"'),
    "OfficialLetter.sending_unit": ("派出单位 / the sending unit", '"市农业农村局"'),
    "OfficialLetter.issued_on": ("发函日期（晚于接待开始时 L-01 提醒）/ date of the letter", "2026-03-05"),
    "OfficialLetter.purpose": ("公务事由（「其他」须说明，S-01）/ purpose of the visit", '"考察调研"'),
    "OfficialLetter.content": ("公务内容 / what the visit is about", '"高标准农田建设考察调研"'),
    "OfficialLetter.itinerary": ("行程 / dates and places", ""),
    "OfficialLetter.personnel": ("来访人员（L-02：至少一人）/ the visitors named", ""),
    "OfficialLetter.contact": (
        "联系人及电话（电话记录必填，L-02）/ contact",
        '"市农业农村局办公室 0550-1234567"',
    ),
    "OfficialLetter.meal_requested": ("公函是否提出用餐 / the letter asks for meals", "true"),
    "OfficialLetter.lodging_requested": ("公函是否提出住宿 / the letter asks for lodging", "false"),
    "OfficialLetter.sending_jurisdiction": ("派出单位所在地区代码", '"340100"'),
    "Itinerary.start": ("行程开始日期 / first day", "2026-03-10"),
    "Itinerary.end": ("行程结束日期，不早于开始日期 / last day, not before the first", "2026-03-11"),
    "Itinerary.places": ("地点 / places visited", '["县农业产业园"]'),
    "Itinerary.summary": ("行程概要 / summary", '"实地调研、座谈"'),
    "Guest.name": ("姓名 / name", '"刘建国"'),
    "Guest.unit": ("所在单位 / unit", '"市农业农村局"'),
    "Guest.post": ("职务（清单须写明）/ post", '"副局长"'),
    "Guest.rank": ("职级（决定分级标准）/ rank, sets tiered standards", '"厅局级/司局级"'),
    "Guest.state_employee": ("是否国家工作人员（B-01）/ a state employee", "true"),
    "Plan.meals": ("用餐 / meals", ""),
    "Plan.lodgings": ("住宿 / rooms booked", ""),
    "Plan.transport": ("交通与安保 / vehicles and security", ""),
    "Plan.activities": ("活动安排 / activities", ""),
    "Plan.ceremony": ("迎送礼仪（每项为 true 即违规）/ welcome arrangements", ""),
    "Plan.gifts": ("礼品（一律禁止，登记以便规则指出）/ gifts", ""),
    "Plan.companions": ("陪同人员 / host-side companions", ""),
    "Plan.budget": ("预算 / budget", '"400.00"'),
    "Meal.on": ("用餐日期 / date", "2026-03-10"),
    "Meal.kind": ("餐次 / which meal", '"午餐"'),
    "Meal.venue": ("用餐地点 / venue", '"县机关食堂"'),
    "Meal.venue_type": ("场所类型 / kind of venue", '"机关食堂"'),
    "Meal.guests": ("来宾人数 / visitors at the meal", "3"),
    "Meal.companions": ("陪餐人数 / host-side diners", "2"),
    "Meal.cost": ("餐费总额 / the bill", '"275.00"'),
    "Meal.working_meal": ("是否工作餐 / a working meal", "true"),
    "Meal.alcohol": ("是否提供酒水 / alcohol served", "false"),
    "Meal.premium_alcohol": ("是否高档酒水 / premium alcohol", "false"),
    "Meal.cigarettes": ("是否提供香烟 / cigarettes served", "false"),
    "Meal.dishes": ("菜品 / dishes", '["家常豆腐", "清炒时蔬", "米饭"]'),
    "Meal.format": ("用餐形式 / how it is served", '"桌餐"'),
    "Meal.charged_to_guests": ("向来宾收取的伙食费 / charged to the guests", '"0.00"'),
    "Lodging.hotel": ("宾馆 / hotel", '"县政府招待所"'),
    "Lodging.room_type": ("房型 / room type", '"标准间"'),
    "Lodging.rooms": ("房间数 / rooms", "2"),
    "Lodging.nights": ("晚数 / nights", "1"),
    "Lodging.price_per_night": ("每间每晚价格 / price per room and night", '"260.00"'),
    "Lodging.payer": ("付费方 / who pays", '"接待对象自付"'),
    "Lodging.guest_rank": ("入住来宾的职级（房型标准）/ rank of the guest lodged", '"县处级"'),
    "Lodging.extras": ("房间额外项目 / extras in the room", '["水果"]'),
    "Transport.vehicles": ("车辆数 / vehicles", "1"),
    "Transport.passengers": ("乘车人数 / passengers", "5"),
    "Transport.escort_vehicles": ("警卫、引导车辆数 / escort vehicles", "0"),
    "Transport.police_escort": ("是否警车开道 / police escort", "false"),
    "Transport.road_closure": ("是否封闭交通 / road closure", "false"),
    "Transport.venue_clearing": ("是否清场闭馆 / venue cleared", "false"),
    "Transport.cost": ("交通费用 / transport cost", '"120.00"'),
    "Transport.dedicated_cars": ("是否专车接送", "false"),
    "Activity.on": ("日期 / date", "2026-03-10"),
    "Activity.place": ("地点 / place", '"县农业产业园"'),
    "Activity.description": ("内容 / what", '"高标准农田现场调研"'),
    "Activity.kind": ("活动类型 / kind of activity", '"公务活动"'),
    "Activity.time": ("时间段 / time of day", '"09:00-11:30"'),
    "Activity.cost": ("费用 / cost", '"0.00"'),
    "Ceremony.airport_welcome": ("是否到机场、车站、码头迎送 / welcome at the airport or station", "false"),
    "Ceremony.cross_region_welcome": ("是否跨地区迎送 / welcome across regions", "false"),
    "Ceremony.banners": ("是否张贴悬挂标语横幅 / banners", "false"),
    "Ceremony.crowds": ("是否安排群众迎送 / crowds", "false"),
    "Ceremony.welcome_carpet": ("是否铺设迎宾地毯 / welcome carpet", "false"),
    "Ceremony.flowers": ("是否摆放花草 / flowers", "false"),
    "Ceremony.main_leader_welcome": ("主要负责人是否迎送 / the main leader welcomes", "false"),
    "Gift.description": ("礼品 / what", '"本地茶叶"'),
    "Gift.kind": ("礼品类型 / kind of gift", '"土特产"'),
    "Gift.value": ("价值 / value", '"80.00"'),
    "Person.name": ("姓名 / name", '"王强"'),
    "Person.post": ("职务 / post", '"县农业农村局局长"'),
    "ReceptionList.guests": ("实际接待的来宾 / guests received", ""),
    "ReceptionList.items": ("用餐以外的项目（住宿、交通、参观…）/ items other than meals", ""),
    "ReceptionList.meals": ("用餐（不要同时列入 items）/ meals, not also in items", ""),
    "ReceptionList.invoices": ("发票 / invoices", ""),
    "ReceptionList.payments": ("支付记录 / payments", ""),
    "ReceptionList.companions": ("陪同人员 / companions", ""),
    "ReceptionList.support_staff": ("工作保障人员 / support staff", ""),
    "ReceptionList.signed_by": ("审签人 / who signed the list", '"县政府办公室主任 孙浩"'),
    "ReceptionList.signed_on": ("审签日期 / date signed", "2026-03-11"),
    "ReceptionList.documents": ("所附凭证（F-01）/ documents attached", '["发票", "公函", "接待清单"]'),
    "ListItem.on": ("日期 / date", "2026-03-10"),
    "ListItem.item": ("项目 / what", '"工作餐"'),
    "ListItem.place": ("地点 / place", '"县机关食堂"'),
    "ListItem.cost": ("费用 / cost", '"275.00"'),
    "ListItem.time": ("时间段 / time of day", '"12:00-13:00"'),
    "ListItem.invoice_number": ("发票号码 / invoice number", '"0451207"'),
    "Invoice.number": ("发票号码 / invoice number", '"0451207"'),
    "Invoice.issued_on": (
        "开票日期（晚于报销日期时 F-01 不予通过，早于接待开始超过 7 天时提醒）/ date issued",
        "2026-03-10",
    ),
    "Invoice.issuer": ("开票单位 / issuer", '"县机关食堂"'),
    "Invoice.amount": ("金额 / amount", '"275.00"'),
    "Payment.method": ("支付方式 / how it was paid", '"公务卡"'),
    "Payment.amount": ("金额 / amount", '"275.00"'),
    "Payment.reference": ("支付凭证号或卡号 / payment reference", '"公务卡 6222****1234"'),
    "Payment.cash_reason": ("现金支付的理由（F-03）/ why cash was used", '"对方不受理公务卡"'),
    "Payment.payer": ("付款单位", '""'),
    "FollowUp.kind": ("跟踪事项类型 / what the entry records", '"投资意向"'),
    "FollowUp.summary": ("情况", '"投资方确认二期扩产意向"'),
    "FollowUp.owner": ("责任人", '"zhang.wei"'),
    "FollowUp.due": ("完成时限", "2026-04-10"),
    "FollowUp.done_on": ("完成日期", "2026-04-08"),
    "FollowUp.outcome": ("项目结果", '"签约"'),
    "FollowUp.recorded_by": ("记录人，由引擎按 --as 填写 / set by the engine", '"zhang.wei"'),
    "FollowUp.recorded_at": ("记录时间，由引擎填写 / set by the engine", "2026-04-08T10:00:00+08:00"),
}


# -- the model, read -------------------------------------------------------------------------------


def fields_of(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    """The fields a file may give for ``cls``, their types resolved."""
    # why: ruff moves annotation-only imports under TYPE_CHECKING; supply those names (as convert does)
    namespace = {**vars(model), "date": date, "datetime": datetime, "Decimal": Decimal}
    attrs.resolve_types(cls, globalns={**namespace, **vars(sys.modules[cls.__module__])})
    return tuple(f for f in attrs.fields(cls) if f.init)


def _parts(tp: Any) -> list[Any]:
    """``tp`` and every type inside it (``tuple[Meal, ...]`` → tuple, Meal, Ellipsis)."""
    return [tp, *(inner for arg in typing.get_args(tp) for inner in _parts(arg))]


def reachable(root: type[Any]) -> tuple[type[Any], ...]:
    """``root`` and every attrs class its fields hold, once each, depth first in field order."""
    found: dict[type[Any], None] = {}

    def visit(cls: type[Any]) -> None:
        found[cls] = None
        for field in fields_of(cls):
            for inner in _parts(field.type):
                if attrs.has(inner) and inner not in found:
                    visit(inner)

    visit(root)
    return tuple(found)


def input_classes() -> tuple[type[Any], ...]:
    """Every attrs class a file of :data:`ROOTS` can hold, once each, in the order a reader meets them."""
    return tuple(dict.fromkeys(cls for root in ROOTS.values() for cls in reachable(root)))


def input_enums(classes: tuple[type[Any], ...] | None = None) -> tuple[type[LabelledEnum], ...]:
    """Every enum a field of ``classes`` (default: :func:`input_classes`) takes, in the order met."""
    found: dict[type[LabelledEnum], None] = {}
    for cls in input_classes() if classes is None else classes:
        for field in fields_of(cls):
            for inner in _parts(field.type):
                if isinstance(inner, type) and issubclass(inner, LabelledEnum):
                    found[inner] = None
    return tuple(found)


def accepted(cls: type[LabelledEnum]) -> dict[LabelledEnum, tuple[str, ...]]:
    """Each member and every spelling ``parse`` takes for it: value, label, then the others."""
    spellings: dict[LabelledEnum, list[str]] = {m: [m.value, m.label] for m in cls}
    # why: the parse table itself is the one truth about which spellings are accepted
    for text, member in model._lookup(cls).items():
        if text not in spellings[member]:
            spellings[member].append(text)
    return {m: tuple(s) for m, s in spellings.items()}


@functools.cache
def _source_tree(module: str) -> ast.Module:
    return ast.parse(inspect.getsource(sys.modules[module]))


def attribute_docs(cls: type[Any]) -> dict[str, str]:
    """The attribute docstrings of ``cls`` (a string right after a field), on one line each."""
    return _attribute_docs(cls.__module__, cls.__name__)


@functools.cache
def _attribute_docs(module: str, name: str) -> dict[str, str]:
    tree = _source_tree(module)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    docs = {}
    for field, after in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[field.target.id] = _one_line(after.value.value)
    return docs


def _one_line(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split()).replace("``", "`")


def meaning(cls: type[Any], name: str) -> str:
    """What a field means: its entry in :data:`_FIELDS`, then its attribute docstring if any."""
    doc = attribute_docs(cls).get(name)
    return f"{_entry(cls, name)[0]} — {doc}" if doc else _entry(cls, name)[0]


def example(cls: type[Any], name: str) -> str:
    """One example value of a leaf field, as TOML ("" for a table or a list of tables)."""
    return _entry(cls, name)[1]


def _entry(cls: type[Any], name: str) -> tuple[str, str]:
    try:
        return _FIELDS[f"{cls.__name__}.{name}"]
    except KeyError:
        raise LookupError(
            f"{cls.__name__}.{name}: 输入参考缺少此字段 / not in the input reference; add it to "
            "inputref._FIELDS (meaning and example)"
        ) from None


def _optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (tp, False)."""
    args = typing.get_args(tp)
    if isinstance(tp, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def _constraint(field: attrs.Attribute[Any]) -> tuple[dict[str, Any], str]:
    """The schema keywords and words for what a field's own validator checks beyond its type."""
    region = "2、4 或 6 位行政区划代码（GB/T 2260）/ 2-, 4- or 6-digit area code"
    blank = ({"pattern": r"\S"}, "不可空 not blank")
    known: list[tuple[object, tuple[dict[str, Any], str]]] = [  # why: validators are matched by identity
        (model._non_blank, blank),
        (inputs._filled, blank),
        (model._count, ({"minimum": 0}, "≥ 0")),
        (model._at_least_one, ({"minimum": 1}, "≥ 1")),
        (model._region, ({"pattern": r"^([0-9]{2}|[0-9]{4}|[0-9]{6})?$"}, f"{region}，或空 or empty")),
        (inputs._region, ({"pattern": r"^([0-9]{2}|[0-9]{4}|[0-9]{6})$"}, region)),
    ]
    return next((found for check, found in known if check is field.validator), ({}, ""))


# -- JSON Schema ------------------------------------------------------------------------------------


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``reception`` file, a ``list`` file, a ``follow-up``
    entry or one ``import-row``, from the model: enums as every accepted spelling, money a string,
    dates ``format: date``, unknown fields refused (as :func:`jiedai_flow.domain.loading.load` does)."""
    if kind == "import-row":
        return _import_row_schema()
    if kind not in ROOTS:
        raise ValueError(f"未知的输入类型「{kind}」，可选：{'、'.join(SCHEMA_KINDS)} / unknown kind {kind!r}")
    root = ROOTS[kind]
    ref = {"$ref": f"#/$defs/{root.__name__}"}
    wrappers = [_wrapped(ref, key) for key in _WRAPPERS[kind]]
    return {
        "$schema": DRAFT,
        "$id": f"urn:jiedai-flow:schema:{kind}",
        "title": f"{_TITLES[root.__name__]} {root.__name__}",
        "description": _schema_description(kind),
        **({"anyOf": [ref, *wrappers]} if wrappers else ref),
        "$defs": _definitions(root),
    }


_WRAPPERS = {"reception": (), "list": ("list", "reception_list"), "follow-up": ("follow_up",)}
"""The single tables a file may wrap its object in (:func:`~jiedai_flow.cli.inputs.load_document`)."""


_READ_BY = {
    "reception": (
        "jiedai new、jiedai check 读取的接待文件：[reception]、[letter]、[plan] 三个表",
        "The reception file of `jiedai new` and `jiedai check`: [reception], [letter], [plan].",
    ),
    "list": (
        "jiedai claim --list 读取的接待清单，也可整体放在 [list] 或 [reception_list] 表中",
        "The reception list of `jiedai claim --list`, bare or in one [list] table.",
    ),
    "follow-up": (
        "jiedai fire --follow-up 读取的跟踪记录，也可放在 [follow_up] 表中",
        "A follow-up entry of `jiedai fire --follow-up`, bare or in one [follow_up] table.",
    ),
}


def _schema_description(kind: str) -> str:
    zh, en = _READ_BY[kind]
    return (
        f"{zh}。TOML 的日期值在 JSON 中写成 YYYY-MM-DD 字符串；取值可写英文 id、中文名或别名；"
        f"未知字段是错误。见 docs/input-reference.md。/ {en} TOML dates are YYYY-MM-DD strings in JSON; "
        "enums take the id, the Chinese label or an alias; unknown fields are errors."
    )


def _wrapped(ref: dict[str, str], key: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: ref}, "required": [key], "additionalProperties": False}


def _definitions(root: type[Any]) -> dict[str, Any]:
    classes = reachable(root)
    defs = {cls.__name__: _class_schema(cls) for cls in classes}
    defs |= {cls.__name__: _enum_schema(cls) for cls in input_enums(classes)}
    if any(Decimal in _parts(f.type) for cls in classes for f in fields_of(cls)):
        defs["Money"] = dict(_MONEY)
    return defs


_MONEY: dict[str, Any] = {
    "title": "金额 money",
    "description": '元，写成字符串，最多两位小数，不能为负，如 "180.00" / yuan as a decimal string, '
    "at most two places, not negative",
    "type": "string",
    "pattern": MONEY_PATTERN,
}


def _class_schema(cls: type[Any]) -> dict[str, Any]:
    fields = fields_of(cls)
    return {
        "title": f"{_TITLES[cls.__name__]} {cls.__name__}",
        "description": f"{_TITLES[cls.__name__]}：{_one_line(cls.__doc__ or '')}",
        "type": "object",
        "properties": {f.name: _property(cls, f) for f in fields},
        "required": [f.name for f in fields if f.default is attrs.NOTHING],
        "additionalProperties": False,
    }


def _property(cls: type[Any], field: attrs.Attribute[Any]) -> dict[str, Any]:
    schema = _type_schema(field.type, _constraint(field)[0])
    schema["description"] = meaning(cls, field.name)
    if example(cls, field.name):
        schema["examples"] = [_json_safe(_toml_value(example(cls, field.name)))]
    default = _default(field)
    if default is not attrs.NOTHING and not isinstance(default, dict):
        schema["default"] = default
    return schema


def _type_schema(tp: Any, extra: dict[str, Any]) -> dict[str, Any]:
    inner, optional = _optional(tp)
    schema = _leaf_schema(inner, extra)
    return {"anyOf": [schema, {"type": "null"}]} if optional else schema


def _leaf_schema(tp: Any, extra: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (tuple, frozenset):
        return {"type": "array", "items": _leaf_schema(typing.get_args(tp)[0], {})}
    if attrs.has(tp) or (isinstance(tp, type) and issubclass(tp, LabelledEnum)):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    simple: dict[Any, dict[str, Any]] = {
        str: {"type": "string"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        date: {"type": "string", "format": "date"},
        datetime: {"type": "string", "format": "date-time"},
        Decimal: {"$ref": "#/$defs/Money"},
    }
    return simple[tp] | extra


def _enum_schema(cls: type[LabelledEnum]) -> dict[str, Any]:
    spellings = accepted(cls)
    described = "；".join(f"{m.value}（{'、'.join(s[1:])}）" for m, s in spellings.items())
    return {
        "title": f"{_TITLES[cls.__name__]} {cls.__name__}",
        "description": f"{described} / the id, the Chinese label or an alias",
        "type": "string",
        "enum": [s for m in spellings for s in spellings[m]],
    }


def _default(field: attrs.Attribute[Any]) -> Any:
    """A field's default as plain data, or ``attrs.NOTHING`` when it is required."""
    default = field.default
    if default is attrs.NOTHING:
        return default
    factory = getattr(default, "factory", None)  # an ``attrs.Factory``
    return dump(factory() if callable(factory) else default)


def _toml_value(text: str) -> Any:
    return tomllib.loads(f"v = {text}")["v"]


def _json_safe(value: Any) -> Any:
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value.isoformat() if isinstance(value, date | datetime) else value


def _import_row_schema() -> dict[str, Any]:
    properties = {
        c.name: {
            "title": f"{c.label} {c.name}",
            "description": f"{c.help_zh} / {c.help_en}",
            "type": "string",
        }
        | ({"pattern": r"\S"} if c.required else {})
        for c in COLUMNS
    }
    return {
        "$schema": DRAFT,
        "$id": "urn:jiedai-flow:schema:import-row",
        "title": "导入行 import row",
        "description": "jiedai import 的一行：列名为键（表头也可写中文列名），单元格都是文本；"
        "未知的列是错误。/ One row of `jiedai import`: column name → cell text; unknown columns are errors.",
        "type": "object",
        "properties": properties,
        "required": [c.name for c in COLUMNS if c.required],
        "additionalProperties": False,
    }


# -- the page ---------------------------------------------------------------------------------------

_FILES = {
    "reception": "接待文件 reception file",
    "list": "清单文件 list file",
    "follow-up": "跟踪记录 follow-up",
}

_CONVENTIONS = """\
## 写法 Conventions

- 文件是 TOML（文件名以 `.json` 结尾时为 JSON），结构相同。/ Files are TOML, or JSON when the name ends
  in `.json`; the shape is the same.
- **日期 date**：`YYYY-MM-DD`，TOML 里可写日期值 `2026-03-10` 或字符串 `"2026-03-10"`；年份在 1900–2999 之间
  （`9999-12-31` 这样的笔误在字段处拒绝）。/ TOML date or string, of the years 1900–2999.
- **金额 money**：元，最多两位小数，不能为负，写成字符串 `"275.00"`；读取器也接受整数和 TOML 小数
  （按原文精确读取，不经浮点），JSON Schema 只写字符串一种。/ Yuan as a decimal string; the loader also
  takes an integer or an exact TOML decimal, the schema only the string.
- **取值 enums**：英文 id、中文名、中文名中以 `/` 分开的每一部分或下文所列别名都可以，前后空格忽略。
  / The English id, the Chinese label, each part of a label split at `/`, or a listed alias.
- **必填 required**：没有默认值的字段必须写；其余字段省略时取默认值。未知字段是错误（拼错的字段名不会被
  悄悄忽略），读取时一次列出所有问题及其路径，如 `$.plan.meals[0].cost`，TOML 文件还带行号。/ Fields
  without a default are required; unknown fields are errors; every problem is listed at once with its
  path, and in a TOML file its line.
- **JSON Schema**：`jiedai schema reception|list|follow-up|import-row` 打印由同一模型生成的 JSON Schema
  （draft 2020-12）。/ The same model as JSON Schema.
"""


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _heading(cls: type[Any]) -> str:
    return f"{_TITLES[cls.__name__]} `{cls.__name__}`"


def _link(cls: type[Any]) -> str:
    return f"[`{cls.__name__}`](#{_anchor(_heading(cls))})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _type_words(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return f"列表 list of {_type_words(typing.get_args(tp)[0])}"
    if origin is frozenset:
        return f"列表（按集合，重复只计一次）list, as a set, of {_type_words(typing.get_args(tp)[0])}"
    if attrs.has(tp):
        return f"表 table {_link(tp)}"
    if isinstance(tp, type) and issubclass(tp, LabelledEnum):
        return f"取值之一 one of {_link(tp)}：" + "、".join(f"`{m.value}` {m.label}" for m in tp)
    return {
        str: "文本 text",
        bool: "是/否 `true`/`false`",
        int: "整数 integer",
        Decimal: '金额 money（元，字符串 `"0.00"`）',
        date: "日期 date `YYYY-MM-DD`",
        datetime: "日期时间 date-time（ISO 8601）",
    }[tp]


def _words(field: attrs.Attribute[Any]) -> str:
    inner, optional = _optional(field.type)
    extra = _constraint(field)[1]
    return _type_words(inner) + (f"，{extra}" if extra else "") + ("，或空 or null" if optional else "")


def _default_words(field: attrs.Attribute[Any]) -> str:
    value = _default(field)
    if value is attrs.NOTHING:
        return "**必填** required"
    if value is None or isinstance(value, dict):
        return "可省略 optional"
    inner = _optional(field.type)[0]
    label = f"（{inner(value).label}）" if isinstance(inner, type) and issubclass(inner, LabelledEnum) else ""
    return f"默认 default `{json.dumps(value, ensure_ascii=False)}`{label}"


_Location = tuple[str, str, bool]
"""Where a class sits: (file kind, dotted path, whether a list of tables); path "" is the whole file."""


def _locations() -> dict[type[Any], list[_Location]]:
    """Every place each class sits in each file of :data:`ROOTS`."""
    found: dict[type[Any], list[_Location]] = {}

    def visit(cls: type[Any], kind: str, path: str, many: bool) -> None:
        found.setdefault(cls, []).append((kind, path, many))
        for field in fields_of(cls):
            inner = _optional(field.type)[0]
            target = typing.get_args(inner)[0] if typing.get_origin(inner) is tuple else inner
            if attrs.has(target):
                visit(target, kind, f"{path}.{field.name}".lstrip("."), target is not inner)

    for kind, root in ROOTS.items():
        visit(root, kind, "", False)
    return found


def _table_header(path: str, many: bool) -> str:
    return f"`[[{path}]]`" if many else f"`[{path}]`"


def _where(location: _Location) -> str:
    kind, path, many = location
    return (
        f"{_FILES[kind]} {_table_header(path, many)}"
        if path
        else f"{_FILES[kind]}（整个文件 the whole file）"
    )


def _example_words(cls: type[Any], field: attrs.Attribute[Any], at: dict[type[Any], list[_Location]]) -> str:
    text = example(cls, field.name)
    if text:
        return f"`{text}`"
    path = f"{at[cls][0][1]}.{field.name}".lstrip(".")
    return _table_header(path, typing.get_origin(field.type) is tuple)


def _class_section(cls: type[Any], at: dict[type[Any], list[_Location]]) -> list[str]:
    where = " · ".join(_where(location) for location in at[cls])
    out = [f"### {_heading(cls)}", "", _one_line(cls.__doc__ or ""), "", f"位置 where: {where}", ""]
    out += [
        "| 字段 field | 类型 type | 必填/默认 required/default | 含义 meaning | 示例 example |",
        "| --- | --- | --- | --- | --- |",
    ]
    for field in fields_of(cls):
        cells = (
            _words(field),
            _default_words(field),
            meaning(cls, field.name),
            _example_words(cls, field, at),
        )
        out.append(f"| `{field.name}` | " + " | ".join(_cell(c) for c in cells) + " |")
    return [*out, ""]


def _enum_section(cls: type[LabelledEnum]) -> list[str]:
    out = [f"### {_heading(cls)}", "", _one_line(cls.__doc__ or ""), ""]
    out += ["| 取值 value | 中文 label | 也接受 also accepted |", "| --- | --- | --- |"]
    for member, spellings in accepted(cls).items():
        others = "、".join(f"`{s}`" for s in spellings[2:]) or "—"
        out.append(f"| `{member.value}` | {member.label} | {others} |")
    return [*out, ""]


_FILES_TEXT = """\
## 接待文件 Reception file

`jiedai new FILE` 登记、`jiedai check FILE` 预检的接待文件有三个表：`[reception]` 接待信息（辖区、
接待单位、经办人、类型）、`[letter]` 公函（必填）、`[plan]` 接待方案（可省略），字段见 {file}。
`jiedai init` 写出的示例 jiedai-reception.toml（日期随当天而变，这里以 {day} 为当天）：
/ A reception file has three tables: `[reception]` (where and by whom), `[letter]` (required) and
`[plan]` (optional). The sample `jiedai init` writes:

```toml
{reception}```

## 清单文件 List file

`jiedai claim ID --list FILE` 读取的接待清单：整个文件是一份 {listing}，也可整体放在 `[list]` 或
`[reception_list]` 表中。`jiedai init` 写出的示例 jiedai-list.toml：/ The whole file is the list, or
one `[list]` or `[reception_list]` table. The sample:

```toml
{list}```

## 跟踪记录 Follow-up entry

`jiedai fire ID TRIGGER --follow-up FILE` 读取一条 {follow_up}（整个文件，或一个 `[follow_up]` 表），
只用于有跟踪服务阶段的流程（招商接待）。/ One follow-up entry, the whole file or a `[follow_up]`
table, for a process with a follow-up stage.
"""

_NO_LETTER_TEXT = """\
## 没有公函 No letter at all（L-01 无公函不接待）

来访单位没有发公函（也没有本地接受的替代凭证）时，照实登记：`[letter]` 的 `kind = "无公函"`（或 `"none"`），
`number` 留空，其余照填——谁来、哪个单位、何时、为何而来（`issued_on` 写接到来访通知的日期）。这样的接待
可以登记和预检，留下记录，但 L-01 在提交、审批、变更、先行接待时一律「不予通过」：无公函不接待（第七条）。
/ When a visit comes with no letter at all, record it as it is: `kind = "无公函"` (or `"none"`) with the
number left empty; L-01 then refuses it at every plan stage (no letter, no reception, Art 7).

```toml
[letter]
kind = "无公函"
number = ""
sending_unit = "市农业农村局"
issued_on = {day}
purpose = "调研"
content = "春耕生产调研（电话口头告知，无公函）"
```

`jiedai check FILE` 对这样的文件以 1 退出，结果是 {l01}。/ `jiedai check FILE` exits with 1 and
that finding.

省略 `[letter]` 表则是数据错误（{file} 的 `letter` 必填，退出码 2）/ Leaving out `[letter]` is bad data
(exit code 2):

```text
{missing}
```

只有来电、没有书面公函时，用电话记录：`kind = "电话记录"`，`contact` 写来电单位、联系人和电话（L-02
要求）；电话记录须本地标准接受（`jiedai init` 写出的 jiedai-standards.toml 接受四种形式）。国家标准默认接受
{national}。/ With a phone call only, record a phone record (`contact` filled in); it passes where a local
layer accepts it — the national standards accept {national_en}.
"""


def _files() -> str:
    return _FILES_TEXT.format(
        file=_link(ReceptionFile),
        day=SAMPLE_DAY.isoformat(),
        reception=reception_toml(SAMPLE_DAY),
        listing=_link(ReceptionList),
        list=list_toml(SAMPLE_DAY),
        follow_up=_link(FollowUp),
    )


def _load_problems(data: dict[str, Any]) -> str:
    """What the loader says about ``data`` as a reception file (the first problem)."""
    try:
        load(ReceptionFile, data)
    except ValidationError as error:
        first = error.problems[0]
        return f"{first.message_zh} / {first.message_en} @ {first.path}"
    raise AssertionError("the loader accepted a reception file it should refuse")


def _no_letter() -> str:
    sample = tomllib.loads(reception_toml(SAMPLE_DAY))
    national = [k for k in model.LetterKind if k in Standards().accepted_letters]
    return _NO_LETTER_TEXT.format(
        file=_link(ReceptionFile),
        day=SAMPLE_DAY.isoformat(),
        l01="「L-01 不予通过」（`$.letter.kind`：没有公函……无公函不接待）",
        missing=_load_problems({k: v for k, v in sample.items() if k != "letter"}),
        national="、".join(k.label for k in national),
        national_en=", ".join(k.value for k in national),
    )


def _import_row() -> list[str]:
    out = [
        "## 导入行 Import row",
        "",
        "`jiedai import FILE` 的 CSV 或 xlsx 文件每行一次接待；表头可写英文列名或中文表头，单元格都是文本。"
        "模板：`jiedai import 模板.xlsx --template`（表头、一行示例——写模板那天之前一周的一次已归档接待，"
        "按 `jiedai init` 的示例标准两级审批——每列的批注说明、有固定取值的列带下拉选项；"
        "写成 .csv 则是表头和示例行），原样可用 `jiedai import 模板.xlsx --as admin` 导入（加不加 "
        "`--as-history` 都行），把示例行换成真实记录即可（模板不会写到已有的文件上，要覆盖加 `--force`；"
        "数据库和配置文件加了也不写）；JSON Schema：`jiedai schema import-row`。"
        "/ One reception per row; headers in English or Chinese; every cell is text. The template "
        "(`--template`, .xlsx or .csv) has the header, one example row (an archived reception of the "
        "week before the template was written) that imports as it stands, with or without "
        "`--as-history`, a note per column and drop-down lists for enumerated columns. It is not "
        "written over an existing file unless `--force` is given, and never over the database or a "
        "configuration file.",
        "",
        "| 列 column | 表头 header | 必填 required | 说明 | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in COLUMNS:
        required = "**必填** required" if c.required else "—"
        out.append(f"| `{c.name}` | {c.label} | {required} | {_cell(c.help_zh)} | {_cell(c.help_en)} |")
    return [*out, ""]


def render_input_reference() -> str:
    """The whole page docs/input-reference.md."""
    at = _locations()
    out = [
        "# 输入字段参考 Input reference",
        "",
        "<!-- 由 jiedai_flow.domain.inputref 根据 jiedai_flow.domain.model 生成，请勿手改 / "
        "generated; do not edit. "
        f"Regenerate: {REGENERATE_INPUT} -->",
        "",
        "接待文件、清单文件、跟踪记录和导入行的每个字段：类型、是否必填或默认值、可选取值（含中文名和别名）、"
        "含义和示例。本页和 `jiedai schema` 由同一模型生成。/ Every field of the reception file, the list "
        "file, the follow-up entry and the import row, generated from the model like `jiedai schema`.",
        "",
        _CONVENTIONS,
        _files(),
        _no_letter(),
        "## 字段 Fields",
        "",
    ]
    for cls in input_classes():
        out += _class_section(cls, at)
    out += ["## 取值 Enumerations", ""]
    for enum_cls in input_enums():
        out += _enum_section(enum_cls)
    return "\n".join([*out, *_import_row()])

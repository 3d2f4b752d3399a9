"""Value objects 值对象: letter 公函, plan 接待方案, list 接待清单, actor 参与人, money 金额.

Everything here is a frozen, slotted attrs class that checks its own fields on construction.
Serialisation lives in :mod:`jiedai_flow.domain.loading`, not here.

Money is ``Decimal`` yuan with two places (``money()``); storage uses integer fen (``to_fen``).
"""

from __future__ import annotations

import enum
import functools
import operator
import re
import reprlib
from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Self

import attrs

from jiedai_flow.errors import (
    InvalidValueError as InvalidValueError,  # re-exported: model is where users look
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# --- What storage can hold 存储上限 (storage/schema.py has the column types), refused when data is
# loaded, so a dry run, a check and the real write agree. Amounts, totals and counts are checked
# when an object is built; text — NUL, lone surrogates, column lengths (``stored_in``) — when it is
# loaded (``convert.load`` runs ``check_text`` on every string), because rows stored before these
# checks may hold such text and must stay readable. ---

MAX_FEN = 2**63 - 1
"""The largest amount in fen a signed 64-bit column (BIGINT: planned_fen, actual_fen, the budget
ledger) holds; every amount, and every total a plan or a list stores, must fit."""
MAX_YUAN = Decimal(MAX_FEN).scaleb(-2)
"""``MAX_FEN`` in yuan: 92233720368547758.07."""
MAX_COUNT = 2**31 - 1
"""The largest count (guests, rooms, nights …): a signed 32-bit integer, as the count columns."""
MAX_ACTOR_ID = 64
"""Length of an actor id as the audit trail stores it (``jd_audit_events.actor_id``)."""
MAX_HOST_UNIT = 200
"""Length of a host unit 承办单位 (``jd_receptions.host_unit``, ``jd_budget_ledger.host_unit``)."""
MAX_RECEPTION_ID = 64
"""Length of a reception id (``jd_receptions.id``)."""
_RECEPTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NUMBER_SHAPED = re.compile(r".+-[0-9]{4}-[0-9]{5,}")
"""The form of a reception number 接待编号 the engine gives (``341502-2026-00001``)."""


def number_shaped(value: str) -> bool:
    """Whether ``value`` has the form of a reception number 接待编号 (region-year-sequence)."""
    return _NUMBER_SHAPED.fullmatch(value) is not None


def storable_reception_id(value: str) -> bool:
    """Whether a store could hold ``value`` as a reception id (its characters and length): what a
    lookup may try as an id, whatever its form."""
    return len(value) <= MAX_RECEPTION_ID and _RECEPTION_ID.fullmatch(value) is not None


def check_reception_id(value: str, *, field: str = "reception_id") -> None:
    """A reception id someone chose (a host system's key, an input file's ``id``): letters, digits,
    ``.``, ``_`` and ``-``, beginning with a letter or digit, at most ``MAX_RECEPTION_ID`` — it is a
    path segment of the HTTP API and a header value (``Location``), where a ``/`` or a line break
    could never be read back; and not of the form of a reception number 接待编号, which a lookup
    would take for another reception's. InvalidValueError otherwise."""
    if not storable_reception_id(value):
        raise InvalidValueError(
            f"「{field}」只能用字母、数字和 . _ -（以字母或数字开头，至多 {MAX_RECEPTION_ID} 个），"
            f"收到 {shown(value)}",
            f"{field} takes letters, digits, '.', '_' and '-' (beginning with a letter or digit, at most "
            f"{MAX_RECEPTION_ID}), got {shown(value)}",
            field=field,
        )
    if number_shaped(value):
        # a lookup takes an id or a number: an id that reads as one would stand where another
        # reception's number (given later, in its jurisdiction and year) should name that one
        raise InvalidValueError(
            f"「{field}」不能写成接待编号的样子（地区-年份-序号，如 341502-2026-00001），"
            f"收到 {shown(value)}：按编号查找时它会和另一件接待的编号混淆；请换一种写法，如去掉一个连字符",
            f"{field} may not have the form of a reception number (region-year-sequence, like "
            f"341502-2026-00001), got {shown(value)}: a lookup by number would confuse it with another "
            "reception's; write it another way, e.g. without one of the hyphens",
            field=field,
        )


MAX_LENGTH = "max_length"
"""Key of a string field's ``metadata``: the length of the typed column it is stored in."""

_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters other than tab and line breaks: no text of a reception needs one, and a
terminal takes them as commands (an escape sequence in a guest's name would retitle or clear the
auditor's screen when ``jiedai show`` prints it)."""
_SHOWN = reprlib.Repr()  # why: keyword arguments only from Python 3.12
_SHOWN.maxstring = _SHOWN.maxother = 60


def shown(value: object) -> str:
    """``repr(value)`` cut to a readable length and depth, for messages (never huge, never raw NUL
    or a lone surrogate, which a terminal or log cannot print)."""
    try:
        return _SHOWN.repr(value)
    except (ValueError, RecursionError):  # why: an int past Python's 4300-digit str() limit
        return f"<{type(value).__name__}>"


def check_text(value: str, *, field: str | None = None, max_length: int | None = None) -> None:
    """Refuse a string no database column can hold: a NUL character, a lone surrogate (not valid
    Unicode, cannot be written as UTF-8), or more than ``max_length`` characters; and a control
    character other than tab and line breaks, which a terminal would obey."""
    bad = _UNSTORABLE.search(value)
    name = f"「{field}」" if field else ""
    where = f"{field} " if field else ""
    if bad is not None:
        what_zh, what_en = (
            ("空字符 NUL（\\x00）", "a NUL character (\\x00)")
            if bad.group() == "\x00"
            else (
                f"不成对的代理码位 {shown(bad.group())}（无效 Unicode）",
                "a lone surrogate (invalid Unicode)",
            )
        )
        raise InvalidValueError(
            f"{name}文本含有{what_zh}，位置 {bad.start()}，无法保存",
            f"{where}text contains {what_en} at position {bad.start()} and cannot be stored",
            field=field,
        )
    control = _CONTROL.search(value)
    if control is not None:
        code = f"\\x{ord(control.group()):02x}"
        raise InvalidValueError(
            f"{name}文本含有控制字符 {code}，位置 {control.start()}：终端会把它当作指令，请删去",
            f"{where}text contains the control character {code} at position {control.start()}, "
            "which a terminal takes as a command: remove it",
            field=field,
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidValueError(
            f"{name}最多 {max_length} 个字符，收到 {len(value)} 个",
            f"{where}must be at most {max_length} characters, got {len(value)}",
            field=field,
        )


def stored_in(length: int) -> dict[str, int]:
    """Field metadata for a string stored in a typed column of ``length`` characters:
    ``attrs.field(validator=…, metadata=stored_in(200))``; :func:`jiedai_flow.domain.loading.load`
    refuses longer text at the field's path."""
    return {MAX_LENGTH: length}


# --- Money 金额 ---


def money(value: Decimal | int | str) -> Decimal:
    """Normalise an amount to ``Decimal`` yuan with two places 金额（元，两位小数）.

    Accepts ``Decimal``, ``int`` and numeric strings; refuses float, bool, NaN/∞, negative
    amounts and more than two decimal places (``"1.005"``), so no amount is ever rounded silently.
    """
    amount = _decimal(value)
    if amount < 0:
        raise InvalidValueError(
            f"金额不能为负数：{shown(value)}", f"amount must not be negative: {shown(value)}"
        )
    if amount > MAX_YUAN:
        raise InvalidValueError(
            f"金额过大：{shown(value)}，最多 {MAX_YUAN} 元（存储为 64 位整数分）",
            f"amount too large: {shown(value)}; at most {MAX_YUAN} yuan (stored as 64-bit fen)",
        )
    return abs(_cents(amount, value))  # abs() turns -0.00 into 0.00


def to_fen(amount: Decimal) -> int:
    """Yuan to integer fen 分 for storage; refuses fractions of a fen (negative amounts pass)."""
    return int(_cents(_decimal(amount), amount).scaleb(2))


def from_fen(fen: int) -> Decimal:
    """Integer fen 分 to ``Decimal`` yuan with two places."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidValueError(f"分应为整数，收到 {fen!r}", f"fen must be an int, got {fen!r}")
    return Decimal(fen).scaleb(-2)


def _decimal(value: object) -> Decimal:
    if isinstance(value, float):
        raise InvalidValueError(
            f'金额不能用浮点数，请写成字符串，如 "180.00"（收到 {value!r}）',
            f'money must not be a float; write it as a string such as "180.00" (got {value!r})',
        )
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidValueError(
            f'金额应为字符串或整数，如 "180.00"，实际为 {type(value).__name__}',
            f'money must be a string or an int such as "180.00", got {type(value).__name__}',
        )
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise InvalidValueError(
            f"不是有效金额：{shown(value)}", f"not a valid amount: {shown(value)}"
        ) from None
    return amount


def _cents(amount: Decimal, value: object) -> Decimal:
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:
        raise InvalidValueError(f"金额过大：{shown(value)}", f"amount too large: {shown(value)}") from None
    if cents != amount:
        raise InvalidValueError(
            f"金额最多两位小数（到分）：{shown(value)}",
            f"amount has more than two decimal places (fen): {shown(value)}",
        )
    return cents


# --- Enumerations 枚举: value = stable English id, ``.label`` = Chinese term ---


class LabelledEnum(enum.StrEnum):
    """Base of the enums: the value is the stable English id, ``label`` the Chinese term.

    Members are declared as ``NAME = "value", "中文"``; ``parse`` also accepts the label.
    """

    _value_: str
    _label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        """The Chinese term 中文名称."""
        return self._label

    @classmethod
    def parse(cls, text: str) -> Self:
        """Member by English value, Chinese label or alias: ``LetterKind.parse("公函")``."""
        found = _lookup(cls).get(text.strip())
        if found is None:
            allowed = "、".join(f"{m.value}（{m.label}）" for m in cls)
            raise InvalidValueError(
                f"「{text}」不是有效取值，可选：{allowed}",
                f"{text!r} is not a valid {cls.__name__}; expected one of: {', '.join(cls)}",
            )
        return cls(found)


@functools.cache
def _lookup(cls: type[LabelledEnum]) -> dict[str, LabelledEnum]:
    table: dict[str, LabelledEnum] = {}
    for member in cls:
        for key in (member.value, member.label, *member.label.split("/")):
            table[key] = member
    table.update({alias: cls(value) for alias, value in _ALIASES.get(cls.__name__, {}).items()})
    return table


# Other words clerks write for the same member: class name -> {alias: value}.
_ALIASES: dict[str, dict[str, str]] = {
    "LetterKind": {"电话通知": "phone_record"},
    "Purpose": {"请示汇报": "report"},
    "Rank": {"处级": "county", "乡科级": "township", "科级": "township"},
    "ReceptionType": {"公务接待": "domestic", "商务接待": "business"},
    "PaymentMethod": {"转账": "transfer"},
    "GiftKind": {"土特产": "specialty"},
    "DocumentKind": {"清单": "list", "票据": "invoice", "呈批单": "approval_form"},
}


class LetterKind(LabelledEnum):
    """公函 and its accepted substitutes 替代形式."""

    LETTER = "letter", "公函"
    INVITATION = "invitation", "邀请函"
    NOTICE = "notice", "通知"
    PHONE_RECORD = "phone_record", "电话记录"
    NONE = "none", "无公函"
    """No letter at all: recorded so that L-01 can refuse it (无公函不接待); the letter's number may
    then be left empty."""


class Purpose(LabelledEnum):
    """The six official purposes of Art 2 公务事由, plus 其他."""

    MEETING = "meeting", "出席会议"
    RESEARCH = "research", "考察调研"
    TASK = "task", "执行任务"
    STUDY = "study", "学习交流"
    INSPECTION = "inspection", "检查指导"
    REPORT = "report", "请示汇报工作"
    OTHER = "other", "其他"


_RANK_ORDER = {"provincial": 4, "bureau": 3, "county": 2, "township": 1, "other": 0}


def _seniority(rank: Rank) -> int:
    return _RANK_ORDER[rank._value_]  # why: ``.value`` is a slow descriptor on Python 3.11


class Rank(LabelledEnum):
    """Guest's administrative rank 职级; compares by seniority (``order``), not alphabetically."""

    PROVINCIAL = "provincial", "省部级"
    BUREAU = "bureau", "厅局级/司局级"
    COUNTY = "county", "县处级"
    TOWNSHIP = "township", "乡科级及以下"
    OTHER = "other", "其他"

    @property
    def order(self) -> int:
        """Seniority: higher is more senior; OTHER is 0."""
        return _seniority(self)

    def _compare(self, other: object, op: Callable[[int, int], bool]) -> bool:
        # why: str ordering would be alphabetical; plain strings are parsed as ranks first
        if isinstance(other, str) and not isinstance(other, Rank):
            other = Rank.parse(other)
        return op(_seniority(self), _seniority(other)) if isinstance(other, Rank) else NotImplemented

    def __lt__(self, other: object) -> bool:
        return self._compare(other, operator.lt)

    def __le__(self, other: object) -> bool:
        return self._compare(other, operator.le)

    def __gt__(self, other: object) -> bool:
        return self._compare(other, operator.gt)

    def __ge__(self, other: object) -> bool:
        return self._compare(other, operator.ge)


class ReceptionType(LabelledEnum):
    """Kind of reception 接待类型; business and foreign follow separate regimes (Art 23)."""

    DOMESTIC = "domestic", "国内公务接待"
    BUSINESS = "business", "商务/招商引资接待"
    FOREIGN = "foreign", "外宾接待"


class FollowUpKind(LabelledEnum):
    """What a follow-up entry records 跟踪事项 (接待后跟踪服务, business receptions)."""

    CONTACT = "contact", "联系投资方"
    INTENT = "intent", "投资意向"
    PROGRESS = "progress", "项目进展"
    FEEDBACK = "feedback", "接待反馈"


class ProjectOutcome(LabelledEnum):
    """Where an investment project stands 项目结果."""

    SIGNED = "signed", "签约"
    LANDED = "landed", "落地"
    FAILED = "failed", "未成"


class MealKind(LabelledEnum):
    """Which meal 餐次."""

    BREAKFAST = "breakfast", "早餐"
    LUNCH = "lunch", "午餐"
    DINNER = "dinner", "晚餐"


class MealFormat(LabelledEnum):
    """How the meal is served 用餐形式."""

    TABLE = "table", "桌餐"
    BUFFET = "buffet", "自助餐"
    SET = "set", "份饭"


class VenueType(LabelledEnum):
    """Kind of place a meal is served 用餐场所类型."""

    CANTEEN = "canteen", "机关食堂"
    TOWNSHIP_CANTEEN = "township_canteen", "乡镇公务灶"
    DESIGNATED = "designated", "定点饭店"
    RESTAURANT = "restaurant", "社会餐馆"
    PRIVATE_CLUB = "private_club", "私人会所"
    HIGH_END = "high_end", "高消费场所"


class RoomType(LabelledEnum):
    """Room type 房型 (Art 9: standard rooms; ordinary suites only for 省部级)."""

    STANDARD = "standard", "标准间"
    SUITE = "suite", "普通套间"
    LUXURY_SUITE = "luxury_suite", "豪华套间"


class Payer(LabelledEnum):
    """Who pays for lodging 付费方 (Art 9: the guest's own unit)."""

    GUEST = "guest", "接待对象自付"
    HOST = "host", "接待单位"


class PaymentMethod(LabelledEnum):
    """How a bill was paid 支付方式 (Art 14: transfer or 公务卡, no cash, no running tab)."""

    OFFICIAL_CARD = "official_card", "公务卡"
    TRANSFER = "transfer", "银行转账"
    CASH = "cash", "现金"
    ON_ACCOUNT = "on_account", "挂账"


class ActivityKind(LabelledEnum):
    """Kind of activity 活动类型 (Art 15 bans all but official and visit)."""

    OFFICIAL = "official", "公务活动"
    VISIT = "visit", "考察参观"
    SIGHTSEEING = "sightseeing", "游览"
    ENTERTAINMENT = "entertainment", "娱乐"
    FITNESS = "fitness", "健身"
    PERFORMANCE = "performance", "专场演出"


class GiftKind(LabelledEnum):
    """Kind of gift 礼品类型 (Art 15 bans them all)."""

    CASH = "cash", "礼金"
    SECURITIES = "securities", "有价证券"
    SOUVENIR = "souvenir", "纪念品"
    SPECIALTY = "specialty", "土特产品"
    OTHER = "other", "其他"


class DocumentKind(LabelledEnum):
    """Kind of supporting document 凭证类型 (F-01 voucher sets)."""

    INVOICE = "invoice", "发票"
    LETTER = "letter", "公函"
    LIST = "list", "接待清单"
    APPROVAL_FORM = "approval_form", "审批单"
    MENU = "menu", "菜单"
    PAYMENT_PROOF = "payment_proof", "支付凭证"
    EXPLANATION = "explanation", "情况说明"
    PHONE_RECORD = "phone_record", "电话记录"


class Role(LabelledEnum):
    """What an actor may do 角色."""

    HANDLER = "handler", "经办人"
    APPROVER = "approver", "审批人"
    FINANCE = "finance", "财务"
    SUPERVISOR = "supervisor", "纪检监察"
    OFFICE = "office", "办公室"
    ADMIN = "admin", "管理员"


# --- Field validators. They never look at the instance, so convert.py can run them per field. ---


def _check(test: Callable[[Any], bool], zh: str, en: str) -> _Validator:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not test(value):
            raise InvalidValueError(
                f"「{attribute.name}」{zh}，收到 {shown(value)}",
                f"{attribute.name} {en}, got {shown(value)}",
                field=attribute.name,
            )

    return check


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2999, 12, 31)
"""The days a record may name. A year outside is a typo, and a deadline counted on from a day near
9999-12-31 would run past the end of the calendar."""


def _is_day(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime) and MIN_DAY <= value <= MAX_DAY


_Validator = Callable[[object, "attrs.Attribute[Any]", object], None]
_text = _check(lambda v: isinstance(v, str), "应为文本", "must be a string")
_non_blank = _check(lambda v: isinstance(v, str) and bool(v.strip()), "不能为空", "must not be blank")
_count = _check(
    lambda v: _is_int(v) and 0 <= v <= MAX_COUNT,
    f"应为非负整数（最大 {MAX_COUNT}）",
    f"must be a non-negative integer (at most {MAX_COUNT})",
)
_at_least_one = _check(
    lambda v: _is_int(v) and 1 <= v <= MAX_COUNT,
    f"应为正整数（至少 1，最大 {MAX_COUNT}）",
    f"must be at least 1 (and at most {MAX_COUNT})",
)
_region = _check(
    lambda v: isinstance(v, str) and (v == "" or (v.isdigit() and len(v) in (2, 4, 6))),
    "应为 2、4 或 6 位行政区划代码（GB/T 2260）或留空",
    "must be a 2-, 4- or 6-digit GB/T 2260 area code, or empty",
)
_flag = _check(lambda v: isinstance(v, bool), "应为是/否（true/false）", "must be true or false")
_day = _check(
    _is_day,
    f"应为 {MIN_DAY.year}–{MAX_DAY.year} 年间的日期（不含时间）",
    f"must be a date (without time) of the years {MIN_DAY.year}–{MAX_DAY.year}",
)
_optional_day = _check(
    lambda v: v is None or _is_day(v),
    f"应为 {MIN_DAY.year}–{MAX_DAY.year} 年间的日期或空",
    f"must be a date of the years {MIN_DAY.year}–{MAX_DAY.year} or null",
)
optional_day = _optional_day
"""The validator of a day field that may be empty, for input classes outside the model (the
``[reception]`` table of a reception file): a date of the years MIN_DAY–MAX_DAY, or None."""


class _NeedsInstance(Exception):  # why: internal signal to the loader, never leaves the model
    """A field validator that needs the whole object: the loader leaves it to ``__init__``."""


def _letter_number(letter: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A letter's number 文号 must be there, unless the record says there is no letter."""
    if isinstance(value, str) and not value.strip() and letter is None:
        raise _NeedsInstance  # the loader checks fields alone; the kind decides, in __init__
    if getattr(letter, "kind", None) is LetterKind.NONE and isinstance(value, str):
        return
    _non_blank(letter, attribute, value)


def _is(cls: type[Any]) -> Any:
    return attrs.validators.instance_of(cls)


def _tuple_of(cls: type[Any]) -> Any:
    return attrs.validators.deep_iterable(_is(cls), _is(tuple))


def _set_of(cls: type[Any]) -> Any:
    return attrs.validators.deep_iterable(_is(cls), _is(frozenset))


def _fits(fen: int, what_zh: str, what_en: str, field: str) -> None:
    """A total a plan or a list stores in a BIGINT column of fen must fit in it."""
    if fen > MAX_FEN:
        yuan = f"{fen // 100}.{fen % 100:02d}"
        raise InvalidValueError(
            f"{what_zh} {yuan} 元超出可保存的上限 {MAX_YUAN} 元（64 位整数分）",
            f"{what_en} {yuan} yuan exceeds what can be stored, {MAX_YUAN} yuan (64-bit fen)",
            field=field,
        )


# --- People and letters 人员与公函 ---


@attrs.frozen
class Guest:
    """A visitor 接待对象: unit, name, post (the list needs all three), rank."""

    name: str = attrs.field(validator=_non_blank)
    unit: str = attrs.field(validator=_non_blank)
    post: str = attrs.field(validator=_text)
    rank: Rank = attrs.field(default=Rank.OTHER, validator=_is(Rank))
    state_employee: bool = attrs.field(default=True, validator=_flag)


@attrs.frozen
class Person:
    """Host-side companion or support staff 陪同/工作保障人员."""

    name: str = attrs.field(validator=_non_blank)
    post: str = attrs.field(default="", validator=_text)


@attrs.frozen
class Itinerary:
    """Dates and places of the visit 行程; ``end`` is not before ``start``."""

    start: date = attrs.field(validator=_day)
    end: date = attrs.field(validator=_day)
    places: tuple[str, ...] = attrs.field(default=(), validator=_tuple_of(str))
    summary: str = attrs.field(default="", validator=_text)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidValueError(
                f"行程结束日期 end（{self.end}）早于开始日期 start（{self.start}）",
                f"itinerary end ({self.end}) is before start ({self.start})",
                field="end",
            )

    @property
    def days(self) -> int:
        """Number of calendar days, both ends included 天数."""
        return (self.end - self.start).days + 1


@attrs.frozen
class OfficialLetter:
    """The sending unit's letter 公函 (or a substitute: 邀请函、通知、电话记录), Art 5/7."""

    kind: LetterKind = attrs.field(validator=_is(LetterKind))
    number: str = attrs.field(validator=_letter_number)
    """文号; empty only when there is no letter (``kind = "无公函"``)."""
    sending_unit: str = attrs.field(validator=_non_blank)
    issued_on: date = attrs.field(validator=_day)
    purpose: Purpose = attrs.field(validator=_is(Purpose))
    content: str = attrs.field(validator=_non_blank)
    itinerary: Itinerary = attrs.field(validator=_is(Itinerary))
    personnel: tuple[Guest, ...] = attrs.field(validator=_tuple_of(Guest))
    contact: str = attrs.field(default="", validator=_text)
    meal_requested: bool = attrs.field(default=False, validator=_flag)
    lodging_requested: bool = attrs.field(default=False, validator=_flag)
    sending_jurisdiction: str = attrs.field(default="", validator=_region)
    """GB/T 2260 code of the sending unit's area 派出单位所在地区代码 ("" if unknown): decides
    whether guests come from inside or outside the jurisdiction, and the same-city ban."""

    @property
    def headcount(self) -> int:
        """Number of visitors named in the letter 来访人数."""
        return len(self.personnel)

    @functools.cached_property
    def highest_rank(self) -> Rank | None:
        """Most senior rank among the visitors (sets tiered standards); None if nobody is named.
        Computed once per letter (a letter is frozen)."""
        return max((g.rank for g in self.personnel), key=_seniority, default=None)


# --- The plan 接待方案 ---


@attrs.frozen
class Meal:
    """One meal 用餐: ``guests`` visitors, ``companions`` host-side diners, ``cost`` the bill."""

    on: date = attrs.field(validator=_day)
    kind: MealKind = attrs.field(validator=_is(MealKind))
    venue: str = attrs.field(validator=_non_blank)
    venue_type: VenueType = attrs.field(validator=_is(VenueType))
    guests: int = attrs.field(validator=_at_least_one)
    companions: int = attrs.field(validator=_count)
    cost: Decimal = attrs.field(converter=money)
    working_meal: bool = attrs.field(default=True, validator=_flag)
    alcohol: bool = attrs.field(default=False, validator=_flag)
    premium_alcohol: bool = attrs.field(default=False, validator=_flag)
    cigarettes: bool = attrs.field(default=False, validator=_flag)
    dishes: tuple[str, ...] = attrs.field(default=(), validator=_tuple_of(str))
    format: MealFormat = attrs.field(default=MealFormat.TABLE, validator=_is(MealFormat))
    charged_to_guests: Decimal = attrs.field(default=ZERO, converter=money)

    @property
    def diners(self) -> int:
        """Everyone at the table 就餐人数 = guests + companions."""
        return self.guests + self.companions

    @property
    def per_person(self) -> Decimal:
        """Cost per diner 人均, to the fen, half up."""
        return (self.cost / self.diners).quantize(CENT, rounding=ROUND_HALF_UP)


@attrs.frozen
class Lodging:
    """Rooms booked 住宿; by Art 9 the guest's own unit normally pays (``payer=GUEST``)."""

    hotel: str = attrs.field(validator=_non_blank)
    room_type: RoomType = attrs.field(validator=_is(RoomType))
    rooms: int = attrs.field(validator=_count)
    nights: int = attrs.field(validator=_count)
    price_per_night: Decimal = attrs.field(converter=money)
    payer: Payer = attrs.field(default=Payer.GUEST, validator=_is(Payer))
    guest_rank: Rank = attrs.field(default=Rank.OTHER, validator=_is(Rank))
    extras: tuple[str, ...] = attrs.field(default=(), validator=_tuple_of(str))

    def __attrs_post_init__(self) -> None:
        _fits(
            self.total_fen,
            "住宿费合计（房价 × 间数 × 晚数）",
            "lodging total (price × rooms × nights)",
            "total",
        )

    @property
    def total(self) -> Decimal:
        """Price × rooms × nights 住宿费合计."""
        return self.price_per_night * self.rooms * self.nights

    @property
    def total_fen(self) -> int:
        """``total`` in integer fen 分, computed exactly."""
        return to_fen(self.price_per_night) * self.rooms * self.nights


@attrs.frozen
class Transport:
    """Vehicles and security 交通与安保 (Art 11)."""

    vehicles: int = attrs.field(default=0, validator=_count)
    passengers: int = attrs.field(default=0, validator=_count)
    escort_vehicles: int = attrs.field(default=0, validator=_count)
    police_escort: bool = attrs.field(default=False, validator=_flag)
    road_closure: bool = attrs.field(default=False, validator=_flag)
    venue_clearing: bool = attrs.field(default=False, validator=_flag)
    cost: Decimal = attrs.field(default=ZERO, converter=money)
    dedicated_cars: bool = attrs.field(default=False, validator=_flag)
    """专车接送 (one car per guest) — banned by some negative lists (reference T-01)."""


@attrs.frozen
class Activity:
    """One planned activity 活动安排."""

    on: date = attrs.field(validator=_day)
    place: str = attrs.field(validator=_non_blank)
    description: str = attrs.field(validator=_non_blank)
    kind: ActivityKind = attrs.field(default=ActivityKind.OFFICIAL, validator=_is(ActivityKind))
    time: str = attrs.field(default="", validator=_text)
    cost: Decimal = attrs.field(default=ZERO, converter=money)


@attrs.frozen
class Ceremony:
    """Welcome/see-off arrangements 迎送礼仪; every flag set is a ban broken (Art 8, 八项规定)."""

    airport_welcome: bool = attrs.field(default=False, validator=_flag)
    cross_region_welcome: bool = attrs.field(default=False, validator=_flag)
    banners: bool = attrs.field(default=False, validator=_flag)
    crowds: bool = attrs.field(default=False, validator=_flag)
    welcome_carpet: bool = attrs.field(default=False, validator=_flag)
    flowers: bool = attrs.field(default=False, validator=_flag)
    main_leader_welcome: bool = attrs.field(default=False, validator=_flag)

    @property
    def violations(self) -> tuple[str, ...]:
        """Names of the flags that are set, in field order."""
        return tuple(a.name for a in attrs.fields(Ceremony) if getattr(self, a.name))


@attrs.frozen
class Gift:
    """A gift 礼品 (Art 15 bans them; recorded so the rule can say so)."""

    description: str = attrs.field(validator=_non_blank)
    kind: GiftKind = attrs.field(validator=_is(GiftKind))
    value: Decimal = attrs.field(default=ZERO, converter=money)


@attrs.frozen
class Plan:
    """The reception plan 接待方案 submitted for approval."""

    meals: tuple[Meal, ...] = attrs.field(default=(), validator=_tuple_of(Meal))
    lodgings: tuple[Lodging, ...] = attrs.field(default=(), validator=_tuple_of(Lodging))
    transport: Transport = attrs.field(factory=Transport, validator=_is(Transport))
    activities: tuple[Activity, ...] = attrs.field(default=(), validator=_tuple_of(Activity))
    ceremony: Ceremony = attrs.field(factory=Ceremony, validator=_is(Ceremony))
    gifts: tuple[Gift, ...] = attrs.field(default=(), validator=_tuple_of(Gift))
    companions: tuple[Person, ...] = attrs.field(default=(), validator=_tuple_of(Person))
    budget: Decimal = attrs.field(default=ZERO, converter=money)

    def __attrs_post_init__(self) -> None:
        planned = (
            sum(to_fen(m.cost) for m in self.meals)
            + sum(lo.total_fen for lo in self.lodgings if lo.payer is Payer.HOST)
            + to_fen(self.transport.cost)
            + sum(to_fen(a.cost) for a in self.activities)
        )
        _fits(planned, "预计费用合计", "planned total", "planned_total")

    @functools.cached_property
    def planned_total(self) -> Decimal:
        """Host's planned spending 预计费用: meals, host-paid lodging, transport, activities.
        Computed once per plan (a plan is frozen; the engine, rules and store all ask for it).

        Guest-paid lodging is left out (the guest's unit pays it); gifts are left out (banned, and
        reported by their own rule); meal bills are gross (``charged_to_guests`` not deducted).
        """
        return (
            sum((m.cost for m in self.meals), ZERO)
            + sum((lo.total for lo in self.lodgings if lo.payer is Payer.HOST), ZERO)
            + self.transport.cost
            + sum((a.cost for a in self.activities), ZERO)
        )

    @functools.cached_property
    def planned_fen(self) -> int:
        """``planned_total`` in integer fen 分, as stored and budgeted."""
        return to_fen(self.planned_total)

    @functools.cached_property
    def budget_fen(self) -> int:
        """``budget`` in integer fen 分."""
        return to_fen(self.budget)


# --- The list and settlement 接待清单与结算 ---


@attrs.frozen
class Invoice:
    """A tax invoice 发票."""

    number: str = attrs.field(validator=_non_blank)
    issued_on: date = attrs.field(validator=_day)
    issuer: str = attrs.field(validator=_non_blank)
    amount: Decimal = attrs.field(converter=money)


@attrs.frozen
class Payment:
    """A payment 支付记录; cash needs a written reason (F-03, checked by the rule)."""

    method: PaymentMethod = attrs.field(validator=_is(PaymentMethod))
    amount: Decimal = attrs.field(converter=money)
    reference: str = attrs.field(default="", validator=_text)
    cash_reason: str = attrs.field(default="", validator=_text)
    payer: str = attrs.field(default="", validator=_text)
    """The paying unit 付款单位 ("" = the host unit); F-06 refuses costs shifted elsewhere."""


@attrs.frozen
class ListItem:
    """An activity item on the list 清单活动项目: what, when, where, cost (Art 7)."""

    on: date = attrs.field(validator=_day)
    item: str = attrs.field(validator=_non_blank)
    place: str = attrs.field(validator=_non_blank)
    cost: Decimal = attrs.field(converter=money)
    time: str = attrs.field(default="", validator=_text)
    invoice_number: str = attrs.field(default="", validator=_text)


@attrs.frozen
class ReceptionList:
    """The reception list 接待清单 filled in after the visit, signed by a responsible person.

    Meals go in ``meals``, everything else (lodging, transport, visits …) in ``items``;
    do not list a meal in both, ``total`` adds the two.
    """

    guests: tuple[Guest, ...] = attrs.field(validator=_tuple_of(Guest))
    items: tuple[ListItem, ...] = attrs.field(default=(), validator=_tuple_of(ListItem))
    meals: tuple[Meal, ...] = attrs.field(default=(), validator=_tuple_of(Meal))
    invoices: tuple[Invoice, ...] = attrs.field(default=(), validator=_tuple_of(Invoice))
    payments: tuple[Payment, ...] = attrs.field(default=(), validator=_tuple_of(Payment))
    companions: tuple[Person, ...] = attrs.field(default=(), validator=_tuple_of(Person))
    support_staff: tuple[Person, ...] = attrs.field(default=(), validator=_tuple_of(Person))
    signed_by: str = attrs.field(default="", validator=_text)
    signed_on: date | None = attrs.field(default=None, validator=_optional_day)
    documents: frozenset[DocumentKind] = attrs.field(default=frozenset(), validator=_set_of(DocumentKind))

    def __attrs_post_init__(self) -> None:
        actual = sum(to_fen(i.cost) for i in self.items) + sum(to_fen(m.cost) for m in self.meals)
        _fits(actual, "实际费用合计", "actual total", "total")

    @functools.cached_property
    def total(self) -> Decimal:
        """Actual spending 实际费用 = item costs + meal bills (computed once per list)."""
        return sum((i.cost for i in self.items), ZERO) + sum((m.cost for m in self.meals), ZERO)

    @functools.cached_property
    def total_fen(self) -> int:
        """``total`` in integer fen 分, as stored and booked as spent."""
        return to_fen(self.total)

    @property
    def invoiced_total(self) -> Decimal:
        """Sum of invoice amounts 发票合计."""
        return sum((i.amount for i in self.invoices), ZERO)

    @property
    def paid_total(self) -> Decimal:
        """Sum of payments 支付合计."""
        return sum((p.amount for p in self.payments), ZERO)


@attrs.frozen
class Actor:
    """Someone acting on receptions 参与人: roles, unit, approval levels (部门负责人、分管领导)."""

    id: str = attrs.field(validator=_non_blank, metadata=stored_in(MAX_ACTOR_ID))
    name: str = attrs.field(validator=_non_blank)
    roles: frozenset[Role] = attrs.field(validator=_set_of(Role))
    unit: str = attrs.field(default="", validator=_text)
    levels: frozenset[str] = attrs.field(default=frozenset(), validator=_set_of(str))

    def has_role(self, role: Role) -> bool:
        """Whether the actor holds ``role``."""
        return role in self.roles

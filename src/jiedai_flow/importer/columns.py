"""The columns of an import file 导入列, the states a row may be imported into, and where each model
path comes from (so a problem found deep in a model names the column to fix)."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.domain.model import Role
from jiedai_flow.errors import DefinitionError
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS, Phase

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jiedai_flow.process.lifecycle import ProcessDefinition


@attrs.frozen
class Column:
    """One column of the import file: English name and Chinese label (either works as header)."""

    name: str
    label: str
    required: bool
    help_zh: str
    help_en: str


COLUMNS: tuple[Column, ...] = (
    Column("letter_number", "公函编号", True, "公函（或替代形式）的文号", "the letter's number"),
    Column(
        "letter_kind", "公函类型", False, "公函/邀请函/通知/电话记录，默认公函", "letter kind, default 公函"
    ),
    Column("sending_unit", "来函单位", True, "派出单位", "the sending unit"),
    Column("sending_jurisdiction", "来函单位区划", False, "派出单位行政区划代码", "its area code"),
    Column("issued_on", "发函日期", False, "默认为开始日期", "date of the letter, default: start"),
    Column("purpose", "公务事由", True, "如 考察调研、出席会议、检查指导", "purpose, e.g. 考察调研"),
    Column("content", "公务内容", True, "公务活动内容", "what the visit is about"),
    Column("start", "开始日期", True, "YYYY-MM-DD（也可 2024/3/5、2024年3月5日）", "first day"),
    Column("end", "结束日期", False, "默认同开始日期", "last day, default: start"),
    Column("places", "地点", False, "以 ; 分隔", "places, separated by ;"),
    Column(
        "guests",
        "接待对象",
        True,
        "姓名/职务/单位/职级，多人以 ; 分隔；单位默认来函单位，职级默认其他",
        "name/post/unit/rank; … (unit defaults to the sending unit, rank to other)",
    ),
    Column("host_unit", "接待单位", True, "承办接待的单位", "the host unit"),
    Column("jurisdiction", "辖区", True, "接待单位行政区划代码（2/4/6 位）", "host area code"),
    Column("type", "接待类型", False, "国内公务接待/商务接待/外宾接待，默认国内", "reception type"),
    Column("handler", "经办人", True, "经办人姓名", "the handler's name"),
    Column("meal_date", "用餐日期", False, "默认为开始日期", "meal date, default: start"),
    Column("meal_kind", "餐次", False, "早餐/午餐/晚餐，默认午餐", "meal, default lunch"),
    Column("meal_venue", "用餐地点", False, "有餐费时必填", "meal venue (needed with a meal cost)"),
    Column("venue_type", "场所类型", False, "机关食堂/定点饭店/…，默认机关食堂", "venue type"),
    Column("meal_cost", "餐费", False, "元，最多两位小数；留空表示未安排用餐", "meal bill in yuan"),
    Column("companions", "陪餐人数", False, "默认为陪同人员人数", "companions at the meal"),
    Column("companion_names", "陪同人员", False, "姓名/职务，以 ; 分隔", "companions: name/post; …"),
    Column("support_staff", "工作人员", False, "姓名/职务，以 ; 分隔", "support staff: name/post; …"),
    Column("budget", "预算", False, "元，默认等于餐费", "budget in yuan, default: the meal cost"),
    Column(
        "state",
        "导入状态",
        False,
        "导入后所处状态，默认已归档（archived）；也可 草拟、已审批、已结算、不予接待、已撤销 等",
        "state to import into, default archived",
    ),
    Column(
        "approvers", "审批人", False, "按审批链顺序，以 ; 分隔；已审批及以后状态必填", "approvers in order"
    ),
    Column("finance", "财务", False, "结算人姓名；已结算、已归档必填", "finance officer (settled, archived)"),
    Column("invoice_number", "发票号码", False, "餐费发票号", "invoice number of the meal bill"),
    Column("invoice_date", "开票日期", False, "默认为结束日期", "invoice date, default: end"),
    Column("payment_method", "支付方式", False, "公务卡/银行转账/现金，默认公务卡", "payment method"),
    Column("signed_by", "清单签字人", False, "接待清单审签人", "who signed the reception list"),
    Column("signed_on", "审签日期", False, "默认为结束日期", "list signing date, default: end"),
    Column("documents", "凭证", False, "默认 发票;公函;接待清单", "vouchers, default invoice;letter;list"),
    Column("reason", "理由", False, "不予接待、已撤销时必填", "reason (refused, cancelled)"),
    Column("explanations", "情况说明", False, "规则编号=说明，以 ; 分隔，如 F-04=发票迟到", "RULE=TEXT; …"),
    Column(
        "submitted_on",
        "提交日期",
        False,
        "历史导入（--as-history）：登记、提交审批之日，默认发函日期，最迟为开始日期",
        "history import: day registered and submitted, default: the letter's date (at the latest: start)",
    ),
    Column(
        "approved_on",
        "审批日期",
        False,
        "历史导入：审批（或不予接待）之日，各审批环节同日，默认同提交日期",
        "history import: day approved or refused (every step), default: submitted_on",
    ),
    Column(
        "claimed_on",
        "报销日期",
        False,
        "历史导入：提交报销之日，报销时限据此判断；默认审签日期，最早为结束日期",
        "history import: day the claim was filed (the claim deadline is judged by it), default: "
        "signed_on (at the earliest: end)",
    ),
    Column(
        "settled_on",
        "结算日期",
        False,
        "历史导入：结算之日，默认报销日期次日",
        "history import: day settled, default: the day after claimed_on",
    ),
    Column(
        "archived_on",
        "归档日期",
        False,
        "历史导入：归档之日，默认同结算日期",
        "history import: day archived, default: settled_on",
    ),
)
"""The columns of an import file, in template order."""

BY_NAME = {c.name: c for c in COLUMNS}

DATE_COLUMNS = ("submitted_on", "approved_on", "claimed_on", "settled_on", "archived_on")
"""The optional columns that date the steps of a history import."""

STEP_DAYS = ("submitted_on", "approved_on", "start", "end", "claimed_on", "settled_on", "archived_on")
"""The columns whose days a history row's steps take, in the order they must follow one another."""

DAY_OF_PHASE: Mapping[Phase, str] = {
    Phase.DRAFTING: "submitted_on",
    Phase.PENDING: "submitted_on",
    Phase.APPROVED: "approved_on",
    Phase.REFUSED: "approved_on",
    Phase.UNDERWAY: "start",
    Phase.HELD: "end",
    Phase.SETTLING: "claimed_on",
    Phase.SETTLED: "settled_on",
}
"""History import: the column dating a step that reaches a state of each phase (a cancellation
keeps the day of the step before; see :mod:`jiedai_flow.importer.history`)."""


@functools.cache
def walks(definition: ProcessDefinition) -> Mapping[str, tuple[str, ...]]:
    """The triggers that take a new reception to each state an import may ask for: the ordinary
    path of ``definition`` (:meth:`ProcessDefinition.path_to`; a trigger that records an approval
    stands for every step of the approval chain). States off the ordinary path are left out."""
    found: dict[str, tuple[str, ...]] = {}
    for state in definition.states:
        try:
            found[state.name] = definition.path_to(state.name)
        except DefinitionError:
            continue
    return found


def default_state(definition: ProcessDefinition) -> str:
    """The state a row without one is imported as: the settled terminal state (已归档)."""
    ends = [s.name for s in definition.states if s.terminal and s.phase.settled]
    return ends[0] if ends else definition.initial


def actor_column(definition: ProcessDefinition, trigger: str) -> str:
    """The column naming who takes ``trigger``: ``approvers``, ``finance`` or ``handler``."""
    defs = {t.name: t for t in definition.triggers}
    roles = frozenset(r for t in definition.transitions if t.trigger == trigger for r in t.roles)
    found = defs.get(trigger)
    if (found is not None and found.records_approval) or roles == {Role.APPROVER}:
        return "approvers"
    if Role.HANDLER in roles or not roles:
        return "handler"
    if Role.FINANCE in roles:
        return "finance"
    return "approvers" if Role.APPROVER in roles else "handler"


WALKS: Mapping[str, tuple[str, ...]] = walks(DEFAULT_PROCESS)
"""The walks of the default process (:func:`walks`)."""


def column_label(column: str) -> str:
    """``公函编号 letter_number`` for a column name; other names as they are."""
    found = BY_NAME.get(column)
    return f"{found.label} {found.name}" if found else column


@attrs.frozen
class RowError:
    """A problem in one row (``row`` 0: the file as a whole), at one column where known."""

    row: int
    column: str
    message_zh: str
    message_en: str
    code: str = ""
    """The rule id when a rule refused the row (``F-04``); "" for other problems."""

    @property
    def label(self) -> str:
        return column_label(self.column)

    def __str__(self) -> str:
        where = f"第 {self.row} 行 row {self.row}" + (f"「{self.label}」" if self.column else "")
        return f"{where}：{self.message_zh} / {self.message_en}"


_PATH_COLUMNS = {
    "$.letter.kind": "letter_kind",
    "$.letter.number": "letter_number",
    "$.letter.sending_unit": "sending_unit",
    "$.letter.sending_jurisdiction": "sending_jurisdiction",
    "$.letter.issued_on": "issued_on",
    "$.letter.purpose": "purpose",
    "$.letter.content": "content",
    "$.letter.itinerary.start": "start",
    "$.letter.itinerary.end": "end",
    "$.letter.itinerary.places": "places",
    "$.letter.itinerary": "end",
    "$.letter.personnel": "guests",
    "$.letter": "letter_number",
    "$.plan.meals.on": "meal_date",
    "$.plan.meals.kind": "meal_kind",
    "$.plan.meals.venue": "meal_venue",
    "$.plan.meals.venue_type": "venue_type",
    "$.plan.meals.companions": "companions",
    "$.plan.meals.guests": "guests",
    "$.plan.meals": "meal_cost",
    "$.plan.companions": "companion_names",
    "$.plan.budget": "budget",
    "$.plan": "meal_cost",
    "$.reception_list.signed_by": "signed_by",
    "$.reception_list.signed_on": "signed_on",
    "$.reception_list.invoices": "invoice_number",
    "$.reception_list.payments": "payment_method",
    "$.reception_list.documents": "documents",
    "$.reception_list.companions": "companion_names",
    "$.reception_list.support_staff": "support_staff",
    "$.reception_list.guests": "guests",
    "$.reception_list.meals.companions": "companions",
    "$.reception_list.meals": "meal_cost",
    "$.reception_list.items": "meal_cost",
    "$.approvals": "approvers",
    "$.approval_chain": "approvers",
    "$.start": "start",
    "$.end": "end",
    "$.jurisdiction": "jurisdiction",
    "$.host_unit": "host_unit",
    "$.reception_type": "type",
    "$.handler": "handler",
    "$.retroactive": "state",
}


def column_of(path: str) -> str:
    """The import column a model path such as ``$.plan.meals[0].cost`` comes from ("" if none)."""
    path = re.sub(r"\[\d+\]", "", path)
    while path:
        if path in _PATH_COLUMNS:
            return _PATH_COLUMNS[path]
        cut = path.rfind(".")
        if cut <= 0:
            return ""
        path = path[:cut]
    return ""

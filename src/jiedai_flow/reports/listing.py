"""The reception list 接待清单 as a document in the official layout (Art 7; 2025: companions and
support staff), ready for the HTML, Excel and CSV renderers.

Art 7 asks for 「接待对象的单位、姓名、职务和公务活动项目、时间、场所、费用等内容」, signed by the
responsible person. :func:`list_document` lays a filed list out that way, with the letter it must
agree with (L-03), the invoices and payments (F-01, F-03) and the signatures (F-02).
"""

from __future__ import annotations

from datetime import date  # noqa: TC003  # why: attrs resolves the field types at run time
from decimal import Decimal  # noqa: TC003  # why: same
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.model import (  # why: resolve_types() below needs them at run time
    ZERO,
    DocumentKind,
    Guest,
    Invoice,
    Payment,
    Person,
)
from jiedai_flow.domain.records import StepKind
from jiedai_flow.errors import DefinitionError
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS
from jiedai_flow.process.signoff import local_day, names_of, signoff
from jiedai_flow.reports.common import ListNotFiledError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from jiedai_flow.domain.model import ListItem, Meal
    from jiedai_flow.domain.records import AuditEvent, Reception
    from jiedai_flow.process.lifecycle import ProcessDefinition
    from jiedai_flow.process.signoff import Signoff

TITLE = "公务接待清单"
TITLE_EN = "Official reception list"

# Meals carry no clock time; this orders them among the day's activities (breakfast first).
_MEAL_SORT = {"breakfast": "07:00", "lunch": "12:00", "dinner": "18:00"}


@attrs.frozen
class ActivityLine:
    """One row of 公务活动项目: date, time, what, where, cost, and a note (diners, invoice)."""

    on: date
    time: str
    item: str
    place: str
    cost: Decimal
    note: str = ""
    meal: bool = False


@attrs.frozen
class ApprovalLine:
    """One signature 审批意见: the step, the signer (with 代签, 转办, 加签), the day and the opinion.

    A step with several signers (会签, 或签, 票签) has one line per signer; its first line carries the
    step's kind and result (``并行会签 3/3 同意，通过``)."""

    level: str
    name: str
    at: date
    opinion: str = ""
    kind: str = ""
    """审批方式 of a step with several signers, on its first line ("" for 单人审批)."""
    result: str = ""
    """How the step was decided, on its first line (``3/3 同意，通过``, ``同意权重 5/7 …``)."""
    outcome: str = "同意"
    """同意, or 反对 (票签)."""
    notes: tuple[str, ...] = ()
    """委派意见: the opinions of those the signer delegated to."""

    @property
    def step_shown(self) -> str:
        """The step with its kind and result where it has several signers: ``会签（并行会签 3/3 同意）``."""
        return f"{self.level}（{self.kind} {self.result}）" if self.kind else self.level


@attrs.frozen
class ReturnRow:
    """A return 退回记录: who sent the reception back (驳回到环节, 退回) or refused it, when, and why."""

    step: str
    """The step's label."""
    how: str
    """驳回 (to an earlier step), 退回 (to the applicant), 不予接待 …"""
    name: str
    at: date | None
    reason: str


@attrs.frozen
class ExecutionRow:
    """An execution item 接待执行事项 of the plan: its owner, time and place, and who did it."""

    title: str
    owner: str
    when: str
    """The time it was to happen (``2026-03-16 09:00``), else its due day."""
    place: str
    state: str
    """待办, 有问题, 已完成, 已关闭."""
    done_by: str = ""
    done_on: date | None = None
    notes: tuple[str, ...] = ()


@attrs.frozen
class Totals:
    """费用合计: the list's items and meals, what was invoiced and paid, against the plan."""

    items: Decimal
    meals: Decimal
    total: Decimal
    invoiced: Decimal
    paid: Decimal
    planned: Decimal
    budget: Decimal


@attrs.frozen
class Signatures:
    """签字: the handler 经办人, the responsible person who signed 负责人 and when, the approvals."""

    handler: str
    responsible: str
    signed_on: date | None
    approvals: tuple[ApprovalLine, ...] = ()


@attrs.frozen
class ListDocument:
    """The 接待清单 of one reception, every field in the order the official form shows it."""

    number: str
    host_unit: str
    jurisdiction: str
    reception_type: str
    state: str
    sending_unit: str
    letter_kind: str
    letter_number: str
    letter_issued_on: date
    purpose: str
    content: str
    start: date
    end: date
    guests: tuple[Guest, ...]
    activities: tuple[ActivityLine, ...]
    companions: tuple[Person, ...]
    support_staff: tuple[Person, ...]
    invoices: tuple[Invoice, ...]
    payments: tuple[Payment, ...]
    documents: tuple[str, ...]
    totals: Totals
    signatures: Signatures
    letter_headcount: int = 0
    title: str = TITLE
    returns: tuple[ReturnRow, ...] = ()
    """退回记录: returns and refusals of the approval, oldest first (empty for most receptions)."""
    execution: tuple[ExecutionRow, ...] = ()
    """接待执行: the execution items handed out, and who did each (empty when none were)."""

    @property
    def days(self) -> int:
        """Calendar days of the visit, both ends included 天数."""
        return (self.end - self.start).days + 1

    @property
    def headcount(self) -> str:
        """来宾 4 人，陪同 2 人，工作人员 1 人."""
        return (
            f"来宾 {len(self.guests)} 人，陪同 {len(self.companions)} 人，"
            f"工作人员 {len(self.support_staff)} 人"
        )


def list_document(
    reception: Reception,
    *,
    events: Sequence[AuditEvent] = (),
    definition: ProcessDefinition | None = None,
) -> ListDocument:
    """The 接待清单 document of a reception whose list is filed (else :class:`ListNotFiledError`).

    :param events: its audit trail (``engine.history(id)``), for the names of everyone who acted;
        without it, people known only by id print by id.
    :param definition: its process (the default one when not given), for the labels of returns.
    """
    listing = reception.reception_list
    if listing is None:
        raise ListNotFiledError(reception.id, reception.number)
    view = signoff(reception, definition=definition, names=names_of(reception, events))
    letter = reception.letter
    keyed = [((i.on, i.time or "99"), _item_line(i)) for i in listing.items]
    keyed += [((m.on, _MEAL_SORT[m.kind.value]), _meal_line(m)) for m in listing.meals]
    activities = [line for _key, line in sorted(keyed, key=lambda pair: pair[0])]
    items_total = sum((i.cost for i in listing.items), ZERO)
    meals_total = sum((m.cost for m in listing.meals), ZERO)
    return ListDocument(
        number=reception.number,
        host_unit=reception.host_unit,
        jurisdiction=reception.jurisdiction,
        reception_type=reception.reception_type.label,
        state=state_label(reception.state),
        sending_unit=letter.sending_unit,
        letter_kind=letter.kind.label,
        letter_number=letter.number,
        letter_issued_on=letter.issued_on,
        purpose=letter.purpose.label,
        content=letter.content,
        start=reception.start,
        end=reception.end,
        guests=listing.guests,
        activities=tuple(activities),
        companions=listing.companions,
        support_staff=listing.support_staff,
        invoices=listing.invoices,
        payments=listing.payments,
        documents=tuple(k.label for k in DocumentKind if k in listing.documents),
        totals=Totals(
            items=items_total,
            meals=meals_total,
            total=listing.total,
            invoiced=listing.invoiced_total,
            paid=listing.paid_total,
            planned=reception.plan.planned_total,
            budget=reception.plan.budget,
        ),
        signatures=Signatures(
            handler=reception.handler.name,
            responsible=listing.signed_by,
            signed_on=listing.signed_on,
            approvals=approval_lines(view),
        ),
        letter_headcount=letter.headcount,
        returns=return_rows(view),
        execution=execution_rows(view),
    )


def approval_lines(view: Signoff) -> tuple[ApprovalLine, ...]:
    """Every signature of the chain, step by step; a step with several signers names its kind and
    result on its first line."""
    lines = []
    for step in view.steps:
        several = step.kind is not StepKind.SINGLE
        for n, s in enumerate(x for x in step.signers if x.signed and x.at is not None):
            lines.append(
                ApprovalLine(
                    step.label,
                    s.shown,
                    _day(s.at),
                    s.opinion,
                    kind=step.kind.label if several and n == 0 else "",
                    result=step.result if several and n == 0 else "",
                    outcome=s.outcome,
                    notes=s.notes,
                )
            )
    return tuple(lines)


def return_rows(view: Signoff) -> tuple[ReturnRow, ...]:
    """The returns and refusals, oldest first."""
    return tuple(ReturnRow(r.step_label, r.how, r.who, local_day(r.at), r.reason) for r in view.returns)


def execution_rows(view: Signoff) -> tuple[ExecutionRow, ...]:
    """The execution items and who did each."""
    rows = []
    for e in view.execution:
        when = e.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if e.at is not None else ""
        rows.append(
            ExecutionRow(
                e.title,
                e.owner,
                when or (f"{e.due} 前" if e.due is not None else ""),
                e.place,
                e.state,
                e.done_by,
                local_day(e.done_at),
                e.notes,
            )
        )
    return tuple(rows)


def _day(moment: datetime | None) -> date:
    found = local_day(moment)
    assert found is not None  # a signature always has its time
    return found


def payment_payer(payment: Payment) -> str:
    """The paying unit as shown: 「本单位」 when the host unit paid (the default)."""
    return payment.payer or "本单位"


def _item_line(item: ListItem) -> ActivityLine:
    note = f"发票 {item.invoice_number}" if item.invoice_number else ""
    return ActivityLine(item.on, item.time, item.item, item.place, item.cost, note)


def _meal_line(meal: Meal) -> ActivityLine:
    kind = "工作餐" if meal.working_meal else "用餐"
    note = f"来宾 {meal.guests} 人，陪餐 {meal.companions} 人，人均 {meal.per_person} 元"
    if meal.alcohol:
        note += "，有酒水"
    return ActivityLine(
        meal.on, meal.kind.label, f"{kind}（{meal.format.label}）", meal.venue, meal.cost, note, meal=True
    )


def state_label(state: str) -> str:
    """A state's Chinese label in the default process; another process's state by its name."""
    try:
        return DEFAULT_PROCESS.state(state).label
    except DefinitionError:  # a reception of another process definition: its state name
        return state


for _cls in (ActivityLine, ApprovalLine, ReturnRow, ExecutionRow, Totals, Signatures, ListDocument):
    attrs.resolve_types(_cls, globalns=globals())  # so convert.dump() can serialise a document

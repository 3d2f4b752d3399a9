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

from jiedai_flow.domain.model import (  # why: resolve_types() below needs them at run time
    ZERO,
    DocumentKind,
    Guest,
    Invoice,
    Payment,
    Person,
)
from jiedai_flow.errors import DefinitionError
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS
from jiedai_flow.reports.common import ListNotFiledError

if TYPE_CHECKING:
    from jiedai_flow.domain.model import ListItem, Meal
    from jiedai_flow.domain.records import Reception

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
    """One signed approval step 审批意见."""

    level: str
    name: str
    at: date
    opinion: str = ""


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


def list_document(reception: Reception) -> ListDocument:
    """The 接待清单 document of a reception whose list is filed (else :class:`ListNotFiledError`)."""
    listing = reception.reception_list
    if listing is None:
        raise ListNotFiledError(reception.id, reception.number)
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
            approvals=tuple(
                ApprovalLine(a.level or "审批", a.actor_name, a.at.date(), a.opinion)
                for a in reception.approvals
            ),
        ),
        letter_headcount=letter.headcount,
    )


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


for _cls in (ActivityLine, ApprovalLine, Totals, Signatures, ListDocument):
    attrs.resolve_types(_cls, globalns=globals())  # so convert.dump() can serialise a document

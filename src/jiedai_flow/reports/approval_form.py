"""The approval form 公务接待审批单 of one reception: the letter, the plan line by line with its
costs, and a box per approval step — what the approvers sign before the visit (A-01, A-03).

:func:`approval_document` works on any reception, whatever its state: before submission the boxes
are empty (the paper form is signed by hand), after approval they carry who signed and when.
"""

from __future__ import annotations

from datetime import date  # noqa: TC003  # why: attrs resolves the field types at run time
from decimal import Decimal  # why: same
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.domain.model import (  # why: resolve_types() below needs them at run time
    Guest,
    Payer,
    Person,
)
from jiedai_flow.domain.records import StepKind
from jiedai_flow.process.signoff import local_day, names_of, signoff
from jiedai_flow.reports.listing import ReturnRow, return_rows, state_label

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jiedai_flow.domain.records import AuditEvent, Reception
    from jiedai_flow.process.lifecycle import ProcessDefinition
    from jiedai_flow.process.signoff import Signoff

APPROVAL_TITLE = "公务接待审批单"
APPROVAL_TITLE_EN = "Official reception approval form"


@attrs.frozen
class PlanLine:
    """One planned item 接待安排: its category (用餐、住宿、交通、活动), date, what, where, cost, note."""

    category: str
    on: date | None
    item: str
    place: str
    cost: Decimal
    note: str = ""


@attrs.frozen
class SignLine:
    """One signer in a box of several 会签、或签、票签: who (with 代签, 转办, 加签), what, when."""

    name: str
    outcome: str
    """同意, 反对, 待签 …"""
    at: date | None = None
    opinion: str = ""
    notes: tuple[str, ...] = ()
    """委派意见."""


@attrs.frozen
class StepBox:
    """One approval box 审批意见栏: the step, and who signed it and when (empty until signed).

    A step of one signer fills ``name``, ``at`` and ``opinion``; a step of several (会签, 或签,
    票签) gives its kind and result and one line per signer in ``signers``."""

    level: str
    name: str = ""
    at: date | None = None
    opinion: str = ""
    kind: str = ""
    """审批方式 of a step of several signers ("" for 单人审批)."""
    result: str = ""
    signers: tuple[SignLine, ...] = ()
    notes: tuple[str, ...] = ()
    """委派意见 of a step of one signer."""


@attrs.frozen
class ApprovalFormDocument:
    """The 审批单 of one reception, every field in the order the paper form shows it."""

    number: str
    host_unit: str
    handler: str
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
    companions: tuple[Person, ...]
    lines: tuple[PlanLine, ...]
    planned: Decimal
    budget: Decimal
    steps: tuple[StepBox, ...]
    retroactive: bool = False
    title: str = APPROVAL_TITLE
    returns: tuple[ReturnRow, ...] = ()
    """退回记录 of this approval (驳回到环节, 退回), oldest first."""

    @property
    def days(self) -> int:
        """Calendar days of the visit, both ends included 天数."""
        return (self.end - self.start).days + 1

    @property
    def headcount(self) -> str:
        """来宾 4 人，陪同 2 人."""
        return f"来宾 {len(self.guests)} 人，陪同 {len(self.companions)} 人"


def approval_document(
    reception: Reception,
    *,
    events: Sequence[AuditEvent] = (),
    definition: ProcessDefinition | None = None,
) -> ApprovalFormDocument:
    """The 审批单 of ``reception``, in any state: unsigned steps print as empty boxes.

    :param events: its audit trail, for the names of everyone who acted (ids print otherwise).
    :param definition: its process (the default one when not given), for the labels of returns.
    """
    letter, plan = reception.letter, reception.plan
    view = signoff(reception, definition=definition, names=names_of(reception, events))
    return ApprovalFormDocument(
        number=reception.number,
        host_unit=reception.host_unit,
        handler=reception.handler.name,
        state=state_label(reception.state),
        sending_unit=letter.sending_unit,
        letter_kind=letter.kind.label,
        letter_number=letter.number,
        letter_issued_on=letter.issued_on,
        purpose=letter.purpose.label,
        content=letter.content,
        start=reception.start,
        end=reception.end,
        guests=letter.personnel,
        companions=plan.companions,
        lines=_plan_lines(reception),
        planned=plan.planned_total,
        budget=plan.budget,
        steps=_steps(view),
        retroactive=reception.retroactive,
        returns=return_rows(view),
    )


def _plan_lines(reception: Reception) -> tuple[PlanLine, ...]:
    plan = reception.plan
    lines = [
        PlanLine(
            "用餐",
            m.on,
            f"{m.kind.label}（{'工作餐' if m.working_meal else '用餐'}，{m.format.label}）",
            m.venue,
            m.cost,
            f"来宾 {m.guests} 人，陪餐 {m.companions} 人，人均 {m.per_person} 元",
        )
        for m in plan.meals
    ]
    lines += [
        PlanLine(
            "住宿",
            None,
            f"{lo.room_type.label} {lo.rooms} 间 × {lo.nights} 晚",
            lo.hotel,
            lo.total if lo.payer is Payer.HOST else Decimal("0.00"),
            f"{lo.payer.label}，{lo.price_per_night} 元/间·晚",
        )
        for lo in plan.lodgings
    ]
    transport = plan.transport
    if transport.vehicles or transport.cost:
        lines.append(
            PlanLine(
                "交通",
                None,
                f"用车 {transport.vehicles} 辆",
                "",
                transport.cost,
                f"乘车 {transport.passengers} 人" if transport.passengers else "",
            )
        )
    lines += [PlanLine("活动", a.on, a.description, a.place, a.cost, a.time) for a in plan.activities]
    return tuple(sorted(lines, key=lambda line: (line.on or reception.start, line.category != "用餐")))


def _steps(view: Signoff) -> tuple[StepBox, ...]:
    boxes = []
    for step in view.steps:
        if step.kind is StepKind.SINGLE and len(step.signers) <= 1:
            signed = next((x for x in step.signers if not x.pending and x.at is not None), None)
            if signed is None or signed.at is None:
                boxes.append(StepBox(step.label))
                continue
            opinion = signed.opinion if signed.outcome == "同意" else f"{signed.outcome}：{signed.opinion}"
            boxes.append(StepBox(step.label, signed.shown, local_day(signed.at), opinion, notes=signed.notes))
            continue
        lines = tuple(
            SignLine(x.shown, x.outcome, local_day(x.at) if x.signed else None, x.opinion, x.notes)
            for x in step.signers
        )
        boxes.append(StepBox(step.label, kind=step.kind.label, result=step.result, signers=lines))
    return tuple(boxes) or (StepBox("审批"),)


for _cls in (PlanLine, SignLine, StepBox, ApprovalFormDocument):
    attrs.resolve_types(_cls, globalns=globals())  # so convert.dump() can serialise a document

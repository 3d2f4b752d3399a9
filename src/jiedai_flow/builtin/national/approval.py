"""A rules: approval before reception 先审批后接待, the approval chain, the approval form 审批单."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import PLAN_STAGES, SETTLE_STAGES, art, block, explain, note, warn
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.model import ZERO
from jiedai_flow.domain.records import StepKind
from jiedai_flow.domain.standards import retroactive_deadline
from jiedai_flow.process.lifecycle import Stage
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date, datetime

    from jiedai_flow.domain.findings import Citation, Finding
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.rules import RuleContext

A01_STAGES = frozenset({Stage.START_URGENT, Stage.APPROVE, Stage.CLAIM})


# --- A-01 先审批后接待 ---------------------------------------------------------------------------


def _day(moment: datetime) -> date:
    """The calendar day of ``moment`` in China Standard Time (naive times are taken as local)."""
    return (moment.astimezone(CHINA_TZ) if moment.tzinfo is not None else moment).date()


def check_approved_first(ctx: RuleContext) -> Iterator[Finding]:
    """A-01 先审批后接待: approval comes before the reception.

    An ordinary reception can only ``start`` once approved (the state machine sees to it), so
    there is nothing to check there. An urgent one (补办, ``start_urgent``, allowed only where
    ``standards.retroactive_window_days`` is set) starts first and is approved within the window:
    noted at ``start_urgent``; warned at a late ``approve``; at ``claim`` refused while the chain
    is incomplete, and needing a written explanation if it completed after the window. Days are
    calendar days in China Standard Time.
    """
    reception = ctx.reception
    deadline = retroactive_deadline(reception, ctx.standards)
    window = ctx.standards.retroactive_window_days
    if ctx.stage == Stage.START_URGENT:
        if deadline is not None:
            yield note(
                "A-01",
                f"补办：未经审批先行接待，须在接待开始（{reception.start.isoformat()}）后 {window} 日内"
                f"（最迟 {deadline.isoformat()}）补办审批",
                f"retroactive: the reception starts before approval; approval must follow within "
                f"{window} days of the start ({reception.start.isoformat()}), by {deadline.isoformat()}",
                "$.retroactive",
                ctx.standards.cite("retroactive_window_days", art("第七条")),
            )
        return
    if not reception.retroactive:
        return  # approved before it started: the state machine allows nothing else
    if ctx.stage == Stage.APPROVE:
        today = _day(ctx.now)
        if deadline is not None and today > deadline:
            yield warn(
                "A-01",
                f"补办审批于 {today.isoformat()} 进行，已超过时限 {deadline.isoformat()}"
                f"（接待开始后 {window} 日）{(today - deadline).days} 天",
                f"retroactive approval on {today.isoformat()} is {(today - deadline).days} day(s) past "
                f"the deadline {deadline.isoformat()} ({window} days after the start)",
                "$.approvals",
                ctx.standards.cite("retroactive_window_days", art("第七条")),
            )
        return
    citation = ctx.standards.cite("retroactive_window_days", art("第七条"))
    yield from _claim_after_retroactive_approval(reception, deadline, window, citation)


def _claim_after_retroactive_approval(
    reception: Reception, deadline: date | None, window: int | None, citation: Citation
) -> Iterator[Finding]:
    chain, signed = reception.approval_chain, len(reception.approvals)
    if not reception.approval_complete:
        yield block(
            "A-01",
            f"补办审批未完成（已签 {signed}/{len(chain)} 个环节），不能报销",
            f"the retroactive approval is not complete ({signed} of {len(chain)} steps signed); "
            "no claim before it is",
            "$.approvals",
            art("第七条"),
        )
        return
    done = _day(reception.approvals[-1].at)
    if deadline is None or done <= deadline:
        return
    late = (done - deadline).days
    yield explain(
        "A-01",
        f"补办审批于 {done.isoformat()} 完成，超过时限 {deadline.isoformat()}（接待开始 "
        f"{reception.start.isoformat()} 后 {window} 日）{late} 天，须书面说明",
        f"the retroactive approval completed on {done.isoformat()}, {late} day(s) after the "
        f"deadline {deadline.isoformat()} ({window} days after the start {reception.start.isoformat()}); "
        "a written explanation is needed",
        f"$.approvals[{len(reception.approvals) - 1}].at",
        citation,
    )


# --- A-02 审批链 ---------------------------------------------------------------------------------


def check_chain_order(ctx: RuleContext) -> Iterator[Finding]:
    """A-02 审批链: the signatures match the chain, step by step, in order, by distinct people
    other than the handler.

    The engine records approvals only that way, so this is a defensive check of a stored
    aggregate (a tampered or hand-migrated record fails it). Whether the chain itself is the right
    one for the reception's tier is decided by the ``jiedai_approval_chain`` hook at submission; a
    rule cannot call hooks, so it takes the recorded chain as given.

    A step signed by one approver takes one signature, at its level. A step of several signers —
    会签, 或签, 票签, or one where signers were added (加签) — takes one signature from each of them
    in a row; a step of named people records each signer's own id, so its level is not compared.
    """
    reception = ctx.reception
    chain = reception.approval_chain
    seen: dict[str, int] = {}
    expected = -1
    for i, approval in enumerate(reception.approvals):
        path = f"$.approvals[{i}]"
        again = i > 0 and approval.step == expected and _several(reception, expected)
        expected = expected if again else expected + 1
        if approval.step != expected:
            yield _a02(
                f"第 {i + 1} 个签署记录的环节序号为 {approval.step}，应为 {expected}",
                f"signature {i + 1} is for step {approval.step}, expected {expected}",
                f"{path}.step",
            )
        if expected >= len(chain):
            yield _a02(
                f"签署 {len(reception.approvals)} 次，多于审批链的 {len(chain)} 个环节",
                f"{len(reception.approvals)} signatures for a chain of {len(chain)} steps",
                path,
            )
            break
        step = chain[expected]
        if approval.level != step.level and (step.level or not step.assignees):
            yield _a02(
                f"环节 {expected + 1} 应由「{step.label or step.level or '审批人'}」签署，"
                f"记录为「{approval.level or '（任一审批人）'}」",
                f"step {expected + 1} must be signed at level {step.level!r}, recorded {approval.level!r}",
                f"{path}.level",
            )
        if approval.actor_id in seen:
            yield _a02(
                f"{approval.actor_name} 签署了环节 {seen[approval.actor_id] + 1} 和环节 {expected + 1}",
                f"{approval.actor_id} signed steps {seen[approval.actor_id] + 1} and {expected + 1}",
                f"{path}.actor_id",
            )
        seen.setdefault(approval.actor_id, expected)
        if reception.handled_by(approval.actor_id):
            yield _a02(
                f"环节 {expected + 1} 由本接待的经办人 {approval.actor_name} 签署（不相容职务分离）",
                f"step {expected + 1} was signed by the reception's handler {approval.actor_id}",
                f"{path}.actor_id",
            )
        if i and approval.at < reception.approvals[i - 1].at:
            yield _a02(
                f"第 {i + 1} 个签署的时间 {approval.at.isoformat()} 早于前一个签署",
                f"signature {i + 1} was made at {approval.at.isoformat()}, before the one before it",
                f"{path}.at",
            )


def _several(reception: Reception, index: int) -> bool:
    """Whether step ``index`` is signed by several people: its kind says so, or its tasks (加签)."""
    if index >= len(reception.approval_chain):
        return False
    step = reception.approval_chain[index]
    return step.kind is not StepKind.SINGLE or len(step.assignees) > 1 or len(reception.step_tasks(index)) > 1


def _a02(zh: str, en: str, path: str) -> Finding:
    return block("A-02", zh, en, path, art("第七条"))


# --- A-03 审批单字段 -----------------------------------------------------------------------------


def check_approval_form(ctx: RuleContext) -> Iterator[Finding]:
    """A-03 审批单字段: the approval form is complete and agrees with the letter.

    Checked from the data: 填报单位 (host unit named); 预算 (a plan with costs has a budget that
    covers them); 接待人数 (no meal feeds more guests than the letter names — fewer than
    ``standards.new_letter_increase`` extra need an explanation, more a new letter); 接待时间
    (meals and activities fall within the reception's dates); 是否协助安排用餐/住宿 (the plan
    arranges meals or rooms only if the letter asked). 派出单位 and 事由 are required by the
    model; 承办人 is the handler. 陪餐人数 against named companions and 活动安排 being present are
    not checked: the model does not link meal companions to named people, and a plan may
    legitimately consist of a meal alone.
    """
    reception, plan = ctx.reception, ctx.reception.plan
    if not reception.host_unit.strip():
        yield block(
            "A-03",
            "审批单未填写填报（接待）单位",
            "the approval form names no host unit",
            "$.host_unit",
            art("第七条"),
        )
    total = plan.planned_total
    if total > ZERO and plan.budget == ZERO:
        yield block(
            "A-03",
            f"审批单预算为 0 元，但方案预计费用 {total} 元",
            f"the approval form's budget is 0 yuan but the plan costs {total} yuan",
            "$.plan.budget",
            art("第十二条"),
        )
    elif total > plan.budget:
        yield warn(
            "A-03",
            f"方案预计费用 {total} 元超过审批单预算 {plan.budget} 元（超出 {total - plan.budget} 元）",
            f"the plan costs {total} yuan, {total - plan.budget} over the form's budget of {plan.budget}",
            "$.plan.budget",
            art("第十二条"),
        )
    yield from _meal_headcounts(ctx)
    yield from _within_dates(reception)
    letter = reception.letter
    if plan.meals and not letter.meal_requested:
        yield warn(
            "A-03",
            f"方案安排用餐 {len(plan.meals)} 次，但公函未提出协助安排用餐",
            f"the plan arranges {len(plan.meals)} meal(s) but the letter did not ask for meals",
            "$.letter.meal_requested",
            art("第五条"),
        )
    if plan.lodgings and not letter.lodging_requested:
        rooms = sum(lo.rooms for lo in plan.lodgings)
        yield warn(
            "A-03",
            f"方案安排住宿 {rooms} 间，但公函未提出协助安排住宿",
            f"the plan books {rooms} room(s) but the letter did not ask for lodging",
            "$.letter.lodging_requested",
            art("第五条"),
        )


def _meal_headcounts(ctx: RuleContext) -> Iterator[Finding]:
    named = ctx.reception.letter.headcount
    limit = ctx.standards.new_letter_increase
    for i, meal in enumerate(ctx.reception.plan.meals):
        extra = meal.guests - named
        if extra <= 0:
            continue
        zh = f"第 {i + 1} 餐安排接待对象 {meal.guests} 人，比公函所列 {named} 人多 {extra} 人"
        en = f"meal {i + 1} is for {meal.guests} guests, {extra} more than the letter's {named}"
        path = f"$.plan.meals[{i}].guests"
        if extra >= limit:
            yield block(
                "A-03",
                f"{zh}；增加 {limit} 人及以上须另发公函",
                f"{en}; {limit} or more extra guests need a new letter",
                path,
                ctx.standards.cite("new_letter_increase", art("第七条")),
            )
        else:
            yield explain(
                "A-03",
                f"{zh}（少于 {limit} 人），须书面说明",
                f"{en} (fewer than {limit}); a written explanation is needed",
                path,
                ctx.standards.cite("new_letter_increase", art("第七条")),
            )


def _within_dates(reception: Reception) -> Iterator[Finding]:
    plan = reception.plan
    dated = [(f"meals[{i}]", m.on) for i, m in enumerate(plan.meals)]
    dated += [(f"activities[{i}]", a.on) for i, a in enumerate(plan.activities)]
    span = f"{reception.start.isoformat()} 至 {reception.end.isoformat()}"
    span_en = f"{reception.start.isoformat()} to {reception.end.isoformat()}"
    for where, on in dated:
        if not reception.start <= on <= reception.end:
            yield block(
                "A-03",
                f"方案所列日期 {on.isoformat()} 不在接待时间 {span} 内",
                f"the plan has an entry dated {on.isoformat()}, outside the reception ({span_en})",
                f"$.plan.{where}.on",
                art("第五条"),
            )


RULES: tuple[Rule, ...] = (
    Rule("A-01", "先审批后接待", A01_STAGES, check_approved_first, art("第七条"), "approve before receiving"),
    Rule("A-02", "审批链", SETTLE_STAGES, check_chain_order, art("第七条"), "approval chain"),
    Rule(
        "A-03",
        "审批单字段",
        PLAN_STAGES,
        check_approval_form,
        art("第七条"),
        "approval form fields",
        also_cites=(art("第五条"), art("第十二条")),
    ),
)

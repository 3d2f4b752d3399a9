"""The engine: each command is one unit of work — authorize, check every rule, save, then notify."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import (
    Actor,
    ApprovalStep,
    AuditEvent,
    Citation,
    CommandResult,
    ConflictError,
    DocumentKind,
    Engine,
    Finding,
    IdempotencyError,
    InvalidTransitionError,
    Invoice,
    MemoryStore,
    NotAuthorizedError,
    Notification,
    Payment,
    PaymentMethod,
    Person,
    Plan,
    ReasonRequiredError,
    Reception,
    ReceptionList,
    Role,
    Rule,
    RuleContext,
    RuleError,
    RuleViolationError,
    Severity,
    StandardsLayer,
    ValidationError,
    VetoError,
    hookimpl,
    make_plugin_manager,
)
from jiedai_flow.builtin.national import RULES_2013
from jiedai_flow.domain.standards import Level
from jiedai_flow.process.engine import digest_of
from jiedai_flow.process.tasks import Comment
from jiedai_flow.testing import (
    ACTORS,
    FrozenClock,
    NotificationCapture,
    register_sample,
    sample_letter,
    sample_plan,
)

if TYPE_CHECKING:
    from pathlib import Path

    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.notify.channels import Message, RegisterNotifier

Factory = Callable[..., Engine]

JURISDICTION = "341502"
START = date(2026, 3, 10)
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
DIRECTOR = ACTORS["director"]
FINANCE = ACTORS["finance"]
OFFICE = ACTORS["office"]

HAPPY_PATH: tuple[tuple[str, Actor, str], ...] = (
    ("submit", HANDLER, "submitted"),
    ("approve", APPROVER, "approved"),
    ("start", HANDLER, "in_progress"),
    ("finish", HANDLER, "completed"),
    ("claim", HANDLER, "settling"),
    ("settle", FINANCE, "settled"),
    ("archive", OFFICE, "archived"),
)


class TwoStepChain:
    """A county chain: 部门负责人 signs first, then 分管领导."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return [ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导")]


def create(engine: Engine, plan: Plan | None = None, start: date = START) -> Reception:
    return register_sample(engine, start=start, plan=plan, handler=HANDLER, jurisdiction=JURISDICTION)


def reception_list(
    reception: Reception, method: PaymentMethod = PaymentMethod.OFFICIAL_CARD
) -> ReceptionList:
    meals = reception.plan.meals
    total = sum((m.cost for m in meals), Decimal(0))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=meals,
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", total),),
        payments=(Payment(method, total, "公务卡尾号 1234"),),
        companions=reception.plan.companions,
        support_staff=(Person("刘敏", "县政府办公室科员"),),
        signed_by="王强",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def advance(engine: Engine, rid: str, state: str) -> Reception:
    """Walk the happy path until the reception is in ``state``."""
    reception = engine.get(rid)
    sources = ["draft", *(dest for _, _, dest in HAPPY_PATH)]
    for trigger, actor, dest in HAPPY_PATH[sources.index(reception.state) :]:
        if reception.state == state:
            break
        listing = reception_list(reception) if trigger == "claim" else None
        reception = engine.fire(rid, trigger, actor, reception_list=listing).reception
        assert reception.state == dest
    assert reception.state == state
    return reception


def snapshot(engine: Engine, rid: str) -> tuple[Reception, tuple[AuditEvent, ...], tuple[Notification, ...]]:
    return engine.get(rid), tuple(engine.history(rid)), tuple(engine.store.pending_notifications())


# -- the happy path and the audit trail ----------------------------------------------------------


def test_happy_path_runs_from_draft_to_archived_with_one_event_per_command(jiedai_engine: Engine) -> None:
    created = create(jiedai_engine)
    assert (created.state, created.version) == ("draft", 1)
    final = advance(jiedai_engine, created.id, "archived")
    assert final.version == 1 + len(HAPPY_PATH)

    events = jiedai_engine.history(created.id)
    assert [e.seq for e in events] == list(range(1, final.version + 1))
    assert [e.trigger for e in events] == ["create", *(t for t, _, _ in HAPPY_PATH)]
    assert [e.from_state for e in events] == ["", "draft", *(d for _, _, d in HAPPY_PATH[:-1])]
    assert [e.to_state for e in events] == ["draft", *(d for _, _, d in HAPPY_PATH)]
    assert [e.actor_id for e in events] == [HANDLER.id, *(a.id for _, a, _ in HAPPY_PATH)]
    assert events[2].actor_name == APPROVER.name
    assert events[2].actor_roles == (Role.APPROVER,)
    assert {e.reception_id for e in events} == {created.id}
    assert {e.rule_pack for e in events} == {"national-2025"}
    assert {e.process for e in events} == {"reception@1"}


def test_each_command_returns_the_saved_reception_and_its_event(jiedai_engine: Engine) -> None:
    rid = create(jiedai_engine).id
    result = jiedai_engine.fire(rid, "submit", HANDLER)
    assert result.reception == jiedai_engine.get(rid)
    assert result.event == jiedai_engine.history(rid)[-1]
    assert result.event.seq == result.reception.version == 2
    assert not result.replayed


def test_reception_number_counts_per_jurisdiction_and_year(jiedai_engine: Engine) -> None:
    first, second = create(jiedai_engine), create(jiedai_engine)
    assert (first.number, second.number) == ("341502-2026-00001", "341502-2026-00002")
    assert create(jiedai_engine, start=date(2027, 1, 5)).number == "341502-2027-00001"


def test_event_records_the_clock_time(jiedai_engine: Engine, jiedai_clock: FrozenClock) -> None:
    rid = create(jiedai_engine).id
    later = jiedai_clock.advance(hours=2)
    result = jiedai_engine.fire(rid, "submit", HANDLER)
    assert result.event.at == later
    assert result.reception.updated_at == later


# -- return, withdraw, approval chains -----------------------------------------------------------


def test_approver_returns_a_submission_to_draft_with_a_reason(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "submitted").id
    result = jiedai_engine.fire(rid, "return", APPROVER, reason="请补充行程安排")
    assert (result.reception.state, result.event.reason) == ("draft", "请补充行程安排")


def test_finance_returns_a_claim_to_completed_with_a_reason(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "settling").id
    result = jiedai_engine.fire(rid, "return", FINANCE, reason="发票抬头有误")
    assert (result.event.from_state, result.reception.state) == ("settling", "completed")
    assert result.event.reason == "发票抬头有误"


def test_returning_a_claim_keeps_the_approvals_of_the_plan(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "settling").id
    approvals = jiedai_engine.get(rid).approvals
    assert [a.actor_id for a in approvals] == [APPROVER.id]
    returned = jiedai_engine.fire(rid, "return", FINANCE, reason="发票抬头有误").reception
    assert returned.approvals == approvals


@pytest.mark.parametrize("reason", ["", "   "])
def test_return_without_a_reason_is_refused(jiedai_engine: Engine, reason: str) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "submitted").id
    with pytest.raises(ReasonRequiredError) as caught:
        jiedai_engine.fire(rid, "return", APPROVER, reason=reason)
    assert caught.value.trigger == "return"
    assert caught.value.code == "reason_required"
    assert jiedai_engine.get(rid).version == 2


def test_submitter_may_withdraw_before_any_approver_acts(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "submitted").id
    result = jiedai_engine.fire(rid, "withdraw", HANDLER)
    assert result.reception.state == "draft"
    assert result.reception.approvals == ()


def test_submitter_may_not_withdraw_once_the_first_step_is_signed(jiedai_engine_factory: Factory) -> None:
    engine = jiedai_engine_factory(TwoStepChain())
    rid = advance(engine, create(engine).id, "submitted").id
    engine.fire(rid, "approve", DIRECTOR)
    assert "withdraw" not in engine.available_triggers(rid, HANDLER)
    with pytest.raises(InvalidTransitionError) as caught:
        engine.fire(rid, "withdraw", HANDLER)
    assert caught.value.state == "待审批"
    assert engine.get(rid).state == "submitted"
    assert engine.get(rid).version == 3


def test_a_trigger_the_process_does_not_have_is_named_as_unknown(jiedai_engine_factory: Factory) -> None:
    """A misspelt trigger is not "not allowed in this state" but not there at all: UnknownTriggerError
    (a kind of InvalidTransitionError, so code catching that still does) names the process."""
    from jiedai_flow.errors import UnknownTriggerError

    engine = jiedai_engine_factory(TwoStepChain())
    rid = advance(engine, create(engine).id, "submitted").id
    with pytest.raises(UnknownTriggerError) as caught:
        engine.fire(rid, "aprove", DIRECTOR)
    assert isinstance(caught.value, InvalidTransitionError)
    assert caught.value.process == engine.get(rid).process
    assert "approve" in caught.value.allowed
    assert "没有操作「aprove」" in caught.value.message_zh
    with pytest.raises(InvalidTransitionError) as known:
        engine.fire(rid, "start", HANDLER)  # a trigger of the process, not from this state
    assert type(known.value) is InvalidTransitionError


def test_multi_step_approval_stays_submitted_until_the_last_step(jiedai_engine_factory: Factory) -> None:
    engine = jiedai_engine_factory(TwoStepChain())
    rid = advance(engine, create(engine).id, "submitted").id
    assert [s.level for s in engine.get(rid).approval_chain] == ["部门负责人", "分管领导"]
    first = engine.fire(rid, "approve", DIRECTOR, reason="同意")
    assert (first.event.from_state, first.reception.state, first.reception.version) == (
        "submitted",
        "submitted",
        3,
    )
    second = engine.fire(rid, "approve", APPROVER)
    assert second.reception.state == "approved"
    signed = [(a.step, a.level, a.actor_id, a.opinion) for a in second.reception.approvals]
    assert signed == [(0, "部门负责人", DIRECTOR.id, "同意"), (1, "分管领导", APPROVER.id, "")]


def test_approver_of_the_wrong_level_may_not_sign_the_pending_step(jiedai_engine_factory: Factory) -> None:
    engine = jiedai_engine_factory(TwoStepChain())
    rid = advance(engine, create(engine).id, "submitted").id
    with pytest.raises(NotAuthorizedError, match="部门负责人"):
        engine.fire(rid, "approve", APPROVER)
    engine.fire(rid, "approve", DIRECTOR)
    deputy = Actor("zhou.qi", "周琪", frozenset({Role.APPROVER}), levels=frozenset({"部门负责人"}))
    with pytest.raises(NotAuthorizedError, match="分管领导"):
        engine.fire(rid, "approve", deputy)
    assert engine.get(rid).version == 3


def test_same_person_may_not_sign_two_steps(jiedai_engine_factory: Factory) -> None:
    both = Actor("qian.li", "钱力", frozenset({Role.APPROVER}), levels=frozenset({"部门负责人", "分管领导"}))
    engine = jiedai_engine_factory(TwoStepChain())
    rid = advance(engine, create(engine).id, "submitted").id
    engine.fire(rid, "approve", both)
    with pytest.raises(NotAuthorizedError, match="两个审批环节"):
        engine.fire(rid, "approve", both)
    assert engine.get(rid).state == "submitted"


# -- amend and cancel ----------------------------------------------------------------------------


def test_amend_sends_an_approved_reception_back_for_approval_with_the_new_plan(
    jiedai_engine: Engine,
) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "approved").id
    revised = sample_plan(companions=3)
    result = jiedai_engine.fire(rid, "amend", HANDLER, reason="来访人员调整", plan=revised)
    assert (result.reception.state, result.reception.plan) == ("submitted", revised)
    assert result.reception.approvals == ()
    assert result.reception.submitted_by == HANDLER.id
    assert jiedai_engine.fire(rid, "approve", APPROVER).reception.state == "approved"


def test_a_submission_and_a_change_each_count_as_a_submission(jiedai_engine: Engine) -> None:
    """Submitting and amending open the chain again: each is the next submission, and the tasks made
    during it carry its number (a withdraw asks whether anyone acted on this submission's tasks)."""
    rid = create(jiedai_engine).id
    assert jiedai_engine.get(rid).submission == 0
    submitted = jiedai_engine.fire(rid, "submit", HANDLER).reception
    assert submitted.submission == 1
    assert {t.submission for t in submitted.tasks} == {1}
    jiedai_engine.fire(rid, "approve", APPROVER)
    amended = jiedai_engine.fire(rid, "amend", HANDLER, reason="来访人员调整", plan=sample_plan(companions=3))
    assert (amended.reception.state, amended.reception.submission) == ("submitted", 2)
    assert {t.submission for t in amended.reception.tasks if t.current} == {2}


def test_amended_plan_is_checked_again_and_a_violating_change_is_refused(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "approved").id
    with pytest.raises(RuleViolationError) as caught:
        jiedai_engine.fire(rid, "amend", HANDLER, reason="增加陪餐人员", plan=sample_plan(companions=5))
    assert [f.rule_id for f in caught.value.findings] == ["M-02"]
    assert jiedai_engine.get(rid).state == "approved"
    jiedai_engine.fire(rid, "amend", HANDLER, reason="调整用餐时间", plan=sample_plan(companions=3))
    assert jiedai_engine.get(rid).state == "submitted"
    assert jiedai_engine.fire(rid, "approve", APPROVER).reception.state == "approved"


def test_plan_changes_only_with_edit_in_draft_submit_or_amend(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "submitted").id
    with pytest.raises(ValidationError) as caught:
        jiedai_engine.fire(rid, "approve", APPROVER, plan=sample_plan(companions=1))
    assert [p.path for p in caught.value.problems] == ["$.plan"]
    assert jiedai_engine.get(rid).version == 2


def test_edit_after_the_reception_may_carry_the_list_but_not_the_plan(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "completed").id
    with pytest.raises(ValidationError, match="接待结束后不能修改接待方案") as caught:
        jiedai_engine.fire(rid, "edit", HANDLER, plan=sample_plan(companions=1))
    assert [p.path for p in caught.value.problems] == ["$.plan"]
    listing = reception_list(jiedai_engine.get(rid))
    edited = jiedai_engine.fire(rid, "edit", HANDLER, reception_list=listing).reception
    assert (edited.state, edited.reception_list) == ("completed", listing)


@pytest.mark.parametrize("state", ["draft", "submitted", "approved"])
def test_handler_may_cancel_before_the_reception_starts(jiedai_engine: Engine, state: str) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, state).id
    result = jiedai_engine.fire(rid, "cancel", HANDLER, reason="来访取消")
    assert (result.event.from_state, result.reception.state) == (state, "cancelled")


def test_reception_in_progress_cannot_be_cancelled(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "in_progress").id
    with pytest.raises(InvalidTransitionError) as caught:
        jiedai_engine.fire(rid, "cancel", HANDLER, reason="来访取消")
    assert caught.value.allowed == ("finish",)
    assert caught.value.code == "invalid_transition"
    assert jiedai_engine.get(rid).state == "in_progress"


def test_an_english_refusal_names_the_state_in_english(jiedai_engine: Engine) -> None:
    """message_en names the state by its English label (its name when it has none), not 接待中;
    the Chinese message and ``state`` keep the Chinese label."""
    rid = advance(jiedai_engine, create(jiedai_engine).id, "in_progress").id
    with pytest.raises(InvalidTransitionError) as caught:
        jiedai_engine.fire(rid, "cancel", HANDLER, reason="来访取消")
    error = caught.value
    assert "is 'under way'; 'cancel' cannot fire now; allowed: finish" in error.message_en
    assert not any("\u4e00" <= c <= "\u9fff" for c in error.message_en)
    assert (error.state, error.state_en) == ("接待中", "under way")
    assert "「接待中」" in error.message_zh


def test_refusals_name_the_reception_by_its_number(jiedai_engine: Engine) -> None:
    """What a clerk reads names the number they know (341502-2026-00001), not the internal id; the id
    stays on the error for programs."""
    reception = advance(jiedai_engine, create(jiedai_engine).id, "in_progress")
    assert reception.number
    refusals: list[tuple[type[Exception], Callable[[], object]]] = [
        (InvalidTransitionError, lambda: jiedai_engine.fire(reception.id, "cancel", HANDLER, reason="取消")),
        (NotAuthorizedError, lambda: jiedai_engine.fire(reception.id, "finish", DIRECTOR)),
        (ConflictError, lambda: jiedai_engine.fire(reception.id, "finish", HANDLER, expected_version=1)),
    ]
    for kind, command in refusals:
        with pytest.raises(kind) as caught:
            command()
        error = caught.value
        assert (error.reception_id, error.number) == (reception.id, reception.number)
        assert f"接待记录 {reception.number} " in error.message_zh
        assert f"reception {reception.number}" in error.message_en
        assert reception.id not in str(error)


# -- rules ---------------------------------------------------------------------------------------


def test_claim_without_the_reception_list_is_refused_by_f01(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, "completed").id
    with pytest.raises(RuleViolationError) as caught:
        jiedai_engine.fire(rid, "claim", HANDLER)
    (finding,) = caught.value.findings
    assert (finding.rule_id, finding.path, finding.stage) == ("F-01", "$.reception_list", "claim")
    assert jiedai_engine.get(rid).state == "completed"


def test_payment_on_account_blocks_the_claim_by_f03(jiedai_engine: Engine) -> None:
    reception = advance(jiedai_engine, create(jiedai_engine).id, "completed")
    listing = reception_list(reception, PaymentMethod.ON_ACCOUNT)
    with pytest.raises(RuleViolationError) as caught:
        jiedai_engine.fire(reception.id, "claim", HANDLER, reception_list=listing)
    (finding,) = caught.value.findings
    assert (finding.rule_id, finding.message_zh) == ("F-03", "不得挂账消费")
    assert finding.path == "$.reception_list.payments[0].method"
    assert jiedai_engine.get(reception.id).reception_list is None


def test_blocking_findings_refuse_the_command_listing_all_and_saving_nothing(
    jiedai_engine: Engine, jiedai_notifications: NotificationCapture
) -> None:
    plan = sample_plan(companions=5, cigarettes=True, dishes=("红烧鱼翅", "青菜"))
    rid = create(jiedai_engine, plan).id
    before = snapshot(jiedai_engine, rid)
    delivered = list(jiedai_notifications.delivered)

    with pytest.raises(RuleViolationError) as caught:
        jiedai_engine.fire(rid, "submit", HANDLER)

    error = caught.value
    article_10 = Citation(RULES_2013, "第十条")
    assert error.findings == (
        Finding(
            "M-02",
            Severity.BLOCKING,
            "陪餐 5 人，超过上限 3 人（接待对象 4 人）",
            "5 companions exceed the cap of 3 (4 guests)",
            "$.plan.meals[0].companions",
            article_10,
            "submit",
        ),
        Finding(
            "M-04",
            Severity.BLOCKING,
            "菜品「红烧鱼翅」含禁止菜肴：鱼翅",
            "dish '红烧鱼翅' contains banned items: 鱼翅",
            "$.plan.meals[0].dishes[0]",
            article_10,
            "submit",
        ),
        Finding(
            "M-05",
            Severity.BLOCKING,
            "工作餐不得提供香烟",
            "no cigarettes at working meals",
            "$.plan.meals[0].cigarettes",
            article_10,
            "submit",
        ),
    )
    assert (error.reception_id, error.trigger, error.code) == (rid, "submit", "rule_violation")
    assert "有 3 项检查结果未通过" in error.message_zh
    assert all(f.rule_id in str(error) for f in error.findings)
    assert snapshot(jiedai_engine, rid) == before
    assert jiedai_notifications.delivered == delivered


def test_non_blocking_findings_are_recorded_on_the_event(jiedai_engine_factory: Factory) -> None:
    warning = Finding("LA-01", Severity.WARNING, "建议使用机关食堂", "prefer the canteen")

    class Advice:
        @hookimpl
        def jiedai_register_rules(self, register: Callable[[Rule], None]) -> None:
            register(Rule("LA-01", "建议", frozenset({"submit"}), lambda ctx: [warning]))

    engine = jiedai_engine_factory(Advice())
    rid = create(engine).id
    result = engine.fire(rid, "submit", HANDLER)
    stamped = Finding("LA-01", Severity.WARNING, "建议使用机关食堂", "prefer the canteen", stage="submit")
    assert result.findings == result.event.findings == (stamped,)
    assert engine.get(rid).state == "submitted"


def test_check_reports_findings_by_stage_and_changes_nothing(
    jiedai_engine: Engine, jiedai_notifications: NotificationCapture
) -> None:
    rid = create(jiedai_engine, sample_plan(companions=5)).id
    before = snapshot(jiedai_engine, rid)
    assert set(jiedai_engine.check(rid).by_stage) == {"submit", "start_urgent"}  # what can fire next
    report = jiedai_engine.check(rid, stages="all")
    stages = {"submit", "approve", "amend", "start_urgent", "finish", "claim", "settle"}
    assert set(report.by_stage) == stages  # finish: E-01, execution items done
    assert report.by_stage["finish"] == ()
    assert [f.rule_id for f in report.by_stage["submit"]] == ["M-02"]
    assert [(f.rule_id, f.severity) for f in report.by_stage["approve"]] == [
        ("M-02", Severity.BLOCKING),
        ("F-05", Severity.INFO),  # the budget line is noted at each approval step
    ]
    assert [f.rule_id for f in report.by_stage["claim"]] == ["F-01"]
    assert report.by_stage["settle"] == ()
    assert not report.ok
    # M-02 found at submit, approve, amend and start_urgent is listed once; F-01 at claim
    assert [f.rule_id for f in report.blocking] == ["M-02", "F-01"]
    assert sum(f.blocks for found in report.by_stage.values() for f in found) == 5
    assert snapshot(jiedai_engine, rid) == before
    assert jiedai_notifications.delivered == []


def test_check_of_chosen_stages_of_a_clean_reception_is_ok(jiedai_engine: Engine) -> None:
    report = jiedai_engine.check(create(jiedai_engine), stages=["submit"])
    assert report.ok
    assert dict(report.by_stage) == {"submit": ()}


# -- idempotency and concurrency -----------------------------------------------------------------


def test_retried_request_returns_the_first_result_and_changes_nothing(
    jiedai_engine: Engine, jiedai_notifications: NotificationCapture
) -> None:
    rid = create(jiedai_engine).id
    first = jiedai_engine.fire(rid, "submit", HANDLER, request_id="req-1")
    before = snapshot(jiedai_engine, rid)
    delivered = list(jiedai_notifications.delivered)

    again = jiedai_engine.fire(rid, "submit", HANDLER, request_id="req-1")

    assert again.replayed
    assert not first.replayed
    assert (again.reception, again.event) == (first.reception, first.event)
    assert again.event.request_id == "req-1"
    assert snapshot(jiedai_engine, rid) == before
    assert jiedai_notifications.delivered == delivered


def test_retry_after_the_reception_moved_on_still_replays_the_first_result(jiedai_engine: Engine) -> None:
    rid = create(jiedai_engine).id
    first = jiedai_engine.fire(rid, "submit", HANDLER, request_id="req-1", expected_version=1)
    jiedai_engine.fire(rid, "approve", APPROVER)
    again = jiedai_engine.fire(rid, "submit", HANDLER, request_id="req-1", expected_version=1)
    assert again.replayed
    assert again.event == first.event
    assert jiedai_engine.get(rid).version == 3


def test_retried_create_returns_the_first_reception(jiedai_engine: Engine) -> None:
    def register() -> CommandResult:
        return jiedai_engine.create_reception(
            sample_letter(),
            sample_plan(),
            handler=HANDLER,
            host_unit="县政府办公室",
            jurisdiction=JURISDICTION,
            request_id="c-1",
        )

    first, again = register(), register()
    assert again.replayed
    assert again.reception.id == first.reception.id
    assert jiedai_engine.store.next_number(f"{JURISDICTION}:2026") == 2


def test_request_id_reused_for_another_command_is_refused(jiedai_engine: Engine) -> None:
    rid = create(jiedai_engine).id
    jiedai_engine.fire(rid, "submit", HANDLER, request_id="req-1")
    with pytest.raises(IdempotencyError) as caught:
        jiedai_engine.fire(rid, "approve", APPROVER, request_id="req-1")
    assert caught.value.request_id == "req-1"
    other = create(jiedai_engine).id
    with pytest.raises(IdempotencyError):
        jiedai_engine.fire(other, "submit", HANDLER, request_id="req-1")
    assert jiedai_engine.get(rid).version == 2
    assert jiedai_engine.get(other).version == 1


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_request_id_reused_with_other_words_is_refused(
    jiedai_engine_factory: Factory, tmp_path: Path, store: str
) -> None:
    """The same request id, trigger and actor but another reason, plan or task command is another
    command: refused (IdempotencyError), never answered with the first command's result as if the
    new words were saved. The same words again are replayed."""
    engine = jiedai_engine_factory(url="memory://" if store == "memory" else f"sqlite:///{tmp_path / 'j.db'}")
    try:
        rid = create(engine).id
        said = Comment()
        engine.operate(rid, said, HANDLER, reason="第一次的说明", request_id="k-1")
        with pytest.raises(IdempotencyError, match="而内容不同"):
            engine.operate(rid, said, HANDLER, reason="完全不同的说明", request_id="k-1")
        assert engine.operate(rid, said, HANDLER, reason="第一次的说明", request_id="k-1").replayed
        assert [e.reason for e in engine.history(rid)][-1] == "第一次的说明"
        assert engine.get(rid).version == 2

        def register(unit: str) -> CommandResult:
            return engine.create_reception(
                sample_letter(), sample_plan(), handler=HANDLER, host_unit=unit, jurisdiction=JURISDICTION,
                request_id="c-1",
            )  # fmt: skip

        register("县政府办公室")
        with pytest.raises(IdempotencyError):
            register("县财政局")
        assert register("县政府办公室").replayed
        # what a command said is read as content: a map's key order is none
        one, other = {"A-01": "说明", "B-02": "说明"}, {"B-02": "说明", "A-01": "说明"}
        assert digest_of("edit", one) == digest_of("edit", other)
    finally:
        engine.store.close()


def test_stale_expected_version_is_a_conflict(jiedai_engine: Engine) -> None:
    rid = create(jiedai_engine).id
    jiedai_engine.fire(rid, "edit", HANDLER, expected_version=1)
    with pytest.raises(ConflictError) as caught:
        jiedai_engine.fire(rid, "submit", HANDLER, expected_version=1)
    assert (caught.value.expected, caught.value.actual, caught.value.reception_id) == (1, 2, rid)
    assert "刷新后重试" in caught.value.message_zh
    assert jiedai_engine.get(rid).state == "draft"


def _engine_on(store: MemoryStore, *plugins: object) -> Engine:
    host = make_plugin_manager(autoload=False, plugins=plugins)
    return Engine(store, host, clock=FrozenClock())


def test_two_writers_with_the_same_read_one_wins_the_other_conflicts() -> None:
    store = MemoryStore()
    one, two = _engine_on(store), _engine_on(store)
    rid = advance(one, create(one).id, "submitted").id
    seen = two.get(rid).version
    one.fire(rid, "approve", APPROVER, expected_version=seen)
    with pytest.raises(ConflictError):
        two.fire(rid, "refuse", APPROVER, reason="不符合规定", expected_version=seen)
    assert store.load(rid).state == "approved"
    assert [e.trigger for e in store.history(rid)][-1] == "approve"


def test_a_save_racing_another_commit_conflicts_and_writes_nothing() -> None:
    store = MemoryStore()
    winner = _engine_on(store)

    class Racer:
        """Commits through the other engine between this command's load and its save."""

        @hookimpl
        def jiedai_before_transition(self, before: Reception, after: Reception, event: AuditEvent) -> None:
            del after, event
            winner.fire(before.id, "approve", APPROVER)

    loser = _engine_on(store, Racer())
    rid = advance(winner, create(winner).id, "submitted").id
    with pytest.raises(ConflictError) as caught:  # the version the caller saw is pinned: theirs to resolve
        loser.fire(rid, "refuse", APPROVER, reason="不符合规定", expected_version=2)
    assert (caught.value.expected, caught.value.actual) == (2, 3)
    assert store.load(rid).state == "approved"
    assert [e.trigger for e in store.history(rid)] == ["create", "submit", "approve"]


def test_a_command_that_lost_a_race_is_decided_again_on_the_stored_reception() -> None:
    store = MemoryStore()
    winner = _engine_on(store)

    class Racer:
        @hookimpl
        def jiedai_before_transition(self, before: Reception, after: Reception, event: AuditEvent) -> None:
            del after, event
            if before.state == "submitted":
                winner.fire(before.id, "approve", APPROVER)

    loser = _engine_on(store, Racer())
    rid = advance(winner, create(winner).id, "submitted").id
    with pytest.raises(InvalidTransitionError):  # decided again: the approved reception cannot be refused
        loser.fire(rid, "refuse", APPROVER, reason="不符合规定")
    assert [e.trigger for e in store.history(rid)] == ["create", "submit", "approve"]


# -- queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "actor", "expected"),
    [
        ("draft", "handler", ("edit", "submit", "cancel")),
        ("draft", "handler2", ()),
        ("draft", "approver", ()),
        ("submitted", "handler", ("withdraw", "cancel")),
        ("submitted", "approver", ("approve", "return", "refuse", "cancel")),
        ("submitted", "director", ("approve", "return", "refuse", "cancel")),
        ("approved", "handler", ("amend", "start", "cancel")),
        ("approved", "approver", ("cancel",)),
        ("in_progress", "handler", ("finish",)),
        ("completed", "handler", ("edit", "claim")),
        ("settling", "finance", ("return", "settle")),
        ("settling", "handler", ()),
        ("settled", "finance", ("archive",)),
        ("settled", "office", ("archive",)),
        ("archived", "office", ()),
    ],
)
def test_available_triggers_follow_state_and_actor(
    jiedai_engine: Engine, state: str, actor: str, expected: tuple[str, ...]
) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine).id, state).id
    assert jiedai_engine.available_triggers(rid, ACTORS[actor]) == expected


# -- notifications and observers -----------------------------------------------------------------


def test_notifications_are_delivered_after_commit_in_chinese(
    jiedai_engine_factory: Factory, jiedai_notifications: NotificationCapture
) -> None:
    committed: list[int] = []

    class Witness:
        @hookimpl
        def jiedai_notify(self, notification: Notification, reception: Reception) -> None:
            committed.append(engine.store.load(reception.id).version)

    engine = jiedai_engine_factory(Witness())
    reception = create(engine)
    result = engine.fire(reception.id, "submit", HANDLER)
    (sent,) = jiedai_notifications.delivered
    assert committed == [2]
    assert (sent.topic, sent.recipients, sent.event_id) == ("submit", (Role.APPROVER,), result.event.id)
    assert sent.message_zh == f"接待 {reception.number}：张伟「提交审批」，当前状态「待审批」"
    assert reception.number in sent.message_en
    assert engine.store.pending_notifications() == ()

    engine.fire(reception.id, "return", APPROVER, reason="请补充行程")
    assert jiedai_notifications.delivered[-1].recipients == (Role.HANDLER,)
    assert "（理由：请补充行程）" in jiedai_notifications.delivered[-1].message_zh


def test_final_approval_notifies_the_handler_and_silent_triggers_notify_nobody(
    jiedai_engine: Engine, jiedai_notifications: NotificationCapture
) -> None:
    advance(jiedai_engine, create(jiedai_engine).id, "in_progress")
    assert jiedai_notifications.topics == ["submit", "approve"]
    assert jiedai_notifications.delivered[-1].recipients == (Role.HANDLER,)


def test_rule_that_raises_fails_the_command_naming_plugin_and_rule(jiedai_engine_factory: Factory) -> None:
    def broken(ctx: RuleContext) -> list[Finding]:
        raise KeyError("budget")

    class County:
        @hookimpl
        def jiedai_register_rules(self, register: Callable[[Rule], None]) -> None:
            register(Rule("LA-09", "本地预算", frozenset({"submit"}), broken))

    engine = jiedai_engine_factory(("county.lu_an", County()))
    rid = create(engine).id
    before = snapshot(engine, rid)
    with pytest.raises(RuleError) as caught:
        engine.fire(rid, "submit", HANDLER)
    assert (caught.value.plugin, caught.value.rule_id) == ("county.lu_an", "LA-09")
    assert "county.lu_an" in caught.value.message_zh
    assert "LA-09" in caught.value.message_zh
    assert isinstance(caught.value.__cause__, KeyError)
    assert snapshot(engine, rid) == before


def test_before_transition_plugin_that_raises_vetoes_the_save(
    jiedai_engine_factory: Factory, jiedai_notifications: NotificationCapture
) -> None:
    class Budget:
        @hookimpl
        def jiedai_before_transition(self, before: Reception, after: Reception, event: AuditEvent) -> None:
            raise RuntimeError("预算不足")

    engine = jiedai_engine_factory(Budget())
    rid = create(engine).id
    before = snapshot(engine, rid)
    with pytest.raises(VetoError, match="预算不足") as caught:
        engine.fire(rid, "submit", HANDLER)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert snapshot(engine, rid) == before
    assert jiedai_notifications.delivered == []


def test_after_transition_observer_that_raises_does_not_undo_the_command(
    jiedai_engine_factory: Factory,
    jiedai_notifications: NotificationCapture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Metrics:
        @hookimpl
        def jiedai_after_transition(self, reception: Reception, event: AuditEvent) -> None:
            raise RuntimeError("metrics down")

    engine = jiedai_engine_factory(Metrics())
    rid = create(engine).id
    assert engine.fire(rid, "submit", HANDLER).reception.state == "submitted"
    assert engine.get(rid).version == 2
    assert jiedai_notifications.topics == ["submit"]
    assert "after-transition observer failed" in caplog.text


def test_notifier_that_raises_leaves_its_outbox_row_pending_for_a_retry(
    jiedai_engine_factory: Factory,
) -> None:
    class Mailer:
        name = "email"
        inline = True

        def deliver(self, message: Message) -> None:
            raise ConnectionError("SMTP down")

    class Plugin:
        @hookimpl
        def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
            register(Mailer())

    engine = jiedai_engine_factory(Plugin())
    rid = create(engine).id
    result = engine.fire(rid, "submit", HANDLER)
    assert engine.get(rid).state == "submitted"
    (pending,) = engine.store.pending_notifications()  # the log channel's row was delivered
    assert (pending.event_id, pending.topic, pending.channel) == (result.event.id, "submit", "email")


def test_an_observer_that_raises_does_not_undo_the_command(jiedai_engine_factory: Factory) -> None:
    class Broken:
        @hookimpl
        def jiedai_notify(self, notification: Notification, reception: Reception) -> None:
            raise ConnectionError("listener down")

    engine = jiedai_engine_factory(Broken())
    rid = create(engine).id
    engine.fire(rid, "submit", HANDLER)
    assert engine.get(rid).state == "submitted"
    assert engine.store.pending_notifications() == ()


# -- the rule pack by date -----------------------------------------------------------------------


def test_reception_before_the_2025_revision_gets_the_2013_pack_and_may_serve_alcohol(
    jiedai_engine: Engine,
) -> None:
    start = date(2025, 1, 10)
    reception = create(jiedai_engine, sample_plan(start, alcohol=True), start=start)
    assert reception.rule_pack == "national-2013"
    assert jiedai_engine.fire(reception.id, "submit", HANDLER).event.rule_pack == "national-2013"


def test_premium_alcohol_is_blocked_under_the_2013_pack(jiedai_engine: Engine) -> None:
    start = date(2025, 1, 10)
    rid = create(jiedai_engine, sample_plan(start, alcohol=True, premium_alcohol=True), start=start).id
    with pytest.raises(RuleViolationError) as caught:
        jiedai_engine.fire(rid, "submit", HANDLER)
    assert [(f.rule_id, f.path) for f in caught.value.findings] == [
        ("M-05", "$.plan.meals[0].premium_alcohol")
    ]


def test_any_alcohol_at_a_working_meal_is_blocked_under_the_2025_pack(jiedai_engine: Engine) -> None:
    start = date(2025, 6, 1)
    reception = create(jiedai_engine, sample_plan(start, alcohol=True), start=start)
    assert reception.rule_pack == "national-2025"
    with pytest.raises(RuleViolationError) as caught:
        jiedai_engine.fire(reception.id, "submit", HANDLER)
    (finding,) = caught.value.findings
    assert (finding.rule_id, finding.path) == ("M-05", "$.plan.meals[0].alcohol")
    assert finding.message_zh == "工作餐不上酒（2025年修订条例）"


class Pack2025Everywhere:
    """A county layer that moves every reception, whatever its date, to the 2025 pack."""

    @hookimpl
    def jiedai_standards_layers(self, jurisdiction: str, on: date) -> tuple[StandardsLayer, ...]:
        del jurisdiction, on
        return (StandardsLayer("县标准", Level.COUNTY, JURISDICTION, {"rule_pack": "national-2025"}),)


def test_rule_pack_stays_with_the_reception_when_the_standards_change() -> None:
    store = MemoryStore()
    start = date(2025, 1, 10)
    old = create(_engine_on(store), sample_plan(start, alcohol=True), start=start)
    changed = _engine_on(store, Pack2025Everywhere())
    result = changed.fire(old.id, "submit", HANDLER)
    assert result.reception.rule_pack == "national-2013"
    assert {e.rule_pack for e in changed.history(old.id)} == {"national-2013"}
    new = create(changed, sample_plan(start, alcohol=True), start=start)
    assert new.rule_pack == "national-2025"
    with pytest.raises(RuleViolationError):
        changed.fire(new.id, "submit", HANDLER)


def test_a_check_lists_a_finding_once_though_two_stages_found_it() -> None:
    """A draft is checked for 提交 and for 先行接待; the same M-02 from both is one line for the
    clerk (the pages listed it twice), while ``by_stage`` keeps both."""
    import attrs

    from jiedai_flow import open_engine

    engine = open_engine("memory://")
    plan = sample_plan()
    plan = attrs.evolve(plan, meals=(attrs.evolve(plan.meals[0], companions=20),))
    created = engine.create_reception(
        sample_letter(), plan, handler=ACTORS["handler"], host_unit="县政府办公室", jurisdiction="341502"
    )
    report = engine.check(created.reception)
    assert [f.rule_id for found in report.by_stage.values() for f in found].count("M-02") == 2
    assert [f.rule_id for f in report.findings].count("M-02") == 1


def test_a_finding_blocking_at_one_stage_blocks_though_it_only_warns_at_another() -> None:
    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.process.engine import CheckReport

    warns = Finding("X-01", Severity.WARNING, "超标", "over", "$.plan")
    blocks = Finding("X-01", Severity.BLOCKING, "超标", "over", "$.plan")
    report = CheckReport("r", {"submit": (warns,), "approve": (blocks,)})
    assert report.blocking == (blocks,)
    assert not report.ok

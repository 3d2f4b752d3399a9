"""招商引资接待流程 ``zhaoshang@1``：由默认流程派生，加招商局审核和接待后跟踪服务。

The business-reception process ``zhaoshang@1``, derived from the engine's default process: an
investment-bureau review between the approval and ``approved``, and an optional follow-up stage
after ``settled``. Everything else — states, triggers, rule stages, side paths, labels — is the
default's, so a fix or a new side path in the default reaches this process too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow import Phase, Role, StateDef, Transition, TriggerDef

if TYPE_CHECKING:
    from jiedai_flow import ProcessDefinition

PROCESS_NAME = "zhaoshang"
PROCESS_VERSION = "1"
PROCESS_KEY = f"{PROCESS_NAME}@{PROCESS_VERSION}"
"""流程键，记在每件接待的 ``reception.process`` 上 / the key each reception records."""

REVIEW_STATE = "investment_review"
"""招商局审核：审批签完后、接待前 / the investment bureau's review, after the approval chain."""
REVIEW_TRIGGER = "investment_approve"
"""招商局审核同意 / the bureau approves."""
FOLLOW_UP_STATE = "following_up"
"""跟踪服务：结算后、归档前（可选）/ follow-up after settlement, before the archive (optional)."""

_H = frozenset({Role.HANDLER})
_A = frozenset({Role.APPROVER})
_OFFICE = frozenset({Role.OFFICE})


def zhaoshang_process(default: ProcessDefinition) -> ProcessDefinition:
    """招商引资接待流程：由 ``default``（引擎的第一个流程，一般即内置 ``reception@1``）派生。

    1. **招商局审核**：审批链最后一个环节签字后（``approve``，条件 ``final_step``）不再直接进入
       ``approved``，而是进入 ``investment_review``（阶段 ``pending``，待审批）；招商局审批人
       ``investment_approve`` 后才进入 ``approved``。招商局也可以退回（``return`` → ``draft``）或
       不予接待（``refuse`` → ``refused``）；经办人、审批人可以撤销（``cancel``）。
    2. **接待后跟踪服务**（可选）：``settled`` 之后，经办人 ``begin_follow_up`` 进入
       ``following_up``，``record_follow_up`` 记录联系投资方、投资意向、项目进展（签约、落地、未成），
       ``close_follow_up`` 归档。``settled`` 的 ``archive`` 仍在，不跟踪的接待照常归档。
    3. **不许先行接待**：去掉默认流程的 ``start_urgent``——先行接待补办的只是审批链，会绕过招商局审核。

    派生而不是照抄：默认流程的其余部分（提交、撤回、变更、补办、报销、结算……以及每个操作声明的
    规则环节和通知对象）原样保留，默认流程修正了什么，这里也跟着修正。

    Derived from ``default`` rather than written from scratch: the investment bureau's review
    between the last approval step and ``approved`` (with its own return, refuse and cancel), and an
    optional follow-up stage after ``settled`` whose triggers carry ``FollowUp`` entries.

    :param default: the process to derive from — the ``default`` argument of ``jiedai_processes``.
    :return: the process ``zhaoshang@1``.
    :raises DefinitionError: ``default`` has no ``approve: submitted → approved`` to insert the review into.
    """
    review = StateDef(REVIEW_STATE, "招商局审核", phase=Phase.PENDING)
    approve = TriggerDef(
        REVIEW_TRIGGER,
        "招商局审核同意",
        "investment bureau approves",
        decision=True,  # 经办人不能审核自己的接待（不相容职务分离，由引擎检查）
        notify=(Role.HANDLER,),
        action_zh="招商局已审核同意，可按方案接待",
    )
    return (
        default.derive(name=PROCESS_NAME, version=PROCESS_VERSION)
        .remove(triggers=["start_urgent"])  # 先行接待会绕过招商局审核
        .insert_step(
            "approve",
            "submitted",
            "approved",
            state=review,
            via=approve,
            roles=_A,
            extra=[
                Transition("return", REVIEW_STATE, "draft", _A),
                Transition("refuse", REVIEW_STATE, "refused", _A),
                Transition("cancel", REVIEW_STATE, "cancelled", _H | _A),
            ],
        )
        .add(
            states=[StateDef(FOLLOW_UP_STATE, "跟踪服务", phase=Phase.SETTLED)],
            triggers=[
                TriggerDef("begin_follow_up", "开始跟踪服务", "begin follow-up", carries_follow_up=True),
                TriggerDef("record_follow_up", "记录跟踪情况", "record follow-up", carries_follow_up=True),
                TriggerDef("close_follow_up", "结束跟踪", "close follow-up"),
            ],
            transitions=[
                Transition("begin_follow_up", "settled", FOLLOW_UP_STATE, _H),
                Transition("record_follow_up", FOLLOW_UP_STATE, FOLLOW_UP_STATE, _H),
                Transition("close_follow_up", FOLLOW_UP_STATE, "archived", _H | _OFFICE),
            ],
        )
    )

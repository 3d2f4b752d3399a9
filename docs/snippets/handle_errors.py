"""在应用里处理错误：程序看 code 和结构化属性，给人看中文消息。"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow import JiedaiFlowError, RuleViolationError

if TYPE_CHECKING:
    from jiedai_flow import Actor, Engine


def submit(engine: Engine, reception_id: str, actor: Actor) -> list[str]:
    """提交审批；返回要显示给经办人的提示（空列表表示成功）。"""
    try:
        engine.fire(reception_id, "submit", actor)
    except RuleViolationError as refused:
        # 全部结果，不只第一条：每条都有规则编号、字段路径，多数还有出处 f.citation
        return [f"{f.rule_id} {f.message_zh} @ {f.path}" for f in refused.findings]
    except JiedaiFlowError as error:
        return [f"[{error.code}] {error.message_zh}"]
    return []

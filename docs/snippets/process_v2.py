"""流程第 2 版：接待中也可撤销（来访临时取消）。已在办的接待仍按第 1 版办完。"""

from __future__ import annotations

import attrs

from jiedai_flow import DEFAULT_PROCESS, Engine, Role, Transition

PROCESS_V2 = attrs.evolve(
    DEFAULT_PROCESS,
    version="2",
    transitions=(
        *DEFAULT_PROCESS.transitions,
        Transition("cancel", "in_progress", "cancelled", frozenset({Role.HANDLER})),
    ),
)


def upgrade(engine: Engine) -> Engine:
    """同一存储、同一组插件上的新引擎：新登记的接待用第 2 版，旧接待留在第 1 版。"""
    return Engine(
        engine.store,
        engine.plugins,
        clock=engine.clock,
        processes=(PROCESS_V2, DEFAULT_PROCESS),  # 第一个用于新接待
    )

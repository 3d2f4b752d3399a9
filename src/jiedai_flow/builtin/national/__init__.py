"""The national rule pack 国家规则包, registered through the same hooks a county plugin uses.

Plugin name ``jiedai.national``. Rule ids are listed in docs/rules.md; each family lives in its own module
(letter: L/S/B, approval: A, meals: M, lodging: H/T, ceremony: C, execution: E, settlement: F).
Each check is a pure function of the reception and its resolved standards. Versions by date: the 2013
rules until the 2025 revision of 《党政机关厉行节约反对浪费条例》, which bans alcohol at working meals
outright and makes the list record companions and support staff.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from jiedai_flow.builtin.national import approval, ceremony, execution, letter, lodging, meals, settlement
from jiedai_flow.builtin.national._common import ECONOMY_2025, EIGHT_POINTS, RULES_2013
from jiedai_flow.domain.standards import (
    REVISION_2025,
    RULE_PACK_2013,
    RULE_PACK_2025,
    Level,
    StandardsLayer,
)
from jiedai_flow.hookspecs import hookimpl

if TYPE_CHECKING:
    from jiedai_flow.process.rules import RegisterRule, Rule

__all__ = ["ECONOMY_2025", "EIGHT_POINTS", "NATIONAL_LAYERS", "NATIONAL_RULES", "RULES_2013"]

NATIONAL_RULES: tuple[Rule, ...] = (
    *letter.RULES,
    *approval.RULES,
    *meals.RULES,
    *lodging.RULES,
    *ceremony.RULES,
    *execution.RULES,
    *settlement.RULES,
)

NATIONAL_LAYERS = (
    StandardsLayer(
        "全国（2013）",
        Level.NATIONAL,
        "",
        {"rule_pack": RULE_PACK_2013},
        effective_from=date(2013, 12, 8),
        effective_to=REVISION_2025,
        source=RULES_2013,
    ),
    StandardsLayer(
        "全国（2025）",
        Level.NATIONAL,
        "",
        {"rule_pack": RULE_PACK_2025},
        effective_from=REVISION_2025,
        source=ECONOMY_2025,
    ),
)


@hookimpl(trylast=True)
def jiedai_register_rules(register: RegisterRule) -> None:
    for rule in NATIONAL_RULES:
        register(rule)


@hookimpl(trylast=True)
def jiedai_standards_layers(jurisdiction: str, on: date) -> tuple[StandardsLayer, ...]:
    del jurisdiction, on  # national layers cover every jurisdiction; resolve() filters by date
    return NATIONAL_LAYERS

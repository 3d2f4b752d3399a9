"""H and T rules: lodging 住宿 and transport 交通."""

from __future__ import annotations

from jiedai_flow.rules import Rule

RULES: tuple[Rule, ...] = ()

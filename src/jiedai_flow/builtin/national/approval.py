"""A rules: approval before reception 先审批后接待, the approval chain, the approval form."""

from __future__ import annotations

from jiedai_flow.rules import Rule

RULES: tuple[Rule, ...] = ()

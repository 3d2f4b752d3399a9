"""Rules 规则: pure checks of a reception against its standards, registered by plugins.

A rule names the stages it runs at (:class:`~jiedai_flow.process.lifecycle.Stage`; each trigger of a process
declares the stage it runs) and returns findings. The engine compiles every registered rule once into
a :class:`RuleSet` indexed by stage, and runs all rules of a stage so a refusal lists every reason at
once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs

from jiedai_flow.domain.findings import Finding, Severity
from jiedai_flow.errors import PluginError, RuleError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import date, datetime

    from jiedai_flow.domain.findings import Citation
    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.domain.workdays import WorkCalendar


@attrs.frozen
class RuleContext:
    """Everything a rule may look at. Rules must not look anywhere else (no I/O, no clock)."""

    reception: Reception
    standards: Standards
    stage: str
    actor: Actor | None
    now: datetime
    calendar: WorkCalendar | None = None
    """The engine's working-day calendar (statutory holidays and 调休); None: Monday–Friday."""

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day: by the calendar, or Monday–Friday without one."""
        return self.calendar.is_workday(day) if self.calendar is not None else day.weekday() < 5


@attrs.frozen
class Rule:
    """A registered rule: id (built-in such as ``M-02``, or local such as ``LA-01``), stages, check."""

    id: str
    title_zh: str = attrs.field(alias="title")
    stages: frozenset[str] = attrs.field()
    check: Callable[[RuleContext], Iterable[Finding]] = attrs.field(eq=False)
    citation: Citation | None = None
    title_en: str = ""
    plugin: str = ""
    """Filled in at registration with the name of the plugin that registered the rule."""
    also_cites: tuple[Citation, ...] = ()
    """Other instruments some of its findings cite (besides ``citation`` and the documents of local
    layers whose values it judges): docs/rules.md lists them all."""
    also_raises: frozenset[Severity] = frozenset()
    """Severities raised under this rule's id outside its check (F-05 by the budget ledger)."""

    @property
    def title(self) -> str:
        """The Chinese title (``title_zh``), under its earlier name."""
        return self.title_zh

    @property
    def citations(self) -> tuple[Citation, ...]:
        """Every national citation its findings may carry."""
        return ((self.citation,) if self.citation else ()) + self.also_cites


class RegisterRule(Protocol):
    """The ``register`` callable handed to ``jiedai_register_rules``."""

    def __call__(self, rule: Rule) -> None: ...


class RuleSet:
    """Every registered rule, indexed by stage. Built once per engine."""

    def __init__(self, rules: Iterable[Rule], stages: Iterable[str] | None = None) -> None:
        """:param stages: the stages rules may register under (the engine's
        :attr:`~jiedai_flow.process.engine.Engine.rule_stages`): a rule for any other stage would
        never run, so it is refused. None: not checked."""
        known = frozenset(stages) if stages is not None else None
        self.rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in self.rules:
                other = self.rules[rule.id].plugin
                raise PluginError(
                    f"规则编号 {rule.id} 重复（插件 {other} 与 {rule.plugin}）",
                    f"rule id {rule.id} registered twice (plugins {other} and {rule.plugin})",
                )
            if known is not None and not rule.stages <= known:
                raise _unknown_stages(rule, known)
            self.rules[rule.id] = rule
        self._by_stage: dict[str, tuple[Rule, ...]] = {}
        for rule in self.rules.values():
            for stage in rule.stages:
                self._by_stage[stage] = (*self._by_stage.get(stage, ()), rule)

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_stage))

    def for_stage(self, stage: str) -> tuple[Rule, ...]:
        return self._by_stage.get(stage, ())

    def run(self, context: RuleContext) -> tuple[Finding, ...]:
        """Run every rule of ``context.stage``; a rule that raises fails the whole check (closed)."""
        findings: list[Finding] = []
        stage = context.stage
        for rule in self._by_stage.get(stage, ()):
            try:
                for finding in rule.check(context):
                    if type(finding) is not Finding or type(finding.severity) is not Severity:
                        raise _not_a_finding(rule, finding)
                    if finding.rule_id != rule.id:
                        raise _other_id(rule, finding)
                    findings.append(finding if finding.stage else attrs.evolve(finding, stage=stage))
            except Exception as exc:
                raise RuleError(rule.id, rule.plugin or "?", exc) from exc
        return tuple(findings)


def _not_a_finding(rule: Rule, given: object) -> PluginError:
    """What a check gave instead of a ``Finding`` with a ``Severity`` — a typed Python error would
    otherwise surface later, far from the rule (or a store would save a string as a severity)."""
    if isinstance(given, Finding):
        severity = given.severity
        return PluginError(
            f"严重程度应为 Severity 枚举（如 Severity.BLOCKING），收到 {severity!r}",
            f"severity must be a Severity (such as Severity.BLOCKING), got {severity!r}",
        )
    kind = type(given).__name__
    return PluginError(
        f"检查函数应逐条给出 Finding，收到 {kind}", f"a check yields Finding values, got {kind}"
    )


def _other_id(rule: Rule, finding: Finding) -> PluginError:
    """A finding under an id other than its rule's: its explanation, keyed by rule id, would
    never match, and the disclosure would count it under a rule that does not exist."""
    return PluginError(
        f"结果的规则编号 {finding.rule_id!r} 与规则编号 {rule.id!r} 不一致",
        f"the finding's rule id {finding.rule_id!r} is not its rule's ({rule.id!r})",
    )


def _unknown_stages(rule: Rule, known: frozenset[str]) -> PluginError:
    unknown, shown = sorted(rule.stages - known), sorted(known)
    plugin = rule.plugin or "?"
    return PluginError(
        f"插件 {plugin} 的规则 {rule.id} 登记在未知阶段 {'、'.join(unknown)}，永远不会运行"
        f"（已知阶段：{'、'.join(shown)}）",
        f"rule {rule.id} of plugin {plugin} is registered for unknown stage(s) {', '.join(unknown)} "
        f"and would never run (known stages: {', '.join(shown)})",
    )

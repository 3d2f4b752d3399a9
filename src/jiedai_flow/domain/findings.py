"""Findings 检查结果: what a rule says about a reception, and how much it matters."""

from __future__ import annotations

import enum

import attrs


class Severity(enum.StrEnum):
    """How a finding weighs on the command that produced it."""

    BLOCKING = "blocking"
    """不予通过 — the command is refused."""
    NEEDS_EXPLANATION = "needs_explanation"
    """须书面说明 — passes only with a written explanation an approver accepts."""
    WARNING = "warning"
    """提醒 — recorded, does not stop the command."""
    INFO = "info"
    """提示 — for the record."""

    @property
    def label(self) -> str:
        return _SEVERITY_LABELS[self]


_SEVERITY_LABELS = {
    Severity.BLOCKING: "不予通过",
    Severity.NEEDS_EXPLANATION: "须书面说明",
    Severity.WARNING: "提醒",
    Severity.INFO: "提示",
}


@attrs.frozen
class Citation:
    """Where a rule comes from: instrument and article, e.g. 《党政机关国内公务接待管理规定》第十条."""

    instrument: str
    article: str = ""

    def __str__(self) -> str:
        return f"{self.instrument}{self.article}"


@attrs.frozen
class Finding:
    """One result of one rule: rule id (e.g. ``M-02``), severity, bilingual message, field path, citation."""

    rule_id: str
    severity: Severity
    message_zh: str
    message_en: str
    path: str = "$"
    citation: Citation | None = None
    stage: str = ""

    @property
    def blocks(self) -> bool:
        return self.severity is Severity.BLOCKING

    @property
    def refuses(self) -> bool:
        """Stops its command unless dealt with: blocking, or needing a written explanation."""
        return self.severity is Severity.BLOCKING or self.severity is Severity.NEEDS_EXPLANATION

    def __str__(self) -> str:
        cite = f"（{self.citation}）" if self.citation else ""
        return (
            f"[{self.rule_id} {self.severity.label}] {self.message_zh}{cite} / "
            f"{self.message_en} @ {self.path}"
        )

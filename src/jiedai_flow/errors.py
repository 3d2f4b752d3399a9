"""The error hierarchy: every error has a stable code and a Chinese message first, then English.

A program reads ``.code`` and the structured attributes (``.problems``, ``.findings``,
``.reception_id``); a person reads ``str(error)``.
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from jiedai_flow.domain.findings import Finding


class JiedaiFlowError(Exception):
    """Base of every error jiedai_flow raises on purpose."""

    code: str = "jiedai_error"
    problems: tuple[Problem, ...] = ()
    """The fields the error is about, each with its path (``$.reason``; empty for most errors): what
    problem details list and what the command line names as the option to give."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en

    def __reduce__(self) -> tuple[Any, ...]:
        # why: an exception pickles as ``cls(*args)``, and most of these take other arguments than
        # their message: rebuilt from what it holds, an error crosses to another process (a worker
        # pool, a job queue) and copies as it is
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[JiedaiFlowError], args: tuple[Any, ...], state: dict[str, Any]) -> JiedaiFlowError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


@attrs.frozen
class Problem:
    """One problem in loaded data: where it is and what is wrong, in Chinese and English."""

    path: str
    message_zh: str
    message_en: str
    line: int | None = None
    """Line in the source file, where known (TOML files: standards, holidays, receptions, plans,
    lists, actors)."""

    def __str__(self) -> str:
        where = f"（第 {self.line} 行 line {self.line}）" if self.line else ""
        return f"{self.message_zh} / {self.message_en} @ {self.path}{where}"


def nearest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str:
    """The choice ``word`` most looks like a misspelling of (for 「是不是……？」 / "did you mean"), or
    "" when none is near enough."""
    return next(iter(difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)), "")


class ValidationError(JiedaiFlowError, ValueError):
    """Data failed validation; ``.problems`` lists every problem found, each with its field path."""

    code = "validation"

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{where}数据有 {len(self.problems)} 处错误", f"{len(self.problems)} problem(s) in data"
        )
        self.args = (f"{self.message_zh} / {self.message_en}\n{lines}",)


class NotFoundError(JiedaiFlowError, LookupError):
    """No reception with this id."""

    code = "not_found"

    def __init__(self, reception_id: str) -> None:
        super().__init__(f"接待记录 {reception_id} 不存在", f"reception {reception_id} not found")
        self.reception_id = reception_id


class AmbiguousReferenceError(JiedaiFlowError, LookupError):
    """An id prefix that several receptions share."""

    code = "ambiguous"

    def __init__(self, reference: str, candidates: Sequence[str]) -> None:
        shown = "、".join(candidates)
        super().__init__(
            f"「{reference}」对应多条接待（{shown} …），请多给几位 ID 或用接待编号",
            f"{reference!r} matches several receptions ({', '.join(candidates)} …); give more of the id "
            "or the reception number",
        )
        self.reference = reference
        self.candidates = tuple(candidates)


class DuplicateError(JiedaiFlowError):
    """A reception with this id already exists."""

    code = "duplicate"

    def __init__(self, reception_id: str) -> None:
        super().__init__(f"接待记录 {reception_id} 已存在", f"reception {reception_id} already exists")
        self.reception_id = reception_id


class ConflictError(JiedaiFlowError):
    """Someone else changed the reception since it was read (compare-and-set failed)."""

    code = "conflict"

    def __init__(self, reception_id: str, expected: int, actual: int | None, *, number: str = "") -> None:
        named = number or reception_id
        super().__init__(
            f"接待记录 {named} 已被他人修改（预期版本 {expected}，当前版本 {actual}），请刷新后重试",
            f"reception {named} was changed by someone else "
            f"(expected version {expected}, found {actual}); reload and retry",
        )
        self.reception_id = reception_id
        self.number = number
        self.expected = expected
        self.actual = actual


class PreconditionFailedError(ConflictError):
    """No entity tag of an HTTP ``If-Match`` list is the reception's version (the service's
    conditional commands): HTTP 412. ``expected`` is -1: a list names no one version."""

    code = "precondition_failed"

    def __init__(self, reception_id: str, actual: int, *, weak: bool = False, number: str = "") -> None:
        named = number or reception_id
        weak_zh = "；弱标签（W/）从不相符，If-Match 按强比较" if weak else ""
        weak_en = "; a weak tag (W/) never matches: If-Match compares strongly" if weak else ""
        JiedaiFlowError.__init__(
            self,
            f'If-Match 列出的 ETag 都不是接待 {named} 的当前版本 "{actual}"{weak_zh}；请重新读取后再办',
            f'no ETag listed in If-Match is the current version "{actual}" of reception {named}'
            f"{weak_en}; read it again and retry",
        )
        self.reception_id = reception_id
        self.number = number
        self.expected = -1
        self.actual = actual


class InvalidTransitionError(JiedaiFlowError):
    """The trigger cannot fire from the reception's current state."""

    code = "invalid_transition"

    def __init__(
        self,
        reception_id: str,
        trigger: str,
        state: str,
        allowed: Sequence[str],
        labels: Mapping[str, str] | None = None,
        *,
        number: str = "",
        process: str = "",
        state_en: str = "",
        unmet: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``state`` is the state's Chinese label and ``state_en`` its English one (the English
        message shows ``state`` when not given); ``labels`` maps trigger ids to their Chinese labels;
        ``process`` is the reception's process (``name@version``), when known; ``unmet``: when the
        trigger leaves this state only under conditions that do not hold now, each condition's
        wording in Chinese and English (「尚无人审批」 for 撤回 once an approver has acted)."""
        names = labels or {}
        self.reception_id = reception_id
        self.number = number
        self.trigger = trigger
        self.state = state
        self.state_en = state_en or state
        self.allowed = tuple(allowed)
        self.process = process
        self.unmet = tuple(unmet)
        allowed_zh = "、".join(f"{names.get(t, t)}（{t}）" for t in allowed) or "无"
        super().__init__(*self._says(names.get(trigger, trigger), allowed_zh))

    def _says(self, label: str, allowed_zh: str) -> tuple[str, str]:
        named = self.number or self.reception_id
        needs_zh = needs_en = ""
        if self.unmet:
            needs_zh = f"（须{'或'.join(f'「{zh}」' for zh, _en in self.unmet)}，现在不是）"
            needs_en = f" (it needs: {' or '.join(en for _zh, en in self.unmet)}; not so now)"
        return (
            f"接待记录 {named} 处于「{self.state}」状态，不能执行「{label}」{needs_zh}；"
            f"当前可执行：{allowed_zh}",
            f"reception {named} is '{self.state_en}'; '{self.trigger}' cannot fire now{needs_en}; "
            f"allowed: {', '.join(self.allowed) or 'none'}",
        )


class UnknownTriggerError(InvalidTransitionError):
    """The reception's process declares no trigger of that name (a misspelling, or a trigger of
    another process). A kind of :class:`InvalidTransitionError`, so code catching that still does;
    over HTTP it is a 404, the path naming nothing."""

    code = "unknown_trigger"

    def _says(self, label: str, allowed_zh: str) -> tuple[str, str]:
        del label  # the process has no label for it
        named = self.number or self.reception_id
        return (
            f"流程 {self.process} 没有操作「{self.trigger}」；接待记录 {named} 当前可执行：{allowed_zh}",
            f"process {self.process} has no trigger {self.trigger!r}; "
            f"allowed now: {', '.join(self.allowed) or 'none'}",
        )


class UnknownOperationError(JiedaiFlowError, LookupError):
    """No approval operation 审批操作 of that name (a misspelt endpoint such as
    ``/operations/add_signers`` for ``/operations/add-signers``); ``allowed`` names those there are."""

    code = "unknown_operation"

    def __init__(self, operation: str, allowed: Sequence[str]) -> None:
        self.operation = operation
        self.allowed = tuple(allowed)
        super().__init__(
            f"没有审批操作「{operation}」；可用的操作：{'、'.join(self.allowed) or '无'}",
            f"no approval operation {operation!r}; the operations are: {', '.join(self.allowed) or 'none'}",
        )


class NotAuthorizedError(JiedaiFlowError, PermissionError):
    """The actor may not fire this trigger on this reception."""

    code = "not_authorized"

    def __init__(
        self,
        reception_id: str,
        trigger: str,
        actor_id: str,
        why_zh: str,
        why_en: str,
        *,
        number: str = "",
        label: str = "",
    ):
        named = number or reception_id
        where = f"对接待记录 {named} " if named else ""  # a proxy is not on a reception
        super().__init__(
            f"{actor_id} 无权{where}执行「{label or trigger}」：{why_zh}",
            f"{actor_id} may not fire '{trigger}'"
            + (f" on reception {named}" if named else "")
            + f": {why_en}",
        )
        self.reception_id = reception_id
        self.number = number
        self.trigger = trigger
        self.actor_id = actor_id
        self.reason_zh = why_zh
        self.reason_en = why_en

    @classmethod
    def registering(cls, actor_id: str, label: str, why_zh: str, why_en: str) -> NotAuthorizedError:
        """Registering a reception (``create``) refused: no reception exists yet, so none is named,
        and the refusal says in words what was refused (``label``)."""
        error = cls("", "create", actor_id, why_zh, why_en, label=label)
        error.message_zh = f"{actor_id} 无权{label}（{why_zh}）"
        error.message_en = f"{actor_id} may not register a reception ({why_en})"
        error.args = (f"{error.message_zh} / {error.message_en}",)
        return error


class ReasonRequiredError(JiedaiFlowError):
    """The trigger needs a written reason (退回、不予接待、撤销 …)."""

    code = "reason_required"

    def __init__(self, trigger: str, label: str = "", *, path: str = "$.reason") -> None:
        """``path``: the field the reason goes in (``$.reason`` of a command or a request body)."""
        super().__init__(f"「{label or trigger}」必须填写理由", f"'{trigger}' requires a reason")
        self.trigger = trigger
        self.problems = (Problem(path, "必须填写理由", "a reason is required"),)


class RuleViolationError(JiedaiFlowError):
    """Blocking findings refused the command; ``.findings`` holds every finding, not just the first."""

    code = "rule_violation"

    def __init__(
        self,
        reception_id: str,
        trigger: str,
        findings: Sequence[Finding],
        *,
        number: str = "",
        label: str = "",
        explained: Collection[Finding] = (),
        unused: Mapping[str, str] | None = None,
    ) -> None:
        self.findings = tuple(findings)
        self.explained = tuple(f for f in self.findings if f in explained)
        """The findings needing an explanation that have one (given now or accepted before)."""
        self.explained_ids = tuple(sorted({f.rule_id for f in self.explained}))
        """Their rule ids, as answers carry them (``--json``, problem details)."""
        self.unused = dict(unused or {})
        """Rule ids explained (``--explain``) that no finding needing an explanation has, each with
        the nearest one that does ("" when none is near): a misspelt id is said, not dropped."""
        refusing = [f for f in self.findings if f.refuses and f not in self.explained]
        lines = "\n".join(f"  - {f}" for f in self.findings)
        named = number or reception_id
        # the trigger's Chinese label (the rule stage's name may differ from the trigger's)
        zh = (
            f"接待记录 {named} 的「{label or trigger}」有 {len(refusing)} 项检查结果未通过"
            "（不予通过，或须书面说明而未说明）"
        )
        en = (
            f"'{trigger}' on reception {named} refused by {len(refusing)} finding(s) "
            "(blocking, or needing a written explanation and not given one)"
        )
        for rule_id, near in self.unused.items():
            zh += f"；说明的规则 {rule_id} 本次没有须书面说明的结果" + (f"，是不是 {near}？" if near else "")
            en += f"; no finding of rule {rule_id} needs an explanation" + (
                f" (did you mean {near}?)" if near else ""
            )
        super().__init__(zh, en)
        self.args = (f"{self.message_zh} / {self.message_en}\n{lines}",)
        self.reception_id = reception_id
        self.number = number
        self.trigger = trigger
        self.label = label or trigger
        """What the trigger is called in Chinese (``提交审批`` for ``submit``)."""


class BudgetExceededError(JiedaiFlowError):
    """A budget ledger change would pass the host unit's annual cap; nothing was written."""

    code = "budget_exceeded"

    def __init__(
        self, host_unit: str, year: int, cap_fen: int, committed_fen: int, spent_fen: int, delta_fen: int
    ) -> None:
        def yuan(fen: int) -> str:
            return str(Decimal(fen).scaleb(-2))

        remaining = cap_fen - committed_fen - spent_fen
        super().__init__(
            f"{host_unit} {year} 年度接待预算 {yuan(cap_fen)} 元，已承诺 {yuan(committed_fen)} 元、"
            f"已支出 {yuan(spent_fen)} 元，剩余 {yuan(remaining)} 元，本次 {yuan(delta_fen)} 元，"
            f"超出 {yuan(delta_fen - remaining)} 元",
            f"{host_unit} {year}: annual budget {yuan(cap_fen)}, committed {yuan(committed_fen)}, "
            f"spent {yuan(spent_fen)}, remaining {yuan(remaining)}; this needs {yuan(delta_fen)}",
        )
        self.host_unit = host_unit
        self.year = year
        self.cap_fen = cap_fen
        self.committed_fen = committed_fen
        self.spent_fen = spent_fen
        self.delta_fen = delta_fen


class RuleError(JiedaiFlowError):
    """A rule raised instead of returning findings; the command fails closed."""

    code = "rule_error"

    def __init__(self, rule_id: str, plugin: str, error: BaseException) -> None:
        zh, en = getattr(error, "message_zh", repr(error)), getattr(error, "message_en", repr(error))
        super().__init__(
            f"插件 {plugin} 的规则 {rule_id} 运行出错，命令已拒绝：{zh}",
            f"rule {rule_id} of plugin {plugin} failed, command refused: {en}",
        )
        self.rule_id = rule_id
        self.plugin = plugin


class VetoError(JiedaiFlowError):
    """A ``jiedai_before_transition`` plugin refused the command by raising; nothing was saved."""

    code = "veto"

    def __init__(self, reception_id: str, trigger: str, error: BaseException, *, number: str = "") -> None:
        named = number or reception_id
        super().__init__(
            f"插件在保存前否决了接待记录 {named} 的「{trigger}」：{error}",
            f"a plugin vetoed '{trigger}' on reception {named} before saving: {error!r}",
        )
        self.reception_id = reception_id
        self.number = number
        self.trigger = trigger


class IdempotencyError(JiedaiFlowError):
    """A request id was reused for a different command."""

    code = "idempotency"

    def __init__(self, request_id: str, first: str, now: str, *, other_words: bool = False) -> None:
        if other_words:  # the same command on the same reception, said otherwise
            super().__init__(
                f"请求号 {request_id} 已用于同一命令（{first}）而内容不同："
                "重试请原样重发，新的命令请换一个请求号",
                f"request id {request_id} was used for the same command ({first}) with other content: "
                "a retry resends it unchanged, a new command takes a new request id",
            )
        else:
            super().__init__(
                f"请求号 {request_id} 已用于另一命令（{first}），不能用于（{now}）",
                f"request id {request_id} was used for another command ({first}), not ({now})",
            )
        self.request_id = request_id


class DefinitionError(JiedaiFlowError):
    """A process definition is malformed (unreachable states, dead ends, unknown names)."""

    code = "definition"


class MigrationRefusedError(JiedaiFlowError):
    """A reception cannot move to another process version as planned (its state has no place in
    the target, or the place would change what the state means)."""

    code = "migration_refused"

    def __init__(self, reception_id: str, why_zh: str, why_en: str, *, number: str = "") -> None:
        named = number or reception_id
        super().__init__(
            f"接待记录 {named} 不能迁移：{why_zh}", f"reception {named} cannot migrate: {why_en}"
        )
        self.reception_id = reception_id
        self.number = number
        self.reason_zh = why_zh
        self.reason_en = why_en


class PluginError(JiedaiFlowError):
    """A plugin failed to load or misbehaved."""

    code = "plugin"


class StorageError(JiedaiFlowError):
    """No storage back end accepts a URL, or a back end failed."""

    code = "storage"


class TaskError(JiedaiFlowError):
    """An approval or task operation 审批操作 that cannot be done as asked: no such task, a target
    who may not receive it (the handler, someone already on the step), a signer who already acted."""

    code = "task_refused"

    def __init__(
        self,
        reception_id: str,
        operation: str,
        why_zh: str,
        why_en: str,
        *,
        number: str = "",
        operation_en: str = "",
        path: str = "",
    ) -> None:
        """``operation`` is the operation's Chinese label (催办); ``operation_en`` its name for the
        English message (``urge``), the label when not given; ``path`` the field the refusal is
        about (``$.people``, ``$.end``), when it is about one."""
        named = number or reception_id
        en = operation_en or operation
        super().__init__(  # a proxy is set for a person, not on a reception
            f"接待记录 {named} 不能「{operation}」：{why_zh}" if named else f"不能「{operation}」：{why_zh}",
            f"reception {named}: cannot {en}: {why_en}" if named else f"cannot {en}: {why_en}",
        )
        self.reception_id = reception_id
        self.number = number
        self.operation = operation
        self.reason_zh = why_zh
        self.reason_en = why_en
        if path:
            self.problems = (Problem(path, why_zh, why_en),)


class RateLimitedError(TaskError):
    """催办 again too soon after the last reminder of the same task."""

    code = "rate_limited"


class InvalidValueError(JiedaiFlowError, ValueError):
    """One value is wrong (空值、负数、金额格式 …); ``field`` names it when known."""

    code = "invalid_value"

    def __init__(self, message_zh: str, message_en: str, *, field: str | None = None) -> None:
        super().__init__(message_zh, message_en)
        self.field = field
        if field:  # the field's path, as every refusal about one field carries it
            path = field if field.startswith("$") else f"$.{field}"
            self.problems = (Problem(path, message_zh, message_en),)


class ReportsNeedSQLError(JiedaiFlowError, TypeError):
    """Reports were asked of a store that is not a SQL database (e.g. ``memory://``)."""

    code = "reports_need_sql"

    def __init__(self, store: object) -> None:
        name = type(store).__name__
        super().__init__(
            f"报表需要 SQL 数据库（当前存储为 {name}），"
            "请用 sqlite:///jiedai.db 或 postgresql+psycopg://… 打开",
            f"reports need a SQL database (the store is a {name}); "
            "open the engine on sqlite:///jiedai.db or postgresql+psycopg://…",
        )
        self.store_type = name


class ListNotFiledError(JiedaiFlowError, LookupError):
    """The reception has no 接待清单 yet, so there is no list document to render."""

    code = "list_not_filed"

    def __init__(self, reception_id: str, number: str) -> None:
        super().__init__(
            f"接待 {number} 尚未填报接待清单（接待结束后由经办人填报）",
            f"reception {number} has no reception list yet (the handler files it after the visit)",
        )
        self.reception_id = reception_id


class FormTemplateError(JiedaiFlowError, LookupError):
    """A printed form's template is missing or broken (a county template, usually)."""

    code = "form_template"

    def __init__(self, template: str, detail: str) -> None:
        super().__init__(
            f"打印文书模板 {template} 有误或找不到：{detail}（检查县插件 jiedai_templates 给出的模板）",
            f"the form template {template} is broken or missing: {detail} "
            "(check the templates a county plugin gives through jiedai_templates)",
        )
        self.template = template


class RetryAfter(RateLimitedError):
    """A rate-limited operation with the seconds until it may be done again (``Retry-After``)."""

    def __init__(self, error: RateLimitedError, seconds: int) -> None:
        super().__init__(
            error.reception_id, error.operation, error.reason_zh, error.reason_en, number=error.number
        )
        self.seconds = seconds

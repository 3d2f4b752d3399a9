"""Generate the reference pages, so each has one source of text: docs/hooks.md from
:mod:`jiedai_flow.hookspecs`, docs/rules.md from the rules the built-in plugins register.

``python -m jiedai_flow.docgen hooks > docs/hooks.md`` and ``… rules > docs/rules.md`` regenerate
the pages; ``python -m jiedai_flow.docgen --check`` exits 1 if any page of :data:`PAGES` differs
from the generated text (``--check PATH …`` checks the named files, by name: ``rules.md`` or a
hooks page).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pluggy

from jiedai_flow import hookspecs
from jiedai_flow.builtin.national import _common
from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.inputref import INPUT_PATH, REGENERATE_INPUT, render_input_reference
from jiedai_flow.plugins import BUILTIN_PLUGINS
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from types import CodeType, ModuleType

    from jiedai_flow.process.rules import Rule

DEFAULT_PATH = Path("docs/hooks.md")
REGENERATE = "python -m jiedai_flow.docgen hooks > docs/hooks.md"
RULES_PATH = Path("docs/rules.md")
REGENERATE_RULES = "python -m jiedai_flow.docgen rules > docs/rules.md"
_BANNER = re.compile(r"^# -{20,}\n# (?P<title>[^\n]+)\n# -{20,}$", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc):`~?([^`]+)`")
_FIELD = re.compile(r"^:param (\w+):", re.MULTILINE)

_SEMANTICS = {
    "firstresult": "firstresult — 第一个非 None 结果即停止 / stops at the first non-None result",
    "historic": "historic — 之后注册的插件也会收到 / replayed to plugins registered later",
    "1:N": "1:N — 每个插件都调用，结果为列表 / every plugin is called, results are a list",
}


def _manager() -> pluggy.PluginManager:
    return pluggy.PluginManager(hookspecs.PROJECT_NAME)


def specs(module: ModuleType = hookspecs) -> Iterator[tuple[str, Callable[..., object], str]]:
    """Each hook spec of ``module`` in source order: (name, function, call semantics)."""
    pm = _manager()
    for name, obj in vars(module).items():
        opts = pm.parse_hookspec_opts(module, name)
        if opts is not None:
            kind = "firstresult" if opts.get("firstresult") else "historic" if opts.get("historic") else "1:N"
            yield name, obj, kind


def signature(name: str, func: Callable[..., object]) -> str:
    """``name(arg: Type, ...) -> Return`` with annotations as written in the source."""
    sig = inspect.signature(func)

    def text(annotation: object) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    params = ", ".join(f"{p.name}: {text(p.annotation)}" for p in sig.parameters.values())
    return f"{name}({params}) -> {text(sig.return_annotation)}"


def _markdown(doc: str) -> str:
    doc = _ROLE.sub(r"``\1``", inspect.cleandoc(doc))
    doc = _FIELD.sub(r"- `\1`:", doc).replace(":return:", "- 返回 / returns:")
    return doc.replace("``", "`")


def _phases(module: ModuleType) -> list[tuple[int, str]]:
    """(line number, title) of each banner comment of ``module``."""
    source = inspect.getsource(module)
    return [(source.count("\n", 0, m.start()) + 1, m["title"]) for m in _BANNER.finditer(source)]


def render_builtin_table(plugins: Sequence[tuple[str, str]] = BUILTIN_PLUGINS) -> str:
    """A markdown table of the built-in plugins: registered name, module, hooks implemented."""
    pm = _manager()
    rows = ["| 插件 plugin | 模块 module | 钩子 hooks |", "| --- | --- | --- |"]
    for plugin_name, module_name in plugins:
        module = importlib.import_module(module_name)
        hooks = []
        for attr in vars(module):
            opts = pm.parse_hookimpl_opts(module, attr)
            if opts is not None:
                flags = [flag for flag in ("wrapper", "hookwrapper", "tryfirst", "trylast") if opts.get(flag)]
                suffix = f" ({', '.join(flags)})" if flags else ""
                hooks.append(f"`{opts.get('specname') or attr}`{suffix}")
        rows.append(f"| `{plugin_name}` | `{module_name}` | {', '.join(hooks)} |")
    return "\n".join(rows) + "\n"


HOOKS_INTRO_ZH = (
    "本页列出 jiedai_flow 的全部插件钩子，按调用时机分组。插件用 `@hookimpl` 标记与钩子同名的函数来实现它们"
    "（写法见 [编写插件](plugins.md)）。每个钩子先给中文说明，再给签名、调用方式和英文的参数说明。"
    "本页由 `jiedai_flow.hookspecs` 的文档字符串和 `jiedai_flow.docgen.HOOKS_ZH` 的中文说明生成；"
    "钩子只会增加参数，不会改变已有参数的含义。"
)
"""The Chinese introduction that leads docs/hooks.md."""

PHASES_ZH = {
    "Setup": "初始化：建引擎时调用一次",
    "Command": "命令执行中：保存之前",
    "After commit": "提交之后：命令已持久保存",
    "Delivery": "投递：通知渠道、路由、联系人和工作日历",
    "Printed forms": "打印文书：接待清单和审批单的模板",
    "People": "指名的人：通知点名的参与人的联系方式",
}
"""Chinese title of each phase banner of :mod:`jiedai_flow.hookspecs`, keyed by the text before its colon."""

HOOKS_ZH = {
    "jiedai_register_rules": (
        "**登记规则。** 建引擎时对每个插件调用一次；插件对每条规则调用一次 `register(Rule(...))`。国家规则包"
        "和加本地规则的县插件实现它。"
    ),
    "jiedai_standards_layers": (
        "**提供接待标准层。** 按辖区代码（GB/T 2260）、接待开始日期和接待单位，返回国家、省、市、县或单位的标"
        "准层；不在施行期内、不覆盖该单位的层会被忽略，所以插件可以把全部层都返回。每个插件都调用，引擎从国家"
        "层叠加到单位层，并按（辖区、单位、日期）缓存结果。"
    ),
    "jiedai_storage": (
        "**打开存储后端。** 按 URL（如 `memory://`、`sqlite:///jiedai.db`）返回一个实现 `Store` 的存储；不是"
        "自己的 URL 就返回 None。第一个非 None 的结果生效。内置后端和自带数据库的插件实现它。"
    ),
    "jiedai_authorize": (
        "**判断权限。** 某人能否对某件接待执行某个操作：返回 `Verdict`（拒绝时带理由）、True/False，或 None "
        "表示不表态。第一个非 None 的结果生效，内置角色表最后作答。职责分离由引擎在调用本钩子之前检查，任何回"
        "答都不能让经办人审批自己的接待。有自己权限系统的部署实现它。"
    ),
    "jiedai_processes": (
        "**提供流程定义。** 返回新的流程定义，或从默认流程派生的"
        "（`derive`、`add`、`remove`、`insert_step`、`renamed`）。每个插件都调用，结果全部收集；"
        "建引擎时逐个校验，出错时指明是哪个插件提供的。有自己流程的县插件实现它。"
    ),
    "jiedai_choose_process": (
        "**为新登记的接待选择流程。** 按接待类型、辖区、接待单位和方案金额，从已加载的 `name@version` 中选一"
        "个；None 表示不表态（用引擎的第一个流程）。第一个非 None 的结果生效。"
    ),
    "jiedai_approval_chain": (
        "**生成审批链。** 提交审批时按接待和适用的标准给出依次签批的审批环节，至少一个（审批不能跳过，空链是"
        " `PluginError`）；None 表示不表态。第一个非 None 的结果生效。内置回答是标准给出的链：适用的"
        " `approval_tiers` 层级的环节，否则 `approval_levels` 每级一个环节，"
        "都没有则一个任何审批人都能签的环节；再加上适用的 `countersigns`（会签、或签、票签）。"
        "县插件可以整个换掉，也可以调用"
        " `jiedai_flow.builtin.chain.standard_chain(reception, standards)` 再追加自己的环节。"
    ),
    "jiedai_before_transition": (
        "**保存前的最后一关。** 流转即将保存时调用，拿到保存前后的接待和将追加的审计事件；抛出异常即否决这条"
        "命令（什么都不保存）。每个插件都调用，在原子保存之前。维护派生数据（如预算）的插件实现它。"
    ),
    "jiedai_after_transition": (
        "**流转已提交。** 命令提交后调用，拿到保存后的接待和它的审计事件；这里的错误只记日志，不会撤销命令。"
        "每个插件都调用。指标、检索索引、缓存实现它。"
    ),
    "jiedai_notify": (
        "**进程内收到通知。** 命令提交时对每条通知调用一次（尽力而为）：错误只记日志，不重试。可靠送达靠发件"
        "箱和通知渠道（`jiedai_register_notifiers`）。测试工具和进程内的监听者实现它。"
    ),
    "jiedai_register_notifiers": (
        "**登记通知渠道。** 建引擎时调用一次；插件对每个渠道调用一次 `register(notifier)`，渠道名就是发件箱的"
        "渠道，每条通知在每个渠道各占一行发件箱。内置日志渠道和传给 `open_engine(plugins=[...])` 的邮件、钉钉"
        "、企业微信、webhook 渠道实现它。"
    ),
    "jiedai_routes": (
        "**通知路由。** 给出一个辖区里什么操作通知哪些角色：从操作到角色的表，键由细到粗为"
        " `trigger:source>destination[condition]`（同一操作在同样两个状态之间有几条转换时，"
        "如补办签署是否末级）、"
        "`trigger:source>destination`、`trigger:destination`、`trigger`，有最细的键就用它；None 表示不表态。"
        "第一个非 None 的结果生效，没有时用流程自己的声明（默认流程即 "
        "`jiedai_flow.notify.routing.DEFAULT_ROUTES`，`routes_of` 可生成一张表作起点）。县插件实现它。"
    ),
    "jiedai_contacts": (
        "**通讯录。** 投递通知时，把一个角色换成这件接待的具体联系人（邮箱、手机号、钉钉或企业微信 id）。每个"
        "插件都调用，名单合并。部署方的通讯录（OA 用户库、LDAP）实现它。"
    ),
    "jiedai_templates": (
        "**打印文书模板。** 返回一个模板目录或 Jinja2 加载器，先于内置模板查找；县插件可以换掉接待清单、"
        "审批单的任一模板，或只换标题栏（内置模板以 `jiedai/` 前缀仍可继承）。对每个插件调用，结果都收集。"
    ),
    "jiedai_checkpoint": (
        "**导出审计检查点。** 把签名的审计链检查点（各分片的链头、接待数和时间，HMAC-SM3 签名）送到数据库写入"
        "者改不了的地方（可信时间戳、一次写入的存储、另一个系统）；抛出异常表示导出失败。"
        "在 `jiedai audit checkpoint` 的文件和 webhook 之后对每个插件调用。"
    ),
    "jiedai_calendar": (
        "**工作日历。** 提供计算时限用的工作日历：一个有 `is_workday(day)` 的对象；若还有 `knows(year)`，日历"
        "不认识的年份里的时限会带提醒。第一个非 None 的结果生效；内置回答是中国法定节假日和调休日历。"
    ),
    "jiedai_person_contact": (
        "**指名联系人。** 通知按 id 点名某人时（任务的办理人、被催办、被抄送、新接到任务的人，即 "
        "`Notification.people`），投递时把这个 id 换成联系人（邮箱、手机号、钉钉或企业微信 id），与各角色的"
        "联系人合并。每人调用一次，第一个非 None 的结果生效；不认识此人就返回 None。部署方的通讯录和命令行的"
        "参与人文件实现它。"
    ),
    "jiedai_actors": (
        "**参与人名单。** 部署方的通讯录能列出全部人员时返回他们（部门、岗位、角色），提交审批时引擎据此检查"
        "每个岗位池、部门池至少有一个能签这一环节的人：标准文件的会签里把「县财政局」写成「县财政厅」，提交时"
        "就被拒绝并提示最接近的名字，而不是开出一个谁也认领不了的任务。第一个非 None 的结果生效；"
        "命令行的参与人文件实现它；列不出来就返回 None（不检查池）。"
    ),
    "jiedai_actor": (
        "**按 id 查参与人。** 审批操作点名某人时（转办、委派的接收人，加签、抄送的人，代理的代理人和"
        "被代理人），引擎向部署方的通讯录查这个 id。有插件实现它时，谁都不认识的 id 被拒绝，审批任务只能"
        "交给有审批人角色的人，任务不会交给不存在或办不了的人而卡住；没有实现时引擎无从判断，由宿主系统"
        "把关。第一个非 None 的结果生效；命令行的参与人文件实现它。"
    ),
}
"""The Chinese summary that leads each hook's section of docs/hooks.md. ``tests/test_docs_site.py``
requires one per hook spec, so a new hook needs a line here (regenerate the page afterwards)."""

_MISSING_ZH = "（暂无中文说明 / no Chinese summary yet: add one to `jiedai_flow.docgen.HOOKS_ZH`）"


def _phase_title(title: str) -> str:
    zh = PHASES_ZH.get(title.partition(":")[0])
    return f"{zh} · {title}" if zh else title


def render_hooks(module: ModuleType = hookspecs) -> str:
    """The whole hooks reference page, Chinese first: the introduction, each phase's title and each hook's
    summary come from :data:`HOOKS_INTRO_ZH`, :data:`PHASES_ZH` and :data:`HOOKS_ZH`; the signature, the
    call semantics and the English docstring follow."""
    out = [
        "# 插件钩子参考 Hooks reference",
        "",
        f"<!-- 由 {module.__name__} 生成，请勿手改 / generated; do not edit. Regenerate: {REGENERATE} -->",
        "",
        HOOKS_INTRO_ZH,
        "",
    ]
    for paragraph in _markdown(module.__doc__ or "").split("\n\n"):
        out += [f"*{paragraph}*", ""]
    phases = _phases(module)
    current = ""
    for name, func, kind in specs(module):
        line = inspect.getsourcelines(func)[1]
        phase = next((title for start, title in reversed(phases) if start < line), "")
        if phase and phase != current:
            out += [f"## {_phase_title(phase)}", ""]
            current = phase
        out += [f"### `{name}`", "", HOOKS_ZH.get(name, _MISSING_ZH), ""]
        out += ["```python", signature(name, func), "```", ""]
        out += [f"调用方式 / call semantics: {_SEMANTICS[kind]}", "", _markdown(func.__doc__ or ""), ""]
    out += ["## 内置插件 Built-in plugins", "", render_builtin_table()]
    return "\n".join(out)


# -- docs/rules.md ---------------------------------------------------------------------------------

_FAMILIES = {
    "L": "公函 · letter",
    "S": "公务范围与类型 · scope and type",
    "A": "审批 · approval",
    "M": "用餐 · meals",
    "H": "住宿 · lodging",
    "T": "交通与安保 · transport and security",
    "C": "礼仪、陪同与禁止项目 · ceremony, companions, banned extras",
    "E": "接待执行 · execution items",
    "F": "报销与经费 · claims and funds",
    "R": "公开与报告 · disclosure and reports",
    "B": "招商接待 · investment receptions",
}
"""Rule families in catalogue order (letter first, investment receptions last); other prefixes come after."""

_SEVERITY_HELPERS = (
    (_common.block, Severity.BLOCKING),
    (_common.explain, Severity.NEEDS_EXPLANATION),
    (_common.warn, Severity.WARNING),
    (_common.note, Severity.INFO),
)


def builtin_rules(plugins: Sequence[tuple[str, str]] = BUILTIN_PLUGINS) -> tuple[Rule, ...]:
    """Every rule the built-in plugins register, each with its plugin's name, in catalogue order.

    Read from the plugin modules themselves, so neither installed plugins nor the blocking
    environment variables change the page.
    """
    rules: list[Rule] = []
    for plugin_name, module_name in plugins:
        hook = getattr(importlib.import_module(module_name), "jiedai_register_rules", None)
        if hook is not None:
            hook(register=lambda rule, _name=plugin_name: rules.append(attrs.evolve(rule, plugin=_name)))
    return tuple(sorted(rules, key=_catalogue_order))


def _catalogue_order(rule: Rule) -> tuple[int, str, int, str]:
    family, _, number = rule.id.partition("-")
    position = list(_FAMILIES).index(family) if family in _FAMILIES else len(_FAMILIES)
    return position, family, int(number) if number.isdigit() else 0, rule.id


def severities(check: Callable[..., object]) -> tuple[Severity, ...]:
    """The severities a check can report, read from its code: the finding helpers it calls
    (``block``, ``explain``, ``warn``, ``note``) or the ``Severity`` members it names, following
    the functions of its own package that it calls. Empty when nothing can be read."""
    found: set[Severity] = set()
    package = getattr(check, "__module__", "").partition(".")[0]
    seen: set[int] = set()
    todo: list[Callable[..., object]] = [check]
    while todo:
        func = todo.pop()
        code: CodeType | None = getattr(func, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        names = _code_names(code)
        found.update(s for s in Severity if s.name in names)
        for name in names:
            target = getattr(func, "__globals__", {}).get(name)
            helper = next((s for h, s in _SEVERITY_HELPERS if h is target), None)
            if helper is not None:
                found.add(helper)
            elif inspect.isfunction(target) and target.__module__.partition(".")[0] == package:
                todo.append(target)
    return tuple(s for s in Severity if s in found)


def _code_names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:  # nested functions, comprehensions and generators
        if inspect.iscode(const):
            names |= _code_names(const)
    return names


def _stages(rule: Rule) -> str:
    order = [t.name for t in DEFAULT_PROCESS.triggers]
    ordered = sorted(rule.stages, key=lambda s: (order.index(s) if s in order else len(order), s))
    labels = {t.name: t.label for t in DEFAULT_PROCESS.triggers}
    return " · ".join(f"`{s}` {labels.get(s, '')}".rstrip() for s in ordered)


def documented_severities(rule: Rule) -> tuple[Severity, ...]:
    """What docs/rules.md says a rule can report: read from its check, plus what it declares is
    raised elsewhere (``Rule.also_raises``)."""
    found = set(severities(rule.check)) | rule.also_raises
    return tuple(s for s in Severity if s in found)


def _severities_text(rule: Rule, english: bool = True) -> str:
    found = documented_severities(rule)
    if not found:
        return "—"
    return "、".join(f"{s.label} {s.value}" if english else s.label for s in found)


def _rulekit_section() -> list[str]:
    """The stable API for local rules: every name of ``jiedai_flow.process.rulekit`` with its summary."""
    from jiedai_flow.process import rulekit

    out = [
        "## 本地规则可复用的 API Public API for local rules",
        "",
        "县插件的规则可以直接使用 `jiedai_flow.process.rulekit` 里的这些名字"
        "（稳定 API，次版本之间不改含义和签名）；"
        "`jiedai_flow.builtin.national` 下的模块是内部实现，不要直接导入。"
        " Local rules may use these names of `jiedai_flow.process.rulekit`, a stable API; the modules under "
        "`jiedai_flow.builtin.national` are internal.",
        "",
        "| 名字 name | 说明 summary |",
        "| --- | --- |",
    ]
    for name in rulekit.__all__:
        value = getattr(rulekit, name)
        doc = inspect.getdoc(value) if callable(value) else ""
        summary = (doc or "").split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
        if not summary and isinstance(value, frozenset):  # sorted: a set's order changes per run
            summary = "阶段 stages: " + "、".join(f"`{v}`" for v in sorted(map(str, value)))
        elif not summary:
            summary = f"常量 constant: {value}" if not callable(value) else "—"
        out.append(f"| `{name}` | {summary} |")
    out.append("")
    return out


def render_rules(rules: Sequence[Rule] | None = None) -> str:
    """The whole built-in rules reference page."""
    rules = builtin_rules() if rules is None else rules
    out = [
        "# 内置规则参考 Built-in rules reference",
        "",
        "<!-- 由 jiedai_flow.docgen 生成，请勿手改 / generated; do not edit. "
        f"Regenerate: {REGENERATE_RULES} -->",
        "",
        "内置插件登记的每一条规则：编号（按族：公函 L、范围 S、审批 A……）、标题、"
        "在哪些操作时检查、可能给出的结果和出处。"
        "本地插件的规则另有编号（如 `XX-01`），见 [tutorial.md](tutorial.md)；"
        "各条规则读取的标准字段见 [standards.md](standards.md)。",
        "",
        "Every rule the built-in plugins register: id (by family: L letter, S scope, A approval …), "
        "title, the stages (triggers) it runs at, the severities it can report (read from its code) "
        "and its citation.",
        "",
        "结果 severities：不予通过 blocking（命令被拒绝）· 须书面说明 needs_explanation（附情况说明并经"
        "下一位审批人或财务接受才通过）· 提醒 warning · 提示 info。",
        "",
        "出处 citation：规则按本地标准层的值判断时（用餐标准、禁止菜品、报销时限等），"
        "结果引用设置该值的标准层的文件和条款（`source`、`articles`），否则引用下表所列的国家文件；"
        "`tests/test_rule_citations.py` 核对每条结果的出处和结果类别都在本页所列之内。"
        " A finding judged by a local layer's value cites that layer's document; "
        "otherwise the instruments listed here.",
        "",
        f"共 {len(rules)} 条 / {len(rules)} rules.",
        "",
        "| 编号 id | 规则 | rule | 结果 severities | 出处 citation |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in rules:
        cite = "；".join(str(c) for c in rule.citations) or "—"
        found = _severities_text(rule, english=False)
        out.append(f"| {rule.id} | {rule.title} | {rule.title_en} | {found} | {cite} |")
    out.append("")
    out += _rulekit_section()
    family = None
    for rule in rules:
        prefix = rule.id.partition("-")[0]
        if prefix != family:
            family = prefix
            out += [f"## {prefix} {_FAMILIES.get(prefix, '其他 · other')}", ""]
        title = f"{rule.title} · {rule.title_en}" if rule.title_en else rule.title
        check = f"{rule.check.__module__}.{rule.check.__qualname__}"
        out += [
            f"### {rule.id} {title}",
            "",
            f"- 阶段 stages: {_stages(rule)}",
            f"- 结果 severities: {_severities_text(rule)}",
            f"- 出处 citation: {'；'.join(str(c) for c in rule.citations) or '—'}",
            f"- 插件 plugin: `{rule.plugin}` · 检查 check: `{check}`",
            "",
        ]
        if rule.check.__doc__:
            out += [_markdown(rule.check.__doc__), ""]
    return "\n".join(out)


# -- command line ------------------------------------------------------------------------------------

PAGES: dict[str, tuple[Path, Callable[[], str], str]] = {
    "hooks": (DEFAULT_PATH, render_hooks, REGENERATE),
    "rules": (RULES_PATH, render_rules, REGENERATE_RULES),
}
"""Each generated page: default path, renderer, the command that regenerates it."""


def _page_for(path: Path) -> tuple[Callable[[], str], str]:
    """The page a file is, by its name (``rules.md`` …); any other name is a hooks page."""
    _, render, regenerate = next((p for p in PAGES.values() if p[0].name == path.name), PAGES["hooks"])
    return render, regenerate


def check(paths: Sequence[Path] = ()) -> int:
    """1 if any page (by default every generated page at its default path) is stale, else 0."""
    targets = [(p, *_page_for(p)) for p in paths] or [(p, r, g) for p, r, g in PAGES.values()]
    stale = 0
    for path, render, regenerate in targets:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != render():
            print(f"{path} 已过期 / is stale; run: {regenerate}", file=sys.stderr)
            stale = 1
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """``hooks`` / ``rules`` (any page of :data:`PAGES`) print a page; ``plugins`` the built-in
    table; ``--check [PATH …]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 1 and args[0] in PAGES:
        sys.stdout.buffer.write(PAGES[args[0]][1]().encode("utf-8"))
        return 0
    if args == ["plugins"]:
        sys.stdout.buffer.write(render_builtin_table().encode("utf-8"))
        return 0
    if args[:1] == ["--check"]:
        return check([Path(a) for a in args[1:]])
    pages = " | ".join(PAGES)
    print(f"usage: python -m jiedai_flow.docgen {pages} | plugins | --check [PATH ...]", file=sys.stderr)
    return 2


# -- docs/cli.md: the command-line reference, from the click definitions of ``jiedai`` -------------

CLI_PATH = Path("docs/cli.md")
REGENERATE_CLI = "python -m jiedai_flow.docgen cli > docs/cli.md"


def render_cli() -> str:
    """The command-line reference page, read from the click commands of ``jiedai``."""
    import click

    from jiedai_flow.cli import main as cli
    from jiedai_flow.cli.commands import trigger_commands

    root = click.Context(cli, info_name="jiedai")
    out = [
        "# 命令行参考 Command-line reference",
        "",
        "<!-- 由 jiedai_flow.cli 的 click 定义生成，请勿手改 / generated; do not edit. "
        f"Regenerate: {REGENERATE_CLI} -->",
        "",
    ]
    shortcuts = list(trigger_commands())  # command names: ``start-urgent`` for ``start_urgent``
    out += _cli_section(cli, root, "jiedai", 2, skip=set(shortcuts))
    out += [
        "## 快捷操作 Shortcuts",
        "",
        "每个操作都有同名命令，选项与 `jiedai fire` 相同 / one command per trigger, with the options of "
        "`jiedai fire`: `jiedai approve ID --as li.na --reason 同意`.",
        "",
        "| 命令 command | 说明 |",
        "| --- | --- |",
    ]
    for name in shortcuts:
        command = cli.get_command(root, name)
        if command is None:
            raise LookupError(f"jiedai has no command {name!r}")  # never a row for what does not run
        out.append(f"| `jiedai {name} ID` | {_cli_cell(command.help or '')} |")
    return "\n".join([*out, "", *_cli_exit_codes()])


def _cli_exit_codes() -> list[str]:
    """The exit-code table, from the mapping the command line itself uses."""
    from jiedai_flow.cli.app import EXIT_CODES, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE

    rows = {EXIT_OK: ("成功 ok", "—")}
    rows[EXIT_USAGE] = ("用法或数据错误 usage or data error", "其余错误、click 用法错误 / any other error")
    for code, meaning, errors in EXIT_CODES:
        rows[code] = (meaning, ", ".join(f"`{e.__name__}`" for e in errors))
    rows[EXIT_INTERNAL] = (
        "内部错误（程序缺陷）internal error (a bug)",
        "不是以上任何错误的异常：屏幕上一条简短消息，traceback 写入日志 `$JIEDAI_LOG`（默认为临时目录下的 "
        "`jiedai-<用户>/jiedai.log`），报告问题时请附上 / any other exception: a short message, the "
        "traceback in the log; attach it to a bug report",
    )
    return [
        "## 退出码 Exit codes",
        "",
        "有 `--json` 时错误也以 JSON 对象打印在标准输出（`error`: code, exit_code, message_zh, message_en, "
        "findings 或 problems …），否则消息打印在标准错误。/ With `--json` an error is a JSON object on "
        "stdout too; otherwise the message goes to stderr.",
        "",
        "| 退出码 code | 含义 meaning | 错误 errors |",
        "| --- | --- | --- |",
        *(f"| {code} | {meaning} | {errors} |" for code, (meaning, errors) in sorted(rows.items())),
        "",
        "`jiedai audit verify` 发现审计链断开、`jiedai check` 发现会被拒绝的结果时也以 1 退出。",
        "",
    ]


def _cli_section(
    command: object, ctx: object, path: str, level: int, skip: set[str] | None = None
) -> list[str]:
    """One command's section (and its subcommands'); click is imported only to render this page."""
    import click

    assert isinstance(command, click.Command)
    assert isinstance(ctx, click.Context)
    out = [f"{'#' * level} `{path}`", "", _cli_text(command.help or ""), ""]
    out += ["```", f"{path} {' '.join(command.collect_usage_pieces(ctx))}", "```", ""]
    options = [p.get_help_record(ctx) for p in command.get_params(ctx) if isinstance(p, click.Option)]
    rows = [r for r in options if r is not None]
    if rows:
        out += ["| 选项 option | 说明 |", "| --- | --- |"]
        out += [f"| `{_cli_cell(opts)}` | {_cli_cell(text)} |" for opts, text in rows]
        out.append("")
    if command.epilog:
        out += _cli_epilog(command.epilog)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden or name in (skip or set()):
                continue
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            out += _cli_section(sub, sub_ctx, f"{path} {name}", min(level + 1, 4))
    return out


def _cli_text(text: str) -> str:
    return "\n".join(line for line in inspect.cleandoc(text).splitlines() if line != "\b")


def _cli_epilog(epilog: str) -> list[str]:
    """An epilog; a click ``\\b`` block (kept unwrapped in --help) becomes a list."""
    if not epilog.startswith("\b\n"):
        return [_cli_text(epilog), ""]
    head, *lines = epilog.splitlines()[1:]
    return [head, "", *(f"- {line.strip()}" for line in lines), ""]


def _cli_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


PAGES["cli"] = (CLI_PATH, render_cli, REGENERATE_CLI)
PAGES["input"] = (INPUT_PATH, render_input_reference, REGENERATE_INPUT)


if __name__ == "__main__":
    sys.exit(main())

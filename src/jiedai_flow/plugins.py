"""The plugin manager factory and the typed facade the core calls hooks through.

Nothing is loaded at import time: :func:`make_plugin_manager` builds a fresh manager per engine,
registers the built-in plugins (``trylast``, so any installed plugin overrides them), then — unless
the embedding application switches it off — the ``jiedai_flow`` entry points, minus blocked names.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import types
import warnings
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, cast

import attrs
import pluggy

from jiedai_flow import hookspecs
from jiedai_flow.domain.model import Actor, Role
from jiedai_flow.domain.records import ApprovalStep
from jiedai_flow.domain.standards import StandardsLayer
from jiedai_flow.errors import DefinitionError, JiedaiFlowError, PluginError, nearest
from jiedai_flow.process.lifecycle import ProcessDefinition
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from datetime import date
    from decimal import Decimal
    from importlib.metadata import EntryPoint

    from jiedai_flow.domain.model import ReceptionType
    from jiedai_flow.domain.records import AuditEvent, Notification, Reception, Task, Verdict
    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.domain.workdays import WorkCalendar
    from jiedai_flow.notify.channels import Contact, RegisterNotifier
    from jiedai_flow.process.lifecycle import Transition, TriggerDef
    from jiedai_flow.process.rules import RegisterRule
    from jiedai_flow.reports.forms import TemplateSource
    from jiedai_flow.storage.base import Store
    from jiedai_flow.storage.checkpoints import Checkpoint

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "jiedai_flow"
DISABLE_AUTOLOAD_ENV = "JIEDAI_DISABLE_PLUGIN_AUTOLOAD"
BLOCKED_ENV = "JIEDAI_BLOCKED_PLUGINS"

BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("jiedai.roles", "jiedai_flow.builtin.roles"),
    ("jiedai.approval", "jiedai_flow.builtin.chain"),
    ("jiedai.national", "jiedai_flow.builtin.national"),
    ("jiedai.memory", "jiedai_flow.builtin.memory_backend"),
    ("jiedai.sql", "jiedai_flow.builtin.sql_backend"),
    ("jiedai.log_notifier", "jiedai_flow.builtin.log_notifier"),
    ("jiedai.calendar", "jiedai_flow.builtin.holidays"),
)
"""Built-in plugins as (registered name, module). Block one by name like any other plugin."""


_BUILTIN_NAMES = frozenset(name for name, _ in BUILTIN_PLUGINS)
_OWN_DISTRIBUTION = "jiedai-flow"


class PluginLoadWarning(UserWarning):
    """An entry-point plugin failed to load; with ``strict=False`` the others still work."""


class _Manager(pluggy.PluginManager):
    """pluggy's manager that reads a plugin's ``jiedai_*`` functions as hook implementations even
    without ``@hookimpl`` (as pytest reads ``pytest_*``): a forgotten decorator would otherwise leave
    the hook unimplemented without a word — a county's rules or chain quietly not applied. A
    misspelt name is then an unknown hook, which fails loudly (:func:`_validation_problem`)."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None or not name.startswith(HOOK_PREFIX):
            return opts
        found = inspect.getattr_static(plugin, name, None)  # as pluggy looks: no property is run
        if not isinstance(found, (types.FunctionType, types.MethodType, staticmethod, classmethod)):
            return None
        return cast("pluggy.HookimplOpts", {})


HOOK_PREFIX = "jiedai_"
"""What every hook's name starts with."""
_SPECS = tuple(sorted(name for name in dir(hookspecs) if name.startswith(HOOK_PREFIX)))


def _validation_problem(error: pluggy.PluginValidationError) -> tuple[str, str]:
    """pluggy's complaint about a plugin's hooks, said for a county's developer (Chinese,
    English): which hook, and what it should be — the nearest hook name, or the hook's arguments."""
    text = str(error)
    unknown = re.search(r"unknown hook '(\w+)'", text)
    if unknown:
        name = unknown.group(1)
        near = nearest(name, _SPECS)
        hint_zh = f"，是不是 {near}？" if near else "；钩子名见 docs/hooks.md"
        hint_en = f"; did you mean {near}?" if near else "; the hooks are listed in docs/hooks.md"
        return f"没有名为 {name} 的钩子{hint_zh}", f"no hook is named {name}{hint_en}"
    hook = re.search(r"for hook '(\w+)'", text)
    extra = re.search(r"Argument\(s\) (\{.*?\})", text)
    if hook and extra and hasattr(hookspecs, hook.group(1)):
        spec = inspect.signature(getattr(hookspecs, hook.group(1)))
        wanted = ", ".join(spec.parameters)
        return (
            f"{hook.group(1)} 没有参数 {extra.group(1)}；它的参数（可以只取一部分）：{wanted}",
            f"{hook.group(1)} takes no argument {extra.group(1)}; its arguments (take any of them): {wanted}",
        )
    return f"钩子不合规范：{text}", f"hooks do not match their specifications: {text}"


def _remedy(name: str) -> tuple[str, str]:
    return (
        f"请修好插件，或确定不用它时以 {BLOCKED_ENV}={name} 屏蔽它",
        f"fix the plugin, or block it on purpose with {BLOCKED_ENV}={name}",
    )


@attrs.frozen
class LoadFailure:
    """A plugin that failed to load: its entry-point name, distribution and the error."""

    name: str
    distribution: str
    error: BaseException = attrs.field(eq=False)

    @property
    def reason(self) -> tuple[str, str]:
        """Why, in Chinese and English: a hook problem said plainly, else the original error."""
        if isinstance(self.error, pluggy.PluginValidationError):
            return _validation_problem(self.error)
        return repr(self.error), repr(self.error)

    def __str__(self) -> str:
        zh, en = self.reason
        return (
            f"插件 {self.name}（{self.distribution}）加载失败：{zh} / plugin {self.name} "
            f"from {self.distribution} failed to load: {en}"
        )

    def as_error(self) -> PluginError:
        """The failure as the error :func:`make_plugin_manager` raises, with what to do about it."""
        zh, en = self.reason
        fix_zh, fix_en = _remedy(self.name)
        return PluginError(
            f"插件 {self.name}（{self.distribution}）加载失败：{zh}（{fix_zh}）",
            f"plugin {self.name} from {self.distribution} failed to load: {en} ({fix_en})",
        )


@attrs.frozen
class Expected:
    """What a plugin must give a hook (or ``register``), said for its author in Chinese and English."""

    zh: str
    en: str
    fits: Callable[[object], bool] = attrs.field(eq=False)

    def check(self, plugin: str, where: str, given: object) -> None:
        """PluginError naming ``plugin`` and what was expected, unless ``given`` fits."""
        if not self.fits(given):
            got = _shown(given)
            raise PluginError(
                f"插件 {plugin or '?'} 的 {where} 给出了 {got}，应为：{self.zh}",
                f"plugin {plugin or '?'}: {where} gave {got}; expected {self.en}",
            )


def _shown(given: object) -> str:
    """``given`` as a plugin author recognises it: its type, and its repr cut short."""
    text = repr(given)
    text = text if text.startswith(type(given).__name__) else f"{type(given).__name__} {text}"
    return f"{text[:80]}…" if len(text) > 80 else text


def _optional_sequence_of(kind: type) -> Callable[[object], bool]:
    def fits(given: object) -> bool:
        if given is None:
            return True
        return isinstance(given, (list, tuple)) and all(isinstance(item, kind) for item in given)

    return fits


def _routes_fit(given: object) -> bool:
    return isinstance(given, Mapping) and all(
        isinstance(key, str) and isinstance(roles, (list, tuple)) and all(isinstance(r, Role) for r in roles)
        for key, roles in given.items()
    )


EXPECTED: Mapping[str, Expected] = {
    "jiedai_register_rules": Expected(
        "None：每条规则调用一次 register(Rule(...))，不要返回规则",
        "None: call register(Rule(...)) once per rule instead of returning the rules",
        lambda given: given is None,
    ),
    "register": Expected(
        "jiedai_flow.Rule（编号、标题、阶段、检查函数）",
        "a jiedai_flow.Rule (id, title, stages, check)",
        lambda given: isinstance(given, Rule),
    ),
    "jiedai_standards_layers": Expected(
        "StandardsLayer 的列表或元组（一层也要放进列表），或 None",
        "a list or tuple of StandardsLayer (one layer in a list too), or None",
        _optional_sequence_of(StandardsLayer),
    ),
    "jiedai_processes": Expected(
        "ProcessDefinition 的列表或元组（一个也要放进列表），或 None",
        "a list or tuple of ProcessDefinition (one in a list too), or None",
        _optional_sequence_of(ProcessDefinition),
    ),
    "jiedai_approval_chain": Expected(
        '至少一个环节的 ApprovalStep 列表或元组（如 [ApprovalStep("部门负责人", "部门负责人")]）'
        "——审批不能跳过，空链不行；不表态请返回 None",
        'a list or tuple of at least one ApprovalStep (e.g. [ApprovalStep("部门负责人", "部门负责人")]): '
        "approval cannot be skipped, so not an empty chain; return None for no opinion",
        lambda given: given is None or (bool(given) and _optional_sequence_of(ApprovalStep)(given)),
    ),
    "jiedai_routes": Expected(
        "从操作名（或「操作:目标状态」「操作:起始状态>目标状态」）到 Role 列表的字典"
        '（如 {"submit": [Role.APPROVER]}），或 None',
        'a mapping from a trigger (or "trigger:to", "trigger:from>to") to a list of Role '
        '(e.g. {"submit": [Role.APPROVER]}), or None',
        lambda given: given is None or _routes_fit(given),
    ),
    "jiedai_actors": Expected(
        "Actor 的列表或元组（通讯录里的每个人），或 None（列不出来）",
        "a list or tuple of Actor (everyone in the directory), or None (cannot list them)",
        _optional_sequence_of(Actor),
    ),
    "jiedai_calendar": Expected(
        "有 is_workday(day) -> bool 方法的工作日历，或 None",
        "a working-day calendar with an is_workday(day) -> bool method, or None",
        lambda given: given is None or callable(getattr(given, "is_workday", None)),
    ),
}
"""What each hook whose answer the core relies on must return; checked where the hook is called,
so a wrong shape is an error naming the plugin, not a traceback from deep inside the engine."""


@attrs.frozen
class PluginInfo:
    """A registered plugin, its distribution (if installed by entry point) and its hooks."""

    name: str
    distribution: str
    hooks: tuple[str, ...]


class Hooks:
    """Typed calls into the hooks; the only way core code calls plugins (pluggy cannot type them)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm
        self._hook = pm.hook

    def jiedai_register_rules(self, register: RegisterRule) -> None:
        """Each plugin is called on its own, so every rule it registers records the plugin's name
        (``Rule.plugin``): a failing rule is then reported by plugin name."""
        for plugin, call in self._each("jiedai_register_rules"):
            if not plugin:  # no implementation: the plain call
                call(register=register)
                continue

            def tagged(rule: Rule, _plugin: str = plugin) -> None:
                EXPECTED["register"].check(_plugin, "jiedai_register_rules: register(...)", rule)
                register(attrs.evolve(rule, plugin=_plugin))

            for answer in call(register=tagged):
                EXPECTED["jiedai_register_rules"].check(plugin, "jiedai_register_rules", answer)

    def _each(self, name: str) -> Iterator[tuple[str, Callable[..., Any]]]:
        """(plugin name, a hook caller of that plugin alone) for every implementation of ``name``,
        in pluggy's call order; with none, one call of the plain hook (so a recorder sees it).
        Each call goes through pluggy, so hook-call monitoring sees every one."""
        caller = getattr(self._hook, name)
        impls = caller.get_hookimpls()
        if not impls:
            yield "", caller
            return
        everyone = [impl.plugin for impl in impls]
        for impl in reversed(impls):
            if impl.wrapper or impl.hookwrapper:
                raise PluginError(
                    f"插件 {impl.plugin_name} 的 {name} 不能是 wrapper",
                    f"plugin {impl.plugin_name}: {name} cannot be a wrapper",
                )
            others = [p for p in everyone if p is not impl.plugin]
            yield impl.plugin_name, self._pm.subset_hook_caller(name, remove_plugins=others)

    def _checked(self, name: str, answers: Sequence[object], **kwargs: Any) -> None:
        """Check the answers of hook ``name`` (called as a whole, wrappers and all) against
        :data:`EXPECTED`. Only when one is wrong is each implementation asked again on its own,
        in pluggy's order, to name the plugin that gave it."""
        expected = EXPECTED[name]
        if all(expected.fits(answer) for answer in answers):
            return
        caller = getattr(self._hook, name)
        first = bool(caller.spec and caller.spec.opts.get("firstresult"))
        impls = caller.get_hookimpls()
        for impl in reversed(impls):
            if impl.wrapper or impl.hookwrapper:
                continue
            answer = impl.function(*(kwargs[arg] for arg in impl.argnames))
            expected.check(impl.plugin_name, name, answer)
            if first and answer is not None:
                break
        wrappers = "、".join(i.plugin_name for i in impls if i.wrapper or i.hookwrapper)
        bad = next(answer for answer in answers if not expected.fits(answer))
        expected.check(wrappers, name, bad)  # no implementation gave it: a wrapper changed it

    def _asked(self, name: str, *, passing: tuple[type[Exception], ...] = (), **kwargs: Any) -> Any:
        """Hook ``name`` called with ``kwargs``; an error raised inside a plugin's implementation
        (a standards file it loads that does not parse, a bug) becomes a :class:`PluginError`
        naming that plugin and the hook, the original chained — not a traceback through pluggy
        that names neither. Errors the engine raises about a plugin pass as they are, and so do
        ``passing`` (what a plugin may raise on purpose, to be answered as such)."""
        try:
            return getattr(self._hook, name)(**kwargs)
        except PluginError:
            raise
        except Exception as error:
            if isinstance(error, passing):
                raise
            plugin = self._culprit(name, error)
            zh = getattr(error, "message_zh", None) or repr(error)
            en = getattr(error, "message_en", None) or repr(error)
            for problem in getattr(error, "problems", ())[:5]:  # a file's problems, each where it is
                where = f"{problem.path}" + (f"（第 {problem.line} 行）" if problem.line else "")
                zh += f"；{where}：{problem.message_zh}"
                en += f"; {problem.path}" + (f" (line {problem.line})" if problem.line else "")
                en += f": {problem.message_en}"
            raise PluginError(
                f"插件 {plugin} 的 {name} 出错：{zh}", f"plugin {plugin}: {name} failed: {en}"
            ) from error

    def _culprit(self, name: str, error: BaseException) -> str:
        """The plugin whose implementation of ``name`` the traceback of ``error`` passes through
        (the innermost, if several; of two instances of one class, the one the frame's ``self``
        is), or "?"."""
        impls = getattr(self._hook, name).get_hookimpls()
        found, trace = "?", error.__traceback__
        while trace is not None:
            frame = trace.tb_frame
            for impl in impls:
                if getattr(impl.function, "__code__", None) is not frame.f_code:
                    continue
                owner = getattr(impl.function, "__self__", None)
                if owner is None or frame.f_locals.get("self") is owner:
                    found = impl.plugin_name
            trace = trace.tb_next
        return found

    def jiedai_standards_layers(self, jurisdiction: str, on: date, host_unit: str) -> list[StandardsLayer]:
        kwargs: dict[str, Any] = {"jurisdiction": jurisdiction, "on": on, "host_unit": host_unit}
        results = self._asked("jiedai_standards_layers", **kwargs)
        self._checked("jiedai_standards_layers", results, **kwargs)
        return [layer for layers in results if layers for layer in layers]

    def jiedai_storage(self, url: str) -> Store | None:
        return cast("Store | None", self._hook.jiedai_storage(url=url))

    def jiedai_authorize(
        self,
        actor: Actor,
        trigger: str,
        reception: Reception,
        transition: Transition,
        step: ApprovalStep | None,
        trigger_def: TriggerDef,
        task: Task | None = None,
    ) -> Verdict | bool | None:
        return cast(
            "Verdict | bool | None",
            self._hook.jiedai_authorize(
                actor=actor,
                trigger=trigger,
                reception=reception,
                transition=transition,
                step=step,
                trigger_def=trigger_def,
                task=task,
            ),
        )

    def jiedai_processes(self, default: ProcessDefinition) -> list[ProcessDefinition]:
        """Every contributed definition, each marked with the plugin that contributed it (``origin``)."""
        found: list[ProcessDefinition] = []
        for plugin, call in self._each("jiedai_processes"):
            try:
                answers = cast("list[Sequence[ProcessDefinition] | None]", call(default=default))
            except DefinitionError as error:  # deriving from the default failed inside the plugin
                raise DefinitionError(
                    f"插件 {plugin} 从 {default.key} 派生流程时出错：{error.message_zh}",
                    f"plugin {plugin} failed to derive its process from {default.key}: {error.message_en}",
                ) from error
            for answer in answers:
                EXPECTED["jiedai_processes"].check(plugin, "jiedai_processes", answer)
                found.extend(attrs.evolve(p, origin=plugin or p.origin) for p in answer or ())
        return found

    def jiedai_choose_process(
        self,
        reception_type: ReceptionType,
        jurisdiction: str,
        host_unit: str,
        amount: Decimal,
        processes: Sequence[str],
    ) -> str | None:
        return cast(
            "str | None",
            self._hook.jiedai_choose_process(
                reception_type=reception_type,
                jurisdiction=jurisdiction,
                host_unit=host_unit,
                amount=amount,
                processes=processes,
            ),
        )

    def jiedai_approval_chain(
        self, reception: Reception, standards: Standards
    ) -> Sequence[ApprovalStep] | None:
        # a chain plugin may refuse a reception on purpose (a ValidationError naming what is missing)
        chain = self._asked(
            "jiedai_approval_chain", passing=(JiedaiFlowError,), reception=reception, standards=standards
        )
        self._checked("jiedai_approval_chain", [chain], reception=reception, standards=standards)
        return cast("Sequence[ApprovalStep] | None", chain)

    def jiedai_before_transition(self, before: Reception, after: Reception, event: AuditEvent) -> None:
        self._hook.jiedai_before_transition(before=before, after=after, event=event)

    def jiedai_after_transition(self, reception: Reception, event: AuditEvent) -> None:
        self._hook.jiedai_after_transition(reception=reception, event=event)

    def jiedai_notify(self, notification: Notification, reception: Reception) -> None:
        self._hook.jiedai_notify(notification=notification, reception=reception)

    def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
        self._hook.jiedai_register_notifiers(register=register)

    def jiedai_routes(self, jurisdiction: str) -> Mapping[str, Sequence[Role]] | None:
        routes = self._asked("jiedai_routes", jurisdiction=jurisdiction)
        self._checked("jiedai_routes", [routes], jurisdiction=jurisdiction)
        return cast("Mapping[str, Sequence[Role]] | None", routes)

    def jiedai_contacts(self, role: Role, reception: Reception) -> list[Contact]:
        results = self._hook.jiedai_contacts(role=role, reception=reception)
        return [contact for contacts in results if contacts for contact in contacts]

    def jiedai_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._hook.jiedai_checkpoint(checkpoint=checkpoint)

    def jiedai_calendar(self) -> WorkCalendar | None:
        calendar = self._asked("jiedai_calendar")
        self._checked("jiedai_calendar", [calendar])
        return cast("WorkCalendar | None", calendar)

    def jiedai_templates(self) -> list[TemplateSource]:
        """Every plugin's template source, in search order (the plugin registered last first)."""
        results = cast("list[TemplateSource | None]", self._hook.jiedai_templates())
        return [source for source in results if source is not None]

    def jiedai_person_contact(self, actor_id: str, reception: Reception) -> Contact | None:
        return cast(
            "Contact | None", self._hook.jiedai_person_contact(actor_id=actor_id, reception=reception)
        )

    def jiedai_actor(self, actor_id: str) -> Actor | None:
        return cast("Actor | None", self._hook.jiedai_actor(actor_id=actor_id))

    def jiedai_actors(self) -> Sequence[Actor] | None:
        """Everyone the directory lists, or None when no plugin can list them."""
        answer = self._asked("jiedai_actors")
        self._checked("jiedai_actors", [answer])
        return cast("Sequence[Actor] | None", answer)


class PluginHost:
    """One engine's plugin manager, its typed hooks and what failed to load."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        failures: Sequence[LoadFailure] = (),
        distributions: Mapping[str, str] | None = None,
        *,
        searched: bool = False,
    ) -> None:
        self.pm = pm
        self.distributions = dict(distributions or {})
        self.hooks = Hooks(pm)
        self.failures = tuple(failures)
        self.searched = searched
        """Whether the installed entry points were looked through (auto-loading on)."""

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register one more plugin (before the engine is built), checking its hooks."""
        _register(self.pm, plugin, name)
        _check(self.pm)

    def plugins(self) -> tuple[PluginInfo, ...]:
        """Every registered plugin with its distribution and the hooks it implements."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked: see blocked()
                continue
            hooks = tuple(sorted(c.name for c in self.pm.get_hookcallers(plugin) or ()))
            infos.append(PluginInfo(name, self._distribution(name), hooks))
        return tuple(infos)

    def blocked(self) -> tuple[PluginInfo, ...]:
        """Every name blocked from registering, sorted, with its distribution when known (a built-in,
        or an entry point seen while auto-loading); no hooks, as none of them run."""
        names = sorted(name for name, plugin in self.pm.list_name_plugin() if plugin is None)
        return tuple(PluginInfo(name, self._distribution(name), ()) for name in names)

    def found(self, name: str) -> bool | None:
        """Whether a plugin of ``name`` exists here (built in, or an installed entry point): False for
        a blocked name nothing bears (a misspelling), None when entry points were not looked through."""
        if name in _BUILTIN_NAMES or name in self.distributions:
            return True
        return False if self.searched else None

    def _distribution(self, name: str) -> str:
        return self.distributions.get(name, _OWN_DISTRIBUTION if name in _BUILTIN_NAMES else "")


def make_plugin_manager(
    *,
    autoload: bool | None = None,
    blocked: Iterable[str] = (),
    plugins: Iterable[object | tuple[str, object]] = (),
    strict: bool = True,
) -> PluginHost:
    """Build a fresh plugin manager for one engine.

    :param autoload: load ``jiedai_flow`` entry points; default True unless the environment sets
        ``JIEDAI_DISABLE_PLUGIN_AUTOLOAD``.
    :param blocked: plugin names never to register (entry-point names or built-in names such as
        ``jiedai.national``); ``JIEDAI_BLOCKED_PLUGINS`` adds a comma-separated list.
    :param plugins: extra plugin objects (modules, classes or instances), or (name, plugin) pairs.
    :param strict: raise :class:`PluginError` on the first installed plugin that fails to load (the
        default: a county's rules must not drop out without a word); False warns
        (:class:`PluginLoadWarning`), records it in :attr:`PluginHost.failures` and goes on without
        it — for a diagnosis such as ``jiedai plugins``. A plugin deliberately left out is blocked.
    """
    pm = _Manager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    blocked_names = set(blocked) | _env_blocked()
    for name in blocked_names:
        pm.set_blocked(name)
    for name, module in BUILTIN_PLUGINS:
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(module), name=name)
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    distributions: dict[str, str] = {}
    failures = _load_entry_points(pm, distributions, strict=strict) if autoload else []
    for item in plugins:
        name, plugin = item if isinstance(item, tuple) else (None, item)
        if name is None or not pm.is_blocked(name):
            _register(pm, plugin, name)
    _check(pm)
    return PluginHost(pm, failures, distributions, searched=autoload)


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    """``pm.register``, a hook whose arguments do not match its specification made a
    :class:`PluginError` said for a plugin's author."""
    name = name or _readable_name(pm, plugin)
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise _hooks_refused(name, error) from error


def _readable_name(pm: pluggy.PluginManager, plugin: object) -> str:
    """A name for a plugin given without one that its author recognises in an error — its module's
    or class's name (pluggy's own would be a number for an instance) — kept unique."""
    base = getattr(plugin, "__name__", None) or type(plugin).__qualname__
    name, n = base, 1
    while pm.has_plugin(name):
        n += 1
        name = f"{base}#{n}"
    return name


def _check(pm: pluggy.PluginManager) -> None:
    """``check_pending``, its complaint made a :class:`PluginError` said for a plugin's author."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise _hooks_refused(pm.get_name(error.plugin) or "?", error) from error


def _hooks_refused(plugin: str, error: pluggy.PluginValidationError) -> PluginError:
    zh, en = _validation_problem(error)
    return PluginError(f"插件 {plugin}：{zh}", f"plugin {plugin}: {en}")


def _env_blocked() -> set[str]:
    raw = os.environ.get(BLOCKED_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _load_entry_points(
    pm: pluggy.PluginManager, distributions: dict[str, str], *, strict: bool
) -> list[LoadFailure]:
    failures: list[LoadFailure] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(ep.name):
            distributions[ep.name] = _distribution(ep)  # said by ``jiedai plugins`` as blocked
            continue
        try:
            if pm.has_plugin(ep.name):
                raise PluginError(
                    f"插件名 {ep.name} 已被占用", f"plugin name {ep.name} is already registered"
                )
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            try:
                pm.check_pending()  # a misspelled hook is this plugin's failure, not everyone's
            except pluggy.PluginValidationError:
                pm.unregister(name=ep.name)
                raise
        except Exception as exc:
            failure = LoadFailure(ep.name, _distribution(ep), exc)
            if strict:
                raise failure.as_error() from exc
            log.error("%s", failure)
            warnings.warn(str(failure), PluginLoadWarning, stacklevel=3)
            failures.append(failure)
            continue
        distributions[ep.name] = _distribution(ep)
    return failures


def _distribution(ep: EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else "?"

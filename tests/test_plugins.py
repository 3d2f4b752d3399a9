"""The plugin manager factory: built-ins, blocking, overriding, and real entry-point plugins."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs
import pluggy
import pytest

import jiedai_flow.builtin.chain
import jiedai_flow.builtin.memory_backend
from jiedai_flow import (
    ApprovalStep,
    Finding,
    PluginError,
    RegisterRule,
    Rule,
    RuleError,
    Severity,
    StorageError,
    hookimpl,
    open_engine,
)
from jiedai_flow.domain.localities import load
from jiedai_flow.plugins import (
    BLOCKED_ENV,
    BUILTIN_PLUGINS,
    DISABLE_AUTOLOAD_ENV,
    PluginLoadWarning,
    make_plugin_manager,
)
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS
from jiedai_flow.storage import MemoryStore
from jiedai_flow.testing import ACTORS, make_engine, register_sample, sample_reception
from tests._plugin_site import installed_site

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow import Reception, Standards, StandardsLayer
    from jiedai_flow.process.rules import RegisterRule
    from tests._plugin_site import Site

BUILTIN_NAMES = [name for name, _ in BUILTIN_PLUGINS]

RULE_PLUGIN = """
from jiedai_flow import Rule, hookimpl

@hookimpl
def jiedai_register_rules(register):
    register(Rule("{rule_id}", "县级测试规则", frozenset({{"submit"}}), lambda ctx: ()))
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(BLOCKED_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # open_engine()'s default database is ./jiedai.db: not in the checkout


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from installed_site(tmp_path, monkeypatch)


@pytest.fixture
def county(site: Site) -> Site:
    """One well-behaved county plugin, ``county_demo`` from ``jiedai-county-demo`` 1.0."""
    site.install("jiedai-county-demo", "county_demo", RULE_PLUGIN.format(rule_id="X-01"))
    return site


# -- nothing at import, one manager per engine ------------------------------------------------------


def test_importing_jiedai_flow_loads_and_registers_nothing(site: Site, tmp_path: Path) -> None:
    """Importing the package builds no plugin manager and imports no entry-point plugin."""
    sentinel = tmp_path / "imported"
    site.install("jiedai-county-spy", "spy", f"open({str(sentinel)!r}, 'w').close()\n")
    code = (
        "import gc, pluggy, jiedai_flow, jiedai_flow.testing, jiedai_flow.plugins\n"
        "print(sum(isinstance(o, pluggy.PluginManager) for o in gc.get_objects()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {DISABLE_AUTOLOAD_ENV, BLOCKED_ENV}}
    env["PYTHONPATH"] = str(site.root)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "0"
    assert not sentinel.exists()


def test_each_call_builds_a_fresh_manager() -> None:
    """Two managers share nothing: a plugin registered in one is not in the other."""
    first, second = make_plugin_manager(autoload=False), make_plugin_manager(autoload=False)
    assert first.pm is not second.pm

    class Extra:
        @hookimpl
        def jiedai_storage(self, url: str) -> None:
            return None

    first.register(Extra(), name="extra")
    assert first.pm.has_plugin("extra")
    assert not second.pm.has_plugin("extra")


# -- built-ins ------------------------------------------------------------------------------------


def test_builtins_are_registered_under_their_names() -> None:
    """Each built-in is a plugin named ``jiedai.*``, registered like any other."""
    host = make_plugin_manager(autoload=False)
    for name, module in BUILTIN_PLUGINS:
        assert name.startswith("jiedai.")
        assert host.pm.get_plugin(name) is importlib.import_module(module)


def test_blocking_the_national_pack_removes_its_rules() -> None:
    """``blocked=["jiedai.national"]`` leaves an engine without the national rules."""
    assert any(rule.plugin == "jiedai.national" for rule in open_engine(autoload=False).rules.rules.values())
    engine = open_engine(autoload=False, blocked=["jiedai.national"])
    assert not engine.plugins.pm.has_plugin("jiedai.national")
    assert engine.rules.rules == {}


def test_builtins_can_be_blocked_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``JIEDAI_BLOCKED_PLUGINS`` is a comma-separated list of names, built-in ones included."""
    monkeypatch.setenv(BLOCKED_ENV, " jiedai.national , jiedai.log_notifier,")
    host = make_plugin_manager(autoload=False)
    assert host.pm.is_blocked("jiedai.national")
    assert host.pm.is_blocked("jiedai.log_notifier")
    assert host.pm.has_plugin("jiedai.roles")
    assert {info.name for info in host.plugins()} == set(BUILTIN_NAMES) - {
        "jiedai.national",
        "jiedai.log_notifier",
    }


def test_misspelled_hook_fails_loudly_with_the_nearest_name() -> None:
    """A ``jiedai_`` hook no spec knows is a PluginError naming the plugin (by its class, not a
    number) and the hook it probably meant, in Chinese and English; never silently ignored."""

    class Typo:
        @hookimpl
        def jiedai_notfy(self, notification: object, reception: object) -> None: ...

    with pytest.raises(PluginError, match="jiedai_notfy") as caught:
        make_plugin_manager(autoload=False, plugins=[Typo()])
    error = caught.value
    assert error.message_zh.startswith("插件 ")
    assert "Typo" in error.message_zh
    assert "是不是 jiedai_notify？" in error.message_zh
    assert "did you mean jiedai_notify?" in error.message_en
    assert isinstance(error.__cause__, pluggy.PluginValidationError)
    host = make_plugin_manager(autoload=False)
    with pytest.raises(PluginError, match="plugin typo: no hook is named jiedai_notfy"):
        host.register(Typo(), name="typo")


def test_a_hook_without_the_decorator_still_counts() -> None:
    """A ``jiedai_*`` function without ``@hookimpl`` is a hook implementation all the same (as pytest
    reads ``pytest_*``): a forgotten decorator must not leave a county's hook quietly unapplied —
    and a misspelt one without it fails like one with it."""

    class Forgot:
        def jiedai_approval_chain(self, reception: object, standards: object) -> list[ApprovalStep]:
            return [ApprovalStep("", "县长")]

        def helper(self) -> None: ...

    host = make_plugin_manager(autoload=False, plugins=[("county", Forgot())])
    assert {i.name: i.hooks for i in host.plugins()}["county"] == ("jiedai_approval_chain",)
    engine = make_engine(("county", Forgot()))
    reception = register_sample(engine, handler=ACTORS["handler"])
    engine.fire(reception.id, "submit", ACTORS["handler"])
    assert [s.label for s in engine.get(reception.id).approval_chain] == ["县长"]

    class Misspelt:
        def jiedai_route(self) -> dict[str, tuple[str, ...]]:
            return {}

    with pytest.raises(PluginError, match="是不是 jiedai_routes"):
        make_plugin_manager(autoload=False, plugins=[Misspelt()])


def test_a_hook_argument_its_specification_lacks_says_which_it_has() -> None:
    class Wrong:
        @hookimpl
        def jiedai_approval_chain(self, reception: object, standard: object) -> None: ...

    with pytest.raises(PluginError) as caught:
        make_plugin_manager(autoload=False, plugins=[("qingyang", Wrong())])
    assert "插件 qingyang：jiedai_approval_chain 没有参数 {'standard'}" in caught.value.message_zh
    assert "reception, standards" in caught.value.message_zh
    assert "its arguments (take any of them): reception, standards" in caught.value.message_en


class CountyChain:
    """A county's own approval chain."""

    STEPS = (ApprovalStep("县长", "县长审批"),)

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> tuple[ApprovalStep, ...]:
        return self.STEPS


class CountyStore(MemoryStore):
    """A county's own back end, also answering ``memory://``."""


class CountyStorage:
    @hookimpl
    def jiedai_storage(self, url: str) -> CountyStore | None:
        return CountyStore() if url == "memory://" else None


@pytest.mark.parametrize("builtin_registered_last", [False, True])
def test_installed_plugins_override_builtins_whatever_the_order(builtin_registered_last: bool) -> None:
    """Built-ins are ``trylast``: a third-party approval chain or store wins even if registered first."""
    plugins = [("county.chain", CountyChain()), ("county.storage", CountyStorage())]
    if not builtin_registered_last:
        host = make_plugin_manager(autoload=False, plugins=plugins)
    else:
        host = make_plugin_manager(
            autoload=False, blocked=["jiedai.approval", "jiedai.memory"], plugins=plugins
        )
        for name, module in [
            ("jiedai.approval", jiedai_flow.builtin.chain),
            ("jiedai.memory", jiedai_flow.builtin.memory_backend),
        ]:
            host.pm.unblock(name)
            host.register(module, name=name)
        names = [name for name, _ in host.pm.list_name_plugin()]
        assert names.index("jiedai.approval") > names.index("county.chain")
    standards = open_engine(autoload=False).standards_for("341502", date(2026, 3, 10))
    chain = host.hooks.jiedai_approval_chain(reception=sample_reception(), standards=standards)
    assert tuple(chain or ()) == CountyChain.STEPS
    assert type(host.hooks.jiedai_storage(url="memory://")) is CountyStore


def test_builtin_store_still_answers_urls_the_plugin_declines() -> None:
    """firstresult falls through to the built-in when the plugin returns None."""
    engine = open_engine("memory:", autoload=False, plugins=[CountyStorage()])
    assert type(engine.store) is MemoryStore


# -- rules know their plugin ------------------------------------------------------------------------


def _rule_plugin(rule_id: str) -> object:
    class Plugin:
        @hookimpl
        def jiedai_register_rules(self, register: RegisterRule) -> None:
            register(Rule(rule_id, "测试规则", frozenset({"submit"}), lambda ctx: ()))

    return Plugin()


def test_a_rule_records_the_plugin_that_registered_it() -> None:
    """``rule.plugin`` is the registered plugin name, whatever the rule object said."""
    engine = open_engine(autoload=False, plugins=[("county.local", _rule_plugin("X-01"))])
    assert engine.rules.rules["X-01"].plugin == "county.local"
    assert engine.rules.rules["M-01"].plugin == "jiedai.national"


def test_a_duplicate_rule_id_names_both_plugins() -> None:
    """Two plugins registering one rule id is a PluginError naming both."""
    with pytest.raises(PluginError, match=r"county\.a.*county\.b|county\.b.*county\.a") as caught:
        open_engine(
            autoload=False, plugins=[("county.a", _rule_plugin("X-01")), ("county.b", _rule_plugin("X-01"))]
        )
    assert caught.value.code == "plugin"


def _staged_rule_plugin(rule_id: str, *stages: str) -> object:
    class Plugin:
        @hookimpl
        def jiedai_register_rules(self, register: RegisterRule) -> None:
            register(Rule(rule_id, "测试规则", frozenset(stages), lambda ctx: ()))

    return Plugin()


def test_a_rule_for_a_stage_no_process_runs_is_refused_naming_rule_plugin_and_stages() -> None:
    """A misspelt stage would silently never run: building the engine refuses it, naming the rule,
    the plugin, the unknown stage and the known ones, Chinese first."""
    with pytest.raises(PluginError) as caught:
        open_engine(autoload=False, plugins=[("county.zz", _staged_rule_plugin("ZZ-01", "submit", "sumbit"))])
    error = caught.value
    assert error.code == "plugin"
    assert error.message_zh.startswith("插件 county.zz 的规则 ZZ-01 登记在未知阶段 sumbit，")
    assert "、submit、" in error.message_zh
    assert error.message_en.startswith(
        "rule ZZ-01 of plugin county.zz is registered for unknown stage(s) sumbit"
    )
    assert ", submit," in error.message_en


def test_a_rule_for_a_stage_of_the_vocabulary_builds() -> None:
    """Every Stage of the vocabulary is known, and so is ``create`` (registration)."""
    engine = open_engine(
        autoload=False, plugins=[("county.a", _staged_rule_plugin("ZZ-02", "create", "settle"))]
    )
    assert engine.rules.rules["ZZ-02"].plugin == "county.a"


def test_reusing_a_national_rule_id_names_the_national_pack() -> None:
    """A county plugin cannot silently shadow a national rule."""
    with pytest.raises(PluginError, match=r"jiedai\.national") as caught:
        open_engine(autoload=False, plugins=[("county.a", _rule_plugin("M-01"))])
    assert "county.a" in str(caught.value)


# -- hook answers of the wrong shape ---------------------------------------------------------------


class OneLayer:
    @hookimpl
    def jiedai_standards_layers(self) -> object:
        return load("luan")  # one layer, not a sequence of them


class OneProcess:
    @hookimpl
    def jiedai_processes(self, default: object) -> object:
        return attrs.evolve(DEFAULT_PROCESS, version="county")  # one definition, not a list


class LevelNames:
    @hookimpl
    def jiedai_approval_chain(self) -> object:
        return ["部门负责人"]  # level names, not ApprovalStep values


class NoCalendar:
    @hookimpl
    def jiedai_calendar(self) -> object:
        return object()


class TupleRule:
    @hookimpl
    def jiedai_register_rules(self, register: RegisterRule) -> None:
        register(("ZZ-05", "测试规则", frozenset({"submit"}), lambda ctx: ()))  # type: ignore[arg-type]


class ReturnedRules:
    @hookimpl
    def jiedai_register_rules(self) -> list[Rule]:
        return [Rule("ZZ-06", "测试规则", frozenset({"submit"}), lambda ctx: ())]


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (OneProcess(), "list or tuple of ProcessDefinition"),
        (TupleRule(), "a jiedai_flow.Rule"),
        (ReturnedRules(), "call register(Rule(...)) once per rule"),
    ],
)
def test_a_wrong_answer_to_a_setup_hook_refuses_the_engine_naming_the_plugin(
    plugin: object, expected: str
) -> None:
    """Hooks called while the engine is built: a wrong shape is a PluginError there, naming the
    plugin and saying what was expected, in Chinese first."""
    with pytest.raises(PluginError, match=r"^插件 county\.x 的 jiedai_") as caught:
        open_engine(autoload=False, plugins=[("county.x", plugin)])
    assert expected in caught.value.message_en
    assert caught.value.message_en.startswith("plugin county.x: jiedai_")


def test_one_layer_instead_of_a_sequence_names_the_plugin_when_standards_are_asked() -> None:
    engine = open_engine(autoload=False, plugins=[("county.layers", OneLayer())])
    with pytest.raises(PluginError, match=r"county\.layers") as caught:
        engine.standards_for("341502", date(2026, 3, 10))
    assert "jiedai_standards_layers" in caught.value.message_zh
    assert "list or tuple of StandardsLayer" in caught.value.message_en


def test_level_names_for_an_approval_chain_name_the_plugin_at_submission() -> None:
    engine = make_engine(("county.chain", LevelNames()))
    rid = register_sample(engine).id
    with pytest.raises(PluginError, match=r"county\.chain") as caught:
        engine.fire(rid, "submit", ACTORS["handler"])
    assert "ApprovalStep" in caught.value.message_zh
    assert engine.get(rid).state == "draft"


class NoSteps:
    @hookimpl
    def jiedai_approval_chain(self) -> list[ApprovalStep]:
        return []


def test_an_empty_approval_chain_is_refused_naming_the_plugin_not_widened() -> None:
    """Approval cannot be skipped: [] is a PluginError at submission (nothing saved), never the
    default step any approver could sign."""
    engine = make_engine(("county.chain", NoSteps()))
    rid = register_sample(engine).id
    with pytest.raises(PluginError, match=r"^插件 county\.chain 的 jiedai_approval_chain") as caught:
        engine.fire(rid, "submit", ACTORS["handler"])
    assert "approval cannot be skipped" in caught.value.message_en
    assert (engine.get(rid).state, engine.get(rid).approval_chain) == ("draft", ())


def test_with_no_chain_plugin_at_all_one_step_any_approver_signs() -> None:
    """None from every plugin (the built-in chain blocked) is no opinion: the one default step."""
    engine = make_engine(blocked=("jiedai.approval",))
    rid = register_sample(engine).id
    submitted = engine.fire(rid, "submit", ACTORS["handler"]).reception
    assert submitted.approval_chain == (ApprovalStep("", "审批"),)


def test_a_calendar_without_is_workday_names_the_plugin() -> None:
    engine = open_engine(autoload=False, plugins=[("county.calendar", NoCalendar())])
    with pytest.raises(PluginError, match=r"county\.calendar") as caught:
        _ = engine.calendar
    assert "is_workday" in caught.value.message_en


def test_the_plugin_at_fault_is_named_even_when_another_answers_well() -> None:
    """1:N hooks: each plugin's answer is checked, and the one of the wrong shape is the one named."""
    engine = open_engine(autoload=False, plugins=[("county.a", OneLayer())])
    with pytest.raises(PluginError, match=r"county\.a") as caught:
        engine.standards_for("341502", date(2026, 3, 10))
    assert "jiedai.national" not in str(caught.value)


# -- storage selection ----------------------------------------------------------------------------


def test_unknown_storage_url_says_what_to_do() -> None:
    """No back end for a URL is a StorageError in Chinese and English, asking about the plugin."""
    with pytest.raises(StorageError) as caught:
        open_engine("nosuch://", autoload=False)
    error = caught.value
    assert error.code == "storage"
    assert "nosuch://" in error.message_zh
    assert "插件" in error.message_zh
    assert "nosuch://" in error.message_en
    assert "plugin installed" in error.message_en
    assert str(error) == f"{error.message_zh} / {error.message_en}"


# -- real entry points ------------------------------------------------------------------------------


def test_installed_plugin_is_auto_loaded(county: Site) -> None:
    """A distribution with a ``jiedai_flow`` entry point loads by default."""
    host = make_plugin_manager()
    assert host.pm.has_plugin("county_demo")
    assert host.failures == ()


def test_rule_of_an_installed_plugin_records_its_entry_point_name(county: Site) -> None:
    """``engine.rules.rules["X-01"].plugin`` is the entry-point name."""
    engine = open_engine()
    assert engine.rules.rules["X-01"].plugin == "county_demo"


def test_autoload_false_skips_installed_plugins(county: Site) -> None:
    """The embedding application can switch auto-loading off."""
    assert not make_plugin_manager(autoload=False).pm.has_plugin("county_demo")
    assert "X-01" not in open_engine(autoload=False).rules.rules


def test_environment_switches_autoload_off(county: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """``JIEDAI_DISABLE_PLUGIN_AUTOLOAD=1`` skips installed plugins; an explicit autoload=True wins."""
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    assert not make_plugin_manager().pm.has_plugin("county_demo")
    assert make_plugin_manager(autoload=True).pm.has_plugin("county_demo")


def test_installed_plugin_can_be_blocked_by_name(county: Site) -> None:
    """``blocked=[name]`` keeps an installed plugin out."""
    host = make_plugin_manager(blocked=["county_demo"])
    assert host.pm.is_blocked("county_demo")
    assert "county_demo" not in {info.name for info in host.plugins()}


def test_installed_plugin_can_be_blocked_from_the_environment(
    county: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``JIEDAI_BLOCKED_PLUGINS`` blocks installed plugins too."""
    monkeypatch.setenv(BLOCKED_ENV, "someone_else,county_demo")
    assert make_plugin_manager().pm.is_blocked("county_demo")
    assert "X-01" not in open_engine().rules.rules


def test_a_blocked_plugin_is_listed_as_blocked_not_left_out(
    county: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``jiedai plugins`` lists a plugin blocked on purpose with the state 「已停用 blocked」 and its
    distribution (an installed one, a built-in), so it does not look uninstalled; loaded ones read
    「已加载 loaded」. ``PluginHost.blocked()`` gives the same."""
    from click.testing import CliRunner

    from jiedai_flow.cli import main

    monkeypatch.setenv(BLOCKED_ENV, "county_demo,jiedai.log_notifier")
    host = make_plugin_manager()
    assert [(i.name, i.distribution, i.hooks) for i in host.blocked()] == [
        ("county_demo", "jiedai-county-demo 1.0", ()),
        ("jiedai.log_notifier", "jiedai-flow", ()),
    ]
    assert "county_demo" not in {i.name for i in host.plugins()}  # what is in force, as before
    runner = CliRunner()
    shown = runner.invoke(main, ["plugins"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    rows = {line.split("│")[1].strip(): line for line in shown.output.splitlines() if "│" in line}
    assert "已停用 blocked" in rows["county_demo"]
    assert "jiedai-county-demo 1.0" in rows["county_demo"]
    assert "已停用 blocked" in rows["jiedai.log_notifier"]
    assert "已加载 loaded" in rows["jiedai.national"]
    english = runner.invoke(main, ["--lang", "en", "plugins"], env={"COLUMNS": "200"}).output
    assert "blocked" in english
    assert "已停用" not in english
    listed = json.loads(runner.invoke(main, ["--json", "plugins"]).stdout)
    assert {"name": "county_demo", "distribution": "jiedai-county-demo 1.0", "found": True} in listed[
        "blocked"
    ]
    assert "county_demo" not in {p["name"] for p in listed["plugins"]}


def test_a_blocked_name_no_plugin_has_is_shown_as_a_likely_misspelling(
    county: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocking ``county_dmeo`` blocks nothing: the list says no plugin has that name, in red, while
    the plugin meant (``county_demo``) is listed as loaded."""
    from click.testing import CliRunner

    from jiedai_flow.cli import main

    monkeypatch.setenv(BLOCKED_ENV, "county_dmeo")
    runner = CliRunner()
    shown = runner.invoke(main, ["plugins"], env={"COLUMNS": "200"})
    rows = {line.split("│")[1].strip(): line for line in shown.output.splitlines() if "│" in line}
    assert "已停用，但没有这个名字的插件" in rows["county_dmeo"]
    assert "已加载" in rows["county_demo"]
    listed = json.loads(runner.invoke(main, ["--json", "plugins"]).stdout)
    assert listed["blocked"] == [{"name": "county_dmeo", "distribution": "", "found": False}]
    # with auto-loading off nothing was looked through: not known, so not claimed
    unsearched = {"JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"}
    listed = json.loads(runner.invoke(main, ["--json", "plugins"], env=unsearched).stdout)
    assert listed["blocked"] == [{"name": "county_dmeo", "distribution": "", "found": None}]
    assert "没有这个名字" not in runner.invoke(main, ["plugins"], env={**unsearched, "COLUMNS": "200"}).output


@pytest.fixture
def broken(county: Site) -> Site:
    """Adds ``county_broken`` (``jiedai-county-broken`` 0.3.1), whose module raises on import."""
    county.install("jiedai-county-broken", "county_broken", "raise RuntimeError('缺少配置 boom')\n", "0.3.1")
    return county


def test_a_broken_plugin_stops_the_engine_by_default_saying_what_to_do(broken: Site) -> None:
    """An installed county plugin that does not load must not drop out without a word (its rules
    would simply not apply): building the engine fails, naming the plugin, its distribution, the
    cause and the two ways on — fix it, or block it on purpose. Blocked, the rest works."""
    with pytest.raises(PluginError) as caught:
        open_engine()
    error = caught.value
    assert "county_broken（jiedai-county-broken 0.3.1）加载失败" in error.message_zh
    assert "boom" in error.message_zh
    assert "JIEDAI_BLOCKED_PLUGINS=county_broken" in error.message_zh
    assert "block it on purpose with JIEDAI_BLOCKED_PLUGINS=county_broken" in error.message_en
    assert isinstance(error.__cause__, RuntimeError)
    engine = open_engine(blocked=["county_broken"])
    assert engine.plugins.failures == ()
    assert engine.rules.rules["X-01"].plugin == "county_demo"


def test_a_misspelt_hook_in_an_installed_plugin_names_the_plugin_and_the_hook(site: Site) -> None:
    site.install("jiedai-county-typo", "county_typo", "def jiedai_route():\n    return {}\n", "0.1")
    with pytest.raises(PluginError) as caught:
        make_plugin_manager()
    assert (
        "county_typo（jiedai-county-typo 0.1）加载失败：没有名为 jiedai_route 的钩子，是不是 jiedai_routes？"
        in (caught.value.message_zh)
    )


def test_broken_plugin_is_reported_and_the_others_still_work_when_not_strict(broken: Site) -> None:
    """``strict=False`` (a diagnosis): a failing import warns with entry-point name and
    distribution; the rest of the engine works."""
    with pytest.warns(PluginLoadWarning, match=r"county_broken.*jiedai-county-broken 0\.3\.1"):
        engine = open_engine(strict=False)
    (failure,) = engine.plugins.failures
    assert failure.name == "county_broken"
    assert failure.distribution == "jiedai-county-broken 0.3.1"
    assert isinstance(failure.error, RuntimeError)
    assert "boom" in str(failure.error)
    assert "county_broken" in str(failure)
    assert not engine.plugins.pm.has_plugin("county_broken")
    assert engine.rules.rules["X-01"].plugin == "county_demo"


def test_strict_mode_raises_on_a_broken_plugin_with_the_original_error(broken: Site) -> None:
    """``strict=True`` raises PluginError naming the plugin and chaining the import error."""
    with pytest.raises(PluginError, match=r"county_broken.*jiedai-county-broken 0\.3\.1") as caught:
        make_plugin_manager(strict=True)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert "boom" in str(caught.value.__cause__)


def test_plugins_lists_distribution_and_hooks(county: Site) -> None:
    """``PluginHost.plugins()`` says where each plugin came from and which hooks it implements."""
    infos = {info.name: info for info in make_plugin_manager().plugins()}
    assert set(BUILTIN_NAMES) <= set(infos)
    assert infos["county_demo"].distribution == "jiedai-county-demo 1.0"
    assert infos["county_demo"].hooks == ("jiedai_register_rules",)
    assert infos["jiedai.roles"].distribution == "jiedai-flow"
    assert infos["jiedai.roles"].hooks == ("jiedai_authorize",)
    assert infos["jiedai.national"].hooks == ("jiedai_register_rules", "jiedai_standards_layers")


def test_duplicate_rule_ids_from_two_installed_plugins_name_both(site: Site) -> None:
    """Two installed plugins registering one rule id: a PluginError naming both entry points."""
    site.install("jiedai-county-a", "county_a", RULE_PLUGIN.format(rule_id="X-02"))
    site.install("jiedai-county-b", "county_b", RULE_PLUGIN.format(rule_id="X-02"))
    with pytest.raises(PluginError, match="X-02") as caught:
        open_engine()
    assert "county_a" in str(caught.value)
    assert "county_b" in str(caught.value)


def test_the_command_line_stops_on_a_broken_plugin_and_plugins_says_why(site: Site) -> None:
    """``jiedai`` refuses to work with a county plugin that does not load (exit code 4, both
    languages, what to do, no traceback); ``jiedai plugins`` lists it and exits 4 too; blocked on
    purpose, the commands work."""
    from click.testing import CliRunner

    from jiedai_flow.cli import main

    site.install("jiedai-county-typo", "county_typo", "def jiedai_route():\n    return {}\n", "0.1")
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    refused = runner.invoke(main, ["list"])
    assert refused.exit_code == 4, refused.output
    assert "是不是 jiedai_routes？" in refused.output
    assert "JIEDAI_BLOCKED_PLUGINS=county_typo" in refused.output
    assert "Traceback" not in refused.output
    listed = runner.invoke(main, ["--json", "plugins"])
    assert listed.exit_code == 4
    [failure] = json.loads(listed.stdout)["failures"]
    assert failure["name"] == "county_typo"
    assert "did you mean jiedai_routes?" in failure["message_en"]
    blocked = runner.invoke(main, ["list"], env={BLOCKED_ENV: "county_typo"})
    assert blocked.exit_code == 0, blocked.output


def test_a_plugin_adds_a_step_to_the_standards_chain() -> None:
    """``standard_chain`` is what the built-in answers (the standards' levels here), so a county
    adds to it instead of copying it; other counties' receptions get no opinion."""
    from jiedai_flow.builtin.chain import standard_chain

    class AddsAStep:
        @hookimpl
        def jiedai_approval_chain(
            self, reception: Reception, standards: Standards
        ) -> list[ApprovalStep] | None:
            if reception.jurisdiction != "341502":
                return None
            return [*standard_chain(reception, standards), ApprovalStep("", "县纪委备案")]

    engine = make_engine(AddsAStep())
    reception = register_sample(engine, handler=ACTORS["handler"])
    submitted = engine.fire(reception.id, "submit", ACTORS["handler"]).reception
    builtin = make_engine()
    plain = register_sample(builtin, handler=ACTORS["handler"])
    expected = [s.shown for s in builtin.fire(plain.id, "submit", ACTORS["handler"]).reception.approval_chain]
    assert [s.shown for s in submitted.approval_chain] == [*expected, "县纪委备案"]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (lambda: Finding("QY-03", "blocking", "周末", "weekend"), "严重程度应为 Severity 枚举"),  # type: ignore[arg-type]
        (
            lambda: Finding("QY-3", Severity.BLOCKING, "周末", "weekend"),
            "结果的规则编号 'QY-3' 与规则编号 'QY-03' 不一致",
        ),
        (lambda: "周末要说明", "检查函数应逐条给出 Finding，收到 str"),
    ],
)
def test_a_rule_that_yields_something_else_than_its_own_finding_fails_closed(
    given: Any, says: str, tmp_path: Path
) -> None:
    """A severity given as text, a finding under another id (its explanation could never match),
    or no Finding at all: the command is refused with a RuleError naming the plugin, the rule and
    what is wrong — on every store alike, nothing saved."""
    rule = Rule("QY-03", "周末接待须说明", frozenset({"submit"}), lambda ctx: [given()])
    for url in ("memory://", f"sqlite:///{tmp_path / 'qy.db'}"):
        engine = make_engine(("qingyang", _Registers(rule)), url=url)
        reception = register_sample(engine, handler=ACTORS["handler"])
        with pytest.raises(RuleError) as caught:
            engine.fire(reception.id, "submit", ACTORS["handler"])
        assert says in caught.value.message_zh
        assert "插件 qingyang 的规则 QY-03 运行出错" in caught.value.message_zh
        assert engine.get(reception.id).state == "draft"
        engine.store.close()


class _Registers:
    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    @hookimpl
    def jiedai_register_rules(self, register: RegisterRule) -> None:
        register(self.rule)


def test_routes_and_a_directory_list_of_the_wrong_shape_name_the_plugin() -> None:
    """Roles written as text in ``jiedai_routes``, or a directory listing ids instead of actors:
    a PluginError naming the plugin and what it should return, not a traceback from cattrs."""

    class TextRoles:
        @hookimpl
        def jiedai_routes(self, jurisdiction: str) -> dict[str, tuple[str, ...]]:
            return {"submit": ("approver", "offce")}

    engine = make_engine(("qingyang", TextRoles()))
    reception = register_sample(engine, handler=ACTORS["handler"])
    with pytest.raises(PluginError) as caught:
        engine.fire(reception.id, "submit", ACTORS["handler"])
    assert "插件 qingyang 的 jiedai_routes" in caught.value.message_zh
    assert "Role 列表的字典" in caught.value.message_zh
    assert engine.get(reception.id).state == "draft"

    class Ids:
        @hookimpl
        def jiedai_actors(self) -> list[str]:
            return ["sun.hao"]

    engine = make_engine(("directory", Ids()))
    reception = register_sample(engine, handler=ACTORS["handler"])
    with pytest.raises(PluginError, match="插件 directory 的 jiedai_actors"):
        engine.fire(reception.id, "submit", ACTORS["handler"])


def test_a_standards_file_a_plugin_loads_late_that_does_not_parse_names_the_plugin(tmp_path: Path) -> None:
    """The tutorial's plugin loads its TOML on first use: a misspelt key there surfaces when a
    reception's standards are resolved — as a PluginError naming the plugin, the hook and the
    file's own message (path, line), the loading error chained; never a traceback through pluggy."""
    from jiedai_flow import ValidationError, load_standards_file

    bad = tmp_path / "qy.toml"
    bad.write_text(
        'name = "青阳县"\nlevel = "county"\njurisdiction = "341597"\neffective_from = 2026-01-01\n'
        "[standards]\nclaim_deadline_dayz = 5\n",
        encoding="utf-8",
    )

    class Lazy:
        @hookimpl
        def jiedai_standards_layers(self) -> list[StandardsLayer]:
            return [load_standards_file(bad)]

    engine = make_engine(("qingyang", Lazy()))
    with pytest.raises(PluginError) as caught:
        register_sample(engine, handler=ACTORS["handler"])
    assert caught.value.message_zh.startswith("插件 qingyang 的 jiedai_standards_layers 出错：")
    assert "$.standards.claim_deadline_dayz（第 6 行）" in caught.value.message_zh
    assert "是不是「claim_deadline_days」？" in caught.value.message_zh
    assert "did you mean 'claim_deadline_days'?" in caught.value.message_en
    assert isinstance(caught.value.__cause__, ValidationError)


def test_a_chain_plugin_may_refuse_on_purpose_and_a_failure_names_the_right_instance() -> None:
    """An error a chain plugin raises on purpose (a ValidationError naming what is missing) reaches
    the caller as it is; a failure inside one of two instances of one class names that instance."""
    from jiedai_flow import ValidationError
    from jiedai_flow.errors import Problem

    class Strict:
        @hookimpl
        def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> None:
            raise ValidationError([Problem("$.plan.budget", "须写明预算科目", "name the budget line")])

    engine = make_engine(Strict())
    reception = register_sample(engine, handler=ACTORS["handler"])
    with pytest.raises(ValidationError, match="须写明预算科目"):
        engine.fire(reception.id, "submit", ACTORS["handler"])

    class Layers:
        def __init__(self, broken: bool) -> None:
            self.broken = broken

        @hookimpl
        def jiedai_standards_layers(self) -> list[StandardsLayer]:
            if self.broken:
                raise ValueError("bad file")
            return []

    engine = make_engine(("county_a", Layers(broken=True)), ("county_b", Layers(broken=False)))
    with pytest.raises(PluginError, match="plugin county_a: jiedai_standards_layers failed"):
        register_sample(engine, handler=ACTORS["handler"])

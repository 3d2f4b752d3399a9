"""The code in docs/ is tested: each snippet runs here and is quoted verbatim in its page."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

import jiedai_flow
from jiedai_flow import (
    InvalidTransitionError,
    JiedaiFlowError,
    LetterKind,
    NotAuthorizedError,
    RuleViolationError,
    Severity,
    StorageError,
    hookimpl,
    open_engine,
)
from jiedai_flow.notify.channels import Contact
from jiedai_flow.notify.dispatch import Dispatcher
from jiedai_flow.plugins import BLOCKED_ENV, BUILTIN_PLUGINS, DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from jiedai_flow import Engine

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"

QUOTED_IN = {
    "quickstart.py": "index.md",
    "county_plugin.py": "plugins.md",
    "approval_chain.py": "plugins.md",
    "delegation.py": "plugins.md",
    "notifier.py": "plugins.md",
    "shared_storage.py": "plugins.md",
    "process_v2.py": "lifecycle.md",
    "county_process.py": "lifecycle.md",
    "test_county_plugin.py": "testing-kit.md",
    "test_store_contract.py": "testing-kit.md",
    "handle_errors.py": "errors.md",
    "countersign_chain.py": "approvals.md",
}
"""Every snippet and the page that quotes it whole."""

HANDLER = ACTORS["handler"]


def snippet(name: str) -> ModuleType:
    """Import docs/snippets/<name>.py under its own name (snippets import each other that way)."""
    path = SNIPPETS / f"{name}.py"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "")) == path:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def create(engine: Engine, letter_kind: LetterKind = LetterKind.LETTER, **plan: object) -> str:
    letter = attrs.evolve(sample_letter(), kind=letter_kind)
    created = engine.create_reception(
        letter, sample_plan(**plan), handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    )
    return created.reception.id


# -- the snippets are the docs --------------------------------------------------------------------


def test_every_snippet_file_is_quoted_somewhere() -> None:
    assert {p.name for p in SNIPPETS.glob("*.py")} == set(QUOTED_IN)


@pytest.mark.parametrize(("name", "page_name"), sorted(QUOTED_IN.items()))
def test_snippet_is_quoted_verbatim_as_one_code_block(name: str, page_name: str) -> None:
    text = (SNIPPETS / name).read_text(encoding="utf-8")
    assert f"```python\n{text}```" in page(page_name), f"{name} differs from its copy in docs/{page_name}"


# -- index.md -------------------------------------------------------------------------------------


def test_quickstart_submits_and_approves(capsys: pytest.CaptureFixture[str]) -> None:
    reception = snippet("quickstart").main()
    assert (reception.state, reception.version) == ("approved", 3)
    assert "submit draft → submitted 张伟" in capsys.readouterr().out


# -- plugins.md: the county plugin ----------------------------------------------------------------


def test_county_rule_asks_for_an_explanation_of_a_late_submission() -> None:
    clock = FrozenClock(datetime(2026, 3, 10, 8, 0, tzinfo=CHINA_TZ))  # the day the visit starts
    engine = make_engine(snippet("county_plugin"), clock=clock)
    rid = create(engine)
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    (finding,) = refused.value.findings
    assert (finding.rule_id, finding.severity, finding.path) == (
        "LA-01",
        Severity.NEEDS_EXPLANATION,
        "$.start",
    )
    assert "应在 2026-03-09 前提交审批" in finding.message_zh
    assert engine.get(rid).state == "draft"
    explained = engine.fire(rid, "submit", HANDLER, explanations={"LA-01": "上级临时通知"})
    assert explained.reception.state == "submitted"


def test_county_rule_passes_an_early_submission_and_is_attributed_to_its_plugin() -> None:
    engine = make_engine(snippet("county_plugin"))  # FrozenClock: 2026-03-02, visit on 03-10
    assert engine.fire(create(engine), "submit", HANDLER).findings == ()
    assert engine.rules.rules["LA-01"].plugin == "county_plugin"


def test_county_layer_accepts_phone_records_and_sets_two_approval_levels() -> None:
    plain, county = make_engine(), make_engine(snippet("county_plugin"))
    with pytest.raises(RuleViolationError, match="L-01"):
        plain.fire(create(plain, LetterKind.PHONE_RECORD), "submit", HANDLER)
    submitted = county.fire(create(county, LetterKind.PHONE_RECORD), "submit", HANDLER)
    assert [s.level for s in submitted.reception.approval_chain] == ["部门负责人", "分管领导"]


def test_county_meal_standard_feeds_the_national_m03() -> None:
    plain, county = make_engine(), make_engine(snippet("county_plugin"))
    assert plain.fire(create(plain, cost=Decimal("420.00")), "submit", HANDLER).reception.state == "submitted"
    with pytest.raises(RuleViolationError, match="M-03"):
        county.fire(create(county, cost=Decimal("420.00")), "submit", HANDLER)


def test_county_layer_is_only_for_its_jurisdiction_and_dates() -> None:
    engine = make_engine(snippet("county_plugin"))
    assert engine.standards_for("341502", date(2026, 3, 10)).claim_deadline_months == 1
    assert engine.standards_for("341503", date(2026, 3, 10)).claim_deadline_months is None
    assert engine.standards_for("341502", date(2025, 12, 31)).claim_deadline_months is None


# -- plugins.md: approval chain, authorization, notifications, storage ---------------------------


def test_chain_by_host_unit_adds_the_main_leader_for_bureau_rank_guests() -> None:
    engine = make_engine(snippet("approval_chain"))
    rid = create(engine)  # sample_letter's first guest is 厅局级
    submitted = engine.fire(rid, "submit", HANDLER).reception
    assert [s.level for s in submitted.approval_chain] == ["部门负责人", "分管领导", "主要领导"]
    main_leader = attrs.evolve(ACTORS["approver"], id="qian.jun", name="钱军", levels=frozenset({"主要领导"}))
    for approver, state in [(ACTORS["director"], "submitted"), (ACTORS["approver"], "submitted")]:
        assert engine.fire(rid, "approve", approver).reception.state == state
    assert engine.fire(rid, "approve", main_leader).reception.state == "approved"


def test_chain_by_host_unit_has_one_step_for_a_township_with_junior_guests() -> None:
    engine = make_engine(snippet("approval_chain"))
    letter = sample_letter()
    junior = tuple(attrs.evolve(g, rank=jiedai_flow.Rank.TOWNSHIP) for g in letter.personnel)
    created = engine.create_reception(
        attrs.evolve(letter, personnel=junior),
        sample_plan(),
        handler=HANDLER,
        host_unit="城关镇人民政府",
        jurisdiction="341502",
    )
    submitted = engine.fire(created.reception.id, "submit", HANDLER).reception
    assert [s.level for s in submitted.approval_chain] == ["乡镇主要负责人"]


def test_delegate_may_sign_the_delegated_step_only_with_the_plugin() -> None:
    first = attrs.evolve(ACTORS["director"], id="wu.gang", name="吴刚")  # another 部门负责人
    delegate = ACTORS["director"]  # 孙浩 (部门负责人), delegated 分管领导
    county = snippet("county_plugin")  # chain: 部门负责人 → 分管领导
    without = make_engine(county)
    rid = submitted(without)
    without.fire(rid, "approve", first)
    with pytest.raises(NotAuthorizedError, match="分管领导"):
        without.fire(rid, "approve", delegate)
    engine = make_engine(county, snippet("delegation"))
    rid = submitted(engine)
    engine.fire(rid, "approve", first)
    assert engine.fire(rid, "approve", delegate).reception.state == "approved"


def test_no_plain_authorize_answer_lets_a_handler_approve_their_own_reception() -> None:
    class YesToEverything:
        @hookimpl(tryfirst=True)
        def jiedai_authorize(self) -> bool:
            return True

    own = ACTORS["handler_approver"]
    engine = make_engine(YesToEverything(), snippet("delegation"))
    created = engine.create_reception(
        sample_letter(), sample_plan(), handler=own, host_unit="县政府办公室", jurisdiction="341502"
    )
    engine.fire(created.reception.id, "submit", own)
    with pytest.raises(NotAuthorizedError, match="职务分离"):
        engine.fire(created.reception.id, "approve", own)


def _im_engine(send: Callable[[str, str], None]) -> Engine:
    notifier = snippet("notifier")
    people = {
        jiedai_flow.Role.APPROVER: [
            Contact("李娜", jiedai_flow.Role.APPROVER, mobile="13800000001"),
            Contact("孙浩", jiedai_flow.Role.APPROVER, mobile="13800000002"),
        ]
    }
    return make_engine(notifier.MessengerNotifier(send), notifier.Directory(people))


def test_notifier_is_a_channel_whose_rows_the_dispatcher_delivers_to_the_role_contacts() -> None:
    sent: list[tuple[str, str]] = []
    engine = _im_engine(lambda mobile, text: sent.append((mobile, text)))
    assert set(engine.notifiers) == {"log", "im"}
    engine.fire(create(engine), "submit", HANDLER)
    assert sent == []  # inline = False: nothing is sent inside the command
    assert [(n.channel, n.topic) for n in engine.store.pending_notifications()] == [("im", "submit")]
    assert Dispatcher(engine).run_once().delivered == 1
    assert [mobile for mobile, _ in sent] == ["13800000001", "13800000002"]
    assert "「提交审批」" in sent[0][1]
    assert "待办：请审批" in sent[0][1]
    assert engine.store.delivery_counts() == {"delivered": 2}  # the log row and the im row


def test_a_failing_notifier_leaves_the_row_pending_for_a_retry_and_the_command_done() -> None:
    def down(mobile: str, text: str) -> None:
        raise ConnectionError("IM gateway down")

    engine = _im_engine(down)
    rid = create(engine)
    assert engine.fire(rid, "submit", HANDLER).reception.state == "submitted"
    report = Dispatcher(engine).run_once()
    assert (report.claimed, report.retried, report.dead) == (1, 1, 0)
    assert engine.store.delivery_counts() == {"delivered": 1, "pending": 1}


def test_a_notifier_without_any_mobile_to_send_to_dead_letters_the_row() -> None:
    engine = make_engine(snippet("notifier").MessengerNotifier(lambda mobile, text: None))
    engine.fire(create(engine), "submit", HANDLER)
    assert Dispatcher(engine).run_once().dead == 1


def test_shared_storage_gives_engines_of_one_url_the_same_store() -> None:
    storage = snippet("shared_storage")
    url = "shared-memory://test-docs"
    first = open_engine(url, autoload=False, plugins=[storage])
    second = open_engine(url, autoload=False, plugins=[storage])
    rid = create(first)
    assert second.get(rid) == first.get(rid)
    other = open_engine("shared-memory://elsewhere", autoload=False, plugins=[storage])
    assert other.store is not first.store
    with pytest.raises(StorageError):
        open_engine("nosuch://x", autoload=False, plugins=[storage])


def test_snippet_tests_pass_under_the_pytest_plugin(pytester: pytest.Pytester) -> None:
    """testing-kit.md's test modules pass as a plugin author would run them."""
    pytester.syspathinsert(SNIPPETS)
    result = pytester.runpytest_inprocess(
        str(SNIPPETS / "test_county_plugin.py"),
        str(SNIPPETS / "test_store_contract.py"),
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(
        passed=5 + len([n for n in dir(jiedai_flow.testing.StoreContract) if n.startswith("test_")])
    )


# -- errors.md ------------------------------------------------------------------------------------


def test_error_handler_lists_every_finding_or_the_error_code() -> None:
    submit = snippet("handle_errors").submit
    engine = make_engine()
    over = create(engine, companions=5, dishes=("鱼翅羹",))
    assert [m.split()[0] for m in submit(engine, over, HANDLER)] == ["M-02", "M-04"]
    assert submit(engine, over, ACTORS["approver"])[0].startswith("[not_authorized] ")
    assert submit(engine, create(engine), HANDLER) == []


# -- lifecycle.md: process versions ---------------------------------------------------------------


def test_receptions_stay_on_the_process_version_they_started_on() -> None:
    v2 = snippet("process_v2")
    old_engine = make_engine()
    old = started(old_engine)
    engine = v2.upgrade(old_engine)
    new = started(engine)
    assert (engine.get(old).process, engine.get(new).process) == ("reception@1", "reception@2")
    with pytest.raises(InvalidTransitionError):
        engine.fire(old, "cancel", HANDLER, reason="来访取消")
    assert engine.fire(new, "cancel", HANDLER, reason="来访取消").reception.state == "cancelled"


def test_a_reception_on_a_process_not_loaded_is_refused_with_a_clear_error() -> None:
    v2 = snippet("process_v2")
    engine = make_engine()
    rid = started(engine)
    only_v2 = jiedai_flow.Engine(engine.store, engine.plugins, processes=(v2.PROCESS_V2,))
    with pytest.raises(JiedaiFlowError, match="reception@1"):
        only_v2.fire(rid, "finish", HANDLER)


def submitted(engine: Engine) -> str:
    rid = create(engine)
    engine.fire(rid, "submit", HANDLER)
    return rid


def started(engine: Engine) -> str:
    rid = submitted(engine)
    engine.fire(rid, "approve", ACTORS["approver"])
    engine.fire(rid, "start", HANDLER)
    return rid


# -- facts the pages state ------------------------------------------------------------------------


def test_plugins_page_entry_point_example_uses_the_real_group() -> None:
    block = page("plugins.md").split("```toml\n", 1)[1].split("```", 1)[0]
    declared = tomllib.loads(block)["project"]["entry-points"]
    assert list(declared) == [ENTRY_POINT_GROUP]


def test_plugins_page_names_the_switches_and_every_built_in_plugin_with_its_hooks() -> None:
    text = page("plugins.md")
    assert DISABLE_AUTOLOAD_ENV in text
    assert BLOCKED_ENV in text
    rows = {cells[0]: cells[1:3] for cells in _table_rows(text, "插件名 plugin")}
    hooks = {info.name: info.hooks for info in make_engine().plugins.plugins()}
    assert list(rows) == [f"`{name}`" for name, _ in BUILTIN_PLUGINS]
    for name, module in BUILTIN_PLUGINS:
        assert rows[f"`{name}`"] == [f"`{module}`", ", ".join(f"`{h}`" for h in hooks[name])]


def test_built_in_plugins_are_trylast_except_the_separation_of_duties_wrapper() -> None:
    host = make_engine().plugins
    for name, _ in BUILTIN_PLUGINS:
        for caller in host.pm.get_hookcallers(host.pm.get_plugin(name)) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin_name == name:
                    assert impl.trylast or (impl.wrapper and impl.tryfirst), f"{name}: {impl.function}"


def test_errors_page_lists_every_error_class_with_its_code() -> None:
    importlib.import_module("jiedai_flow.reports")  # its errors subclass JiedaiFlowError too

    def subclasses(cls: type[JiedaiFlowError]) -> list[type[JiedaiFlowError]]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    documented = {
        cells[0].strip("`"): cells[1].strip("`") for cells in _table_rows(page("errors.md"), "类 class")
    }
    actual = {
        cls.__name__: cls.code
        for cls in subclasses(JiedaiFlowError)
        if cls.__module__.startswith("jiedai_flow.")
    }
    assert documented == actual


def test_every_error_class_but_the_reports_is_importable_from_the_package() -> None:
    """errors.md promises it: a host catches ``jiedai_flow.TaskError`` without knowing the module;
    the page names the exceptions (the report errors, the service's ``RetryAfter``)."""
    import jiedai_flow
    from jiedai_flow import errors

    elsewhere = {"ReportsNeedSQLError", "ListNotFiledError", "FormTemplateError", "RetryAfter"}
    missing = sorted(
        name
        for name, cls in vars(errors).items()
        if isinstance(cls, type)
        and issubclass(cls, JiedaiFlowError)
        and name not in elsewhere
        and getattr(jiedai_flow, name, None) is not cls
    )
    assert missing == []
    assert all(
        f"`{name}`" in page("errors.md").split("都可以从 `jiedai_flow` 直接导入")[1][:300]
        for name in elsewhere
    )


def test_errors_page_exit_codes_are_the_cli_exit_codes() -> None:
    """Each exit code's row names exactly the error classes ``EXIT_CODES`` maps to it; code 2 names
    only classes that ``EXIT_CODES`` leaves to the default."""
    from jiedai_flow.cli.app import EXIT_CODES, EXIT_USAGE

    importlib.import_module("jiedai_flow.reports")
    errors = {cls.__name__ for cls in _error_classes()}
    documented = {
        int(cells[0]): {name for name in re.findall(r"`(\w+)`", cells[2]) if name in errors}
        for cells in _table_rows(page("errors.md"), "退出码")
    }
    mapped = {code: {cls.__name__ for cls in classes} for code, _meaning, classes in EXIT_CODES}
    for code, names in mapped.items():
        assert documented[code] == names, code
    assert documented[EXIT_USAGE]
    assert not documented[EXIT_USAGE] & set().union(*mapped.values())


def _error_classes() -> list[type[JiedaiFlowError]]:
    def subclasses(cls: type[JiedaiFlowError]) -> list[type[JiedaiFlowError]]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    return [cls for cls in subclasses(JiedaiFlowError) if cls.__module__.startswith("jiedai_flow.")]


def test_architecture_page_routes_table_matches_the_default_routes() -> None:
    from jiedai_flow.process.engine import DEFAULT_ROUTES

    rows = _table_rows(page("architecture.md"), "操作 trigger")
    documented = {cells[0].strip("`"): tuple(re.findall(r"`(\w+)`", cells[1])) for cells in rows}
    assert documented == {key: tuple(r.value for r in roles) for key, roles in DEFAULT_ROUTES.items()}


def test_index_links_every_page_of_the_page_map() -> None:
    index = page("index.md")
    for target in ["lifecycle", "plugins", "hooks", "architecture", "testing-kit", "errors", "performance"]:
        assert f"]({target}.md)" in index


def _table_rows(text: str, first_header: str) -> list[list[str]]:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"| {first_header} |"):
            rows = []
            for body in lines[i + 2 :]:
                if not body.startswith("|"):
                    break
                rows.append([cell.strip() for cell in body.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"no table headed {first_header!r}")


def test_every_other_python_block_in_the_pages_runs() -> None:
    """Short blocks not taken from a snippet file (such as the import line) still import."""
    snippets = {(SNIPPETS / name).read_text(encoding="utf-8") for name in QUOTED_IN}
    for name in ["index.md", "lifecycle.md", "plugins.md", "architecture.md", "testing-kit.md", "errors.md"]:
        for block in re.findall(r"```python\n(.*?)```", page(name), re.S):
            if block not in snippets:
                exec(compile(block, name, "exec"), {})


def test_the_countersign_plugin_snippet_adds_a_parallel_step_above_3000_yuan() -> None:
    from decimal import Decimal

    from jiedai_flow.domain.model import Activity
    from jiedai_flow.domain.records import StepKind

    chain = snippet("countersign_chain")
    engine = make_engine(chain)
    plan = sample_plan()
    hall = Activity(plan.meals[0].on, "县会展中心", "项目推介会场地", cost=Decimal("3000"))
    rid = engine.create_reception(
        sample_letter(), attrs.evolve(plan, activities=(hall,)), handler=HANDLER, host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id  # fmt: skip
    steps = engine.fire(rid, "submit", HANDLER).reception.approval_chain
    assert [(s.shown, s.kind) for s in steps] == [
        ("部门负责人", StepKind.SINGLE),
        ("财政局、分管领导会签", StepKind.PARALLEL),
    ]


def test_the_countersign_toml_in_approvals_md_is_the_tested_snippet() -> None:
    block = page("approvals.md").split("```toml\n", 1)[1].split("```", 1)[0]
    assert block in (SNIPPETS / "county_countersign.toml").read_text(encoding="utf-8")


def test_every_test_approvals_md_names_as_proof_exists() -> None:
    """The operations table's last column (and the page's prose) names the tests that prove each
    rule: a renamed or missing test would leave a rule said and no longer shown."""
    named = set(re.findall(r"`(?:tests/\w+\.py::)?(test_\w+)`", page("approvals.md")))
    defined = {
        name
        for path in (ROOT / "tests").glob("test_*.py")
        for name in re.findall(r"^(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    }
    assert "test_an_earlier_countersigner_takes_back_their_own_signature" in named
    assert sorted(named - defined) == []

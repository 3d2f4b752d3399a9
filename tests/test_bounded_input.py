"""Input the database cannot hold is refused when it is read, with its path; nothing is half-written;
the command line never shows a traceback. Each test reproduces one gap: before these checks the
input crashed with a traceback (exit code 1) or failed only when written.

- money past a signed 64-bit count of fen (one amount, or a total a plan or a list stores);
- text longer than its typed column (host unit 200, reception id 64, actor id 64);
- a NUL character or a lone surrogate in any string;
- JSON or TOML nested thousands deep;
- a CSV that passed ``jiedai import --dry-run`` and then failed half-way;
- a write-time failure in the middle of an import;
- an unexpected exception (exit code 5, traceback in the log) and click's own usage errors
  (Chinese first, exit code 2).
"""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from jiedai_flow.domain.loading import MAX_DEPTH, check_document, dump, load, read_toml
from jiedai_flow.domain.model import (
    MAX_COUNT,
    MAX_FEN,
    MAX_YUAN,
    Actor,
    Guest,
    InvalidValueError,
    Lodging,
    OfficialLetter,
    Plan,
    ReceptionList,
    Role,
    RoomType,
    money,
)
from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.domain.samples import ACTORS, sample_letter, sample_plan
from jiedai_flow.domain.standards_toml import load_standards_text
from jiedai_flow.errors import ValidationError
from jiedai_flow.importer import import_file
from jiedai_flow.testing import make_engine
from tests.test_cli import Site, as_json, jiedai, make_site
from tests.test_import import row, write_csv

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow.process.engine import Engine

BIG = 100_000_000_000_000_000
"""A meal cost of 10¹⁷ yuan: 10¹⁹ fen, past 2⁶³ − 1."""
TWO = {"approvers": "孙浩;李娜", "explanations": "F-04=历史记录补录"}
"""What an import row needs on the ``jiedai init`` site (two approval steps, a late claim)."""


def problems(error: ValidationError) -> dict[str, str]:
    return {p.path: f"{p.message_zh} / {p.message_en}" for p in error.problems}


# -- the model refuses what storage cannot hold -------------------------------------------------------


def test_an_amount_past_64_bit_fen_is_refused_at_its_path() -> None:
    data = dump(sample_plan())
    data["meals"][0]["cost"] = BIG
    with pytest.raises(ValidationError) as refused:
        load(Plan, data)
    assert "金额过大" in problems(refused.value)["$.meals[0].cost"]
    assert money(MAX_YUAN) == MAX_YUAN  # the largest storable amount itself is fine
    with pytest.raises(InvalidValueError, match="金额过大"):
        money(MAX_YUAN + Decimal("0.01"))
    with pytest.raises(InvalidValueError, match="金额过大"):
        money(10**5000)  # past Python's int-to-text limit, still a clean refusal


def test_totals_a_plan_or_a_list_stores_must_fit_in_64_bit_fen() -> None:
    """Two meals that each fit can still add up past the planned_fen / actual_fen columns."""
    half = str(MAX_YUAN)
    data = dump(sample_plan())
    data["meals"] = [data["meals"][0] | {"cost": half}, data["meals"][0] | {"cost": "0.01"}]
    with pytest.raises(ValidationError) as refused:
        load(Plan, data)
    assert "预计费用合计" in problems(refused.value)["$"]
    item = {"on": "2026-03-02", "item": "住宿", "place": "县宾馆"}
    guests = [dump(g) for g in sample_letter().personnel]
    listing = {"guests": guests, "items": [item | {"cost": half}, item | {"cost": "1.00"}]}
    with pytest.raises(ValidationError) as refused:
        load(ReceptionList, listing)
    assert "实际费用合计" in problems(refused.value)["$"]
    with pytest.raises(InvalidValueError, match="住宿费合计"):
        Lodging("宾馆", RoomType.STANDARD, MAX_COUNT, MAX_COUNT, Decimal("100.00"))
    assert Plan().planned_fen == 0 <= MAX_FEN


def test_counts_are_bounded_like_their_columns() -> None:
    data = dump(sample_plan())
    data["meals"][0]["guests"] = MAX_COUNT + 1
    with pytest.raises(ValidationError) as refused:
        load(Plan, data)
    assert "$.meals[0].guests" in problems(refused.value)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("a\x00b", "NUL"),
        ("a\ud800b", "代理码位"),
        ("A\x1b]0;pwned\x07\x1b[2JB", "控制字符"),  # retitles and clears a terminal
        ("a\x85b", "控制字符"),
    ],
)
def test_a_nul_a_lone_surrogate_or_a_control_character_is_refused_in_every_string(
    bad: str, says: str
) -> None:
    """In a plain field, a list of strings, an enum, a key; and when the object is built directly.
    Tabs and line breaks are text (below); other control characters a terminal would obey."""
    letter = dump(sample_letter())
    letter["sending_unit"] = bad
    letter["itinerary"]["places"] = ["县城", bad]
    letter["personnel"][0]["rank"] = bad
    letter[bad] = "x"
    with pytest.raises(ValidationError) as refused:
        load(OfficialLetter, letter)
    found = problems(refused.value)
    assert says in found["$.sending_unit"]
    assert says in found["$.itinerary.places[1]"]
    assert says in found["$.personnel[0].rank"]
    unknown = next(p for p in found if "未知字段" in found[p])
    assert not re.search("[\x00-\x1f\ud800-\udfff]", unknown)  # the path quotes and escapes the key
    str(refused.value).encode("utf-8")  # every message can be printed
    with pytest.raises(ValidationError, match=says):
        load(Guest, {"name": "某人", "unit": "单位", "post": bad})


def test_tabs_and_line_breaks_are_text() -> None:
    letter = dump(sample_letter())
    letter["content"] = "调研\t乡村振兴\r\n第二行\n第三行"
    assert load(OfficialLetter, letter).content == letter["content"]


def test_stored_rows_with_such_text_stay_readable(tmp_path: Path) -> None:
    """Text is checked when it is loaded, not when a model object is built: a row written before
    these checks (SQLite and MariaDB took a NUL) still reads back from the database."""
    import sqlite3

    from jiedai_flow.domain.samples import ACTORS as PEOPLE

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url=url)
    created = engine.create_reception(
        sample_letter(),
        sample_plan(),
        handler=PEOPLE["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception
    engine.store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "old.db")) as db, db:
        (data,) = db.execute("SELECT data FROM jd_receptions").fetchone()
        db.execute("UPDATE jd_receptions SET data = ?", (data.replace("市", "市\\u0000", 1),))
    engine = make_engine(url=url)
    try:
        letter = engine.get(created.id).letter
        assert "\x00" in letter.number + letter.sending_unit
    finally:
        engine.store.close()


def test_an_actor_id_longer_than_the_audit_column_is_refused() -> None:
    actor = {"name": "某人", "roles": ["handler"]}
    with pytest.raises(ValidationError) as refused:
        load(Actor, actor | {"id": "x" * 65})
    assert "64" in problems(refused.value)["$.id"]
    assert load(Actor, actor | {"id": "x" * 64}).roles == {Role.HANDLER}


def test_files_nested_too_deep_are_data_errors() -> None:
    with pytest.raises(ValidationError, match="嵌套过深"):
        read_toml("a = " + "[" * 50_000 + "]" * 50_000)
    with pytest.raises(ValidationError, match="嵌套过深"):
        read_toml("a = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(ValidationError, match="数字过长"):
        read_toml("a = " + "1" * 5000)
    with pytest.raises(ValidationError, match="嵌套过深"):
        load_standards_text('name = "x"\n' + "a = " + "{b=" * 3000 + "1" + "}" * 3000)
    check_document({"a": [[1]] * 3})  # ordinary nesting passes
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValidationError) as refused:
        load(Plan, {"meals": [{"dishes": deep}]})  # a wrong type, shown cut short, not a RecursionError
    assert len(str(refused.value)) < 2000


def test_a_notifiers_file_nested_too_deep_is_a_data_error(tmp_path: Path) -> None:
    from jiedai_flow.notify.channels.config import load_notifiers

    path = tmp_path / "notifiers.toml"
    path.write_text("x = " + "[" * 50_000 + "]" * 50_000, encoding="utf-8")
    with pytest.raises(ValidationError, match="嵌套过深"):
        load_notifiers(path)


# -- the command line on every database ----------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """``jiedai init`` on a SQLite file."""
    return make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)


@pytest.fixture
def site_on(sql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """``jiedai init`` on SQLite, PostgreSQL and MariaDB."""
    return make_site(sql_url, tmp_path, monkeypatch)


def _count() -> int:
    return len(as_json("list", "--limit", "10000")["items"])


def _hostile_files(path: Path) -> dict[str, tuple[str, str]]:
    """name → (file, what the refusal says, at which path), from the example ``jiedai init`` wrote."""
    text = (path / "jiedai-reception.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)

    def variant(name: str, old: str, new: str) -> str:
        assert old in text
        (path / name).write_text(text.replace(old, new), encoding="utf-8")
        return name

    def as_json_file(name: str, change: Any) -> str:
        copy = json.loads(json.dumps(data, default=str))
        change(copy)
        (path / name).write_text(json.dumps(copy), encoding="utf-8")  # ascii: "\ud800" escaped
        return name

    def two_meals(copy: dict[str, Any]) -> None:
        meal = copy["plan"]["meals"][0]
        copy["plan"]["meals"] = [meal | {"cost": str(MAX_YUAN)}, meal | {"cost": "1.00"}]

    (path / "deep.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    (path / "deep.toml").write_text("a = " + "[" * 50_000 + "]" * 50_000, encoding="utf-8")
    return {
        "money": (variant("money.toml", 'cost = "275.00"', f"cost = {BIG}"), "$.plan.meals[0].cost"),
        "total": (as_json_file("total.json", two_meals), "$.plan"),
        "host_unit": (
            variant("unit.toml", 'host_unit = "县政府办公室"', f'host_unit = "{"县" * 201}"'),
            "$.reception.host_unit",
        ),
        "id": (
            variant("id.toml", 'type = "国内公务接待"', f'type = "国内公务接待"\nid = "{"r" * 65}"'),
            "$.reception.id",
        ),
        "nul": (
            variant("nul.toml", 'sending_unit = "市农业农村局"', 'sending_unit = "市农\\u0000业"'),
            "$.letter.sending_unit",
        ),
        "surrogate": (
            as_json_file("surrogate.json", lambda c: c["letter"].update(sending_unit="\ud800")),
            "$.letter.sending_unit",
        ),
        "deep_json": ("deep.json", "$"),
        "deep_toml": ("deep.toml", "$"),
    }


def test_hostile_reception_files_are_refused_with_their_path_and_nothing_is_written(site_on: Site) -> None:
    """`jiedai new` and `jiedai check` agree: exit 2, the problem at its path, no reception added."""
    before = _count()
    for name, (file, at) in _hostile_files(site_on.path).items():
        refused = as_json("new", file, code=2)["error"]
        assert at in {p["path"] for p in refused["problems"]}, (name, refused)
        assert as_json("check", file, code=2)["error"]["problems"] == refused["problems"], name
        shown = jiedai("new", file, code=2).output
        assert "错误" in shown, name
    assert _count() == before
    assert "审计链完整" in jiedai("audit", "verify").output


def test_an_import_row_the_database_cannot_hold_fails_the_dry_run_too(site_on: Site) -> None:
    """Money past 64-bit fen and a host unit past 200 characters: the dry run and the real run
    report the same rows and columns, and nothing is written."""
    path = write_csv(
        site_on.path / "bad.csv",
        [
            row(**TWO),
            row(letter_number="二", meal_cost=str(BIG), **TWO),
            row(letter_number="三", host_unit="县" * 201, **TWO),
        ],
    )
    before = _count()
    dry = as_json("import", path, "--as", "admin", "--dry-run", code=2)
    real = as_json("import", path, "--as", "admin", code=2)
    assert {(e["row"], e["column"]) for e in dry["errors"]} == {(3, "meal_cost"), (4, "host_unit")}
    assert real["errors"] == dry["errors"]
    assert not real["written"]
    assert _count() == before


def test_a_nul_in_an_import_cell_is_a_row_error(site_on: Site) -> None:
    path = write_csv(
        site_on.path / "nul.csv", [row(**TWO), row(letter_number="二", content="调\x00研", **TWO)]
    )
    errors = as_json("import", path, "--as", "admin", "--dry-run", code=2)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "content")]


def test_a_terminal_escape_in_a_reception_file_or_a_reason_is_refused_and_nothing_is_written(
    site: Site,
) -> None:
    """An escape sequence in the letter's content would reach an auditor's terminal through ``jiedai
    show``; in a comment, through ``jiedai history``."""
    text = (site.path / "jiedai-reception.toml").read_text(encoding="utf-8")
    (site.path / "escape.toml").write_text(
        text.replace('content = "', 'content = "\\u001b]0;pwned\\u0007', 1), encoding="utf-8"
    )
    shown = jiedai("new", "escape.toml", code=2).output
    assert "$.letter.content" in shown
    assert "控制字符 \\x1b" in shown
    assert "\x1b" not in shown
    rid = site.new()
    shown = jiedai("comment", rid, "--as", "zhang.wei", "--reason", "看\x1b[2J", code=2).output
    assert "控制字符" in shown
    assert [e["trigger"] for e in as_json("history", rid)] == ["create"]


# -- import: all or nothing ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    from tests.databases import private_database

    yield from private_database(request.param, tmp_path)


@pytest.fixture
def real_engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(url=db_url)
    yield made
    made.store.close()


def _receptions(engine: Engine) -> list[str]:
    return sorted(r.letter.number for r in engine.query(ReceptionQuery(limit=1000)).items)


def _driver_error(engine: Engine) -> type[Exception]:
    error: type[Exception] = engine.store.db.dialect.loaded_dbapi.OperationalError  # type: ignore[attr-defined]
    return error


def test_a_write_time_failure_rolls_back_the_whole_file_and_a_rerun_imports_it(
    real_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rehearsal passed; then the database fails creating row 4 (the driver's own error, not a
    jiedai_flow error). The file is one transaction: rows 2–3, already written inside it, are rolled
    back with it, nothing is imported, the error names row 4; the same file run again imports all."""
    path = write_csv(
        tmp_path / "rows.csv",
        [row(), row(letter_number="二"), row(letter_number="三"), row(letter_number="四")],
    )
    store = real_engine.store
    real_create = store.create
    lost = _driver_error(real_engine)

    def failing(reception: Any, *args: Any, **kwargs: Any) -> Any:
        if reception.letter.number == "三":
            raise lost("server closed the connection unexpectedly")
        return real_create(reception, *args, **kwargs)

    monkeypatch.setattr(store, "create", failing)
    stopped = import_file(real_engine, path, ACTORS["admin"])
    assert not stopped.written
    assert not stopped.interrupted
    assert stopped.imported == ()
    assert any(e.row == 4 and "写入数据库时出错" in e.message_zh for e in stopped.errors)
    assert "已全部回滚" in stopped.errors[-1].message_zh
    assert _receptions(real_engine) == []
    assert real_engine.store.verify().ok  # type: ignore[attr-defined]

    monkeypatch.setattr(store, "create", real_create)
    finished = import_file(real_engine, path, ACTORS["admin"])
    assert finished.ok
    assert [i.status for i in finished.imported] == ["imported"] * 4
    assert len(_receptions(real_engine)) == 4
    assert real_engine.store.verify().ok  # type: ignore[attr-defined]


def test_a_plugin_that_vetoes_only_the_real_write_leaves_nothing_imported(
    db_url: str, tmp_path: Path
) -> None:
    """A ``jiedai_before_transition`` that lets the rehearsal of row 3 through and vetoes its real
    submission (the second it sees) — a row that fails only at write time: row 2, written before it
    in the same transaction, is rolled back too; a rerun imports the file."""
    from jiedai_flow.hookspecs import hookimpl

    class Flaky:
        seen = 0

        @hookimpl
        def jiedai_before_transition(self, before: Any, after: Any, event: Any) -> None:
            del before
            if event.trigger == "submit" and after.letter.number == "二":
                self.seen += 1
                if self.seen == 2:  # the first was the rehearsal
                    raise RuntimeError("external registry unavailable")

    engine = make_engine(Flaky(), url=db_url)
    try:
        path = write_csv(tmp_path / "rows.csv", [row(), row(letter_number="二"), row(letter_number="三")])
        stopped = import_file(engine, path, ACTORS["admin"])
        assert not stopped.written
        assert any(e.row == 3 for e in stopped.errors)
        assert _receptions(engine) == []
        assert engine.store.verify().ok  # type: ignore[attr-defined]
        finished = import_file(engine, path, ACTORS["admin"])  # the plugin lets it through now
        assert [i.status for i in finished.imported] == ["imported"] * 3
    finally:
        engine.store.close()


class _NoTransactions:
    """A store without transactions across commands (a third-party back end): everything of the
    in-memory store except ``transaction``."""

    def __init__(self) -> None:
        from jiedai_flow.storage.memory import MemoryStore

        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        if name == "transaction":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_without_transactions_a_write_time_failure_stops_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    """On a store that cannot span commands the import gets the same effect by resuming: it stops at
    the row, says what was written, and the same file run again finishes it without a step twice."""
    from jiedai_flow.hookspecs import hookimpl
    from jiedai_flow.plugins import PluginHost, make_plugin_manager
    from jiedai_flow.process.engine import Engine as EngineClass
    from jiedai_flow.testing import FrozenClock

    class Flaky:
        seen = 0

        @hookimpl
        def jiedai_before_transition(self, before: Any, after: Any, event: Any) -> None:
            del before
            if event.trigger == "submit" and after.letter.number == "二":
                self.seen += 1
                if self.seen == 2:
                    raise RuntimeError("external registry unavailable")

    store = _NoTransactions()
    reference = make_engine(Flaky())
    engine = EngineClass(store, reference.plugins, clock=FrozenClock())  # type: ignore[arg-type]
    del make_plugin_manager, PluginHost
    path = write_csv(tmp_path / "rows.csv", [row(), row(letter_number="二"), row(letter_number="三")])
    stopped = import_file(engine, path, ACTORS["admin"])
    assert stopped.interrupted
    assert [i.row for i in stopped.imported] == [2]
    summary = stopped.errors[-1].message_zh
    assert "第 2 行已导入" in summary
    assert "停在「draft」" in summary
    assert "第 4 行未开始" in summary
    finished = import_file(engine, path, ACTORS["admin"])
    assert [i.status for i in finished.imported] == ["already", "resumed", "imported"]


# -- command-line errors ------------------------------------------------------------------------------------


def test_an_unexpected_exception_is_exit_code_5_with_the_traceback_in_the_log(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jiedai_flow.cli import receptions

    log = tmp_path / "logs" / "jiedai.log"
    monkeypatch.setenv("JIEDAI_LOG", str(log))

    def broken(path: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(receptions, "load_reception_file", broken)
    shown = jiedai("new", "jiedai-reception.toml", code=5).output
    assert "内部错误" in shown
    assert "internal error" in shown
    assert str(log) in shown
    assert "Traceback" not in shown
    written = log.read_text(encoding="utf-8")
    assert "Traceback" in written
    assert "ZeroDivisionError: a bug" in written
    error = as_json("new", "jiedai-reception.toml", code=5)["error"]
    assert (error["code"], error["exit_code"], error["log"]) == ("internal", 5, str(log))


def test_the_database_driver_s_own_error_is_a_storage_error(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error of the driver itself (raised past SQLAlchemy) ends with exit code 4, not 5."""
    import sqlite3

    from jiedai_flow.storage.sql import SQLStore

    def lost(self: Any, reception_id: str) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    reception_id = site.new()
    monkeypatch.setattr(SQLStore, "load", lost)
    assert "disk I/O error" in jiedai("show", reception_id, code=4).output


@pytest.mark.parametrize(
    ("args", "chinese", "english"),
    [
        (["new"], "缺少参数", "Missing argument"),
        (["list", "--bogus"], "没有选项 --bogus", "No such option"),
        (["report", "summary", "--year", "2026", "--format", "pdf"], "不是可选的值", "is not one of"),
        (["list", "--limit", "0"], "不在范围", "is not in the range"),
        (["list", "--state"], "后面要有一个值", "requires an argument"),
        (["frobnicate"], "没有命令", "No such command"),
    ],
)
def test_click_usage_errors_are_chinese_first_with_exit_code_2(
    site: Site, args: list[str], chinese: str, english: str
) -> None:
    shown = jiedai(*args, code=2).output
    assert chinese in shown
    assert english in shown
    assert shown.index(chinese) < shown.index(english)


def test_a_usage_error_with_json_is_a_json_error(site: Site) -> None:
    error = as_json("list", "--limit", "0", code=2)["error"]
    assert (error["code"], error["exit_code"]) == ("usage", 2)
    assert "不在范围" in error["message_zh"]


def test_a_huge_date_or_amount_in_a_list_file_is_a_data_error(site: Site) -> None:
    """`jiedai claim --list` reads through the same checks."""
    reception_id = site.new()
    data = tomllib.loads((site.path / "jiedai-list.toml").read_text(encoding="utf-8"))
    listing = json.loads(json.dumps(data, default=str))
    table = listing.get("list") or listing.get("reception_list") or listing
    table["meals"][0]["cost"] = str(BIG)
    (site.path / "big-list.json").write_text(json.dumps(listing), encoding="utf-8")
    jiedai("submit", reception_id, "--as", "zhang.wei")
    shown = jiedai("claim", reception_id, "--as", "zhang.wei", "--list", "big-list.json", code=2).output
    assert "金额过大" in shown


# -- text passed straight to the engine --------------------------------------------------------------


def test_engine_arguments_no_column_can_hold_are_refused_before_anything_is_written(db_url: str) -> None:
    """A host unit of 201 characters, a NUL in a reason, a request id of 129 characters, a task
    handed to an id of 65 characters: clear errors with the argument named, nothing written."""
    from jiedai_flow.errors import TaskError, ValidationError
    from jiedai_flow.process.tasks import Transfer
    from jiedai_flow.testing import sample_letter, sample_plan

    engine = make_engine(url=db_url)
    try:
        with pytest.raises(ValidationError) as caught:
            engine.create_reception(
                sample_letter(), sample_plan(), handler=ACTORS["handler"], host_unit="局" * 201,
                jurisdiction="341502", request_id="r" * 129,
            )  # fmt: skip
        assert {p.path for p in caught.value.problems} == {"$.host_unit", "$.request_id"}
        assert _receptions(engine) == []
        rid = engine.create_reception(
            sample_letter(), sample_plan(), handler=ACTORS["handler"], host_unit="县政府办公室",
            jurisdiction="341502",
        ).reception.id  # fmt: skip
        with pytest.raises(ValidationError, match="NUL"):
            engine.fire(rid, "submit", ACTORS["handler"], reason="提交\x00")
        with pytest.raises(ValidationError, match="控制字符"):
            engine.fire(rid, "submit", ACTORS["handler"], reason="提交\x1b[2J")
        engine.fire(rid, "submit", ACTORS["handler"])
        with pytest.raises(TaskError, match="64"):
            engine.operate(rid, Transfer("x" * 65), ACTORS["approver"], reason="转办")
        assert engine.get(rid).version == 2
    finally:
        engine.store.close()


def test_a_year_s_ledger_that_would_pass_64_bit_fen_is_refused_like_an_overrun(db_url: str) -> None:
    """Each amount fits 64-bit fen, but the year's ledger row would not: F-05 refuses the approval
    that would pass it, instead of the database failing."""
    from jiedai_flow.domain.model import MAX_FEN
    from jiedai_flow.domain.records import LedgerEntry
    from jiedai_flow.errors import BudgetExceededError

    engine = make_engine(url=db_url)
    try:
        store = engine.store
        half = MAX_FEN // 2 + 1
        first = LedgerEntry("县政府办公室", 2026, committed_fen=half)
        probe = _ledger_save(engine, first)
        assert store.budget_usage("县政府办公室", 2026).committed_fen == half
        with pytest.raises(BudgetExceededError) as caught:
            _ledger_save(engine, first, probe)
        assert caught.value.cap_fen == MAX_FEN
        assert store.budget_usage("县政府办公室", 2026).committed_fen == half
    finally:
        engine.store.close()


def _ledger_save(engine: Engine, entry: Any, reception: Any = None) -> Any:
    """Save a reception with one ledger change, the way the engine books an approval."""
    import attrs

    from jiedai_flow.testing import sample_letter, sample_plan

    if reception is None:
        reception = engine.create_reception(
            sample_letter(), sample_plan(), handler=ACTORS["handler"], host_unit="县政府办公室",
            jurisdiction="341502",
        ).reception  # fmt: skip
    result = engine.fire(reception.id, "edit", ACTORS["handler"])
    after = attrs.evolve(result.reception, version=result.reception.version + 1)
    event = attrs.evolve(result.event, id=result.event.id[:-4] + "beef", seq=after.version)
    engine.store.save(
        after, expected_version=after.version - 1, event=event, outbox=(), record=None, ledger=(entry,)
    )
    return after


@pytest.mark.parametrize("bad", ["a/b", "x\r\ny", "-lead", ".hidden", "名字", "a b", "x" * 65])
def test_a_reception_id_is_a_path_segment_and_a_header_value(bad: str) -> None:
    """A chosen reception id is refused, naming it, when an address or a header could not carry it
    (the HTTP API's ``/receptions/{id}``, its ``Location``); ordinary ids are kept as given."""
    engine = make_engine()
    try:
        with pytest.raises(ValidationError) as caught:
            engine.create_reception(
                sample_letter(), sample_plan(), handler=ACTORS["handler"], host_unit="县政府办公室",
                jurisdiction="341502", reception_id=bad,
            )  # fmt: skip
        assert caught.value.problems[0].path == "$.reception_id"
        for good in ("2026-JD.001", "oa_12345"):
            made = engine.create_reception(
                sample_letter(), sample_plan(), handler=ACTORS["handler"], host_unit="县政府办公室",
                jurisdiction="341502", reception_id=good,
            )  # fmt: skip
            assert made.reception.id == good
    finally:
        engine.store.close()


def test_a_form_reads_only_plain_whole_numbers() -> None:
    """The web forms' numbers: ASCII digits with an optional sign, at most 18 of them; anything else
    stays text for the loader to refuse at its field — never an exception of ``int()``."""
    from jiedai_flow.server.web.forms import form_version, whole

    assert (whole(" 12 "), whole("-3")) == (12, -3)
    for text in ("²", "--5", "٣", "9" * 5000, "1e3", ""):
        assert whole(text) == text
    assert (form_version({"version": "7"}), form_version({"version": "²"}), form_version({})) == (
        7,
        None,
        None,
    )


def test_a_day_far_outside_the_years_of_receptions_is_refused_at_its_field() -> None:
    """9999-12-31 (or year 1) is a typo, and a deadline counted on from it would run past the end of
    the calendar (a rule raised inside the engine): refused where it is written, with the range."""
    from jiedai_flow.domain.model import Itinerary

    for typo in ("9999-12-31", "0001-01-01", "3000-01-01"):
        with pytest.raises(ValidationError) as caught:
            load(Itinerary, {"start": "2026-05-08", "end": typo, "places": ["北京"], "summary": "调研"})
        (problem,) = caught.value.problems
        assert problem.path == "$.end"
        assert "1900–2999 年间的日期" in problem.message_zh
    assert load(
        Itinerary, {"start": "2026-05-08", "end": "2026-05-09", "places": ["北京"], "summary": "调研"}
    )


def test_a_reception_file_dated_far_outside_the_years_is_refused_at_its_field() -> None:
    """The ``[reception]`` table's own start or end is held to the same years as every other day."""
    from jiedai_flow.cli.inputs import ReceptionHeader

    header = {"jurisdiction": "341502", "host_unit": "县政府办公室", "end": "9999-12-31"}
    with pytest.raises(ValidationError) as caught:
        load(ReceptionHeader, header)
    assert [p.path for p in caught.value.problems] == ["$.end"]


def test_text_stored_with_control_characters_is_shown_not_obeyed(site: Site) -> None:
    """A program using the library, or a row stored before such text was refused, can hold an escape
    sequence: ``show``, ``history`` and ``list`` print it as ``�``, never raw."""
    import attrs

    from jiedai_flow import open_engine
    from jiedai_flow.testing import sample_letter, sample_plan

    engine = open_engine(f"sqlite:///{site.path / 'jiedai.db'}", autoload=False)
    try:
        letter = attrs.evolve(
            sample_letter(), content="\x1b]0;PWNED\x07\x1b[2J调研", sending_unit="\x1b[31m某局"
        )
        rid = engine.create_reception(
            letter, sample_plan(), handler=ACTORS["handler"], host_unit="县政府办公室", jurisdiction="341502"
        ).reception.id
    finally:
        engine.store.close()
    for args in (("show", rid), ("history", rid), ("list",)):
        shown = jiedai(*args).output
        assert "\x1b" not in shown
        assert "\x07" not in shown
    assert "\ufffd[31m某局" in jiedai("show", rid).output  # shown, so the reader sees something was there

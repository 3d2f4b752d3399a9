"""docs/input-reference.md and ``jiedai schema`` keep up with the model: every field and every enum
spelling the loader accepts is documented and in the schema, the schema accepts what ``jiedai init``
writes and refuses what the loader refuses, and the no-letter case is what the page says."""

from __future__ import annotations

import json
import re
import tomllib
import traceback
import typing
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from jiedai_flow.cli import main, schemas
from jiedai_flow.cli.inputs import ReceptionFile
from jiedai_flow.cli.starter import list_toml, reception_toml
from jiedai_flow.docgen import PAGES, check
from jiedai_flow.domain import inputref
from jiedai_flow.domain.inputref import INPUT_PATH, json_schema, render_input_reference
from jiedai_flow.domain.loading import converter, load
from jiedai_flow.domain.model import LabelledEnum, OfficialLetter, ReceptionList, money
from jiedai_flow.domain.records import FollowUp
from jiedai_flow.errors import ValidationError
from jiedai_flow.importer.columns import COLUMNS

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / INPUT_PATH
ENV = {"COLUMNS": "300", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"}
ROOTS = {"reception": ReceptionFile, "list": ReceptionList, "follow-up": FollowUp}
TODAY = date(2026, 5, 20)


def jiedai(*args: str | Path, code: int) -> Result:
    """Run ``jiedai args``: no traceback, exit code ``code``."""
    result = CliRunner().invoke(main, [str(a) for a in args], env=ENV, prog_name="jiedai")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(result.exception)) + result.output)
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result


def inner_types(tp: Any) -> Iterator[Any]:
    yield tp
    for arg in typing.get_args(tp):
        yield from inner_types(arg)


def classes_from(root: type[Any]) -> list[type[Any]]:
    """``root`` and every attrs class its fields hold, by ``attrs.fields``."""
    found: list[type[Any]] = []
    todo = [root]
    while todo:
        cls = todo.pop(0)
        if cls not in found:
            found.append(cls)
            todo += [t for f in inputref.fields_of(cls) for t in inner_types(f.type) if attrs.has(t)]
    return found


CLASSES = {cls for root in ROOTS.values() for cls in classes_from(root)}
ENUMS = {
    t
    for cls in CLASSES
    for f in inputref.fields_of(cls)
    for t in inner_types(f.type)
    if isinstance(t, type) and issubclass(t, LabelledEnum)
}


def types_in(cls: type[Any]) -> set[Any]:
    """Every type the fields of ``cls`` name, inner types included."""
    return {t for f in inputref.fields_of(cls) for t in inner_types(f.type)}


def section(name: str) -> str:
    """The page's section on class or enum ``name``, up to the next heading."""
    text = PAGE.read_text(encoding="utf-8")
    found = re.search(rf"^### [^\n]*`{name}`\n(.*?)(?=^##)", text, re.S | re.M)
    assert found, f"no section for {name}"
    return found[1]


def rows(text: str) -> dict[str, list[str]]:
    """The rows of the table in ``text`` by their first cell (without backticks)."""
    table = [line for line in text.splitlines() if line.startswith("| `")]
    split = ([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in table)
    return {cells[0].strip("`"): cells for cells in split}


def json_safe(data: Any) -> Any:
    """TOML data as JSON would carry it: dates as ISO strings, decimals as strings."""
    return json.loads(json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, date) else str(v)))


def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(json_schema(kind), format_checker=Draft202012Validator.FORMAT_CHECKER)


def reception_data() -> dict[str, Any]:
    return json_safe(tomllib.loads(reception_toml(TODAY)))


def list_data() -> dict[str, Any]:
    return json_safe(tomllib.loads(list_toml(TODAY)))


# -- the page ------------------------------------------------------------------------------------


def test_the_page_is_what_the_generator_writes_now() -> None:
    assert PAGE.read_text(encoding="utf-8") == render_input_reference(), (
        f"stale; run: {inputref.REGENERATE_INPUT}"
    )


def test_docgen_generates_and_checks_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PAGES["input"] == (INPUT_PATH, render_input_reference, inputref.REGENERATE_INPUT)
    monkeypatch.chdir(ROOT)
    assert check([INPUT_PATH]) == 0


def test_the_documented_classes_are_every_class_reachable_by_attrs_fields() -> None:
    assert set(inputref.input_classes()) == CLASSES
    assert set(inputref.input_enums()) == ENUMS


@pytest.mark.parametrize("cls", sorted(CLASSES, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_field_is_on_the_page_with_its_meaning_and_default(cls: type[Any]) -> None:
    documented = rows(section(cls.__name__))
    fields = inputref.fields_of(cls)
    assert list(documented) == [f.name for f in fields]
    for field in fields:
        _name, _type, default, meaning, example = documented[field.name]
        assert meaning.strip()
        assert example.strip()
        assert ("必填" in default) == (field.default is attrs.NOTHING)


@pytest.mark.parametrize("cls", sorted(CLASSES, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_field_is_in_the_schema_with_what_it_requires(cls: type[Any]) -> None:
    kind = next(k for k, root in ROOTS.items() if cls in classes_from(root))
    defined = json_schema(kind)["$defs"][cls.__name__]
    fields = inputref.fields_of(cls)
    assert list(defined["properties"]) == [f.name for f in fields]
    assert defined["required"] == [f.name for f in fields if f.default is attrs.NOTHING]
    assert defined["additionalProperties"] is False
    assert all(p["description"] for p in defined["properties"].values())


def test_every_example_on_the_page_is_a_value_the_loader_takes() -> None:
    for cls in CLASSES:
        for field in inputref.fields_of(cls):
            text = inputref.example(cls, field.name)
            if not text:  # a table or a list of tables: the page names its TOML header instead
                assert any(attrs.has(t) for t in inner_types(field.type)), f"{cls.__name__}.{field.name}"
                continue
            value = converter.structure(tomllib.loads(f"v = {text}")["v"], field.type)
            if field.validator is not None:
                field.validator(None, field, value)


def test_the_meanings_table_names_no_field_the_model_does_not_have() -> None:
    known = {f"{cls.__name__}.{f.name}" for cls in CLASSES for f in inputref.fields_of(cls)}
    assert set(inputref._FIELDS) == known


def test_attribute_docstrings_from_the_source_are_used() -> None:
    assert "GB/T 2260 code of the sending unit's area" in inputref.meaning(
        OfficialLetter, "sending_jurisdiction"
    )
    assert "What happened or is to be done" in rows(section("FollowUp"))["summary"][3]


@pytest.mark.parametrize("enum_cls", sorted(ENUMS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_enum_value_label_and_alias_is_on_the_page_and_in_the_schema(
    enum_cls: type[LabelledEnum],
) -> None:
    documented = rows(section(enum_cls.__name__))
    kind = next(k for k, root in ROOTS.items() if any(enum_cls in types_in(c) for c in classes_from(root)))
    allowed = json_schema(kind)["$defs"][enum_cls.__name__]["enum"]
    aliases = set(inputref.model._ALIASES.get(enum_cls.__name__, {}))
    for member in enum_cls:
        spellings = {member.value, member.label, *member.label.split("/")}
        spellings |= {a for a in aliases if enum_cls.parse(a) is member}
        row = " ".join(documented[member.value])
        for text in spellings:
            assert enum_cls.parse(text) is member
            assert f"`{text}`" in row or f" {text} " in row, (member, text)
            assert text in allowed


# -- the schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", inputref.SCHEMA_KINDS)
def test_each_schema_is_a_valid_draft_2020_12_schema(kind: str) -> None:
    schema = json_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert re.match(r"[\u4e00-\u9fff]", schema["title"]), "Chinese first"


def test_the_schema_accepts_the_sample_reception_file_jiedai_init_writes() -> None:
    validator("reception").validate(reception_data())


def test_the_schema_accepts_the_sample_list_file_bare_and_in_a_list_table() -> None:
    validator("list").validate(list_data())
    validator("list").validate({"list": list_data()})
    validator("list").validate({"reception_list": list_data()})


def test_the_schema_accepts_a_follow_up_entry() -> None:
    entry = {"kind": "投资意向", "summary": "二期扩产", "owner": "zhang.wei", "due": "2026-06-01"}
    validator("follow-up").validate(entry)
    validator("follow-up").validate({"follow_up": entry})
    load(FollowUp, entry)


@pytest.mark.parametrize(
    ("where", "key"),
    [((), "extra"), (("reception",), "hanlder"), (("letter", "itinerary"), "x"), (("plan",), "meal")],
)
def test_an_unknown_field_is_refused_by_the_schema_as_by_the_loader(where: tuple[str, ...], key: str) -> None:
    data = reception_data()
    target = data
    for step in where:
        target = target[step]
    target[key] = "?"
    assert not validator("reception").is_valid(data)
    with pytest.raises(ValidationError, match="未知字段"):
        load(ReceptionFile, data)


def test_an_unknown_field_in_a_list_of_tables_is_refused_too() -> None:
    data = list_data()
    data["payments"][0]["card"] = "6222"
    assert not validator("list").is_valid(data)
    with pytest.raises(ValidationError, match="未知字段"):
        load(ReceptionList, data)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("letter", "personnel", 0, "rank"), "大官"),
        (("letter", "kind"), "没有"),
        (("plan", "meals", 0, "venue_type"), "KTV"),
        (("reception", "type"), "private"),
    ],
)
def test_a_wrong_enum_value_is_refused_by_the_schema_as_by_the_loader(
    path: tuple[str | int, ...], value: str
) -> None:
    data = reception_data()
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert not validator("reception").is_valid(data)
    with pytest.raises(ValidationError, match="不是有效取值"):
        load(ReceptionFile, data)


def test_labels_and_aliases_are_accepted_by_the_schema_as_by_the_loader() -> None:
    data = reception_data()
    data["letter"]["personnel"][0]["rank"] = "处级"  # an alias
    data["letter"]["kind"] = "phone_record"  # the English id
    validator("reception").validate(data)
    load(ReceptionFile, data)


@pytest.mark.parametrize(
    ("amount", "ok"), [("275.00", True), ("275", True), ("0.5", True), ("1.005", False), ("-1.00", False)]
)
def test_money_is_a_decimal_string_of_at_most_two_places(amount: str, ok: bool) -> None:
    data = reception_data()
    data["plan"]["budget"] = amount
    assert validator("reception").is_valid(data) is ok
    if not ok:
        with pytest.raises(ValueError, match="金额"):
            money(amount)


def test_a_date_must_be_a_date() -> None:
    data = reception_data()
    data["letter"]["issued_on"] = "2026-13-01"
    assert not validator("reception").is_valid(data)
    data["letter"]["issued_on"] = "2026-03-01"
    assert validator("reception").is_valid(data)


def test_required_fields_and_blank_text_are_refused() -> None:
    data = reception_data()
    del data["letter"]["number"]
    assert not validator("reception").is_valid(data)
    data = reception_data()
    data["letter"]["sending_unit"] = "  "
    assert not validator("reception").is_valid(data)
    data = reception_data()
    data["plan"]["meals"][0]["guests"] = 0
    assert not validator("reception").is_valid(data)


def test_defaults_in_the_schema_are_what_the_model_fills_in() -> None:
    meal = json_schema("reception")["$defs"]["Meal"]["properties"]
    assert (meal["format"]["default"], meal["charged_to_guests"]["default"]) == ("table", "0.00")
    assert "default" not in meal["cost"]


def test_the_import_row_schema_has_every_column_and_refuses_unknown_ones() -> None:
    schema = json_schema("import-row")
    assert list(schema["properties"]) == [c.name for c in COLUMNS]
    assert schema["required"] == [c.name for c in COLUMNS if c.required]
    row = {c.name: "x" for c in COLUMNS if c.required}
    check_row = validator("import-row")
    check_row.validate(row)
    assert not check_row.is_valid(row | {"颜色": "红"})
    assert not check_row.is_valid({k: v for k, v in row.items() if k != "letter_number"})
    for column in COLUMNS:
        assert f"| `{column.name}` | {column.label} |" in PAGE.read_text(encoding="utf-8")


def test_the_schema_is_plain_json() -> None:
    for kind in inputref.SCHEMA_KINDS:
        assert json.loads(json.dumps(json_schema(kind))) == json_schema(kind)


def test_wrong_kind_is_a_value_error_naming_the_kinds() -> None:
    with pytest.raises(ValueError, match="reception、list、follow-up、import-row"):
        json_schema("nonsense")


# -- jiedai schema ---------------------------------------------------------------------------------


def test_the_command_offers_the_kinds_the_generator_knows() -> None:
    assert schemas.KINDS == inputref.SCHEMA_KINDS


@pytest.mark.parametrize("kind", inputref.SCHEMA_KINDS)
def test_jiedai_schema_prints_the_schema_as_json(kind: str) -> None:
    assert json.loads(jiedai("schema", kind, code=0).stdout) == json_schema(kind)


def test_jiedai_schema_defaults_to_the_reception_file() -> None:
    assert json.loads(jiedai("schema", code=0).stdout) == json_schema("reception")


def test_jiedai_schema_of_an_unknown_kind_is_a_usage_error() -> None:
    result = jiedai("schema", "nonsense", code=2)
    assert "nonsense" in result.output
    assert "reception" in result.output


# -- no letter at all --------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory after ``jiedai init``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIEDAI_DB", f"sqlite:///{tmp_path / 'jiedai.db'}")
    for name in ("JIEDAI_STANDARDS", "JIEDAI_ACTORS", "JIEDAI_CALENDAR"):
        monkeypatch.delenv(name, raising=False)
    jiedai("init", code=0)
    return tmp_path


def write_reception(path: Path, change: Any) -> Path:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.with_suffix(".json").write_text(json.dumps(json_safe(data), ensure_ascii=False), encoding="utf-8")
    return path.with_suffix(".json")


def test_a_reception_file_without_a_letter_is_refused_as_data_before_any_rule(site: Path) -> None:
    file = write_reception(site / "jiedai-reception.toml", lambda d: d.pop("letter"))
    result = jiedai("--json", "check", file, code=2)
    (problem,) = json.loads(result.stdout)["error"]["problems"]
    assert (problem["path"], problem["message_zh"]) == ("$.letter", "缺少必填字段「letter」")
    assert f"{problem['message_zh']} / {problem['message_en']} @ $.letter" in PAGE.read_text(encoding="utf-8")


def test_a_reception_without_any_letter_is_recorded_and_refused_by_l01(site: Path) -> None:
    """kind = "无公函" with no number: the file loads, and L-01 refuses it at submission."""
    file = write_reception(
        site / "jiedai-reception.toml", lambda d: d["letter"].update(kind="无公函", number="")
    )
    found = json.loads(jiedai("--json", "check", file, code=1).stdout)["by_stage"]["submit"]
    refusing = [(f["rule_id"], f["severity"], f["path"]) for f in found if f["severity"] == "blocking"]
    assert refusing == [("L-01", "blocking", "$.letter.kind")]
    assert "无公函不接待" in next(f["message_zh"] for f in found if f["rule_id"] == "L-01")
    assert 'kind = "无公函"' in PAGE.read_text(encoding="utf-8")


def test_only_the_no_letter_kind_may_leave_the_number_empty(site: Path) -> None:
    file = write_reception(site / "jiedai-reception.toml", lambda d: d["letter"].update(number=""))
    result = jiedai("--json", "check", file, code=2)
    (problem,) = json.loads(result.stdout)["error"]["problems"]
    assert problem["path"] == "$.letter"  # judged with the kind, when the letter is built
    assert "「number」不能为空" in problem["message_zh"]


def test_l01_refuses_a_phone_record_unless_a_local_layer_accepts_it(site: Path) -> None:
    file = write_reception(site / "jiedai-reception.toml", lambda d: d["letter"].update(kind="电话记录"))
    jiedai("check", file, code=0)  # the sample standards file accepts all four kinds
    (site / "jiedai-standards.toml").unlink()  # the national standards alone:
    config = site / "jiedai.toml"  # and jiedai init's config no longer names the file
    config.write_text(
        config.read_text(encoding="utf-8").replace('"jiedai-standards.toml"', ""), encoding="utf-8"
    )
    found = json.loads(jiedai("--json", "check", file, code=1).stdout)["by_stage"]["submit"]
    assert [(f["rule_id"], f["severity"], f["path"]) for f in found] == [
        ("L-01", "blocking", "$.letter.kind")
    ]


def test_the_page_says_what_the_national_standards_accept() -> None:
    assert "国家标准默认接受\n公函、邀请函、通知。" in PAGE.read_text(encoding="utf-8")


def test_each_call_gives_a_fresh_schema() -> None:
    schema = json_schema("reception")
    schema["$defs"]["Money"]["pattern"] = ".*"
    assert json_schema("reception")["$defs"]["Money"]["pattern"] == inputref.MONEY_PATTERN

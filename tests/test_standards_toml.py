"""Standards files 标准文件: every problem reported at once with file, line and field; layers folded
national → province → city → county by jurisdiction and effective dates."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import (
    DocumentKind,
    LetterKind,
    Level,
    MealKind,
    ReceptionType,
    StandardsLayer,
    ValidationError,
    VenueType,
    hookimpl,
)
from jiedai_flow.domain import localities
from jiedai_flow.domain.loading import read_toml
from jiedai_flow.domain.model import InvalidValueError
from jiedai_flow.domain.records import StepKind
from jiedai_flow.domain.standards import (
    AlcoholPolicy,
    CompanionPolicy,
    CountersignRule,
    MealStandard,
    MealUnit,
    Origin,
)
from jiedai_flow.domain.standards_toml import load_standards_file, load_standards_text
from jiedai_flow.testing import make_engine

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from jiedai_flow import Engine


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems(path: Path) -> dict[str, tuple[int | None, str, str]]:
    """Load ``path`` expecting failure: {field path: (line, message_zh, message_en)}."""
    with pytest.raises(ValidationError) as caught:
        load_standards_file(path)
    assert caught.value.source == str(path)
    assert str(path) in str(caught.value)
    found = {p.path: (p.line, p.message_zh, p.message_en) for p in caught.value.problems}
    assert len(found) == len(caught.value.problems), "one problem per field"
    return found


# -- one file, every problem -----------------------------------------------------------------------

BAD = """
    name = "某县"
    level = "乡"
    jurisdiction = "3415x"
    effective_from = 2026-01-01
    colour = "red"

    [standards]
    alcohol = "禁酒"
    claim_deadline_months = "1"
    meal_cap = 60

    [[standards.meal_standards]]
    amount = 150.0
    unit = "元/人·天"

    [[standards.meal_standards]]
    amount = "70.00"
    origin = "省内"
    """


def test_every_problem_is_reported_at_once_with_its_line_and_field(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "bad.toml", BAD))
    assert {field: line for field, (line, _, _) in found.items()} == {
        "$.level": 2,
        "$.jurisdiction": 3,
        "$.colour": 5,
        "$.standards.alcohol": 8,
        "$.standards.claim_deadline_months": 9,
        "$.standards.meal_cap": 10,
        "$.standards.meal_standards[0].amount": 13,
        "$.standards.meal_standards[1].origin": 18,
    }


def test_a_float_amount_is_refused_with_the_string_to_write_instead(tmp_path: Path) -> None:
    line, zh, en = problems(write(tmp_path, "bad.toml", BAD))["$.standards.meal_standards[0].amount"]
    assert line == 13
    assert "浮点" in zh
    assert '"180.00"' in zh
    assert "float" in en


def test_a_bad_enum_lists_the_choices_with_their_chinese_labels(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "bad.toml", BAD))
    _, zh, en = found["$.standards.alcohol"]
    assert "「禁酒」不是有效取值" in zh
    assert "none（不上酒）" in zh
    assert "no_premium（不上高档酒水）" in zh
    assert "AlcoholPolicy" in en
    assert "inside（辖区内）" in found["$.standards.meal_standards[1].origin"][1]


def test_unknown_keys_bad_level_and_bad_jurisdiction_are_named(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "bad.toml", BAD))
    assert "未知的标准字段「meal_cap」" in found["$.standards.meal_cap"][1]
    assert "未知字段「colour」" in found["$.colour"][1]
    assert "国家/省/市/县" in found["$.level"][1]
    assert "行政区划代码" in found["$.jurisdiction"][1]
    assert "应为整数" in found["$.standards.claim_deadline_months"][1]


@pytest.mark.parametrize("code", ["3415x", "345", "34150201", "三四"])
def test_a_jurisdiction_must_be_a_2_4_or_6_digit_code(tmp_path: Path, code: str) -> None:
    path = write(tmp_path, "x.toml", f'name = "x"\nlevel = "city"\njurisdiction = "{code}"\n')
    assert set(problems(path)) == {"$.jurisdiction"}


def test_levels_may_be_written_in_chinese(tmp_path: Path) -> None:
    levels = {"国家": Level.NATIONAL, "省": Level.PROVINCE, "市": Level.CITY, "县": Level.COUNTY}
    for label, level in levels.items():
        path = write(tmp_path, "x.toml", f'name = "x"\nlevel = "{label}"\njurisdiction = "34"\n')
        assert load_standards_file(path).level is level


def test_a_toml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", 'name = "x"\nlevel = "city"\n\n[standards\nalcohol = "none"\n')
    found = problems(path)
    assert list(found) == ["$"]
    line, zh, _ = found["$"]
    assert line == 4
    assert zh == "TOML 语法错误（第 4 行第 11 列）：[表] 的标题缺少 ]"


@pytest.mark.parametrize(
    ("text", "zh", "line"),
    [
        ("a = 2026-13-08", "TOML 语法错误（第 1 行第 9 列）：这一项的值后面还有内容", 1),
        ("a = b", "TOML 语法错误（第 1 行第 5 列）：取值写法不对", 1),
        ('a = "x', "TOML 语法错误（文件末尾）：文本缺少结束的引号", None),
        ("a = 1\na = 2", "TOML 语法错误（文件末尾）：同一个键写了两次", None),
    ],
)
def test_toml_syntax_errors_say_what_they_mean_in_chinese(text: str, zh: str, line: int | None) -> None:
    """tomllib's English stays in the English message; the Chinese says what it most often means."""
    with pytest.raises(ValidationError) as caught:
        read_toml(text)
    [problem] = caught.value.problems
    assert problem.message_zh.startswith(zh)
    assert problem.message_en.startswith("TOML syntax error: ")
    assert problem.line == line


def test_nested_tables_report_the_path_inside_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nested.toml",
        """
        name = "x"
        level = "county"
        jurisdiction = "341502"

        [standards]
        required_documents = ["发票", "收据"]
        companions = { small_cap = "3", extra = 1 }
        lodging_price_caps = { "省部级" = "500.00", bureau = 380.5 }

        [[standards.meal_standards]]
        unit = "元/人·天"

        [[standards.approval_tiers]]
        steps = ["分管领导", "主要领导"]
        min_amount = "1.234"
        """,
    )
    found = problems(path)
    assert {field: line for field, (line, _, _) in found.items()} == {
        "$.standards.required_documents[1]": 6,
        "$.standards.companions.small_cap": 7,
        "$.standards.companions.extra": 7,
        "$.standards.lodging_price_caps[bureau]": 8,
        "$.standards.meal_standards[0].amount": 10,
        "$.standards.approval_tiers[0].min_amount": 15,
    }
    assert "缺少必填字段「amount」" in found["$.standards.meal_standards[0].amount"][1]
    assert "两位小数" in found["$.standards.approval_tiers[0].min_amount"][1]


@pytest.mark.parametrize(
    ("field", "value"),
    [("banned_dishes", "鲍鱼"), ("accepted_letters", "公函")],
    ids=["banned_dishes", "accepted_letters"],
)
def test_a_single_string_where_a_list_belongs_is_refused_not_split_into_characters(
    tmp_path: Path, field: str, value: str
) -> None:
    """``banned_dishes = "鲍鱼"`` is a mistake for ``["鲍鱼"]``: it must not ban every dish with 鱼 in it."""
    text = f'name = "x"\nlevel = "city"\njurisdiction = "34"\n\n[standards]\n{field} = "{value}"\n'
    found = problems(write(tmp_path, "x.toml", text))
    assert list(found) == [f"$.standards.{field}"]
    line, zh, _ = found[f"$.standards.{field}"]
    assert line == 6
    assert "应为列表" in zh


def test_dates_must_be_toml_dates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.toml",
        'name = "x"\nlevel = "city"\njurisdiction = "34"\n'
        'effective_from = 2026-01-01T09:00:00\neffective_to = "2027-01-01"\n',
    )
    assert {field: line for field, (line, _, _) in problems(path).items()} == {
        "$.effective_from": 4,
        "$.effective_to": 5,
    }


@pytest.mark.parametrize(
    ("dates", "start"),
    [
        ("effective_from = 2026-01-01\neffective_to = 2025-01-01\n", "2026-01-01"),
        ("effective_from = 2026-01-01\neffective_to = 2026-01-01\n", "2026-01-01"),
        ("effective_to = 2013-01-01\n", "2013-12-08"),  # before the default start
    ],
    ids=["ends-before-it-starts", "ends-the-day-it-starts", "ends-before-the-default-start"],
)
def test_a_layer_that_ends_before_it_starts_is_refused_at_effective_to(
    tmp_path: Path, dates: str, start: str
) -> None:
    """effective_to is the first day a layer no longer applies: on or before effective_from, never."""
    path = write(tmp_path, "x.toml", f'name = "x"\nlevel = "city"\njurisdiction = "34"\n{dates}')
    found = problems(path)
    assert list(found) == ["$.effective_to"]
    line, zh, en = found["$.effective_to"]
    assert line == dates.count("\n") + 3
    assert f"不晚于施行日期 effective_from（{start}）" in zh
    assert "一天也不会适用" in zh
    assert "apply on no day" in en


def test_a_wrong_start_date_is_not_compared_with_the_end_date(tmp_path: Path) -> None:
    text = 'name = "x"\nlevel = "city"\njurisdiction = "34"\n'
    text += 'effective_from = "2026"\neffective_to = 2010-01-01\n'
    assert list(problems(write(tmp_path, "x.toml", text))) == ["$.effective_from"]


def test_a_layer_built_in_python_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        StandardsLayer(
            "x", Level.COUNTY, "341502", effective_from=date(2026, 1, 1), effective_to=date(2025, 1, 1)
        )
    assert [p.path for p in caught.value.problems] == ["$.effective_to"]


COUNTERSIGN_AMONG_OTHER_PROBLEMS = """
    name = "某县"
    level = "乡"
    jurisdiction = "341502"

    [standards]
    max_dishes = "4"

    [[standards.countersigns]]
    label = "党组会票签"
    kind = "vote"
    people = ["county.head", "deputy.1", "deputy.2"]
    weights = [3, 2]
    threshold = "50"
    """


def test_a_countersign_with_a_wrong_field_still_has_its_weights_checked(tmp_path: Path) -> None:
    """A wrong field stops the rule from being built; its checks across fields are reported anyway."""
    found = problems(write(tmp_path, "bad.toml", COUNTERSIGN_AMONG_OTHER_PROBLEMS))
    assert {field: line for field, (line, _, _) in found.items()} == {
        "$.level": 2,
        "$.standards.max_dishes": 6,
        "$.standards.countersigns[0].weights": 12,
        "$.standards.countersigns[0].threshold": 13,
    }
    _, zh, en = found["$.standards.countersigns[0].weights"]
    assert zh == "会签「党组会票签」的 weights 有 2 个，审批人有 3 个"
    assert en == "countersign '党组会票签' has 2 weights for 3 approvers"


def test_a_countersign_alone_reports_its_weights_once_at_the_weights_line(tmp_path: Path) -> None:
    text = COUNTERSIGN_AMONG_OTHER_PROBLEMS.replace('level = "乡"', 'level = "县"')
    text = text.replace('max_dishes = "4"', "max_dishes = 4").replace('threshold = "50"', "threshold = 50")
    assert {field: line for field, (line, _, _) in problems(write(tmp_path, "x.toml", text)).items()} == {
        "$.standards.countersigns[0].weights": 12,
    }


def test_a_countersign_with_no_approvers_is_reported_beside_its_wrong_fields(tmp_path: Path) -> None:
    text = 'name = "x"\nlevel = "县"\njurisdiction = "341502"\n\n[[standards.countersigns]]\n'
    text += 'label = "财政局会签"\nmin_headcount = "3"\n'
    found = problems(write(tmp_path, "x.toml", text))
    assert set(found) == {"$.standards.countersigns[0].min_headcount", "$.standards.countersigns[0].units"}
    assert "没有审批人" in found["$.standards.countersigns[0].units"][1]


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        ('kind = "parallel"\n', "并行会签"),
        ('kind = "顺序会签"\n', "顺序会签"),
        ('kind = "any"\n', "或签"),
        ("", "并行会签"),
    ],
    ids=["parallel", "sequential-in-chinese", "any", "kind-left-out"],
)
def test_weights_on_a_countersign_that_is_not_a_vote_are_refused(
    tmp_path: Path, kind: str, label: str
) -> None:
    """Weights only mean something in a 票签; on any other step they would be silently ignored."""
    text = 'name = "x"\nlevel = "县"\njurisdiction = "341502"\n\n[[standards.countersigns]]\n'
    text += f'label = "财政局、分管领导会签"\n{kind}units = ["县财政局"]\nlevels = ["分管领导"]\n'
    text += "weights = [1, 1]\n"
    found = problems(write(tmp_path, "x.toml", text))
    assert list(found) == ["$.standards.countersigns[0].weights"]
    line, zh, en = found["$.standards.countersigns[0].weights"]
    assert line == text.count("\n")
    assert f"是{label}" in zh
    assert 'weights 只用于票签（kind = "vote"）' in zh
    assert "weights only count in a vote" in en


def test_weights_on_a_vote_written_in_chinese_are_read(tmp_path: Path) -> None:
    text = 'name = "x"\nlevel = "县"\njurisdiction = "341502"\n\n[[standards.countersigns]]\n'
    text += 'label = "党组会票签"\nkind = "票签"\npeople = ["a", "b"]\nweights = [2, 1]\n'
    [rule] = load_standards_file(write(tmp_path, "x.toml", text)).changes["countersigns"]
    assert [a.weight for a in rule.step().assignees] == [2, 1]


def test_a_wrong_kind_is_reported_once_not_also_as_weights_on_a_non_vote(tmp_path: Path) -> None:
    text = 'name = "x"\nlevel = "县"\njurisdiction = "341502"\n\n[[standards.countersigns]]\n'
    text += 'label = "x"\nkind = "投票"\npeople = ["a", "b"]\nweights = [2, 1]\n'
    assert list(problems(write(tmp_path, "x.toml", text))) == ["$.standards.countersigns[0].kind"]


def test_a_countersign_built_in_python_with_weights_but_no_vote_is_refused() -> None:
    with pytest.raises(InvalidValueError) as caught:
        CountersignRule("会签", StepKind.PARALLEL, people=("a", "b"), weights=(1, 1))
    assert caught.value.field == "weights"


WRONG_SHAPES = [
    ("banned_dishes = 5", "$.standards.banned_dishes", "「banned_dishes」应为列表，收到 5（int）"),
    ('accepted_letters = { "公函" = 1 }', "$.standards.accepted_letters", "「accepted_letters」应为列表"),
    (
        'meal_standards = { amount = "90.00" }',
        "$.standards.meal_standards",
        "每项一个 [[standards.meal_standards]] 表",
    ),
    ("lexicon = 3", "$.standards.lexicon", "「lexicon」应为表（键 = 值），收到 3（int）"),
    ('lexicon = { alcohol = "茅台" }', "$.standards.lexicon[alcohol]", '应为列表，如 ["茅台"]'),
    ("max_dishes = -1", "$.standards.max_dishes", "「max_dishes」应为不小于 0 的整数，收到 -1"),
    (
        "claim_deadline_months = 120000",
        "$.standards.claim_deadline_months",
        "「claim_deadline_months」应为 0 到 120 的整数（最长十年），收到 120000",
    ),
    ("vehicle_capacity = 0", "$.standards.vehicle_capacity", "「vehicle_capacity」应为不小于 1 的整数"),
    ("companions = { divisor = 0 }", "$.standards.companions.divisor", "「divisor」应为不小于 1 的整数"),
    ("approval_tiers = [{ steps = [] }]", "$.standards.approval_tiers[0].steps", "至少要有一个审批环节"),
    (
        'countersigns = [{ label = "", units = ["县财政局"] }]',
        "$.standards.countersigns[0].label",
        "不能为空",
    ),
    (
        'countersigns = [{ label = "x", kind = "vote", people = ["a"], threshold = 100 }]',
        "$.standards.countersigns[0].threshold",
        "「threshold」应为 0 到 99 的整数",
    ),
    (
        'countersigns = [{ label = "x", units = ["a"], min_headcount = -5 }]',
        "$.standards.countersigns[0].min_headcount",
        "应为不小于 0 的整数",
    ),
]


@pytest.mark.parametrize(("line", "path", "zh"), WRONG_SHAPES, ids=[w[0] for w in WRONG_SHAPES])
def test_a_wrong_type_or_bound_is_said_in_chinese_at_its_own_field(
    tmp_path: Path, line: str, path: str, zh: str
) -> None:
    """No English inside the Chinese message, no traceback, no problem reported at the whole table:
    a table for a list is not read key by key, nor a text for a list letter by letter."""
    text = f'name = "x"\nlevel = "县"\njurisdiction = "341502"\n\n[standards]\n{line}\n'
    found = problems(write(tmp_path, "x.toml", text))
    assert list(found) == [path]
    number, message_zh, message_en = found[path]
    assert number == 6
    assert zh in message_zh
    assert "must" not in message_zh
    assert message_en


def test_a_source_that_is_not_text_is_refused_not_turned_into_text(tmp_path: Path) -> None:
    text = 'name = "x"\nlevel = "县"\njurisdiction = "341502"\nsource = 2019\n'
    assert list(problems(write(tmp_path, "x.toml", text))) == ["$.source"]


def test_every_field_of_a_full_file_is_read_into_typed_values() -> None:
    layer = load_standards_text(
        """
        name = "示例"
        level = "county"
        jurisdiction = "341502"
        effective_from = 2026-01-01
        effective_to = 2027-01-01
        source = "《示例细则》"

        [standards]
        accepted_letters = ["公函", "电话记录"]
        alcohol = "no_premium"
        alcohol_exempt_types = ["外宾接待"]
        required_documents = ["发票", "公函", "接待清单", "菜单"]
        companions = { small_party = 10, small_cap = 2, divisor = 4 }
        companions_by_type = { business = { one_for_one_up_to = 5, divisor = 2 } }
        lodging_price_caps = { "省部级" = "500.00" }

        [[standards.meal_standards]]
        amount = "90.00"
        meal_kind = "午餐"
        origin = "辖区外"
        venue_types = ["机关食堂", "定点饭店"]
        """.replace("\n        ", "\n"),
        source="示例.toml",
    )
    changes = layer.changes
    assert (layer.level, layer.effective_to, layer.source) == (Level.COUNTY, date(2027, 1, 1), "《示例细则》")
    assert changes["accepted_letters"] == {LetterKind.LETTER, LetterKind.PHONE_RECORD}
    assert changes["alcohol"] is AlcoholPolicy.NO_PREMIUM
    assert changes["required_documents"] >= {DocumentKind.MENU}
    assert changes["companions"] == CompanionPolicy(10, 2, 4)
    assert changes["companions_by_type"][ReceptionType.BUSINESS].cap(8) == 6
    assert changes["meal_standards"] == (
        MealStandard(
            Decimal("90.00"),
            MealUnit.PERSON_MEAL,
            meal_kind=MealKind.LUNCH,
            origin=Origin.OUTSIDE,
            venue_types=frozenset({VenueType.CANTEEN, VenueType.DESIGNATED}),
        ),
    )


# -- layering ------------------------------------------------------------------------------------------

PROVINCE = """
    name = "某省"
    level = "province"
    jurisdiction = "34"
    effective_from = 2019-01-01

    [standards]
    alcohol = "none"
    claim_deadline_months = 3
    required_documents = ["发票", "公函", "接待清单"]
    """

CITY = """
    name = "某市"
    level = "city"
    jurisdiction = "3415"
    effective_from = 2020-01-01

    [standards]
    claim_deadline_months = 1
    accepted_letters = ["公函", "电话记录"]
    """

COUNTY = """
    # A county file states only what differs from the city and the province.
    name = "某县"
    level = "county"
    jurisdiction = "341502"
    effective_from = 2026-01-01

    [standards]
    required_documents = ["发票", "公函", "接待清单", "审批单"]
    """

NEXT_YEAR = """
    name = "某县（2027修订）"
    level = "county"
    jurisdiction = "341502"
    effective_from = 2027-01-01

    [standards]
    max_dishes = 4
    """


class Layers:
    """A plugin contributing the layers it is given (a deployment's standards files)."""

    def __init__(self, layers: Sequence[StandardsLayer]) -> None:
        self.layers = list(layers)

    @hookimpl
    def jiedai_standards_layers(self) -> list[StandardsLayer]:
        return self.layers


@pytest.fixture
def files(tmp_path: Path) -> dict[str, StandardsLayer]:
    texts = {"province": PROVINCE, "city": CITY, "county": COUNTY, "next_year": NEXT_YEAR}
    return {key: load_standards_file(write(tmp_path, f"{key}.toml", text)) for key, text in texts.items()}


@pytest.fixture
def engine(files: dict[str, StandardsLayer]) -> Engine:
    # given out of order on purpose: the engine orders layers by level, code length and date
    return make_engine(Layers([files["county"], files["next_year"], files["city"], files["province"]]))


def test_layers_fold_national_then_province_then_city_then_county(engine: Engine) -> None:
    standards = engine.standards_for("341502", date(2026, 3, 10))
    assert standards.layers == ("全国（2025）", "某省", "某市", "某县")


def test_a_county_file_states_only_what_differs_and_inherits_the_rest(engine: Engine) -> None:
    standards = engine.standards_for("341502", date(2026, 3, 10))
    assert standards.required_documents == {
        DocumentKind.INVOICE,
        DocumentKind.LETTER,
        DocumentKind.LIST,
        DocumentKind.APPROVAL_FORM,
    }  # the county's
    assert standards.claim_deadline_months == 1  # the city's, over the province's 3
    assert standards.accepted_letters == {LetterKind.LETTER, LetterKind.PHONE_RECORD}  # the city's
    assert standards.alcohol is AlcoholPolicy.NONE  # the province's
    assert standards.banned_dishes == {"鱼翅", "燕窝", "野生"}  # the national default


def test_the_more_specific_jurisdiction_wins_and_others_keep_the_higher_layer(engine: Engine) -> None:
    on = date(2026, 3, 10)
    assert engine.standards_for("341502", on).claim_deadline_months == 1  # in the city
    assert engine.standards_for("341522", on).layers == ("全国（2025）", "某省", "某市")
    other_city = engine.standards_for("340104", on)
    assert other_city.layers == ("全国（2025）", "某省")
    assert other_city.claim_deadline_months == 3
    assert engine.standards_for("420222", on).layers == ("全国（2025）",)


def test_a_layer_not_yet_in_force_is_ignored(engine: Engine) -> None:
    before = engine.standards_for("341502", date(2025, 12, 31))
    assert before.layers == ("全国（2025）", "某省", "某市")
    assert before.required_documents == {DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}
    assert engine.standards_for("341502", date(2019, 6, 1)).layers == ("全国（2013）", "某省")
    assert engine.standards_for("341502", date(2026, 12, 31)).max_dishes is None


def test_a_later_layer_of_the_same_jurisdiction_folds_over_the_earlier(engine: Engine) -> None:
    standards = engine.standards_for("341502", date(2027, 3, 1))
    assert standards.layers == ("全国（2025）", "某省", "某市", "某县", "某县（2027修订）")
    assert standards.max_dishes == 4
    assert DocumentKind.APPROVAL_FORM in standards.required_documents  # 2026 county layer still in force


def test_a_layer_with_an_end_date_stops_applying_on_that_day(tmp_path: Path) -> None:
    ended = load_standards_file(
        write(tmp_path, "old.toml", COUNTY.replace("2026-01-01", "2020-01-01\neffective_to = 2026-01-01"))
    )
    engine = make_engine(Layers([ended]))
    assert engine.standards_for("341502", date(2025, 12, 31)).layers[-1] == "某县"
    assert engine.standards_for("341502", date(2026, 1, 1)).layers == ("全国（2025）",)


def test_shipped_localities_layer_like_any_files() -> None:
    """Anhui's provincial meal standard and alcohol ban reach Lu'an; Lu'an adds what it says."""
    engine = make_engine(Layers([localities.load("luan"), localities.load("anhui")]))
    standards = engine.standards_for("341502", date(2026, 3, 10))
    assert standards.layers == ("全国（2025）", "安徽省（省直机关）", "六安市（市场监管局）")
    assert [str(s.amount) for s in standards.meal_standards] == ["200.00"]  # 「按省、市标准」
    assert standards.alcohol_exempt_types == {ReceptionType.FOREIGN, ReceptionType.BUSINESS}
    assert LetterKind.PHONE_RECORD in standards.accepted_letters
    assert standards.claim_deadline_months == 1


def test_a_layer_built_in_python_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        StandardsLayer("x", Level.COUNTY, "341502", {"meal_cap_per_person": Decimal(60)})
    assert [p.path for p in caught.value.problems] == ["$.standards.meal_cap_per_person"]


def test_a_misspelt_field_names_the_nearest_and_an_article_must_cite_a_field_it_sets() -> None:
    """「claim_deadline_dayz」 names 「claim_deadline_days」; an ``[articles]`` entry for a field the
    layer does not set is refused — a finding would cite it for a value it never gave."""
    text = textwrap.dedent(
        """\
        name = "青阳县"
        level = "county"
        jurisdiction = "341597"
        source = "《青阳县公务接待办法》"
        [standards]
        claim_deadline_dayz = 30
        [articles]
        companions = "第七条"
        """
    )
    with pytest.raises(ValidationError) as caught:
        load_standards_text(text, "qy.toml")
    found = {p.path: p.message_zh for p in caught.value.problems}
    assert found["$.standards.claim_deadline_dayz"].endswith("是不是「claim_deadline_days」？")
    assert "本层没有设定 companions" in found["$.articles.companions"]

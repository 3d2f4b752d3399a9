"""Rules that read what clerks write 词表: a word in a dish, an activity, the letter's purpose or a gift
that contradicts a flag is a finding naming the word and where it was found."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow import (
    Activity,
    ActivityKind,
    Gift,
    GiftKind,
    Level,
    RuleContext,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.builtin.national.lexicon import Lexicon, base_terms, lexicon_of
from jiedai_flow.domain.standards import LexiconCategory, Standards, resolve
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine, Finding, Plan

COUNTY = "341502"
Y2024, Y2026 = date(2024, 3, 12), date(2026, 3, 10)  # rule packs 2013 (no premium) and 2025 (no alcohol)


def engine_with(**changes: object) -> Engine:
    layer = StandardsLayer("某县", Level.COUNTY, COUNTY, changes, source="《某县办法》")

    class Layers:
        @hookimpl
        def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
            return (layer,)

    return make_engine(Layers())


def findings(engine: Engine, plan: Plan, start: date, rule: str, **letter: object) -> list[Finding]:
    created = engine.create_reception(
        attrs.evolve(sample_letter(start), **letter),
        plan,
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction=COUNTY,
    )
    return [f for f in engine.check(created.reception, ["submit"]).findings if f.rule_id == rule]


def with_dishes(start: date, *dishes: str, **meal: object) -> Plan:
    plan = sample_plan(start)
    return attrs.evolve(plan, meals=(attrs.evolve(plan.meals[0], dishes=dishes, **meal),))


def test_a_premium_liquor_among_the_dishes_is_read_without_the_flag() -> None:
    (found,) = findings(make_engine(), with_dishes(Y2024, "家常豆腐", "飞天茅台"), Y2024, "M-05")
    assert found.severity is Severity.NEEDS_EXPLANATION  # 2013: no premium alcohol — it would block
    assert "「茅台」" in found.message_zh
    assert found.path == "$.plan.meals[0].dishes[1]"


def test_alcohol_named_in_2025_needs_an_explanation_and_in_2013_is_a_warning() -> None:
    (in_2025,) = findings(make_engine(), with_dishes(Y2026, "啤酒"), Y2026, "M-05")
    assert in_2025.severity is Severity.NEEDS_EXPLANATION
    (in_2013,) = findings(make_engine(), with_dishes(Y2024, "啤酒"), Y2024, "M-05")
    assert in_2013.severity is Severity.WARNING
    assert "啤酒" in in_2013.message_zh


def test_a_ticked_flag_is_not_contradicted() -> None:
    ticked = with_dishes(Y2024, "红酒", alcohol=True)
    assert [f for f in findings(make_engine(), ticked, Y2024, "M-05") if "写了" in f.message_zh] == []


def test_cigarettes_named_need_an_explanation() -> None:
    (found,) = findings(make_engine(), with_dishes(Y2024, "软中华"), Y2024, "M-05")
    assert found.severity is Severity.NEEDS_EXPLANATION
    assert "香烟" in found.message_zh


def test_protected_wildlife_among_the_dishes_is_read() -> None:
    (found,) = findings(make_engine(), with_dishes(Y2026, "红烧穿山甲"), Y2026, "M-04")
    assert found.severity is Severity.NEEDS_EXPLANATION
    assert "穿山甲" in found.message_zh


def activity_plan(start: date, description: str, place: str = "县农业园区", **kw: object) -> Plan:
    return attrs.evolve(sample_plan(start), activities=(Activity(start, place, description, **kw),))


@pytest.mark.parametrize(
    ("description", "place", "word", "field"),
    [
        ("考察调研", "天柱山5A级景区", "5A级", "place"),  # the first word found is named
        ("文化交流", "县大剧院", None, None),
        ("观看专场演出", "县大剧院", "专场演出", "description"),
        ("座谈交流", "县农业农村局会议室", None, None),
    ],
)
def test_sightseeing_and_performances_entered_as_ordinary_activities(
    description: str, place: str, word: str | None, field: str | None
) -> None:
    found = findings(make_engine(), activity_plan(Y2026, description, place), Y2026, "C-04")
    if word is None:
        assert found == []
        return
    (finding,) = found
    assert finding.severity is Severity.NEEDS_EXPLANATION
    assert f"「{word}」" in finding.message_zh
    assert finding.path == f"$.plan.activities[0].{field}"


def test_an_activity_already_marked_as_sightseeing_is_blocked_once() -> None:
    plan = activity_plan(Y2026, "景区游览", "天柱山景区", kind=ActivityKind.SIGHTSEEING)
    assert [f.severity for f in findings(make_engine(), plan, Y2026, "C-04")] == [Severity.BLOCKING]


def test_a_gift_handed_out_in_an_activity_that_the_plan_does_not_list() -> None:
    (found,) = findings(make_engine(), activity_plan(Y2026, "座谈后赠送土特产"), Y2026, "C-04")
    assert "土特产" in found.message_zh


def test_a_shopping_card_entered_as_a_souvenir_is_read_as_cash() -> None:
    engine = engine_with(gifts_allowed_types=frozenset({"business"}))
    plan = attrs.evolve(sample_plan(Y2026), gifts=(Gift("超市购物卡一张", GiftKind.SOUVENIR, Decimal(200)),))
    found = findings(engine, plan, Y2026, "C-04")
    assert any("购物卡" in f.message_zh and f.path == "$.plan.gifts[0].kind" for f in found)


def test_a_sightseeing_purpose_is_a_warning_at_s01() -> None:
    (found,) = findings(make_engine(), sample_plan(Y2026), Y2026, "S-01", content="赴我县旅游观光")
    assert found.severity is Severity.WARNING
    assert found.path == "$.letter.content"


def test_a_locality_extends_the_lexicon_in_its_standards() -> None:
    engine = engine_with(lexicon={LexiconCategory.PREMIUM_ALCOHOL: frozenset({"古井贡"})})
    (found,) = findings(engine, with_dishes(Y2024, "古井贡酒"), Y2024, "M-05")
    assert "古井贡" in found.message_zh
    assert findings(make_engine(), with_dishes(Y2024, "古井贡酒"), Y2024, "M-05") == []


def test_the_lexicon_is_compiled_once_per_locality() -> None:
    layer = StandardsLayer(
        "某县", Level.COUNTY, COUNTY, {"lexicon": {LexiconCategory.ALCOHOL: frozenset({"糯米酒"})}}
    )
    standards = resolve(COUNTY, Y2026, (layer,))
    assert lexicon_of(standards) is lexicon_of(standards)
    assert lexicon_of(Standards()) is lexicon_of(Standards())  # the built-in one
    assert lexicon_of(standards).first("糯米酒", LexiconCategory.ALCOHOL) == "糯米酒"


def test_the_longest_word_wins_and_categories_are_kept() -> None:
    lexicon = Lexicon(base_terms())
    assert lexicon.find("观看专场演出") == [("专场演出", LexiconCategory.PERFORMANCE)]
    assert lexicon.find("家常豆腐") == []


def test_a_missing_area_code_says_the_same_city_check_could_not_run() -> None:
    engine = engine_with(same_city_ban=True)
    (found,) = findings(engine, sample_plan(Y2026), Y2026, "S-02", sending_jurisdiction="")
    assert found.severity is Severity.INFO
    assert "未能检查" in found.message_zh


def test_unknown_ranks_with_a_tiered_table_say_so() -> None:
    from jiedai_flow import MealStandard, Rank

    engine = engine_with(
        meal_standards=(MealStandard(Decimal(60)), MealStandard(Decimal(100), rank_at_least=Rank.COUNTY))
    )
    guests = tuple(attrs.evolve(g, rank=Rank.OTHER) for g in sample_letter(Y2026).personnel)
    found = findings(engine, sample_plan(Y2026), Y2026, "M-03", personnel=guests)
    assert any(f.severity is Severity.INFO and "职级未知" in f.message_zh for f in found)


def test_rule_context_carries_the_engine_calendar() -> None:
    engine = make_engine()
    assert RuleContext.__attrs_attrs__.calendar.default is None  # type: ignore[attr-defined]
    assert engine.calendar.is_workday(date(2026, 10, 1)) is False


@pytest.mark.parametrize(
    "text",
    [
        "啤酒鸭",
        "花雕鸡",
        "XO酱炒饭",
        "野生菌汤",
        "县文化和旅游局",
        "市文旅局",
        "温泉镇人民政府",
        "招商推介会",
    ],
)
def test_phrases_that_contain_a_word_without_meaning_it_are_not_read_as_it(text: str) -> None:
    assert Lexicon(base_terms()).find(text) == []


def test_a_not_meant_phrase_hides_only_its_own_place() -> None:
    found = Lexicon(base_terms()).find("啤酒鸭配啤酒")
    assert found == [("啤酒", LexiconCategory.ALCOHOL)]


def test_a_locality_adds_its_own_not_meant_phrases() -> None:
    lexicon = Lexicon({**base_terms(), LexiconCategory.NOT_MEANT: frozenset({"旅游学院"})})
    assert lexicon.find("黄山旅游学院") == []
    assert Lexicon(base_terms()).find("黄山旅游学院") == [("旅游", LexiconCategory.SIGHTSEEING)]

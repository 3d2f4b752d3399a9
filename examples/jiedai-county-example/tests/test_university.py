"""××大学的单位层（university.toml，只写 TOML）：按来宾最高职级分档的用餐标准，取代县里的表，
结果引用学校自己的办法。"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest
from jiedai_county_example import plugin

from jiedai_flow import Citation, Guest, Rank, VenueType
from jiedai_flow.testing import ACTORS, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable

    from jiedai_flow import Engine, Finding

COUNTY = "341599"
HANDLER = ACTORS["handler"]
START = date(2026, 3, 10)


@pytest.fixture
def engine(jiedai_engine_factory: Callable[..., Engine]) -> Engine:
    return jiedai_engine_factory(plugin)


UNIVERSITY = "××大学"


def guests_of(*ranks: Rank) -> tuple[Guest, ...]:
    return tuple(Guest(f"来宾{i}", "市教育局", "干部", rank) for i, rank in enumerate(ranks, start=1))


def university_meal(
    engine: Engine, per_person: str, *ranks: Rank, host_unit: str = UNIVERSITY
) -> list[Finding]:
    """A university working meal for the given guests (2 companions), checked as if submitted."""
    guests = guests_of(*ranks)
    letter = attrs.evolve(sample_letter(START), personnel=guests)
    the_plan = sample_plan(START, guests=len(guests), cost=Decimal(per_person) * (len(guests) + 2))
    the_plan = attrs.evolve(
        the_plan, meals=tuple(attrs.evolve(m, venue_type=VenueType.RESTAURANT) for m in the_plan.meals)
    )
    created = engine.create_reception(
        letter, the_plan, handler=HANDLER, host_unit=host_unit, jurisdiction=COUNTY
    )
    return [f for f in engine.check(created.reception, ["submit"]).findings if f.rule_id == "M-03"]


def test_the_university_layer_applies_to_the_university_only(engine: Engine) -> None:
    mine = engine.standards_for(COUNTY, START, UNIVERSITY)
    county = engine.standards_for(COUNTY, START, "县政府办公室")
    assert mine.layers[-1] == "××大学（示例）"
    assert "××大学（示例）" not in county.layers
    assert {r.amount for r in mine.meal_standards} == {Decimal(60), Decimal(100), Decimal(120)}
    assert {r.amount for r in county.meal_standards} == {Decimal(50), Decimal(80)}  # the county's table


@pytest.mark.parametrize(
    ("ranks", "cap"),
    [
        ((Rank.TOWNSHIP, Rank.OTHER), "60"),
        ((Rank.COUNTY, Rank.TOWNSHIP), "100"),
        ((Rank.BUREAU, Rank.COUNTY), "120"),
        ((Rank.PROVINCIAL,), "120"),  # 厅局级及以上
    ],
)
def test_the_highest_ranked_guest_picks_the_tier(engine: Engine, ranks: tuple[Rank, ...], cap: str) -> None:
    assert university_meal(engine, cap, *ranks) == []  # at the cap: no finding
    (over,) = university_meal(engine, str(Decimal(cap) + 1), *ranks)
    assert f"超过标准 {cap}.00" in over.message_zh


def test_a_university_finding_cites_the_universitys_own_measures(engine: Engine) -> None:
    (over,) = university_meal(engine, "130", Rank.BUREAU)
    assert over.citation == Citation("《××大学公务接待管理办法》（示例，非真实文件）", "第五条")
    (county,) = university_meal(engine, "90", Rank.BUREAU, host_unit="县政府办公室")
    assert "××大学" not in str(county.citation)  # the county's table, the county's document

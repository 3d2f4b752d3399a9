"""One source of truth per rule: every finding a rule raises carries a citation and a severity that
docs/rules.md lists for that rule — at every stage — and a finding judged by a local layer's value
cites that layer's document and article.

The receptions come from the property tests' generator (mostly compliant, with the occasional
breach of every kind), judged under the national layers and under each shipped locality.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from hypothesis import given, note
from hypothesis import strategies as st

from jiedai_flow import Citation, Level, MealStandard, RuleContext, Severity, StandardsLayer
from jiedai_flow.builtin.national import NATIONAL_LAYERS
from jiedai_flow.docgen import documented_severities
from jiedai_flow.domain.standards import resolve
from jiedai_flow.testing import make_engine, sample_letter, sample_plan
from tests.test_rules_properties import BASES, JURISDICTION, RULES, SETTINGS, caps, make_reception

if TYPE_CHECKING:
    import random

PAGE = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
_ROW = re.compile(r"^\| (?P<id>[A-Z]+-\d+) \| [^|]* \| [^|]* \| (?P<sev>[^|]*) \| (?P<cite>[^|]*) \|$", re.M)
_LABELS = {s.label: s for s in Severity}


def documented() -> dict[str, tuple[frozenset[Severity], frozenset[str]]]:
    """rules.md's table: rule id → (severities, citations)."""
    found = {}
    for m in _ROW.finditer(PAGE.read_text(encoding="utf-8")):
        severities = frozenset(_LABELS[s] for s in m["sev"].strip().split("、") if s in _LABELS)
        citations = frozenset(c.strip() for c in m["cite"].split("；") if c.strip() not in ("", "—"))
        found[m["id"]] = (severities, citations)
    return found


DOCUMENTED = documented()


def test_the_page_lists_every_rule_with_what_its_code_and_declaration_say() -> None:
    assert set(DOCUMENTED) == {r.id for r in RULES.rules.values()}
    for rule in RULES.rules.values():
        severities, citations = DOCUMENTED[rule.id]
        assert severities == frozenset(documented_severities(rule)), rule.id
        assert citations == {str(c) for c in rule.citations}, rule.id


@SETTINGS
@given(base_name=st.sampled_from(sorted(BASES)), rng=st.randoms(use_true_random=True))
def test_every_finding_carries_a_documented_citation_and_severity(base_name: str, rng: random.Random) -> None:
    layers = (*NATIONAL_LAYERS, *BASES[base_name])
    reception, now = make_reception(rng, caps(layers))
    standards = resolve(JURISDICTION, reception.start, layers)
    local = {str(c) for c in standards.citations.values()}
    note(f"reception: {reception!r}")
    for stage in RULES.stages:
        for finding in RULES.run(RuleContext(reception, standards, stage, None, now)):
            severities, citations = DOCUMENTED[finding.rule_id]
            where = f"{finding.rule_id} at {stage}: {finding.message_zh}"
            assert finding.severity in severities, where
            assert str(finding.citation) in citations | local, f"{where} cites {finding.citation}"


def test_a_finding_judged_by_a_local_value_cites_the_local_document_and_article() -> None:
    """A county table of 40 yuan a person-meal, from the county's own measures, article 5."""
    county = StandardsLayer(
        "某县",
        Level.COUNTY,
        JURISDICTION,
        {"meal_standards": (MealStandard(Decimal(40)),), "banned_dishes": frozenset({"甲鱼"})},
        source="《某县公务接待管理办法》",
        articles={"meal_standards": "第五条"},
    )
    engine = make_engine()
    standards = resolve(JURISDICTION, date(2026, 3, 10), (*NATIONAL_LAYERS, county))
    assert standards.cite("meal_standards", Citation("x")) == Citation("《某县公务接待管理办法》", "第五条")
    assert standards.cite("banned_dishes", Citation("x")) == Citation("《某县公务接待管理办法》")
    assert standards.cite("working_meals_max", Citation("国家")) == Citation("国家")
    start = date(2026, 3, 10)
    plan = sample_plan(start)
    meal = plan.meals[0]
    costly = attrs_evolve(meal, cost=meal.cost * 10, dishes=("清蒸甲鱼",))
    reception = engine.create_reception(
        sample_letter(start),
        attrs_evolve(plan, meals=(costly,)),
        handler=make_handler(),
        host_unit="县政府办公室",
        jurisdiction=JURISDICTION,
    ).reception
    found = RULES.run(RuleContext(reception, standards, "submit", None, engine.clock.now()))
    by_rule = {f.rule_id: f for f in found if f.rule_id in ("M-03", "M-04")}
    assert by_rule["M-03"].citation == Citation("《某县公务接待管理办法》", "第五条")
    assert by_rule["M-04"].citation == Citation("《某县公务接待管理办法》")


def attrs_evolve(obj: object, **changes: object) -> object:
    import attrs

    return attrs.evolve(obj, **changes)  # type: ignore[misc]


def make_handler() -> object:
    from jiedai_flow.testing import ACTORS

    return ACTORS["handler"]


def test_caps_set_by_a_county_cite_the_county_for_meals_companions_and_vehicles() -> None:
    """M-01, C-03 and T-01 judged by the county's numbers cite the county's measures."""
    import attrs

    from jiedai_flow.domain.model import Person

    county = StandardsLayer(
        "某县",
        Level.COUNTY,
        JURISDICTION,
        {"working_meals_max": 1, "accompanying_max": 1, "escort_vehicles_max": 0},
        source="《某县公务接待管理办法》",
        articles={
            "working_meals_max": "第六条",
            "accompanying_max": "第七条",
            "escort_vehicles_max": "第九条",
        },
    )
    start = date(2026, 3, 10)
    standards = resolve(JURISDICTION, start, (*NATIONAL_LAYERS, county))
    plan = sample_plan(start)
    meal = attrs.evolve(plan.meals[0], working_meal=True)
    companions = (Person("王敏", "办公室主任"), Person("李强", "科员"))
    plan = attrs.evolve(
        plan,
        meals=(meal, meal),
        companions=companions,
        transport=attrs.evolve(plan.transport, escort_vehicles=1),
    )
    engine = make_engine()
    reception = engine.create_reception(
        sample_letter(start),
        plan,
        handler=make_handler(),
        host_unit="县政府办公室",
        jurisdiction=JURISDICTION,
    ).reception
    found = RULES.run(RuleContext(reception, standards, "submit", None, engine.clock.now()))
    cited = {(f.rule_id, f.path): f.citation for f in found}
    assert cited[("M-01", "$.plan.meals")] == Citation("《某县公务接待管理办法》", "第六条")
    assert cited[("C-03", "$.plan.companions")] == Citation("《某县公务接待管理办法》", "第七条")
    assert cited[("T-01", "$.plan.transport.escort_vehicles")] == Citation(
        "《某县公务接待管理办法》", "第九条"
    )

"""The sample data is realistic enough to pass the national rules end to end."""

from __future__ import annotations

from jiedai_flow.domain.samples import ACTORS, sample_letter, sample_list, sample_plan
from jiedai_flow.testing import make_engine


def test_the_sample_list_claims_settles_and_archives_without_findings() -> None:
    engine = make_engine()
    handler = ACTORS["handler"]
    rid = engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    for trigger, actor in (
        ("submit", "handler"),
        ("approve", "approver"),
        ("start", "handler"),
        ("finish", "handler"),
    ):
        engine.fire(rid, trigger, ACTORS[actor])
    claimed = engine.fire(rid, "claim", handler, reception_list=sample_list(engine.get(rid)))
    assert [f for f in claimed.findings if f.severity.value != "info"] == []
    engine.fire(rid, "settle", ACTORS["finance"])
    assert engine.fire(rid, "archive", ACTORS["finance"]).reception.state == "archived"

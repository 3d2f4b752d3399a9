"""Versions and migration of running receptions 流程版本迁移, on SQLite, PostgreSQL and MariaDB.

Version 2 of the default process (contributed by a plugin) calls 接待结束 ``ended`` instead of
``completed`` and has no 紧急先行接待. Receptions on version 1 in every stage are planned, moved one
audited command at a time, replayed, and a stale version half-way refuses only its own reception.
A reception half way through a 补办 chain goes on under the default process as it tells the chain's
last signature apart now, and moves there from a county's version that does not.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow import (
    DEFAULT_PROCESS,
    Actor,
    ApprovalStep,
    ConflictError,
    Level,
    NotAuthorizedError,
    Role,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain.records import Assignee
from jiedai_flow.domain.samples import sample_list
from jiedai_flow.errors import DefinitionError, MigrationRefusedError
from jiedai_flow.notify.routing import DEFAULT_ROUTES
from jiedai_flow.process.engine import CHINA_TZ, open_engine
from jiedai_flow.process.lifecycle import FACT_RETRO_FINAL_STEP, FACT_RETRO_MORE_STEPS, FACT_RETRO_PENDING
from jiedai_flow.process.migration import (
    MigrationPlan,
    apply_migration,
    definition_diff,
    plan_migration,
    replay,
)
from jiedai_flow.storage.migrate import upgrade
from jiedai_flow.testing import ACTORS, FrozenClock, NotificationCapture, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow import Engine, ProcessDefinition

V1 = DEFAULT_PROCESS
V2 = DEFAULT_PROCESS.derive(version="2").remove(triggers=["start_urgent"]).renamed({"completed": "ended"}, {})
PLAN = MigrationPlan(V1.key, V2.key, states={"completed": "ended"})
HANDLER, APPROVER, FINANCE, OFFICE, ADMIN = (
    ACTORS[k] for k in ("handler", "approver", "finance", "office", "admin")
)
VISIT = datetime(2026, 10, 12, 9, tzinfo=CHINA_TZ)


class Version2:
    """A county plugin publishing version 2 of the default process."""

    @hookimpl
    def jiedai_processes(self, default: ProcessDefinition) -> list[ProcessDefinition]:
        del default
        return [V2]


def _engine(url: str) -> Engine:
    if url.startswith(("sqlite", "postgresql", "mysql")):
        upgrade(url)
    return open_engine(url, autoload=False, plugins=[Version2()], clock=FrozenClock(VISIT))


STEPS = (
    ("submit", "handler"),
    ("approve", "approver"),
    ("start", "handler"),
    ("finish", "handler"),
    ("claim", "handler"),
    ("settle", "finance"),
    ("archive", "office"),
)


def _reception(engine: Engine, steps: int) -> str:
    rid = engine.create_reception(
        sample_letter(VISIT.date()),
        sample_plan(VISIT.date()),
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    for trigger, who in STEPS[:steps]:
        listing = sample_list(engine.get(rid)) if trigger == "claim" else None
        engine.fire(rid, trigger, ACTORS[who], reception_list=listing)
    return rid


@pytest.fixture
def world(sql_url: str) -> Iterator[tuple[Engine, list[str]]]:
    engine = _engine(sql_url)
    try:
        yield engine, [_reception(engine, n) for n in range(len(STEPS) + 1)]
    finally:
        engine.store.close()


def test_version_2_is_loaded_beside_version_1_and_new_receptions_start_on_version_1(
    world: tuple[Engine, list[str]],
) -> None:
    engine, ids = world
    assert [d.key for d in engine.processes] == ["reception@1", "reception@2"]
    assert engine.processes[1].origin  # the plugin that contributed it
    assert all(engine.get(rid).process == "reception@1" for rid in ids)


def test_the_dry_run_lists_every_reception_before_and_after_and_changes_nothing(
    world: tuple[Engine, list[str]],
) -> None:
    engine, ids = world
    before = {rid: engine.get(rid) for rid in ids}
    report = plan_migration(engine, PLAN)
    assert sorted(m.reception_id for m in report.moves) == sorted(ids)
    by_id = {m.reception_id: m for m in report.moves}
    assert by_id[ids[4]].before == "completed"
    assert by_id[ids[4]].after == "ended"
    assert by_id[ids[0]].after == "draft"
    assert by_id[ids[7]].after == "archived"
    assert report.blocked == ()
    assert all(m.version == before[m.reception_id].version for m in report.moves)
    assert {rid: engine.get(rid) for rid in ids} == before


def test_a_state_without_a_place_in_the_target_is_blocked_with_the_reason(
    world: tuple[Engine, list[str]],
) -> None:
    engine, ids = world
    report = plan_migration(engine, MigrationPlan(V1.key, V2.key, states={"approved": "submitted"}))
    blocked = {m.reception_id: m for m in report.blocked}
    assert set(blocked) == {ids[2], ids[4]}  # approved: another phase; completed: no such state
    assert "阶段" in blocked[ids[2]].reason_zh
    assert "phase" in blocked[ids[2]].reason_en
    assert "没有状态「completed」" in blocked[ids[4]].reason_zh


def test_a_plan_naming_unknown_states_triggers_or_versions_is_refused(
    world: tuple[Engine, list[str]],
) -> None:
    engine, _ = world
    with pytest.raises(DefinitionError, match="the target has no state nowhere") as refused:
        plan_migration(engine, MigrationPlan(V1.key, V2.key, states={"completed": "nowhere"}))
    assert refused.value.message_zh == "迁移计划有误：目标流程没有状态 nowhere"
    with pytest.raises(DefinitionError, match="the source has no trigger fnish"):  # a typo is not ignored
        plan_migration(engine, MigrationPlan(V1.key, V2.key, triggers={"fnish": "finish"}))
    with pytest.raises(DefinitionError, match="the target has no trigger start_urgent"):
        plan_migration(engine, MigrationPlan(V1.key, V2.key, triggers={"start": "start_urgent"}))
    with pytest.raises(DefinitionError, match="reception@9"):
        plan_migration(engine, MigrationPlan(V1.key, "reception@9"))


def test_a_plan_from_a_version_to_itself_is_refused_before_anything_moves(
    world: tuple[Engine, list[str]],
) -> None:
    """Every reception would "move" to where it is, with an audit event each."""
    engine, ids = world
    with pytest.raises(DefinitionError, match="would change nothing"):
        plan_migration(engine, MigrationPlan(V1.key, V1.key))
    with pytest.raises(DefinitionError, match="would change nothing"):
        apply_migration(engine, MigrationPlan(V1.key, V1.key), ADMIN, reason="x")
    assert all(e.trigger != "migrate" for rid in ids for e in engine.history(rid))


def test_applying_moves_each_reception_by_one_audited_command(world: tuple[Engine, list[str]]) -> None:
    engine, ids = world
    versions = {rid: engine.get(rid).version for rid in ids}
    report = apply_migration(engine, PLAN, ADMIN, reason="2027 年起使用新版流程")
    assert sorted(report.applied) == sorted(ids)
    assert report.refused == ()
    for rid in ids:
        after = engine.get(rid)
        assert after.process == "reception@2"
        assert after.version == versions[rid] + 1
        last = engine.history(rid)[-1]
        assert (last.trigger, last.actor_id, last.process) == ("migrate", ADMIN.id, "reception@2")
        assert "reception@1 → reception@2" in last.reason
        assert last.request_id == f"migrate:reception@1>reception@2:{rid}@{versions[rid]}"
    assert engine.get(ids[4]).state == "ended"
    assert engine.store.verify().ok  # type: ignore[attr-defined]
    # the moved reception goes on in version 2: 报销 from 接待结束 (now called ended)
    engine.fire(ids[4], "claim", HANDLER, reception_list=sample_list(engine.get(ids[4])))
    assert engine.get(ids[4]).state == "settling"


def test_applying_again_replays_and_changes_nothing(world: tuple[Engine, list[str]]) -> None:
    engine, ids = world
    apply_migration(engine, PLAN, ADMIN, reason="迁移")
    again = apply_migration(engine, PLAN, ADMIN, reason="迁移")
    assert again.moves == ()  # nobody is on version 1 any more
    events = {rid: len(engine.history(rid)) for rid in ids}
    rid = ids[3]
    replayed = engine.migrate(
        rid,
        "reception@2",
        "in_progress",
        ADMIN,
        reason="迁移",
        request_id=f"migrate:reception@1>reception@2:{rid}@{engine.get(rid).version - 1}",
    )
    assert replayed.replayed
    assert {r: len(engine.history(r)) for r in ids} == events


def test_a_stale_version_half_way_refuses_only_its_own_reception(world: tuple[Engine, list[str]]) -> None:
    """The plan was reviewed; then a clerk acts on one reception before the plan is applied."""
    engine, ids = world
    reviewed = plan_migration(engine, PLAN)
    engine.fire(ids[2], "start", HANDLER)  # approved → in_progress: version + 1 after the review
    stale = engine.get(ids[2])
    events = len(engine.history(ids[2]))
    report = apply_migration(engine, PLAN, ADMIN, reason="迁移", report=reviewed)
    (refused_id, error), *_ = report.refused
    assert [r for r, _ in report.refused] == [ids[2]]
    assert refused_id == ids[2]
    assert isinstance(error, ConflictError)
    assert engine.get(ids[2]) == stale  # nothing half-applied: same process, state, version
    assert len(engine.history(ids[2])) == events
    assert sorted(report.applied) == sorted(set(ids) - {ids[2]})
    assert engine.store.verify().ok  # type: ignore[attr-defined]
    rest = apply_migration(engine, PLAN, ADMIN, reason="迁移")
    assert rest.applied == (ids[2],)
    assert engine.get(ids[2]).process == "reception@2"


def test_only_an_administrator_migrates_and_a_reason_is_required(world: tuple[Engine, list[str]]) -> None:
    engine, ids = world
    with pytest.raises(NotAuthorizedError):
        engine.migrate(ids[0], "reception@2", "draft", HANDLER, reason="x")
    with pytest.raises(MigrationRefusedError, match="阶段"):
        engine.migrate(ids[2], "reception@2", "submitted", ADMIN, reason="x")
    report = apply_migration(engine, PLAN, HANDLER, reason="x")
    assert report.applied == ()
    assert {type(e) for _, e in report.refused} == {NotAuthorizedError}


def test_replay_reports_the_steps_a_new_version_would_not_allow(world: tuple[Engine, list[str]]) -> None:
    engine, ids = world
    assert replay(engine, V2, ids, PLAN).ok
    stricter = attrs.evolve(
        V2,
        version="3",
        transitions=tuple(
            attrs.evolve(t, roles=frozenset({Role.OFFICE}))  # 结算 by the office, not finance
            if t.trigger == "settle"
            else t
            for t in V2.transitions
        ),
    )
    report = replay(engine, stricter, ids, PLAN)
    assert not report.ok
    assert [(s.reception_id, s.trigger) for s in report.refused] == [(ids[6], "settle"), (ids[7], "settle")]
    assert "finance" in report.refused[0].reason_en
    assert report.receptions == len(ids)
    without_archive = V2.derive(version="4").remove(triggers=["archive"])
    with pytest.raises(DefinitionError):  # settled would be a dead end: not a definition at all
        replay(engine, without_archive, ids, PLAN)


def test_diff_names_what_changed() -> None:
    diff = definition_diff(V1, V2)
    assert diff.states_added == ("ended",)
    assert diff.states_removed == ("completed",)
    assert diff.triggers_removed == ("start_urgent",)
    assert any("ended" in t for t in diff.transitions_added)
    assert definition_diff(V1, V1).same


# -- 补办 signatures across versions ---------------------------------------------------------------


class ThreeSteps:
    """A chain of three people, a then b then c, and standards that allow 补办."""

    @hookimpl
    def jiedai_approval_chain(self) -> list[ApprovalStep]:
        return [ApprovalStep("", f"第{n}环节", assignees=(Assignee.person(n),)) for n in "abc"]

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (StandardsLayer("补办", Level.COUNTY, "341502", {"retroactive_window_days": 2}),)


SIGNERS = {n: Actor(n, f"审批人{n}", frozenset({Role.APPROVER})) for n in "abc"}
SIGNED = ((Role.HANDLER,), "补办审批已签署")
NEXT = ((Role.APPROVER,), "请审批下一环节")


def signing_on_retro_pending(definition: ProcessDefinition) -> ProcessDefinition:
    """``definition`` as a process signs 补办 without telling its last step apart: one approval on
    ``retro_pending`` in each state, which tells the handler at every signature (the default
    process did so before)."""
    transitions = []
    for t in definition.transitions:
        if t.condition == FACT_RETRO_FINAL_STEP:
            transitions.append(attrs.evolve(t, condition=FACT_RETRO_PENDING))
        elif t.condition != FACT_RETRO_MORE_STEPS:
            transitions.append(t)
    return attrs.evolve(definition, transitions=tuple(transitions))


def _retro_engine(url: str, told: NotificationCapture, *processes: ProcessDefinition) -> Engine:
    upgrade(url)
    plugins = [ThreeSteps(), told]
    return open_engine(
        url, autoload=False, plugins=plugins, clock=FrozenClock(VISIT), processes=processes or None
    )


def _signed(engine: Engine, told: NotificationCapture, rid: str, signer: str) -> list[tuple[object, ...]]:
    told.clear()
    engine.fire(rid, "approve", SIGNERS[signer], reason="同意补办")
    return [(n.recipients, n.action_zh) for n in told.delivered]


def test_a_retroactive_chain_begun_before_the_upgrade_is_told_truly_after_it(sql_url: str) -> None:
    """A reception stored half way through a 补办 chain under ``reception@1`` as it signed before
    (every signature told the handler it was signed) loads under ``reception@1`` as it is now and
    goes on: the next signature asks for the next step, only the last tells the handler."""
    told = NotificationCapture()
    before = _retro_engine(sql_url, told, signing_on_retro_pending(DEFAULT_PROCESS))
    try:
        rid = _reception(before, 0)
        before.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
        assert _signed(before, told, rid, "a") == [SIGNED]  # what the old process said, untrue
    finally:
        before.store.close()
    after = _retro_engine(sql_url, told)
    try:
        assert after.get(rid).process == DEFAULT_PROCESS.key
        assert _signed(after, told, rid, "b") == [NEXT]
        assert _signed(after, told, rid, "c") == [SIGNED]
        assert after.get(rid).approval_complete
        assert after.store.verify().ok  # type: ignore[attr-defined]
    finally:
        after.store.close()


def test_a_county_version_signing_on_retro_pending_alone_runs_and_migrates_to_one_that_tells_apart(
    sql_url: str,
) -> None:
    """A county's own process that still signs 补办 on ``retro_pending`` alone is a valid process
    and runs as it declares; its receptions half way through move to a version derived from the
    default now, where only the last signature tells the handler it is signed."""
    old = signing_on_retro_pending(DEFAULT_PROCESS.derive(name="county", version="1"))
    new = DEFAULT_PROCESS.derive(name="county", version="2")
    told = NotificationCapture()
    engine = _retro_engine(sql_url, told, old, new)
    try:
        rid = _reception(engine, 0)
        engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
        assert _signed(engine, told, rid, "a") == [SIGNED]  # as the county's process declares
        plan = MigrationPlan(old.key, new.key)
        assert replay(engine, new, [rid], plan).ok
        assert apply_migration(engine, plan, ADMIN, reason="补办签字如实通知").applied == (rid,)
        assert _signed(engine, told, rid, "b") == [NEXT]
        assert _signed(engine, told, rid, "c") == [SIGNED]
        assert (engine.get(rid).process, engine.get(rid).state) == (new.key, "in_progress")
    finally:
        engine.store.close()


class CountyRoutes:
    """A county's routing table written as the docs show: the default's, with one change."""

    @hookimpl
    def jiedai_routes(self, jurisdiction: str) -> dict[str, tuple[Role, ...]]:
        del jurisdiction
        return {**DEFAULT_ROUTES, "start_urgent": (Role.APPROVER, Role.SUPERVISOR, Role.OFFICE)}


def test_a_table_from_the_defaults_still_tells_a_process_signing_on_retro_pending_alone(sql_url: str) -> None:
    """The default's table keys the two 补办 signatures by their condition, and keeps the plain
    ``approve:in_progress>in_progress`` key (the first declared): a county process that signs on
    ``retro_pending`` alone, told by a table built from the defaults, still tells the handler —
    without the plain key every signature of it told nobody."""
    told = NotificationCapture()
    old = signing_on_retro_pending(DEFAULT_PROCESS.derive(name="county", version="1"))
    upgrade(sql_url)
    engine = open_engine(
        sql_url,
        autoload=False,
        plugins=[ThreeSteps(), told, CountyRoutes()],
        clock=FrozenClock(VISIT),
        processes=[old],
    )
    try:
        rid = _reception(engine, 0)
        engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
        assert [_signed(engine, told, rid, n) for n in "abc"] == [[SIGNED]] * 3
    finally:
        engine.store.close()

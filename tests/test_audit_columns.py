"""Tampering outside the hashed records that verify must still report: dates stored in a form
other than the one the store writes (SQLite), a numbering counter turned back, and a budget ledger
that no longer matches the commitments of the hashed receptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.errors import StorageError
from jiedai_flow.storage import schema
from jiedai_flow.testing import make_engine
from tests import test_audit_chain as chain_tests
from tests._sql_helpers import advance, create
from tests.databases import with_server_collation

if TYPE_CHECKING:
    from tests.test_audit_chain import Trail

R, E, T = schema.receptions, schema.audit_events, schema.tasks
built = chain_tests.built
trail = chain_tests.trail
"""The trail of tests/test_audit_chain.py, restored and verified intact before each test."""


def _problem(trail: Trail) -> str:
    report = trail.verify()
    assert not report.ok, "tampering went undetected"
    assert report.problem is not None
    zh, en = report.problem.message_zh, report.problem.message_en
    assert str(report.problem) == f"{zh} / {en}"
    return str(report.problem)


def _sqlite_only(trail: Trail) -> None:
    if not trail.url.startswith("sqlite"):
        pytest.skip("only SQLite keeps dates as text a tamperer can rewrite in another form")


# -- A: dates in another text form (SQLite) ----------------------------------------------------


@pytest.mark.parametrize("text", ["2026-W11-2", "20260310", "2026-03-10T00:00:00", "2026-3-10"])
def test_a_reception_date_in_another_text_form_is_reported(trail: Trail, text: str) -> None:
    _sqlite_only(trail)
    rid = trail.receptions["A"]
    with trail.db.begin() as conn:
        conn.exec_driver_sql(f"UPDATE jd_receptions SET start_date='{text}' WHERE id='{rid}'")
    message = _problem(trail)
    assert "「start_date」" in message
    assert "'start_date'" in message


@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_a_reception_moment_in_another_text_form_is_reported(trail: Trail, column: str) -> None:
    _sqlite_only(trail)
    rid = trail.receptions["A"]
    with trail.db.begin() as conn:
        stored = conn.exec_driver_sql(f"SELECT {column} FROM jd_receptions WHERE id='{rid}'").scalar_one()
        conn.exec_driver_sql(
            f"UPDATE jd_receptions SET {column}=? WHERE id='{rid}'", (stored.replace(" ", "T"),)
        )
    assert column in _problem(trail)


def test_an_event_time_in_another_text_form_is_reported(trail: Trail) -> None:
    _sqlite_only(trail)
    event = trail.at(3)
    with trail.db.begin() as conn:
        stored = conn.exec_driver_sql(f"SELECT at FROM jd_audit_events WHERE id='{event.id}'").scalar_one()
        conn.exec_driver_sql(
            f"UPDATE jd_audit_events SET at=? WHERE id='{event.id}'", (stored.replace(" ", "T") + "+00:00",)
        )
    message = _problem(trail)
    assert event.id in message
    assert "at" in message


def test_a_task_due_day_in_another_text_form_is_reported(trail: Trail) -> None:
    _sqlite_only(trail)
    with trail.db.begin() as conn:
        task_id, due = conn.execute(sa.select(T.c.id, sa.type_coerce(T.c.due, sa.String)).limit(1)).one()
        conn.exec_driver_sql(f"UPDATE jd_tasks SET due=? WHERE id='{task_id}'", (due.replace("-", ""),))
    assert "'due'" in _problem(trail)


def test_cli_verify_exits_1_on_a_date_in_week_form(trail: Trail) -> None:
    _sqlite_only(trail)
    with trail.db.begin() as conn:
        conn.exec_driver_sql("UPDATE jd_receptions SET start_date='2026-W11-2', end_date='2026-W11-3'")
    result = CliRunner().invoke(main, ["--db", trail.url, "audit", "verify"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "start_date" in result.output
    assert "Traceback" not in result.output


# -- B: the numbering counter --------------------------------------------------------------------


def test_a_counter_turned_back_is_reported(trail: Trail) -> None:
    with trail.db.begin() as conn:
        key, value = conn.execute(sa.select(schema.counters.c.key, schema.counters.c.value)).one()
        conn.execute(schema.counters.update().values(value=0))
    message = _problem(trail)
    assert key in message
    assert f"{value:05d}" in message  # the highest number issued under the key
    assert "计数器" in message
    assert "counter" in message


def test_a_store_with_its_counter_turned_back_refuses_to_issue_an_existing_number(trail: Trail) -> None:
    with trail.db.begin() as conn:
        conn.execute(schema.counters.update().values(value=0))
    engine = make_engine(url=trail.url)
    try:
        with pytest.raises(StorageError) as refused:
            create(engine)
    finally:
        engine.store.close()
    assert "341502-2026-00001" in str(refused.value)
    with trail.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(R)).scalar_one() == 3


def test_duplicate_reception_numbers_are_reported(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database written before the store refused a taken number may hold two receptions with one
    number; verify names it."""
    from jiedai_flow.storage.sql import store as sql_store

    monkeypatch.setattr(sql_store.SQLStore, "_number_taken", lambda *_args: False)
    with trail.db.begin() as conn:
        conn.execute(schema.counters.update().values(value=0))
    engine = make_engine(url=trail.url)
    try:
        number = create(engine).reception.number
    finally:
        engine.store.close()
    message = _problem(trail)
    assert number in message
    assert "重复" in message
    assert "more than one" in message


# -- C: the budget ledger ---------------------------------------------------------------------------


def test_a_ledgers_committed_amount_edited_is_reported(trail: Trail) -> None:
    _L = schema.budget_ledger
    with trail.db.connect() as conn:
        before = conn.execute(sa.select(_L.c.key, _L.c.committed_fen)).all()
    assert any(committed > 0 for _key, committed in before)
    with trail.db.begin() as conn:
        conn.execute(_L.update().values(committed_fen=0))
    message = _problem(trail)
    assert "committed_fen" in message
    assert "预算台账" in message
    assert "budget ledger" in message


def test_a_deleted_ledger_row_is_reported(trail: Trail) -> None:
    with trail.db.begin() as conn:
        conn.execute(schema.budget_ledger.delete())
    assert "budget ledger" in _problem(trail)


def test_an_added_ledger_commitment_is_reported(trail: Trail) -> None:
    with trail.db.begin() as conn:
        conn.execute(
            schema.budget_ledger.insert().values(
                key="2026|县财政局", host_unit="县财政局", year=2026, committed_fen=100, spent_fen=0
            )
        )
    assert "县财政局" in _problem(trail)


def test_cli_verify_exits_1_on_an_edited_ledger(trail: Trail) -> None:
    with trail.db.begin() as conn:
        conn.execute(schema.budget_ledger.update().values(committed_fen=0))
    result = CliRunner().invoke(main, ["--db", trail.url, "audit", "verify"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("units", [("县CBD办公室", "县cbd办公室"), ("县政府办公室", "县政府办公室 ")])
def test_host_units_differing_in_case_or_spaces_keep_their_own_ledger_rows(
    sql_url: str, units: tuple[str, str]
) -> None:
    """Two host units Python tells apart are two ledger rows on every back end — MySQL/MariaDB too,
    on a database in the server's case-blind collation (migration 0012 makes the tables exact):
    one unit's commitments never count against the other's cap, and verify agrees."""
    engine = make_engine(url=with_server_collation(sql_url))
    try:
        for unit in units:
            advance(engine, create(engine, host_unit=unit).reception, steps=2)  # submitted, approved
        with engine.store.db.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                sa.select(schema.budget_ledger.c.host_unit, schema.budget_ledger.c.committed_fen)
            ).all()
        assert sorted(unit for unit, _ in rows) == sorted(units)
        assert len({committed for _, committed in rows}) == 1  # the same plan, each its own
        report = engine.store.verify()  # type: ignore[attr-defined]
        assert report.ok, report.problem
    finally:
        engine.store.close()


def test_a_ledger_problem_names_the_ledger_not_a_reception(trail: Trail) -> None:
    with trail.db.begin() as conn:
        conn.execute(schema.budget_ledger.update().values(committed_fen=0))
    message = _problem(trail)
    assert message.startswith("预算台账（jd_budget_ledger）")
    assert "/ the budget ledger (jd_budget_ledger)" in message
    assert "接待 jd_budget_ledger" not in message

"""Tampering outside the hashed records that verify must still report: dates stored in a form
other than the one the store writes (SQLite)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.storage import schema
from tests import test_audit_chain as chain_tests

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

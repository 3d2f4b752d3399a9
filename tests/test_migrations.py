"""The shipped migrations: a fresh database reaches head; 0004 fills its typed columns from the JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command

from jiedai_flow.storage import migrate, schema
from jiedai_flow.testing import make_engine
from tests._sql_helpers import advance, create

if TYPE_CHECKING:
    from pathlib import Path


def _counts(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            receptions = conn.execute(
                sa.select(
                    schema.receptions.c.id, schema.receptions.c.guests, schema.receptions.c.item_count
                ).order_by(schema.receptions.c.id)
            ).all()
            events = conn.execute(
                sa.select(schema.audit_events.c.id, schema.audit_events.c.violations).order_by(
                    schema.audit_events.c.id
                )
            ).all()
    finally:
        db.dispose()
    return [tuple(r) for r in receptions], [tuple(e) for e in events]


def test_a_fresh_database_is_upgraded_to_the_newest_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert migrate.current_revision(url) is None
    assert migrate.upgrade(url) == migrate.head_revision() == "0005"


def test_0004_fills_guests_items_and_violations_from_the_stored_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url=url)
    try:
        for steps in (0, 2, 6):  # a draft, an approved reception, a settled one with its list
            advance(engine, create(engine).reception, steps)
    finally:
        engine.store.close()
    written = _counts(url)
    assert any(guests for _id, guests, _items in written[0])

    db = sa.create_engine(url)
    try:
        with db.begin() as conn:
            command.downgrade(migrate._config(conn), "0003")  # back to before the typed columns
        with db.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("jd_receptions")}
        assert "guests" not in columns
    finally:
        db.dispose()

    assert migrate.upgrade(url) == "0005"
    assert _counts(url) == written


def test_0005_indexes_the_reception_number(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'numbers.db'}"
    migrate.upgrade(url)
    db = sa.create_engine(url)
    try:
        with db.begin() as conn:
            command.downgrade(migrate._config(conn), "0004")
        with db.connect() as conn:
            assert "ix_jd_receptions_number" not in {
                i["name"] for i in sa.inspect(conn).get_indexes("jd_receptions")
            }
        assert migrate.upgrade(url) == "0005"
        with db.connect() as conn:
            indexes = {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes("jd_receptions")}
        assert indexes["ix_jd_receptions_number"] == ["number"]
    finally:
        db.dispose()

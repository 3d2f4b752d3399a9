"""The tamper-evident audit trail on a real database: whatever is changed directly in the tables,
``SQLStore.verify()`` (and ``jiedai audit verify``) reports it and names the first event that does
not fit.

One trail is built per back end; before each test every table is restored to it, so each test
tampers with the same, verified-intact trail.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jiedai_flow import audit
from jiedai_flow.cli import main
from jiedai_flow.records import ReceptionQuery
from jiedai_flow.storage import schema
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import make_engine
from tests._sql_helpers import advance, create, fire
from tests.databases import BACKENDS, private_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow.audit import VerifyReport

E, R = schema.audit_events, schema.receptions
TABLES = tuple(schema.metadata.sorted_tables)
"""Every table of the schema, parents before children: what a restore deletes and re-inserts."""

SCRIPT = (
    ("A", "submit", "handler"),
    ("B", "create", "handler"),
    ("C", "create", "handler"),
    ("A", "approve", "approver"),
    ("B", "submit", "handler"),
    ("A", "start", "handler"),
    ("B", "return", "approver"),
    ("C", "submit", "handler"),
    ("A", "finish", "handler"),
    ("B", "submit", "handler"),
    ("C", "approve", "approver"),
    ("A", "claim", "handler"),
    ("B", "approve", "approver"),
    ("A", "settle", "finance"),
)
"""After creating A: 15 events interleaving three receptions (A ends settled, B approved)."""


@attrs.frozen
class Event:
    chain_index: int
    id: str
    reception_id: str
    seq: int
    trigger: str


@attrs.frozen
class Trail:
    url: str
    db: sa.Engine
    """A plain SQLAlchemy engine: the tamperer's own access to the tables."""
    events: tuple[Event, ...]
    """By chain index: ``events[k - 1].chain_index == k``."""
    receptions: dict[str, str]
    """Script name (A, B, C) → reception id."""
    rows: dict[str, list[dict[str, Any]]]

    def at(self, chain_index: int) -> Event:
        return self.events[chain_index - 1]

    def verify(self) -> VerifyReport:
        store = SQLStore(self.url, create=False)
        try:
            return store.verify()
        finally:
            store.close()

    def restore(self) -> None:
        with self.db.begin() as conn:
            for table in reversed(TABLES):
                conn.execute(table.delete())
            for table in TABLES:
                if self.rows[table.name]:
                    conn.execute(table.insert(), self.rows[table.name])


def build(url: str) -> dict[str, str]:
    """Run the script through an engine; the ids of receptions A, B and C."""
    engine = make_engine(url=url)
    try:
        receptions = {"A": create(engine, request_id="create-A").reception}
        for n, (name, trigger, actor) in enumerate(SCRIPT):
            request_id = f"req-{n}"
            if trigger == "create":
                receptions[name] = create(engine, request_id=request_id).reception
            else:
                receptions[name] = fire(
                    engine, receptions[name], trigger, actor, request_id=request_id
                ).reception
    finally:
        engine.store.close()
    return {name: r.id for name, r in receptions.items()}


@pytest.fixture(scope="module", params=BACKENDS)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trail]:
    for url in private_database(request.param, tmp_path_factory.mktemp("trail")):
        db = sa.create_engine(url)
        try:
            receptions = build(url)
            columns = (E.c.chain_index, E.c.id, E.c.reception_id, E.c.seq, E.c.trigger)
            with db.connect() as conn:
                events = tuple(
                    Event(*row) for row in conn.execute(sa.select(*columns).order_by(E.c.chain_index))
                )
                rows = {t.name: [dict(row._mapping) for row in conn.execute(sa.select(t))] for t in TABLES}
            yield Trail(url, db, events, receptions, rows)
        finally:
            db.dispose()


@pytest.fixture
def trail(built: Trail) -> Trail:
    built.restore()
    report = built.verify()
    assert report.ok, f"the restored trail must be intact before tampering: {report.problem}"
    return built


def edit_data(trail: Trail, chain_index: int, **changes: Any) -> None:
    """Rewrite fields inside an event's stored JSON, keeping the canonical form (as a careful
    tamperer would, so only the meaning changes)."""
    with trail.db.begin() as conn:
        data = conn.execute(sa.select(E.c.data).where(E.c.chain_index == chain_index)).scalar_one()
        content = json.loads(data)
        assert set(changes) <= set(content)
        content.update(changes)
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        conn.execute(E.update().where(E.c.chain_index == chain_index).values(data=text))


def delete_event(conn: sa.Connection, chain_index: int) -> str:
    event_id = conn.execute(sa.select(E.c.id).where(E.c.chain_index == chain_index)).scalar_one()
    conn.execute(schema.outbox.delete().where(schema.outbox.c.event_id == event_id))
    conn.execute(E.delete().where(E.c.chain_index == chain_index))
    return str(event_id)


def problem_at(report: VerifyReport, event: Event) -> tuple[int, str, str]:
    assert not report.ok, "tampering went undetected"
    assert report.problem is not None
    assert (report.problem.chain_index, report.problem.event_id) == (event.chain_index, event.id), str(
        report.problem
    )
    return report.problem.chain_index, report.problem.event_id, report.problem.reason_en


# -- an intact trail --------------------------------------------------------------------------------


def test_untampered_trail_verifies_ok_having_checked_every_event(trail: Trail) -> None:
    report = trail.verify()
    assert len(trail.events) == 1 + len(SCRIPT)
    assert (report.ok, report.checked) == (True, len(trail.events))


def test_every_event_records_sm3_and_its_hashes_recompute_from_the_stored_data(trail: Trail) -> None:
    assert "sm3" in hashlib.algorithms_available

    def sm3(previous: str, content: bytes) -> str:
        return hashlib.new("sm3", previous.encode("ascii") + b"\n" + content).hexdigest()

    columns = (E.c.reception_id, E.c.hash_algorithm, E.c.prev_hash, E.c.hash, E.c.chain_prev, E.c.chain_hash)
    with trail.db.connect() as conn:
        rows = conn.execute(sa.select(*columns, E.c.data, E.c.state_hash).order_by(E.c.chain_index)).all()
        head = conn.execute(sa.select(schema.chain_head.c.chain_index, schema.chain_head.c.hash)).one()
    last: dict[str, str] = {}
    chain = ""
    for reception_id, algorithm, prev_hash, event_hash, chain_prev, chain_hash, data, state_hash in rows:
        assert algorithm == "sm3"
        assert (prev_hash, chain_prev) == (last.get(reception_id, ""), chain)
        # the event hash covers its content and the hash of the reception as saved with it
        assert event_hash == sm3(prev_hash, data.encode() + b"\n" + state_hash.encode("ascii"))
        assert chain_hash == sm3(chain_prev, event_hash.encode("ascii"))
        last[reception_id], chain = event_hash, chain_hash
    assert tuple(head) == (len(rows), chain)
    store = SQLStore(trail.url, create=False)
    try:
        history = store.history(trail.receptions["A"])
    finally:
        store.close()
    assert {e.hash_algorithm for e in history} == {"sm3"}
    assert history[-1].hash == last[trail.receptions["A"]]


# -- tampering with events ------------------------------------------------------------------------


def test_changing_the_reason_inside_an_events_data_names_that_event(trail: Trail) -> None:
    returned = trail.at(8)
    assert returned.trigger == "return"
    edit_data(trail, 8, reason="同意")
    assert "hash mismatch" in problem_at(trail.verify(), returned)[2]


def test_changing_the_actor_inside_an_events_data_names_that_event(trail: Trail) -> None:
    approved = trail.at(5)
    assert approved.trigger == "approve"
    edit_data(trail, 5, actor_id="sun.hao", actor_name="孙浩")
    assert "hash mismatch" in problem_at(trail.verify(), approved)[2]


@pytest.mark.parametrize(
    ("column", "value"),
    [("to_state", "approved"), ("actor_id", "sun.hao"), ("at", datetime(2026, 1, 1, 8, 0))],
)
def test_changing_only_a_typed_column_of_a_middle_event_names_that_event(
    trail: Trail, column: str, value: object
) -> None:
    submitted = trail.at(6)  # B's first submit; B has later events
    assert (submitted.trigger, submitted.seq) == ("submit", 2)
    with trail.db.begin() as conn:
        conn.execute(E.update().where(E.c.chain_index == 6).values({column: value}))
    problem_at(trail.verify(), submitted)


def test_changing_the_to_state_column_of_a_receptions_last_event_is_detected(trail: Trail) -> None:
    settled = trail.at(15)
    with trail.db.begin() as conn:
        conn.execute(E.update().where(E.c.chain_index == 15).values(to_state="archived"))
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.reception_id == settled.reception_id


def test_deleting_a_middle_event_names_the_event_after_the_gap(trail: Trail) -> None:
    with trail.db.begin() as conn:
        delete_event(conn, 7)
    assert "deleted or inserted" in problem_at(trail.verify(), trail.at(8))[2]


def test_deleting_a_middle_event_and_renumbering_the_rest_names_the_event_moved_into_the_gap(
    trail: Trail,
) -> None:
    with trail.db.begin() as conn:
        delete_event(conn, 7)
        for index in range(8, len(trail.events) + 1):
            conn.execute(E.update().where(E.c.chain_index == index).values(chain_index=index - 1))
        conn.execute(schema.chain_head.update().values(chain_index=len(trail.events) - 1))
    report = trail.verify()
    moved = attrs.evolve(trail.at(8), chain_index=7)
    assert "global chain broken" in problem_at(report, moved)[2]


def test_deleting_the_last_event_is_reported_as_a_head_mismatch(trail: Trail) -> None:
    last = len(trail.events)
    with trail.db.begin() as conn:
        delete_event(conn, last)
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.checked == last - 1
    assert "head mismatch" in report.problem.reason_en
    assert report.problem.event_id == ""


def test_deleting_the_last_event_and_rewinding_the_head_names_the_reception_left_ahead(trail: Trail) -> None:
    last = len(trail.events)
    with trail.db.begin() as conn:
        delete_event(conn, last)
        previous = conn.execute(sa.select(E.c.chain_hash).where(E.c.chain_index == last - 1)).scalar_one()
        conn.execute(schema.chain_head.update().values(chain_index=last - 1, hash=previous))
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.reception_id == trail.at(last).reception_id


def test_inserting_a_forged_event_with_a_made_up_hash_names_the_forged_event(trail: Trail) -> None:
    b = trail.receptions["B"]
    index = len(trail.events) + 1
    with trail.db.begin() as conn:
        row = dict(
            conn.execute(sa.select(E).where(E.c.reception_id == b).order_by(E.c.seq.desc()).limit(1))
            .one()
            ._mapping
        )
        head = conn.execute(sa.select(schema.chain_head.c.hash)).scalar_one()
        content = json.loads(row["data"])
        content.update(id="forged", seq=row["seq"] + 1, trigger="settle", to_state="settled")
        row.update(
            chain_index=index,
            id="forged",
            seq=row["seq"] + 1,
            trigger="settle",
            from_state=row["to_state"],
            to_state="settled",
            request_id=None,
            prev_hash=row["hash"],
            hash="f" * 64,
            chain_prev=head,
            chain_hash="e" * 64,
            data=json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        )
        conn.execute(E.insert(), row)
    report = trail.verify()
    forged = Event(index, "forged", b, row["seq"], "settle")
    assert "hash mismatch" in problem_at(report, forged)[2]


def test_swapping_the_chain_index_of_two_events_names_the_one_moved_earlier(trail: Trail) -> None:
    with trail.db.begin() as conn:
        conn.execute(E.update().where(E.c.chain_index == 9).values(chain_index=-9))
        conn.execute(E.update().where(E.c.chain_index == 10).values(chain_index=9))
        conn.execute(E.update().where(E.c.chain_index == -9).values(chain_index=10))
    report = trail.verify()
    assert "global chain broken" in problem_at(report, attrs.evolve(trail.at(10), chain_index=9))[2]


def test_swapping_the_data_of_two_events_names_the_earlier_one(trail: Trail) -> None:
    with trail.db.begin() as conn:
        first, second = (
            conn.execute(sa.select(E.c.data).where(E.c.chain_index == i)).scalar_one() for i in (3, 7)
        )
        conn.execute(E.update().where(E.c.chain_index == 3).values(data=second))
        conn.execute(E.update().where(E.c.chain_index == 7).values(data=first))
    assert "hash mismatch" in problem_at(trail.verify(), trail.at(3))[2]


# -- tampering with reception rows ----------------------------------------------------------------


def test_editing_a_reception_rows_state_names_that_reception(trail: Trail) -> None:
    a = trail.receptions["A"]
    with trail.db.begin() as conn:
        conn.execute(R.update().where(R.c.id == a).values(state="archived"))
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.reception_id == a
    assert "reception row" in report.problem.reason_en


def test_editing_a_reception_rows_planned_amount_and_plan_is_detected(trail: Trail) -> None:
    b = trail.receptions["B"]
    with trail.db.begin() as conn:
        planned, data = conn.execute(sa.select(R.c.planned_fen, R.c.data).where(R.c.id == b)).one()
        content = json.loads(data)
        content["plan"]["budget"] = "99999.00"
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        conn.execute(R.update().where(R.c.id == b).values(planned_fen=planned * 10, data=text))
    report = trail.verify()
    assert not report.ok, "a reception's stored plan and amount were changed without detection"
    assert report.problem is not None
    assert report.problem.reception_id == b


# -- algorithms ------------------------------------------------------------------------------------


GB_T_32905 = {
    b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
}
"""The two examples of GB/T 32905-2016, Appendix A."""


@pytest.mark.parametrize("use_hashlib", [True, False], ids=["hashlib", "cryptography"])
def test_sm3_gives_the_standards_test_vectors_with_or_without_hashlib(use_hashlib: bool) -> None:
    for message, expected in GB_T_32905.items():
        h = audit.new_hash("sm3", use_hashlib=use_hashlib)
        h.update(message)
        assert h.hexdigest() == expected
        assert h.copy().hexdigest() == expected


def test_an_unknown_algorithm_is_an_error_not_a_substitute() -> None:
    with pytest.raises(ValueError, match="unsupported hash type"):
        audit.new_hash("no-such-hash")


def test_without_sm3_in_hashlib_the_chain_is_still_sm3_and_verifies_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written on a machine whose OpenSSL lacks SM3 (cryptography's SM3), verified on one with it."""
    url = f"sqlite:///{tmp_path / 'sm3.db'}"
    with monkeypatch.context() as platform:
        platform.setattr(hashlib, "algorithms_available", hashlib.algorithms_available - {"sm3"})
        platform.setattr(audit, "_fresh", {})
        elsewhere = make_engine(url=url)
        try:
            assert isinstance(elsewhere.store, SQLStore)
            assert elsewhere.store.algorithm == "sm3"
            advance(elsewhere, create(elsewhere).reception, 2)
        finally:
            elsewhere.store.close()
    monkeypatch.setattr(audit, "_fresh", {})
    here = make_engine(url=url)
    try:
        assert {e.hash_algorithm for e in here.history(here.query(ReceptionQuery()).items[0].id)} == {"sm3"}
        report = here.store.verify()  # type: ignore[attr-defined]
    finally:
        here.store.close()
    assert report.ok, str(report.problem)
    assert report.checked == 3


def test_a_trail_written_with_sha256_by_an_earlier_version_still_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    old = make_engine(url=url)
    try:
        assert isinstance(old.store, SQLStore)
        old.store.algorithm = "sha256"  # as versions before SM3-always recorded on such machines
        advance(old, create(old).reception, 2)  # its last event stays sha256
        moved = advance(old, create(old).reception, 1)
    finally:
        old.store.close()
    new = make_engine(url=url)
    try:
        assert isinstance(new.store, SQLStore)
        assert new.store.algorithm == "sm3"
        advance(new, moved, 1)
        advance(new, create(new).reception, 1)
        assert {e.hash_algorithm for e in new.history(moved.id)} == {"sha256", "sm3"}
        report = new.store.verify()
    finally:
        new.store.close()
    assert report.ok, str(report.problem)
    assert report.checked == 8  # 3 + 2 sha256 events, then 1 + 2 sm3 events


# -- the command line -----------------------------------------------------------------------------


def test_cli_audit_verify_prints_intact_and_exits_0(trail: Trail) -> None:
    result = CliRunner().invoke(main, ["--db", trail.url, "audit", "verify"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "审计链完整" in result.output
    assert f"{len(trail.events)} 条" in result.output


def test_cli_audit_verify_exits_1_naming_the_tampered_event(trail: Trail) -> None:
    edit_data(trail, 8, reason="同意")
    result = CliRunner().invoke(main, ["--db", trail.url, "audit", "verify"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "审计链校验失败" in result.output
    assert trail.at(8).id in result.output
    assert "Traceback" not in result.output


# -- typed columns are bound to the hashed records ---------------------------------------------------


def test_every_typed_column_of_receptions_is_recomputed_or_exempt_with_a_reason() -> None:
    """A column added to jd_receptions later, without coverage by verify, fails here."""
    from jiedai_flow.storage.sql import RECEPTION_COLUMNS_EXEMPT, RECEPTION_COLUMNS_FROM_DATA

    columns = {c.name for c in R.columns}
    assert columns == set(RECEPTION_COLUMNS_FROM_DATA) | set(RECEPTION_COLUMNS_EXEMPT)
    assert not set(RECEPTION_COLUMNS_FROM_DATA) & set(RECEPTION_COLUMNS_EXEMPT)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actual_fen", 1),
        ("planned_fen", 999_999_00),
        ("host_unit", "县财政局"),
        ("jurisdiction", "341503"),
        ("start_date", "2019-01-01"),
        ("guests", 99),
        ("item_count", 0),
        ("state", "archived"),
        ("process", "reception@9"),
        ("reception_type", "foreign"),
    ],
)
def test_a_typed_column_edited_in_the_database_is_caught_by_name(
    trail: Trail, column: str, value: Any
) -> None:
    """The 三公经费 disclosure reads these columns: a forged figure must not pass verify."""
    settled = trail.receptions["A"]
    with trail.db.begin() as conn:
        if column == "start_date":
            value = date.fromisoformat(value)
        conn.execute(R.update().where(R.c.id == settled).values({column: value}))
        number = conn.execute(sa.select(R.c.number).where(R.c.id == settled)).scalar_one()
    report = trail.verify()
    assert not report.ok, f"an edited {column} went undetected"
    assert report.problem is not None
    assert report.problem.reception_id == settled
    text = str(report.problem)
    assert number in text  # the reception's number, in both languages
    assert f"「{column}」" in report.problem.reason_zh or column == "state"
    assert column in report.problem.reason_en or column == "state"


def test_an_events_violation_count_edited_in_the_database_is_caught(trail: Trail) -> None:
    event = trail.at(2)
    with trail.db.begin() as conn:
        conn.execute(E.update().where(E.c.chain_index == event.chain_index).values(violations=7))
    report = trail.verify()
    assert report.problem is not None
    assert (report.problem.chain_index, report.problem.event_id) == (event.chain_index, event.id)
    assert "violations" in report.problem.reason_en
    assert "reception" in str(report.problem).split(" / ")[1]  # English names the reception too


# -- notifications are bound into the chain ----------------------------------------------------------


def _event_with_outbox(trail: Trail) -> str:
    with trail.db.connect() as conn:
        return str(conn.execute(sa.select(schema.outbox.c.event_id).limit(1)).scalar_one())


def test_a_deleted_notification_is_caught(trail: Trail) -> None:
    event_id = _event_with_outbox(trail)
    with trail.db.begin() as conn:
        conn.execute(schema.outbox.delete().where(schema.outbox.c.event_id == event_id))
    report = trail.verify()
    assert report.problem is not None
    assert report.problem.event_id == event_id
    assert "outbox" in report.problem.reason_en


def test_an_edited_notification_is_caught_but_its_delivery_status_may_change(trail: Trail) -> None:
    event_id = _event_with_outbox(trail)
    with trail.db.begin() as conn:
        conn.execute(
            schema.outbox.update()
            .where(schema.outbox.c.event_id == event_id)
            .values(status="delivered", attempts=3)
        )
    assert trail.verify().ok  # delivery progress is not part of what the command wrote
    with trail.db.begin() as conn:
        data = conn.execute(
            sa.select(schema.outbox.c.data).where(schema.outbox.c.event_id == event_id).limit(1)
        ).scalar_one()
        conn.execute(
            schema.outbox.update()
            .where(schema.outbox.c.event_id == event_id)
            .values(data=data.replace("审批", "审核", 1) if "审批" in data else data + " ")
        )
    report = trail.verify()
    assert report.problem is not None
    assert report.problem.event_id == event_id


def test_an_event_rehashed_with_a_weak_algorithm_is_refused(trail: Trail) -> None:
    """Downgrade: the last event's hashes recomputed consistently with MD5 and its algorithm
    column set to match. Every hash fits; verify still refuses the algorithm."""
    last = trail.events[-1]

    def md5(previous: str, content: bytes) -> str:
        return hashlib.md5(previous.encode("ascii") + b"\n" + content).hexdigest()

    with trail.db.begin() as conn:
        prev_hash, chain_prev, data, state_hash = conn.execute(
            sa.select(E.c.prev_hash, E.c.chain_prev, E.c.data, E.c.state_hash).where(
                E.c.chain_index == last.chain_index
            )
        ).one()
        event_hash = md5(prev_hash, data.encode() + b"\n" + state_hash.encode("ascii"))
        chain_hash = md5(chain_prev, event_hash.encode("ascii"))
        conn.execute(
            E.update()
            .where(E.c.chain_index == last.chain_index)
            .values(hash_algorithm="md5", hash=event_hash, chain_hash=chain_hash)
        )
        conn.execute(schema.chain_head.update().values(hash=chain_hash))
        conn.execute(
            schema.receptions.update()
            .where(schema.receptions.c.id == last.reception_id)
            .values(last_hash=event_hash)
        )
    assert "not accepted" in problem_at(trail.verify(), last)[2]

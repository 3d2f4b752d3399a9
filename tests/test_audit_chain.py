"""The tamper-evident audit trail on a real database: whatever is changed directly in the tables,
``SQLStore.verify()`` (and ``jiedai audit verify``) reports it and names the first event that does
not fit.

One trail is built per back end; before each test every table is restored to it, so each test
tampers with the same, verified-intact trail. Its receptions A and B share one shard's chain
(their events interleave in it) and C has a chain of its own, so both reordering within a chain
and the separation of chains are exercised.
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

from jiedai_flow.cli import main
from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.storage import chain as audit
from jiedai_flow.storage import schema
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import make_engine
from tests._sql_helpers import advance, create, fire
from tests.databases import BACKENDS, private_database

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from jiedai_flow.storage.chain import VerifyReport

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


def commit_order() -> tuple[tuple[str, int], ...]:
    """(reception, seq) of each event in the order the script commits them."""
    seqs = {"A": 1}
    order = [("A", 1)]
    for name, _trigger, _actor in SCRIPT:
        seqs[name] = seqs.get(name, 0) + 1
        order.append((name, seqs[name]))
    return tuple(order)


def reception_ids() -> dict[str, str]:
    """Ids for A, B and C: A and B in one shard, C in another (deterministic)."""
    shards = audit.DEFAULT_SHARDS

    def first(prefix: str, fits: Callable[[int], bool]) -> str:
        return next(f"{prefix}-{n}" for n in range(1000) if fits(audit.shard_of(f"{prefix}-{n}", shards)))

    a = first("trail-a", lambda _shard: True)
    b = first("trail-b", lambda shard: shard == audit.shard_of(a, shards))
    c = first("trail-c", lambda shard: shard != audit.shard_of(a, shards))
    return {"A": a, "B": b, "C": c}


@attrs.frozen
class Event:
    shard: int
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
    """In commit order: ``events[k - 1]`` is the k-th event the script wrote."""
    receptions: dict[str, str]
    """Script name (A, B, C) → reception id."""
    rows: dict[str, list[dict[str, Any]]]

    def at(self, position: int) -> Event:
        """The event the script wrote ``position``-th (1-based)."""
        return self.events[position - 1]

    def after(self, event: Event) -> Event:
        """The next event in the same shard's chain."""
        return next(
            e for e in self.events if (e.shard, e.chain_index) == (event.shard, event.chain_index + 1)
        )

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
    ids = reception_ids()
    try:
        receptions = {"A": create(engine, request_id="create-A", reception_id=ids["A"]).reception}
        for n, (name, trigger, actor) in enumerate(SCRIPT):
            request_id = f"req-{n}"
            if trigger == "create":
                receptions[name] = create(engine, request_id=request_id, reception_id=ids[name]).reception
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
            columns = (E.c.shard, E.c.chain_index, E.c.id, E.c.reception_id, E.c.seq, E.c.trigger)
            with db.connect() as conn:
                found = {
                    (e.reception_id, e.seq): e for e in (Event(*r) for r in conn.execute(sa.select(*columns)))
                }
                events = tuple(found[receptions[name], seq] for name, seq in commit_order())
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


def edit_data(trail: Trail, position: int, **changes: Any) -> None:
    """Rewrite fields inside an event's stored JSON, keeping the canonical form (as a careful
    tamperer would, so only the meaning changes)."""
    event_id = trail.at(position).id
    with trail.db.begin() as conn:
        data = conn.execute(sa.select(E.c.data).where(E.c.id == event_id)).scalar_one()
        content = json.loads(data)
        assert set(changes) <= set(content)
        content.update(changes)
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        conn.execute(E.update().where(E.c.id == event_id).values(data=text))


def delete_event(conn: sa.Connection, event: Event) -> str:
    conn.execute(schema.outbox.delete().where(schema.outbox.c.event_id == event.id))
    conn.execute(E.delete().where(E.c.id == event.id))
    return event.id


def at_position(event: Event) -> sa.ColumnElement[bool]:
    """The row at an event's place in its shard's chain."""
    return sa.and_(E.c.shard == event.shard, E.c.chain_index == event.chain_index)


def problem_at(report: VerifyReport, event: Event) -> tuple[int, str, str]:
    assert not report.ok, "tampering went undetected"
    assert report.problem is not None
    found = (report.problem.shard, report.problem.chain_index, report.problem.event_id)
    assert found == (event.shard, event.chain_index, event.id), str(report.problem)
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
    order = (E.c.shard, E.c.chain_index)
    with trail.db.connect() as conn:
        rows = conn.execute(sa.select(E.c.shard, *columns, E.c.data, E.c.state_hash).order_by(*order)).all()
        heads = dict(
            (shard, (index, h))
            for shard, index, h in conn.execute(
                sa.select(schema.chain_head.c.id, schema.chain_head.c.chain_index, schema.chain_head.c.hash)
            )
        )
    last: dict[str, str] = {}
    chains: dict[int, tuple[int, str]] = {}
    for (
        shard,
        reception_id,
        algorithm,
        prev_hash,
        event_hash,
        chain_prev,
        chain_hash,
        data,
        state_hash,
    ) in rows:
        assert algorithm == "sm3"
        count, chain = chains.get(shard, (0, ""))
        assert (prev_hash, chain_prev) == (last.get(reception_id, ""), chain)
        # the event hash covers its content and the hash of the reception as saved with it
        assert event_hash == sm3(prev_hash, data.encode() + b"\n" + state_hash.encode("ascii"))
        assert chain_hash == sm3(chain_prev, event_hash.encode("ascii"))
        last[reception_id], chains[shard] = event_hash, (count + 1, chain_hash)
    assert sum(count for count, _ in chains.values()) == len(rows)
    assert heads == {shard: chains.get(shard, (0, "")) for shard in range(audit.DEFAULT_SHARDS)}
    assert len(chains) == 2  # A and B share a shard, C has its own
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
        conn.execute(E.update().where(E.c.id == submitted.id).values({column: value}))
    problem_at(trail.verify(), submitted)


def test_changing_the_to_state_column_of_a_receptions_last_event_is_detected(trail: Trail) -> None:
    settled = trail.at(15)
    with trail.db.begin() as conn:
        conn.execute(E.update().where(E.c.id == settled.id).values(to_state="archived"))
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.reception_id == settled.reception_id


def head_of(shard: int) -> sa.ColumnElement[bool]:
    return schema.chain_head.c.id == shard


def test_deleting_a_middle_event_names_the_event_after_the_gap(trail: Trail) -> None:
    deleted = trail.at(7)
    assert trail.after(deleted) == trail.at(8)  # A's start, then B's return, in their shared chain
    with trail.db.begin() as conn:
        delete_event(conn, deleted)
    assert "deleted or inserted" in problem_at(trail.verify(), trail.at(8))[2]


def test_deleting_a_middle_event_and_renumbering_the_rest_names_the_event_moved_into_the_gap(
    trail: Trail,
) -> None:
    deleted = trail.at(7)
    shard = deleted.shard
    with trail.db.begin() as conn:
        delete_event(conn, deleted)
        later = [e for e in trail.events if e.shard == shard and e.chain_index > deleted.chain_index]
        for event in sorted(later, key=lambda e: e.chain_index):
            conn.execute(E.update().where(E.c.id == event.id).values(chain_index=event.chain_index - 1))
        conn.execute(
            schema.chain_head.update()
            .where(head_of(shard))
            .values(chain_index=max(e.chain_index for e in later) - 1)
        )
    report = trail.verify()
    moved = attrs.evolve(trail.at(8), chain_index=deleted.chain_index)
    assert "shard chain broken" in problem_at(report, moved)[2]


def test_deleting_the_last_event_is_reported_as_a_head_mismatch(trail: Trail) -> None:
    last = trail.events[-1]
    with trail.db.begin() as conn:
        delete_event(conn, last)
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.checked == len(trail.events) - 1
    assert "head mismatch" in report.problem.reason_en
    assert report.problem.event_id == ""
    assert report.problem.shard == last.shard


def test_deleting_the_last_event_and_rewinding_the_head_names_the_reception_left_ahead(trail: Trail) -> None:
    last = trail.events[-1]
    with trail.db.begin() as conn:
        delete_event(conn, last)
        previous = conn.execute(
            sa.select(E.c.chain_hash).where(at_position(attrs.evolve(last, chain_index=last.chain_index - 1)))
        ).scalar_one()
        conn.execute(
            schema.chain_head.update()
            .where(head_of(last.shard))
            .values(chain_index=last.chain_index - 1, hash=previous)
        )
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.reception_id == last.reception_id


def test_inserting_a_forged_event_with_a_made_up_hash_names_the_forged_event(trail: Trail) -> None:
    b = trail.receptions["B"]
    shard = trail.at(3).shard  # B's
    with trail.db.begin() as conn:
        row = dict(
            conn.execute(sa.select(E).where(E.c.reception_id == b).order_by(E.c.seq.desc()).limit(1))
            .one()
            ._mapping
        )
        index, head = conn.execute(
            sa.select(schema.chain_head.c.chain_index, schema.chain_head.c.hash).where(head_of(shard))
        ).one()
        index += 1
        content = json.loads(row["data"])
        content.update(id="forged", seq=row["seq"] + 1, trigger="settle", to_state="settled")
        row.update(
            shard=shard,
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
    forged = Event(shard, index, "forged", b, row["seq"], "settle")
    assert "hash mismatch" in problem_at(report, forged)[2]


def test_swapping_the_chain_index_of_two_events_names_the_one_moved_earlier(trail: Trail) -> None:
    earlier, later = trail.at(10), trail.at(11)  # A's finish, then B's submit, in their shared chain
    assert trail.after(earlier) == later
    with trail.db.begin() as conn:
        conn.execute(E.update().where(E.c.id == earlier.id).values(chain_index=-1))
        conn.execute(E.update().where(E.c.id == later.id).values(chain_index=earlier.chain_index))
        conn.execute(E.update().where(E.c.id == earlier.id).values(chain_index=later.chain_index))
    report = trail.verify()
    assert "shard chain broken" in problem_at(report, attrs.evolve(later, chain_index=earlier.chain_index))[2]


def test_moving_an_event_to_another_shards_chain_is_detected(trail: Trail) -> None:
    """C's chain is separate: an event of A moved to the end of it breaks both chains."""
    moved, c_last = trail.at(10), trail.at(12)
    assert moved.shard != c_last.shard
    with trail.db.begin() as conn:
        conn.execute(
            E.update()
            .where(E.c.id == moved.id)
            .values(shard=c_last.shard, chain_index=c_last.chain_index + 1)
        )
    report = trail.verify()
    assert not report.ok
    assert report.problem is not None
    # whichever chain is checked first: the gap the event left, or the event that does not link
    assert report.problem.event_id in {trail.after(moved).id, moved.id}, str(report.problem)


def test_a_removed_or_added_shard_head_row_is_reported(trail: Trail) -> None:
    empty = next(n for n in range(audit.DEFAULT_SHARDS) if n not in {e.shard for e in trail.events})
    with trail.db.begin() as conn:
        conn.execute(schema.chain_head.delete().where(head_of(empty)))
    report = trail.verify()
    assert report.problem is not None
    assert (report.problem.shard, "head mismatch") == (empty, report.problem.reason_en[:13])
    trail.restore()
    with trail.db.begin() as conn:
        conn.execute(schema.chain_head.insert().values(id=audit.DEFAULT_SHARDS, chain_index=0, hash=""))
    report = trail.verify()
    assert report.problem is not None
    assert report.problem.shard == audit.DEFAULT_SHARDS


def test_a_changed_shard_count_is_reported(trail: Trail) -> None:
    """Fewer shards recorded than the trail uses: the events past the count are out of layout."""
    highest = max(e.shard for e in trail.events)
    with trail.db.begin() as conn:
        conn.execute(schema.chain_layout.update().values(shards=highest))
    report = trail.verify()
    assert report.problem is not None
    assert "outside" in report.problem.reason_en


def test_swapping_the_data_of_two_events_names_the_earlier_one(trail: Trail) -> None:
    with trail.db.begin() as conn:
        first, second = (
            conn.execute(sa.select(E.c.data).where(E.c.id == trail.at(i).id)).scalar_one() for i in (3, 7)
        )
        conn.execute(E.update().where(E.c.id == trail.at(3).id).values(data=second))
        conn.execute(E.update().where(E.c.id == trail.at(7).id).values(data=first))
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
        conn.execute(E.update().where(E.c.id == event.id).values(violations=7))
    report = trail.verify()
    assert report.problem is not None
    assert (report.problem.shard, report.problem.chain_index, report.problem.event_id) == (
        event.shard,
        event.chain_index,
        event.id,
    )
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
            sa.select(E.c.prev_hash, E.c.chain_prev, E.c.data, E.c.state_hash).where(E.c.id == last.id)
        ).one()
        event_hash = md5(prev_hash, data.encode() + b"\n" + state_hash.encode("ascii"))
        chain_hash = md5(chain_prev, event_hash.encode("ascii"))
        conn.execute(
            E.update()
            .where(E.c.id == last.id)
            .values(hash_algorithm="md5", hash=event_hash, chain_hash=chain_hash)
        )
        conn.execute(schema.chain_head.update().where(head_of(last.shard)).values(hash=chain_hash))
        conn.execute(
            schema.receptions.update()
            .where(schema.receptions.c.id == last.reception_id)
            .values(last_hash=event_hash)
        )
    assert "not accepted" in problem_at(trail.verify(), last)[2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_commands_result_carries_its_events_hash_as_the_trail_holds_it(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A host may keep each result's hash outside the database, to show later that the chain was
    not rewritten: the event of a result (create, fire, and the replay of either) has the hash the
    trail holds, linked to the previous one."""
    for url in private_database(backend, tmp_path_factory.mktemp("sealed")):
        engine = make_engine(url=url)
        try:
            created = create(engine, request_id="seal-create")
            fired = fire(engine, created.reception, "submit", "handler", request_id="seal-submit")
            engine.store.close()
            engine = make_engine(url=url)  # a retry reaching another process: the hash is read back
            replayed = fire(engine, created.reception, "submit", "handler", request_id="seal-submit")
            again = create(engine, request_id="seal-create")
            trail = {e.id: e for e in engine.history(created.reception.id)}
            for result in (created, fired, replayed, again):
                event = result.event
                assert event.hash, f"{event.trigger}: no hash in the result"
                stored = trail[event.id]
                assert (event.hash_algorithm, event.prev_hash, event.hash) == (
                    stored.hash_algorithm,
                    stored.prev_hash,
                    stored.hash,
                )
            assert replayed.replayed
            assert again.replayed
            assert fired.event.prev_hash == created.event.hash
        finally:
            engine.store.close()

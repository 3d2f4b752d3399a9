"""Signed checkpoints 审计签名检查点 against someone with write access to the database.

Three attacks pass a plain ``audit verify`` (the hashes are public functions of the data); with a key
the database does not hold and a checkpoint exported after the data was written and before the
attack, each is caught — on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.errors import ValidationError
from jiedai_flow.storage import chain as audit
from jiedai_flow.storage import schema
from jiedai_flow.storage.chain import GENESIS, digest, signed_content
from jiedai_flow.storage.checkpoints import (
    AuditKey,
    Checkpoint,
    FileSink,
    load_keys,
    read_checkpoints,
    take_checkpoint,
    verify_checkpoints,
)
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import make_engine
from tests._notify_servers import HttpReceiver, Reply
from tests._plugin_site import installed_site
from tests._sql_helpers import advance, create

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests._plugin_site import Site

E, R, H, L = schema.audit_events, schema.receptions, schema.chain_head, schema.budget_ledger
KEY = AuditKey("k2026", bytes(range(32)))


def written(url: str) -> tuple[str, str, dict[str, Any]]:
    """Two receptions, the second one step behind; returns their ids and the second's row before
    its last command (what a tamperer would roll it back to)."""
    engine = make_engine(url=url)
    try:
        first = advance(engine, create(engine).reception, 3)
        second = advance(engine, create(engine).reception, 1)
        with tampering(url) as conn:
            before = dict(conn.execute(sa.select(R).where(R.c.id == second.id)).mappings().one())
            T = schema.tasks
            before["_tasks"] = [
                dict(r) for r in conn.execute(sa.select(T).where(T.c.reception_id == second.id)).mappings()
            ]
            # the budget ledger too: verify recomputes its commitments from the receptions
            before["_ledger"] = [dict(r) for r in conn.execute(sa.select(L)).mappings()]
        advance(engine, second, 1)
    finally:
        engine.store.close()
    return first.id, second.id, before


@contextlib.contextmanager
def tampering(url: str) -> Iterator[sa.Connection]:
    """The tamperer's own connection, in one transaction."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def verify(url: str, checkpoints: list[Any] | None = None) -> tuple[bool, list[Any]]:
    store = SQLStore(url, create=False)
    try:
        report = store.verify()
        late = verify_checkpoints(store, checkpoints or [], [KEY])
    finally:
        store.close()
    return report.ok, late


def checkpoint(url: str) -> Any:
    store = SQLStore(url, create=False)
    try:
        return take_checkpoint(store, KEY)
    finally:
        store.close()


def recompute_from(conn: sa.Connection, position: int, **changes: Any) -> None:
    """Edit the content of the ``position``-th event (in shard, then chain order) and recompute
    every hash after it in every chain, as someone who knows the scheme."""
    rows = [dict(r) for r in conn.execute(sa.select(E).order_by(E.c.shard, E.c.chain_index)).mappings()]
    target = rows[position - 1]
    content = json.loads(target["data"])
    content.update(changes)
    target["data"] = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    last_of: dict[str, str] = {}
    chains: dict[int, tuple[int, str]] = {}
    for row in rows:
        alg = row["hash_algorithm"]
        prev = last_of.get(row["reception_id"], GENESIS)
        count, chain = chains.get(row["shard"], (0, GENESIS))
        row["prev_hash"] = prev
        row["hash"] = digest(alg, prev, signed_content(row["data"].encode(), row["state_hash"]))
        row["chain_prev"] = chain
        row["chain_hash"] = chain = digest(alg, chain, row["hash"].encode("ascii"))
        chains[row["shard"]] = (count + 1, chain)
        last_of[row["reception_id"]] = row["hash"]
        conn.execute(E.update().where(E.c.id == row["id"]).values(row))
    for rid, last in last_of.items():
        conn.execute(R.update().where(R.c.id == rid).values(last_hash=last))
    for shard, (count, chain) in chains.items():
        conn.execute(H.update().where(H.c.id == shard).values(chain_index=count, hash=chain))


def restore_ledger(conn: sa.Connection, before: dict[str, Any]) -> None:
    """The budget ledger as it stood before the second reception's last command (a careful
    tamperer undoes the commitment too, else verify reports the ledger)."""
    conn.execute(L.delete())
    if before["_ledger"]:
        conn.execute(L.insert(), before["_ledger"])


def rewind_to(conn: sa.Connection, shard: int, chain_index: int) -> None:
    previous = conn.execute(
        sa.select(E.c.chain_hash).where(E.c.shard == shard, E.c.chain_index == chain_index)
    ).scalar_one_or_none()
    conn.execute(H.update().where(H.c.id == shard).values(chain_index=chain_index, hash=previous or GENESIS))


def newest_event_of(conn: sa.Connection, reception_id: str) -> tuple[str, int, int]:
    """Id, shard and chain index of a reception's newest event."""
    found = conn.execute(
        sa.select(E.c.id, E.c.shard, E.c.chain_index)
        .where(E.c.reception_id == reception_id)
        .order_by(E.c.seq.desc())
        .limit(1)
    ).one()
    return str(found[0]), int(found[1]), int(found[2])


def test_recomputing_every_hash_passes_verify_but_not_a_checkpoint(sql_url: str) -> None:
    written(sql_url)
    cp = checkpoint(sql_url)
    with tampering(sql_url) as conn:
        recompute_from(conn, 2, actor_name="冒名")
    assert verify(sql_url) == (True, [])  # without a key this is not caught (docs/storage.md)
    ok, late = verify(sql_url, [cp])
    assert ok
    assert "重算" in late[0].reason_zh
    assert "recomputed" in late[0].reason_en


def test_deleting_the_newest_reception_and_rewinding_the_head_is_caught(sql_url: str) -> None:
    _first, second, before = written(sql_url)
    cp = checkpoint(sql_url)
    with tampering(sql_url) as conn:
        events = conn.execute(sa.select(E.c.id).where(E.c.reception_id == second)).scalars().all()
        shard, keep = conn.execute(
            sa.select(E.c.shard, sa.func.min(E.c.chain_index))
            .where(E.c.reception_id == second)
            .group_by(E.c.shard)
        ).one()
        conn.execute(schema.outbox.delete().where(schema.outbox.c.event_id.in_(events)))
        conn.execute(schema.commands.delete().where(schema.commands.c.reception_id == second))
        conn.execute(E.delete().where(E.c.reception_id == second))
        conn.execute(schema.tasks.delete().where(schema.tasks.c.reception_id == second))  # its task index too
        conn.execute(schema.copies.delete().where(schema.copies.c.reception_id == second))
        conn.execute(R.delete().where(R.c.id == second))
        restore_ledger(conn, before)
        rewind_to(conn, shard, keep - 1)
    assert verify(sql_url) == (True, [])
    _ok, late = verify(sql_url, [cp])
    assert late
    assert "删除" in late[0].reason_zh


def test_deleting_the_newest_event_and_rolling_the_row_back_is_caught(sql_url: str) -> None:
    _first, second, before = written(sql_url)
    cp = checkpoint(sql_url)
    with tampering(sql_url) as conn:
        event_id, shard, newest = newest_event_of(conn, second)
        conn.execute(schema.outbox.delete().where(schema.outbox.c.event_id == event_id))
        conn.execute(schema.commands.delete().where(schema.commands.c.reception_id == second))
        conn.execute(E.delete().where(E.c.id == event_id))
        conn.execute(
            R.update()
            .where(R.c.id == second)
            .values({k: v for k, v in before.items() if k not in ("id", "_tasks", "_ledger")})
        )
        # the task index too, as it stood (else verify names the task row that no longer fits)
        conn.execute(schema.tasks.delete().where(schema.tasks.c.reception_id == second))
        if before["_tasks"]:
            conn.execute(schema.tasks.insert(), before["_tasks"])
        restore_ledger(conn, before)
        rewind_to(conn, shard, newest - 1)
    assert verify(sql_url) == (True, [])
    _ok, late = verify(sql_url, [cp])
    assert late


def test_a_checkpoint_signs_every_shard_head_and_catches_a_changed_shard_count(sql_url: str) -> None:
    first, second, _before = written(sql_url)
    cp = checkpoint(sql_url)
    assert len(cp.heads) == audit.DEFAULT_SHARDS
    assert cp.chain_index == sum(index for index, _h in cp.heads) == 4 + 3
    assert {i for i, (index, _h) in enumerate(cp.heads) if index} == {
        audit.shard_of(first, audit.DEFAULT_SHARDS),
        audit.shard_of(second, audit.DEFAULT_SHARDS),
    }
    assert verify(sql_url, [cp]) == (True, [])
    with tampering(sql_url) as conn:
        conn.execute(schema.chain_layout.update().values(shards=audit.DEFAULT_SHARDS * 2))
    _ok, late = verify(sql_url, [cp])
    assert late
    assert "shard layout" in late[0].reason_en


def test_an_edited_checkpoint_or_an_unknown_key_is_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    written(url)
    cp = checkpoint(url)
    forged = type(cp)(cp.chain_index, cp.chain_hash, cp.receptions + 1, cp.at, cp.key_id, cp.signature)
    store = SQLStore(url, create=False)
    try:
        (bad,) = verify_checkpoints(store, [forged], [KEY])
        (unknown,) = verify_checkpoints(store, [cp], [AuditKey("other", bytes(32))])
        assert verify_checkpoints(store, [cp], [KEY]) == []
    finally:
        store.close()
    assert "签名" in bad.reason_zh
    assert "k2026" in unknown.reason_en


def test_keys_come_from_the_environment_or_a_file_and_rotate(tmp_path: Path) -> None:
    keys = load_keys({"JIEDAI_AUDIT_KEY": f"new:{'11' * 16}, old:{'22' * 16}"})
    assert [k.key_id for k in keys] == ["new", "old"]  # the first signs, the others still verify
    file = tmp_path / "keys"
    file.write_text(f"k1:{'33' * 16}\n", encoding="utf-8")
    assert [k.key_id for k in load_keys({"JIEDAI_AUDIT_KEY_FILE": str(file)})] == ["k1"]
    with pytest.raises(ValidationError, match="16"):
        load_keys({"JIEDAI_AUDIT_KEY": "short:00"})
    assert "secret" in repr(keys[0])
    assert "11" not in repr(keys[0])


def test_cli_checkpoint_to_a_file_then_verify_against_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    written(url)
    sink = tmp_path / "checkpoints.jsonl"
    env = {"JIEDAI_AUDIT_KEY": f"k2026:{KEY.secret.hex()}", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = CliRunner().invoke(main, ["--db", url, "audit", "checkpoint", "--to", str(sink)], env=env)
    assert run.exit_code == 0, run.output
    assert len(read_checkpoints(sink)) == 1
    FileSink(sink).export(read_checkpoints(sink)[0])  # appends
    assert len(read_checkpoints(sink)) == 2
    ok = CliRunner().invoke(main, ["--db", url, "audit", "verify", "--checkpoints", str(sink)], env=env)
    assert ok.exit_code == 0, ok.output
    with tampering(url) as conn:
        recompute_from(conn, 1, actor_name="冒名")
    caught = CliRunner().invoke(main, ["--db", url, "audit", "verify", "--checkpoints", str(sink)], env=env)
    assert caught.exit_code == 1
    assert "重算" in caught.output
    no_key = CliRunner().invoke(
        main,
        ["--db", url, "audit", "checkpoint"],
        env={"JIEDAI_AUDIT_KEY": "", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert no_key.exit_code == 2
    assert "JIEDAI_AUDIT_KEY" in no_key.output
    # checking against checkpoints without the key is a setup mistake (2), not a tampered trail (1)
    unkeyed = CliRunner().invoke(
        main,
        ["--db", url, "audit", "verify", "--checkpoints", str(sink)],
        env={"JIEDAI_AUDIT_KEY": "", "JIEDAI_AUDIT_KEY_FILE": "", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert unkeyed.exit_code == 2
    assert "JIEDAI_AUDIT_KEY_FILE" in unkeyed.output


TIMESTAMP_PLUGIN = """
from jiedai_flow import hookimpl

@hookimpl
def jiedai_checkpoint(checkpoint):
    with open({path!r}, "a", encoding="utf-8") as out:  # the stand-in timestamp service's log
        out.write(checkpoint.to_json() + "\\n")
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from installed_site(tmp_path, monkeypatch)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    try:
        yield server
    finally:
        server.close()


def test_cli_checkpoint_to_a_webhook_and_a_timestamp_plugin_then_verify_against_both(
    tmp_path: Path, site: Site, receiver: HttpReceiver
) -> None:
    """`--webhook` POSTs the signed checkpoint to another system (a real HTTP server on loopback)
    and every installed ``jiedai_checkpoint`` plugin gets it too; what each received verifies, and
    catches an attack made afterwards."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    written(url)
    stamped = tmp_path / "timestamped.jsonl"
    site.install("jiedai-timestamp-demo", "timestamp_demo", TIMESTAMP_PLUGIN.format(path=str(stamped)))
    env = {"JIEDAI_AUDIT_KEY": f"k2026:{KEY.secret.hex()}", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": ""}
    run = CliRunner().invoke(
        main, ["--db", url, "--json", "audit", "checkpoint", "--webhook", receiver.url("/ok")], env=env
    )
    assert run.exit_code == 0, run.output
    posted = [r for r in receiver.accepted if r.path == "/ok"]
    assert len(posted) == 1
    assert posted[0].headers["content-type"] == "application/json"
    by_webhook = Checkpoint(**posted[0].json())
    (by_plugin,) = read_checkpoints(stamped)
    assert by_webhook == by_plugin
    assert json.loads(by_webhook.to_json()) == json.loads(run.output)
    assert verify(url, [by_webhook, by_plugin]) == (True, [])
    with tampering(url) as conn:
        recompute_from(conn, 1, actor_name="冒名")
    ok, late = verify(url, [by_webhook])
    assert ok  # the recomputed chain passes a plain verify …
    assert len(late) == 1  # … but not the checkpoint the other system holds
    assert "重算" in str(late[0])


def test_a_webhook_that_refuses_the_checkpoint_is_a_storage_error_not_a_crash(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    """The other system answering 503 (or not at all) is exit code 4 with what was not exported,
    not an internal error."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    written(url)
    receiver.script("/ok", Reply(status=503))
    env = {"JIEDAI_AUDIT_KEY": f"k2026:{KEY.secret.hex()}", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"}
    args = ["--db", url, "audit", "checkpoint", "--webhook", receiver.url("/ok")]
    refused = CliRunner().invoke(main, args, env=env)
    assert refused.exit_code == 4, refused.output
    assert "检查点没有导出到" in refused.output
    assert "the checkpoint was not exported" in refused.output
    assert "503" in refused.output
    assert "Traceback" not in refused.output
    receiver.close()  # nobody listening any more
    unreachable = CliRunner().invoke(main, args, env=env)
    assert unreachable.exit_code == 4, unreachable.output
    assert "检查点没有导出到" in unreachable.output

"""Signed checkpoints of the audit chain 审计链签名检查点.

The chain's hashes are public functions of the data: whoever can write the database can edit an
amount and recompute every hash, delete the newest reception and rewind a chain head, or delete
the newest event and roll its reception back. A checkpoint closes that gap. It records the head of
every shard's chain (how many events, and the last chain hash; the number of heads is the shard
count), how many receptions there are, and when — signed
with HMAC-SM3 under a key the database does not hold — and is exported to a place the database
writer cannot reach (an append-only file on another host, another system's webhook, a timestamp
service through ``jiedai_checkpoint``). Verifying against exported checkpoints then catches all three:
a recomputed chain no longer has the checkpoint's hash at its index, and a rewound or rolled-back
chain no longer reaches it. Checkpoints taken before the trail was split into shards
(``jiedai-checkpoint/1``, one head) are checked against shard 0, which continues that chain.

Keys come from ``$JIEDAI_AUDIT_KEY`` (``id:hex`` pairs separated by commas, the first signs) or the
file named by ``$JIEDAI_AUDIT_KEY_FILE`` (one ``id:hex`` a line). Every checkpoint records its key
id; older keys stay listed to verify older checkpoints, which is how a key is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import sqlalchemy as sa

from jiedai_flow.errors import Problem, StorageError, ValidationError
from jiedai_flow.storage import schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from jiedai_flow.storage.sql import SQLStore

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "AuditKey",
    "Checkpoint",
    "CheckpointSink",
    "FileSink",
    "WebhookSink",
    "load_keys",
    "read_checkpoints",
    "take_checkpoint",
    "verify_checkpoints",
]

KEY_ENV = "JIEDAI_AUDIT_KEY"
KEY_FILE_ENV = "JIEDAI_AUDIT_KEY_FILE"
_FORMAT = "jiedai-checkpoint/1"
_SHARDED = "jiedai-checkpoint/2"


def _heads(value: Iterable[Sequence[Any]]) -> tuple[tuple[int, str], ...]:
    """Shard heads as (index, hash) pairs, from a checkpoint or its JSON (where they are lists)."""
    return tuple((int(index), str(h)) for index, h in value)


@attrs.frozen(repr=False)
class AuditKey:
    """A signing key 审计密钥 and its id (never printed)."""

    key_id: str
    secret: bytes

    def __repr__(self) -> str:
        return f"AuditKey({self.key_id!r}, <secret>)"


def load_keys(env: Mapping[str, str] | None = None) -> tuple[AuditKey, ...]:
    """The keys configured, the signing key first; ValidationError names a malformed entry."""
    env = os.environ if env is None else env
    text = env.get(KEY_ENV, "")
    source = KEY_ENV
    if not text and env.get(KEY_FILE_ENV):
        source = env[KEY_FILE_ENV]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(
                [Problem("$", f"无法读取审计密钥文件：{exc}", f"cannot read the audit key file: {exc}")],
                source=source,
            ) from None
    keys: list[AuditKey] = []
    problems: list[Problem] = []
    for i, entry in enumerate(e.strip() for e in text.replace("\n", ",").split(",")):
        if not entry:
            continue
        key_id, sep, value = entry.partition(":")
        try:
            secret = bytes.fromhex(value.strip())
        except ValueError:
            secret = b""
        if not sep or not key_id.strip() or len(secret) < 16:
            problems.append(
                Problem(
                    f"$[{i}]",
                    "审计密钥应写成 编号:十六进制密钥（至少 16 字节），如 k2026:00112233…",
                    "an audit key is id:hex with at least 16 bytes, e.g. k2026:00112233…",
                )
            )
            continue
        keys.append(AuditKey(key_id.strip(), secret))
    if problems:
        raise ValidationError(problems, source=source)
    return tuple(keys)


@attrs.frozen
class Checkpoint:
    """The chain heads, the number of receptions and the time, signed 签名检查点."""

    chain_index: int
    """Events in the whole trail (with ``heads``); the one chain's length in a checkpoint taken
    before shards."""
    chain_hash: str
    """The one chain's last hash, in a checkpoint taken before shards; else empty."""
    receptions: int
    at: str
    """UTC, ISO 8601."""
    key_id: str
    signature: str
    heads: tuple[tuple[int, str], ...] = attrs.field(default=(), converter=_heads)
    """Per shard, in shard order: its event count and last chain hash. Empty before shards."""

    def payload(self) -> bytes:
        """What the signature covers: every shard head, hence the shard count too."""
        fields: tuple[str, ...]
        if not self.heads:
            fields = (_FORMAT, str(self.chain_index), self.chain_hash)
        else:
            heads = ";".join(f"{index}:{h}" for index, h in self.heads)
            fields = (_SHARDED, str(len(self.heads)), heads, str(self.chain_index))
        return "|".join((*fields, str(self.receptions), self.at, self.key_id)).encode()

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), ensure_ascii=False, sort_keys=True)


def _hmac_sm3(secret: bytes, message: bytes) -> str:
    if "sm3" in hashlib.algorithms_available:
        return hmac.new(secret, message, "sm3").hexdigest()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    mac = crypto_hmac.HMAC(secret, hashes.SM3())
    mac.update(message)
    return mac.finalize().hex()


def take_checkpoint(store: SQLStore, key: AuditKey, now: datetime | None = None) -> Checkpoint:
    """Sign every shard's chain head as it is now (read in one transaction, so the heads and the
    reception count are one consistent moment)."""
    head = schema.chain_head.c
    with store.db.begin() as conn:
        shards = _shard_count(conn)
        found = dict(
            (int(shard), (int(index), str(h)))
            for shard, index, h in conn.execute(sa.select(head.id, head.chain_index, head.hash))
        )
        receptions = conn.execute(sa.select(sa.func.count()).select_from(schema.receptions)).scalar_one()
    heads = tuple(found.get(shard, (0, "")) for shard in range(shards))
    at = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
    total = sum(index for index, _h in heads)
    unsigned = Checkpoint(total, "", int(receptions), at, key.key_id, "", heads)
    return attrs.evolve(unsigned, signature=_hmac_sm3(key.secret, unsigned.payload()))


def _shard_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(schema.chain_layout.c.shards)).scalar_one_or_none() or 0)


class CheckpointSink(Protocol):
    """Where checkpoints go: somewhere the database writer cannot reach."""

    def export(self, checkpoint: Checkpoint) -> None: ...


@attrs.frozen
class FileSink:
    """Appends one JSON line per checkpoint. Put the file where the database's writer has no access
    (another host, a write-once volume, ``chattr +a``)."""

    path: Path

    def export(self, checkpoint: Checkpoint) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(checkpoint.to_json() + "\n")


@attrs.frozen
class WebhookSink:
    """POSTs each checkpoint as JSON to another system (the internal-control system, say)."""

    url: str
    timeout: float = 10.0

    def export(self, checkpoint: Checkpoint) -> None:
        """POST the checkpoint; a refusal or an unreachable system is a :class:`StorageError` (the
        checkpoint was not exported: take it again once the other system answers)."""
        import httpx

        try:
            response = httpx.post(
                self.url,
                content=checkpoint.to_json().encode(),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise StorageError(
                f"检查点没有导出到 {self.url}：{error}",
                f"the checkpoint was not exported to {self.url}: {error}",
            ) from error


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """The checkpoints of a file sink; ValidationError names a line that is not one."""
    found: list[Checkpoint] = []
    problems: list[Problem] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(Checkpoint(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            problems.append(
                Problem(f"$[{n}]", f"第 {n} 行不是检查点：{exc}", f"line {n} is not a checkpoint: {exc}", n)
            )
    if problems:
        raise ValidationError(problems, source=str(path))
    return found


@attrs.frozen
class CheckpointProblem:
    """A checkpoint the database no longer matches, or one whose signature does not hold."""

    checkpoint: Checkpoint
    reason_zh: str
    reason_en: str

    def __str__(self) -> str:
        at = f"{self.checkpoint.at}（第 {self.checkpoint.chain_index} 条）"
        return f"检查点 {at}：{self.reason_zh} / checkpoint of {self.checkpoint.at}: {self.reason_en}"


def verify_checkpoints(
    store: SQLStore, checkpoints: Iterable[Checkpoint], keys: Sequence[AuditKey]
) -> list[CheckpointProblem]:
    """Every checkpoint whose signature fails, or that the database no longer reaches or matches."""
    by_id = {k.key_id: k for k in keys}
    problems: list[CheckpointProblem] = []
    with store.db.connect() as conn:
        receptions = int(conn.execute(sa.select(sa.func.count()).select_from(schema.receptions)).scalar_one())
        shards = _shard_count(conn)
        for cp in checkpoints:
            problem = _signature_problem(cp, by_id) or _reach_problem(conn, cp, shards)
            if problem is None and receptions < cp.receptions:
                problem = CheckpointProblem(
                    cp,
                    f"接待只剩 {receptions} 件，检查点时有 {cp.receptions} 件：接待被删除",
                    f"{receptions} receptions left, {cp.receptions} at the checkpoint: receptions deleted",
                )
            if problem is not None:
                problems.append(problem)
    return problems


def _signature_problem(cp: Checkpoint, keys: Mapping[str, AuditKey]) -> CheckpointProblem | None:
    key = keys.get(cp.key_id)
    if key is None:
        return CheckpointProblem(cp, f"没有编号为 {cp.key_id} 的密钥", f"no key with id {cp.key_id!r}")
    if not hmac.compare_digest(_hmac_sm3(key.secret, cp.payload()), cp.signature):
        return CheckpointProblem(cp, "签名不符：检查点被改动", "bad signature: the checkpoint was edited")
    return None


def _reach_problem(conn: sa.Connection, cp: Checkpoint, shards: int) -> CheckpointProblem | None:
    """The first shard head of the checkpoint the database no longer reaches or matches. A
    checkpoint from before shards names one head: the chain that shard 0 continues."""
    if cp.heads and len(cp.heads) != shards:
        return CheckpointProblem(
            cp,
            f"检查点时审计链分为 {len(cp.heads)} 个分片，数据库现记录 {shards} 个：分片布局被改动",
            f"the trail had {len(cp.heads)} shards at the checkpoint, the database now records "
            f"{shards}: the shard layout was changed",
        )
    heads = cp.heads or ((cp.chain_index, cp.chain_hash),)
    for shard, (index, chain_hash) in enumerate(heads):
        problem = _head_problem(conn, cp, shard, index, chain_hash)
        if problem is not None:
            return problem
    return None


def _head_problem(
    conn: sa.Connection, cp: Checkpoint, shard: int, index: int, chain_hash: str
) -> CheckpointProblem | None:
    if index == 0:
        return None
    events = schema.audit_events
    found = conn.execute(
        sa.select(events.c.chain_hash).where(events.c.shard == shard, events.c.chain_index == index)
    ).scalar_one_or_none()
    if found is None:
        return CheckpointProblem(
            cp,
            f"审计链分片 {shard} 已不到第 {index} 条：检查点之后有记录被删除，链头被回拨或接待被回滚",
            f"shard {shard} of the chain no longer reaches event {index}: events were deleted after "
            "the checkpoint, the head rewound or a reception rolled back",
        )
    if found != chain_hash:
        return CheckpointProblem(
            cp,
            f"分片 {shard} 第 {index} 条的链哈希与检查点不同：检查点之前的记录被改动后重算了哈希",
            f"the chain hash at event {index} of shard {shard} differs: records before the "
            "checkpoint were edited and the hashes recomputed",
        )
    return None

"""The tamper-evident audit trail 防篡改审计链.

Each event's hash covers its canonical content and the previous event's hash for the same
reception; a chain per shard links every event of that shard in commit order (the shard is a
stable function of the reception id, so writers on different shards never wait for one head).
New events are always hashed with SM3 (GB/T 32905, the national standard hash): through hashlib
where the platform's OpenSSL offers it, else through the maintained ``cryptography`` package —
never a silent switch to another algorithm, so a chain written on one machine verifies on another.
The algorithm is recorded per event, so trails written by earlier versions with SHA-256 still
verify. :class:`ChainVerifier` replays a trail shard by shard in commit order and names the first
event that does not fit.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

GENESIS = ""
"""The ``prev_hash`` of a reception's first event and the ``chain_prev`` of the trail's first."""


DEFAULT_SHARDS = 16
"""How many chains a new or migrated database splits its trail into; recorded in the database
(``jd_chain_layout``) so that it cannot change under existing events. Enough that a handful of
writers rarely wait for the same head row, few enough that a checkpoint lists every head."""


def shard_of(reception_id: str, shards: int) -> int:
    """The chain a reception's events are appended to: CRC-32 of its id, modulo the shard count —
    the same on every platform and in every process, so concurrent writers agree without asking."""
    return zlib.crc32(reception_id.encode()) % shards


ACCEPTED_ALGORITHMS = frozenset({"sm3", "sha256"})
"""Algorithms verify accepts on a stored event: SM3, and SHA-256 that earlier versions wrote where
hashlib lacked SM3. Any other name (a weaker hash put in by someone rewriting the trail) fails."""


def preferred_algorithm() -> str:
    """The algorithm new events are hashed with: always ``"sm3"``."""
    return "sm3"


class _CryptographySM3:
    """SM3 through the ``cryptography`` package, for a hashlib whose OpenSSL lacks it; the same
    digests (GB/T 32905 test vectors in tests/test_audit_chain.py)."""

    def __init__(self, state: Any = None) -> None:
        from cryptography.hazmat.primitives import hashes

        self._hash = state if state is not None else hashes.Hash(hashes.SM3())

    def copy(self) -> _CryptographySM3:
        return _CryptographySM3(self._hash.copy())

    def update(self, data: bytes, /) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return str(self._hash.copy().finalize().hex())


def new_hash(algorithm: str, *, use_hashlib: bool = True) -> _Hasher:
    """A fresh hash object for a recorded algorithm; SM3 without hashlib's comes from
    ``cryptography``. An unknown algorithm is an error, never a substitute."""
    if algorithm == "sm3" and not (use_hashlib and "sm3" in hashlib.algorithms_available):
        return _CryptographySM3()
    return hashlib.new(algorithm)


def _same(key: str, content: object, typed: object) -> bool:
    """A typed column equals the hashed content's value (times compared in UTC to the second,
    the precision every supported database keeps; a time read as SQLite's raw text must be the very
    text the store writes, else SQL would sort and filter it apart from what it parses to)."""
    if key == "at" and isinstance(content, str) and isinstance(typed, datetime):
        moment = datetime.fromisoformat(content).astimezone(UTC).replace(tzinfo=None)
        return moment.replace(microsecond=0) == typed.replace(microsecond=0)
    if key == "at" and isinstance(content, str):  # SQLite's stored text: exactly the form written
        moment = datetime.fromisoformat(content).astimezone(UTC).replace(tzinfo=None)
        return typed == moment.isoformat(" ", "microseconds")
    return content == typed


def signed_content(content: bytes, state_hash: str) -> bytes:
    """What an event hash covers: the event's canonical content and the hash of the reception
    as saved with it, so an edited reception row is caught too."""
    return content + b"\n" + state_hash.encode("ascii") if state_hash else content


class _Hasher(Protocol):
    """What :func:`digest` uses of a hashlib object."""

    def copy(self) -> _Hasher: ...
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


_fresh: dict[str, _Hasher] = {}
"""An empty hash object per algorithm: copying one is cheaper than looking the algorithm up."""


def digest(algorithm: str, previous: str, content: bytes) -> str:
    """Hex digest of ``previous`` (a hex hash or "") and ``content``, separated by a newline."""
    fresh = _fresh.get(algorithm)
    if fresh is None:
        fresh = _fresh[algorithm] = new_hash(algorithm)
    h = fresh.copy()
    h.update(previous.encode("ascii") + b"\n" + content)
    return h.hexdigest()


def outbox_digest(rows: Iterable[tuple[str, str]]) -> str:
    """SM3 of a command's outbox rows, each given as (id, stored JSON): what the row says, not how
    far its delivery got (status, attempts and leases change by design)."""
    ordered = sorted(rows)
    if not ordered:
        return ""
    return digest("sm3", GENESIS, "\n".join(f"{rid}\t{data}" for rid, data in ordered).encode())


@attrs.frozen
class ChainRow:
    """What the verifier needs of one stored event."""

    chain_index: int
    event_id: str
    reception_id: str
    seq: int
    algorithm: str
    prev_hash: str
    hash: str
    chain_prev: str
    chain_hash: str
    to_state: str
    content: bytes
    """The event's canonical content as hashed (without hashes)."""
    state_hash: str = ""
    """Hash of the reception's stored data after this event; covered by the event hash."""
    columns: Mapping[str, object] = attrs.field(factory=dict)
    """Typed copies of content fields kept for querying; each must equal the content's value."""
    shard: int = 0
    """The chain the event belongs to; ``chain_index`` counts within it."""


@attrs.frozen
class AuditProblem:
    """The first event that does not fit the chain, and why."""

    chain_index: int
    event_id: str
    reception_id: str
    reason_zh: str
    reason_en: str
    number: str = ""
    """The reception's number 接待编号, where known."""
    shard: int = 0
    """The chain ``chain_index`` counts in."""

    def __str__(self) -> str:
        return f"{self.message_zh} / {self.message_en}"

    @property
    def message_zh(self) -> str:
        """Where and why, in Chinese."""
        who = self.number or self.reception_id
        if self.chain_index or self.event_id:
            where = f"分片 {self.shard} 第 {self.chain_index} 条审计记录（{self.event_id}，接待 {who}）"
        elif who:
            where = f"接待 {who}"
        else:  # a table of no one reception (the budget ledger): the reason names it
            return self.reason_zh
        return where + self.reason_zh

    @property
    def message_en(self) -> str:
        """Where and why, in English."""
        who = self.number or self.reception_id
        if self.chain_index or self.event_id:
            where = f"event #{self.chain_index} of shard {self.shard} ({self.event_id}, reception {who})"
        elif who:
            where = f"reception {who}"
        else:
            return self.reason_en
        return f"{where}: {self.reason_en}"


@attrs.frozen
class VerifyReport:
    """The outcome of verifying a trail: how many events were checked, and the first problem."""

    checked: int
    problem: AuditProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainVerifier:
    """Feed rows shard by shard, each shard in commit order, with :meth:`add`; the first problem
    stops the check. A reception's events are all in one shard (or, written before shards, in
    shard 0 ahead of its later ones), so each reception's chain is replayed in order too."""

    def __init__(self, shards: int = 1) -> None:
        self.checked = 0
        self.problem: AuditProblem | None = None
        self.shards = shards
        self.heads: dict[int, tuple[int, str]] = {}
        """Per shard: the index and chain hash of the last event that fit."""
        self.last: dict[str, tuple[int, str, str, str]] = {}
        """Per reception: the last seq, hash, resulting state and state hash seen."""
        self.algorithms: dict[str, str] = {}
        """Per reception: the hash algorithm of its last event (to hash its stored row with)."""

    def _fail(self, row: ChainRow, zh: str, en: str) -> bool:
        self.problem = AuditProblem(row.chain_index, row.event_id, row.reception_id, zh, en, shard=row.shard)
        return False

    def add(self, row: ChainRow) -> bool:
        """Check one row; False (and :attr:`problem` set) at the first one that does not fit."""
        if self.problem is not None:
            return False
        if not 0 <= row.shard < self.shards:
            return self._fail(
                row,
                f"分片 {row.shard} 不在数据库记录的 {self.shards} 个分片之内",
                f"shard {row.shard} is outside the {self.shards} shards the database records",
            )
        index, chain = self.heads.get(row.shard, (0, GENESIS))
        if row.chain_index != index + 1:
            return self._fail(
                row,
                f"序号应为 {index + 1}：之前的记录被删除或插入",
                f"expected index {index + 1}: an earlier event was deleted or inserted",
            )
        if row.chain_prev != chain:
            return self._fail(
                row,
                "与前一条记录的链接断开（被插入或调换顺序）",
                "shard chain broken (inserted or reordered)",
            )
        last_seq, last_hash, _, _ = self.last.get(row.reception_id, (0, GENESIS, "", ""))
        if row.seq != last_seq + 1 or row.prev_hash != last_hash:
            return self._fail(
                row,
                f"本接待的记录顺序断开（应为第 {last_seq + 1} 步）",
                f"reception chain broken (expected seq {last_seq + 1})",
            )
        if row.algorithm not in ACCEPTED_ALGORITHMS:
            return self._fail(
                row,
                f"哈希算法「{row.algorithm}」不被接受（只接受 sm3、sha256）",
                f"hash algorithm {row.algorithm!r} is not accepted (only sm3, sha256)",
            )
        if digest(row.algorithm, row.prev_hash, signed_content(row.content, row.state_hash)) != row.hash:
            return self._fail(row, "内容被修改（哈希不符）", "content modified (hash mismatch)")
        if row.columns:
            content = json.loads(row.content)
            changed = sorted(k for k, v in row.columns.items() if not _same(k, content.get(k), v))
            if changed:
                return self._fail(
                    row,
                    f"查询列被修改，与已签名内容不符：{'、'.join(changed)}",
                    f"typed columns edited, differ from the hashed content: {', '.join(changed)}",
                )
        if digest(row.algorithm, row.chain_prev, row.hash.encode("ascii")) != row.chain_hash:
            return self._fail(row, "分片链哈希不符", "shard chain hash mismatch")
        self.heads[row.shard] = (row.chain_index, row.chain_hash)
        self.last[row.reception_id] = (row.seq, row.hash, row.to_state, row.state_hash)
        self.algorithms[row.reception_id] = row.algorithm
        self.checked += 1
        return True

    def finish(
        self,
        heads: Mapping[int, tuple[int, str]],
        receptions: Mapping[str, tuple[int, str, str, str]],
        numbers: Mapping[str, str] | None = None,
    ) -> VerifyReport:
        """Compare the end of each shard's chain with its head row, and each reception's (version,
        last hash, state, hash of its stored data) with its last event (catches deleted last events
        and edited reception rows), and report a reception with events but no row (a deleted row);
        ``numbers`` names receptions by number where known."""
        if self.problem is None:
            self.problem = self._head_problem(heads)
        if self.problem is None:
            for reception_id, stored in receptions.items():
                if self.last.get(reception_id, (0, GENESIS, "", "")) != stored:
                    self.problem = AuditProblem(
                        0,
                        "",
                        reception_id,
                        "接待记录的版本与审计链不符（记录被改动或审计被删除）",
                        "reception row does not match its audit chain (row edited or events deleted)",
                        (numbers or {}).get(reception_id, ""),
                    )
                    break
        if self.problem is None:
            self.problem = self._deleted_problem(receptions, numbers or {})
        return VerifyReport(self.checked, self.problem)

    def _deleted_problem(
        self, receptions: Mapping[str, tuple[int, str, str, str]], numbers: Mapping[str, str]
    ) -> AuditProblem | None:
        """The first reception (by id) whose events are in the trail but whose row is gone: a
        deleted row hides the reception from every list and report, so it must not pass."""
        deleted = min((rid for rid in self.last if rid not in receptions), default=None)
        if deleted is None:
            return None
        seq, _, state, _ = self.last[deleted]
        number = numbers.get(deleted, "")
        return AuditProblem(
            0,
            "",
            deleted,
            f"{f'（{deleted}）' if number else ''}有 {seq} 条审计记录（最后状态「{state}」），"
            "但接待记录不存在：接待记录被删除",
            f"{f'(id {deleted}) ' if number else ''}has {seq} audit event(s) (last state {state!r}) but "
            "its reception row is missing: the row was deleted",
            number,
        )

    def _head_problem(self, heads: Mapping[int, tuple[int, str]]) -> AuditProblem | None:
        """The first shard whose head row is missing, extra, or not where its chain ends."""
        for shard in sorted(set(range(self.shards)) | set(heads)):
            reached = self.heads.get(shard, (0, GENESIS))
            head = heads.get(shard)
            if head == reached and shard < self.shards:
                continue
            recorded = "?" if head is None else str(head[0])
            return AuditProblem(
                0 if head is None else head[0],
                "",
                "",
                f"分片 {shard} 的链头记录共 {recorded} 条，实际只有 {reached[0]} 条完整："
                "末尾的记录被删除或链头被改动",
                f"head mismatch: the head of shard {shard} records {recorded} events but "
                f"{reached[0]} fit (events deleted at the end, or the head edited or removed)",
                shard=shard,
            )
        return None

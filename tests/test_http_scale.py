"""Several uvicorn workers over one PostgreSQL database, bounded: 4 workers, 8 clients, a few thousand
commands, half of them on the same 20 receptions.

Half of each client's commands are 沟通意见 (comments) on 20 shared receptions, each with its own
``Idempotency-Key``: most read first and write with ``If-Match``, some write blind (the engine
decides again on a lost race, and answers 409 only when it keeps losing). A conflict (409, or 412
for a stale ``If-Match``) is retried after a fresh read, as a client should. Every tenth write
deliberately sends the version before the one read, so the retry path runs whatever the scheduling;
every seventh accepted write is sent again with the same key, as a client does after a lost response.
The other half walk receptions of their own through whole lifecycles (create → … → settle).

Then: every intent was accepted exactly once (each comment's text is in its reception's history
once), no update was lost (each reception's version is the number of its accepted commands plus one,
its events numbered 1…version without a gap), no event is duplicated (a resent key is replayed, not
written), and the audit chain verifies. ``JIEDAI_SCALE_COMMANDS`` changes the number of commands.
"""

from __future__ import annotations

import collections
import os
import random
import threading
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from tests._http_server import list_body, reception_body, running
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from tests._http_server import Server


WORKERS = 4
CLIENTS = 8
HOT = 20
COMMANDS = int(os.environ.get("JIEDAI_SCALE_COMMANDS", "2000"))
MAX_RETRIES = 100
"""A guard against a livelock, far above what a conflict needs: not a timing assumption."""
LIFECYCLE = (
    ("zhang.wei", "submit", {}),
    ("sun.hao", "approve", {"reason": "同意"}),
    ("li.na", "approve", {"reason": "同意"}),
    ("zhang.wei", "start", {}),
    ("zhang.wei", "finish", {}),
    ("zhang.wei", "claim", {"reception_list": None}),  # the list of the day the run began: see _client
    ("wang.fang", "settle", {}),
)
COMMENTERS = ("zhang.wei", "sun.hao", "li.na", "chen.jie", "wang.fang")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-scale")
    for url in private_database("postgresql", folder):
        with running(url, folder, workers=WORKERS) as found:
            yield found


class Tally:
    """What the clients saw, shared between their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: collections.Counter[str] = collections.Counter()
        self.comments: dict[str, list[str]] = collections.defaultdict(list)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.replayed = 0
        self.resent = 0
        self.lifecycles: list[str] = []

    def saw(self, status: int) -> None:
        with self.lock:
            self.statuses[status] += 1


def _comment(c: httpx.Client, rid: str, text: str, key: str, how: str, tally: Tally) -> None:
    """A comment with its own key: ``pinned`` reads first and sends If-Match (``stale``: the version
    before the one read, the first time), ``blind`` sends none. A conflict (412 for a stale If-Match,
    409 for a race the engine could not settle) is read again and retried with the same key."""
    for attempt in range(MAX_RETRIES):
        headers = {"Idempotency-Key": key}
        if how != "blind":
            seen = c.get(f"/api/v1/receptions/{rid}")
            assert seen.status_code == 200, seen.text
            version = int(seen.headers["etag"].strip('"')) - (1 if how == "stale" and attempt == 0 else 0)
            headers["If-Match"] = f'"{version}"'
        r = c.post(f"/api/v1/receptions/{rid}/operations/comment", json={"reason": text}, headers=headers)
        tally.saw(r.status_code)
        if r.status_code in (409, 412):
            continue
        assert r.status_code == 200, r.text
        with tally.lock:
            if r.headers.get("idempotent-replayed") == "true":
                tally.replayed += 1  # an earlier attempt was accepted and only its response was lost
            else:
                tally.accepted[rid] += 1
            tally.comments[rid].append(text)
        return
    raise AssertionError(f"{key}: still conflicting after {MAX_RETRIES} tries")


def _command(c: httpx.Client, method: str, url: str, body: Any, tally: Tally) -> httpx.Response:
    """One command without If-Match; a 409 (a race the engine could not settle) is retried."""
    for _ in range(MAX_RETRIES):
        r = c.request(method, url, json=body)
        tally.saw(r.status_code)
        if r.status_code != 409:
            assert r.status_code in (200, 201), r.text
            return r
    raise AssertionError(f"{url}: still conflicting after {MAX_RETRIES} tries")


def _client(n: int, server: Server, hot: list[str], tally: Tally, share: int, day: date) -> None:
    """One client's share of the commands; every reception and its list are dated from ``day``, so a
    run that crosses midnight still files each reception the list of its own days."""
    rng = random.Random(n)
    ahead = 14 + (day - date.today()).days
    registration, listing = reception_body(ahead), list_body(ahead)
    clients = {a: server.client(a) for a in {*COMMENTERS, *(a for a, _t, _b in LIFECYCLE)}}
    try:
        step, rid = len(LIFECYCLE), ""
        for i in range(share):
            if i % 2 == 0:
                target = hot[rng.randrange(HOT)]
                key = f"c{n}-{i}"
                c = clients[rng.choice(COMMENTERS)]
                how = "stale" if i % 10 == 0 else ("blind" if i % 4 == 2 else "pinned")
                _comment(c, target, f"意见 {key}", key, how, tally)
                if i % 7 == 0:  # the response was lost: the client sends the same request again
                    again = c.post(
                        f"/api/v1/receptions/{target}/operations/comment",
                        json={"reason": f"意见 {key}"},
                        headers={"Idempotency-Key": key},
                    )
                    tally.saw(again.status_code)
                    assert again.status_code == 200, again.text
                    assert again.headers["idempotent-replayed"] == "true"
                    with tally.lock:
                        tally.resent += 1
                continue
            if step == len(LIFECYCLE):
                created = _command(clients["zhang.wei"], "POST", "/api/v1/receptions", registration, tally)
                rid, step = created.json()["reception"]["id"], 0
                with tally.lock:
                    tally.lifecycles.append(rid)
                    tally.accepted[rid] += 1
                continue
            actor, trigger, body = LIFECYCLE[step]
            if "reception_list" in body:
                body = {"reception_list": listing}
            _command(clients[actor], "POST", f"/api/v1/receptions/{rid}/triggers/{trigger}", body, tally)
            with tally.lock:
                tally.accepted[rid] += 1
            step += 1
    finally:
        for c in clients.values():
            c.close()


def test_four_workers_eight_clients_no_lost_update_no_duplicate(server: Server) -> None:
    hot = []
    day = date.today()
    with server.client("zhang.wei") as c:
        for _ in range(HOT):
            created = c.post("/api/v1/receptions", json=reception_body())
            assert created.status_code == 201
            hot.append(created.json()["reception"]["id"])
    for actor in {*COMMENTERS, *(a for a, _t, _b in LIFECYCLE), "liu.yang"}:
        server.token(actor)  # made before the threads share the server object
    tally = Tally()
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            _client(n, server, hot, tally, COMMANDS // CLIENTS, day)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[0]

    with server.client("liu.yang") as c:
        for rid in hot:
            reception = c.get(f"/api/v1/receptions/{rid}").json()
            assert reception["version"] == 1 + tally.accepted[rid], rid  # no lost update
            events = c.get(f"/api/v1/receptions/{rid}/history").json()
            assert [e["seq"] for e in events] == list(range(1, reception["version"] + 1))
            texts = [e["reason"] for e in events[1:]]
            assert sorted(texts) == sorted(tally.comments[rid])  # each intent exactly once
            assert len(set(texts)) == len(texts)  # no duplicate event
        for rid in tally.lifecycles:
            reception = c.get(f"/api/v1/receptions/{rid}").json()
            assert reception["version"] == tally.accepted[rid]
        verify = c.get("/api/v1/audit/verify", timeout=120).json()
    assert verify["ok"], verify
    commands = sum(tally.accepted.values()) + tally.replayed
    conflicts = tally.statuses[409] + tally.statuses[412]
    print(f"\n{commands} commands, {conflicts} conflicts retried ({dict(tally.statuses)})")
    assert commands >= COMMANDS - CLIENTS
    share = COMMANDS // CLIENTS
    assert tally.statuses[412] >= CLIENTS * len(range(0, share, 10))  # the deliberate stale reads
    assert tally.resent == CLIENTS * len(range(0, share, 14))
    assert verify["checked"] >= commands

#!/usr/bin/env python
"""Dispatch benchmark 通知投递性能基准: the outbox dispatcher against a bare httpx loop, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_dispatch.py               # 2,000 rows a round, 5 rounds
    .venv/bin/python benchmarks/bench_dispatch.py --quick       # 500 rows, 3 rounds
    .venv/bin/python benchmarks/bench_dispatch.py --profile     # + a cProfile of one dispatch round

What is measured: deliveries per second to a local HTTP receiver (``ThreadingHTTPServer``,
HTTP/1.1 keep-alive, ``TCP_NODELAY``, in a child process so it does not share our GIL).

- ``dispatch``: N pending rows of a :class:`WebhookNotifier` channel in an outbox on a SQLite
  file (WAL, ``synchronous=FULL``, the default), delivered by ``Dispatcher(engine).run_once()``
  rounds (batch 100) until drained: per batch the claim (one ``UPDATE … RETURNING`` in a
  ``BEGIN IMMEDIATE`` transaction), the read of its receptions and the finish (one transaction);
  per row ``jiedai_contacts``, the JSON payload, the HMAC signature and the POST; per reminder
  (half the rows: each reception's submission row and its deadline scan reminder) the reminder made
  again from its reception, as the dispatcher sends it.
- ``raw``: the same N payloads (the JSON bodies the notifier produced for those rows, made before
  timing) posted by a bare loop ``client.post(url, content=body, headers=…)`` with a client built
  exactly like the notifier's (same timeout, headers, redirects, pool).

Rounds alternate dispatch and raw after one discarded warm-up round; each dispatch round enqueues
N fresh rows first (untimed). The ratio is the median of per-round time ratios. The last line is
machine-readable: ``RATIO dispatch/raw = X`` (target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import multiprocessing as mp
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from jiedai_flow import Role, hookimpl, open_engine
from jiedai_flow.domain.records import new_id
from jiedai_flow.notify.channels import Contact
from jiedai_flow.notify.channels._common import payload
from jiedai_flow.notify.channels.webhook import WebhookNotifier
from jiedai_flow.notify.deadlines import remind
from jiedai_flow.notify.dispatch import Dispatcher
from jiedai_flow.storage.codec import compact
from jiedai_flow.testing import ACTORS, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Sequence
    from multiprocessing.connection import Connection

    from jiedai_flow import Engine, Reception

TARGET = 1.5
START = date(2026, 3, 10)
SECRET = "bench-secret"
perf = time.perf_counter


# -- the receiver, in a child process --------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _serve(conn: Connection) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    conn.send(server.server_address[1])
    server.serve_forever()


# -- set-up --------------------------------------------------------------------------------------------


class Directory:
    """``jiedai_contacts``: one person per role, as an OA directory plugin would answer."""

    @hookimpl
    def jiedai_contacts(self, role: Role, reception: Reception) -> list[Contact]:
        del reception
        return [Contact(f"{role.label}甲", role, email=f"{role.value}@county.gov.cn", mobile="13800000001")]


ROWS_PER_RECEPTION = 2
"""A command writes one row per channel, the deadline scan one reminder per deadline: a round's rows
belong to many receptions, a few each."""


def seed(engine: Engine, rows: int) -> None:
    """``rows`` pending webhook rows: for each of ``rows / ROWS_PER_RECEPTION`` receptions, its
    submission's row and the reminder the deadline scan writes a month on (the approval overdue),
    so the dispatcher loads each reception and makes each reminder again from it."""
    for _ in range(max(rows // ROWS_PER_RECEPTION, 1)):
        reception = engine.create_reception(
            sample_letter(START),
            sample_plan(START),
            handler=ACTORS["handler"],
            host_unit="县政府办公室",
            jurisdiction="341502",
        ).reception
        engine.fire(reception.id, "submit", ACTORS["handler"])
    remind(engine, engine.clock.now().date() + timedelta(days=30))  # earlier rounds' are written already


def bodies(engine: Engine, dispatcher: Dispatcher, rows: int) -> list[bytes]:
    """The JSON bodies the notifier would post for the pending rows (for the raw loop)."""
    pending = engine.store.pending_notifications(limit=rows)
    return [compact(payload(dispatcher.message(n))) for n in pending]


def raw_client(notifier: WebhookNotifier) -> httpx.Client:
    """A client configured like the notifier's."""
    return httpx.Client(
        timeout=notifier.client.timeout, headers=dict(notifier.client.headers), follow_redirects=False
    )


# -- the two columns ----------------------------------------------------------------------------------


def run_dispatch(dispatcher: Dispatcher) -> tuple[float, int]:
    delivered = 0
    gc.collect()
    gc.disable()
    started = perf()
    while (report := dispatcher.run_once()).claimed:
        delivered += report.delivered
    elapsed = perf() - started
    gc.enable()
    return elapsed, delivered


def run_raw(client: httpx.Client, url: str, payloads: Sequence[bytes]) -> tuple[float, int]:
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": new_id()}
    ok = 0
    gc.collect()
    gc.disable()
    started = perf()
    for body in payloads:
        ok += client.post(url, content=body, headers=headers).status_code == 200
    elapsed = perf() - started
    gc.enable()
    return elapsed, ok


# -- profile ----------------------------------------------------------------------------------------

_BUCKETS = (
    ("httpx/httpcore/h11 (HTTP client)", ("httpx", "httpcore", "h11")),
    ("socket I/O", ("socket", "ssl.py", "selectors")),
    ("sqlite3 (claim, finish, load)", ("sqlite3",)),
    ("SQLAlchemy / store glue", ("sqlalchemy", "storage/")),
    ("JSON / cattrs decode", ("json", "cattrs", "codec")),
    ("pluggy (jiedai_contacts)", ("pluggy",)),
    ("hmac/hashlib (signature)", ("hmac", "hashlib")),
    ("jiedai_flow (dispatch, notifiers)", ("jiedai_flow",)),
)


def profile_round(dispatcher: Dispatcher) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_dispatch(dispatcher)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    by_bucket: dict[str, float] = defaultdict(float)
    for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{func}"
        for bucket, needles in _BUCKETS:
            if any(n in where for n in needles):
                by_bucket[bucket] += tt
                break
        else:
            by_bucket["other (builtins: sock.recv/sendall, sleeps …)" if filename == "~" else "other"] += tt
    out = io.StringIO()
    out.write(f"profile of one dispatch round (own time, {total:.3f} s total):\n")
    for bucket, seconds in sorted(by_bucket.items(), key=lambda kv: -kv[1]):
        out.write(f"  {bucket:<48} {seconds:7.3f} s  {100 * seconds / total:5.1f} %\n")
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(18)
    out.write(stream.getvalue().split("\n", 6)[-1])
    return out.getvalue()


# -- main ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=None, help="rows per round (default 2000; 500 with --quick)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5; 3 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    rows = args.rows or (500 if args.quick else 2000)
    rounds = args.rounds or (3 if args.quick else 5)

    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
    server.start()
    port = parent.recv()
    url = f"http://127.0.0.1:{port}/hook"

    with tempfile.TemporaryDirectory(prefix="jiedai-bench-dispatch-") as tmp:
        notifier = WebhookNotifier(url, SECRET)
        engine = open_engine(
            f"sqlite:///{Path(tmp) / 'outbox.db'}",
            autoload=False,
            blocked=("jiedai.log_notifier",),
            plugins=(Directory(), notifier),
        )
        dispatcher = Dispatcher(engine, batch=100)
        client = raw_client(notifier)
        print(f"{rows} rows a round, {rounds} timed rounds after a warm-up; receiver {url}")
        ratios, dispatch_rates, raw_rates = [], [], []
        for round_no in range(rounds + 1):
            seed(engine, rows)
            payloads = bodies(engine, dispatcher, rows)
            t_raw, ok_raw = run_raw(client, url, payloads)
            t_dispatch, delivered = run_dispatch(dispatcher)
            assert delivered == rows == ok_raw, (delivered, ok_raw)
            if round_no == 0:
                continue  # warm-up
            ratios.append(t_dispatch / t_raw)
            dispatch_rates.append(rows / t_dispatch)
            raw_rates.append(rows / t_raw)
            print(
                f"round {round_no}: dispatch {rows / t_dispatch:8.0f}/s  raw {rows / t_raw:8.0f}/s  "
                f"ratio {t_dispatch / t_raw:.2f}"
            )
        if args.profile:
            seed(engine, rows)
            print(profile_round(dispatcher))
        counts = engine.store.delivery_counts()
        client.close()
        notifier.close()
        engine.store.close()
    server.kill()
    server.join()

    ratio = statistics.median(ratios)
    print(
        f"deliveries/s (median): dispatch {statistics.median(dispatch_rates):.0f}, "
        f"raw httpx {statistics.median(raw_rates):.0f}; outbox {counts}"
    )
    verdict = "within" if ratio <= TARGET else "ABOVE"
    print(f"target ≤ {TARGET}: {verdict}")
    print(f"RATIO dispatch/raw = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

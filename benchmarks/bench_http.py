#!/usr/bin/env python
"""HTTP service benchmark 接口服务性能基准: ``jiedai serve`` against the engine in-process, in one run.

Run from the repository root (PostgreSQL at ``--postgres``, default the CI server)::

    python benchmarks/bench_http.py            # full run (about a minute)
    python benchmarks/bench_http.py --quick    # short run (CI)

What is measured (see docs/performance.md, 接口服务 HTTP service):

1. ``http/engine``: one client on one keep-alive connection runs whole lifecycles (create → submit →
   approve → approve → start → finish → claim with a reception list → settle: 8 commands, each a
   POST with its JSON body, every response read) against ``jiedai serve`` with one worker; the same
   commands in-process, ``engine.create_reception`` and ``engine.fire`` with the same letter, plan and
   list already built, on the same PostgreSQL database (a private schema). The floor is the engine
   itself: what is left is the cost of HTTP, authentication, JSON in and out and the framework.
2. ``workers 2/1``: the throughput (commands per second) of ``jiedai serve --workers 2`` over
   ``--workers 1``, with the same clients (threads, each on its own keep-alive connection and its
   own receptions, so nothing conflicts) running lifecycles against both in turn. The share of the
   machine's CPU left idle during each is printed: a second worker can only help where the first
   left a core idle (PostgreSQL and the clients run on the same cores). So is the CPU time each
   command costs the service (all its processes), PostgreSQL (every ``postgres`` process) and the
   clients, from ``/proc``: their sum over the machine's cores bounds the commands per second. And
   how the two workers shared the clients' keep-alive connections in each round: the kernel hands
   a new connection to whichever worker accepts first, so the split is not ours to choose.

Method: for ``http/engine`` the two sides take turns lifecycle by lifecycle, so a busy moment of a
shared machine hits both alike; for ``workers 2/1`` the two services take turns round by round.
The first round is a warm-up and is discarded; each ratio is the median of the per-round ratios.
Both services start before the first round and stay up; an idle one costs nothing. The client uses
``http.client`` (small and steady) with ``TCP_NODELAY``, as other HTTP clients set it.

The last two lines are machine-readable::

    RATIO http/engine = X    (target ≤ 1.5; "n/a (unreachable)" without PostgreSQL)
    RATIO workers 2/1 = Y    (target ≥ 1.5 on a 2-core machine)
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_HTTP = 1.5
TARGET_WORKERS = 1.5
CLIENTS = 8
"""Client threads of the workers comparison: enough to keep two workers busy, and enough
connections that the kernel spreads them evenly over the workers (with 4 the split varied)."""
LIFECYCLE = (
    ("zhang.wei", "submit", False),
    ("sun.hao", "approve", False),
    ("li.na", "approve", False),
    ("zhang.wei", "start", False),
    ("zhang.wei", "finish", False),
    ("zhang.wei", "claim", True),
    ("wang.fang", "settle", False),
)
"""(actor, trigger, carries the reception list) after the create: the starter files' two approval
levels, as ``jiedai init`` writes them."""
COMMANDS = 1 + len(LIFECYCLE)


class Sizes:
    def __init__(self, quick: bool, clients: int = CLIENTS) -> None:
        self.clients = clients
        self.rounds = 3 if quick else 7
        """Measured rounds (one warm-up round more)."""
        self.lifecycles = 6 if quick else 20
        """Lifecycles per side per round, for http/engine."""
        self.per_client = 3 if quick else 8
        """Lifecycles per client thread per round, for workers 2/1."""


# -- the database, the files and the services ------------------------------------------------------


def pg_reachable(url: str) -> str | None:
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


@contextlib.contextmanager
def private_schema(url: str) -> Iterator[str]:
    """A fresh schema on the server; its URL (search_path); dropped afterwards."""
    name = f"jd_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield (
            sa.make_url(url)
            .update_query_dict({"options": f"-csearch_path={name}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


def write_files(folder: Path) -> None:
    """The actors and standards ``jiedai init`` writes."""
    from jiedai_flow.cli import starter

    (folder / "jiedai-actors.toml").write_text(starter.actors_toml(), encoding="utf-8")
    (folder / "jiedai-standards.toml").write_text(starter.STANDARDS_TOML, encoding="utf-8")


def bodies() -> tuple[dict[str, Any], dict[str, Any]]:
    """The starter reception (as ``POST /receptions`` takes it) and its reception list."""
    from jiedai_flow.cli import starter

    day = date.today() + timedelta(days=10)
    reception = json.loads(json.dumps(tomllib.loads(starter.reception_toml(day)), default=str))
    reception_list = json.loads(json.dumps(tomllib.loads(starter.list_toml(day)), default=str))
    return reception, reception_list


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(db: str, folder: Path, workers: int, parser: str) -> Iterator[tuple[int, int]]:
    """``jiedai serve --http PARSER`` with ``workers`` workers until the block ends; its port and pid."""
    port = free_port()
    code = "from jiedai_flow.cli import main; main()"
    args = ["--db", db, "serve", "--port", str(port), "--workers", str(workers)]
    args += ["--max-auth-failures", "1000000", "--http", parser]
    env = {**os.environ, "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"}
    log = open(folder / f"serve-{workers}.log", "wb")  # noqa: SIM115 — closed after the process
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit((folder / f"serve-{workers}.log").read_text(errors="replace"))
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("jiedai serve did not become ready")
            time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def tokens(db: str, actors: Sequence[str]) -> dict[str, str]:
    from jiedai_flow.server.tokens import SQLTokens

    engine = sa.create_engine(db)
    try:
        return {a: SQLTokens(engine).create(a, "bench")[1] for a in actors}
    finally:
        engine.dispose()


# -- the two sides ---------------------------------------------------------------------------------


class Client:
    """One keep-alive connection; each command a POST whose response is read whole."""

    def __init__(self, port: int, keys: dict[str, str], reception: bytes, with_list: bytes) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.connect()
        # why: http.client writes a POST's headers and body in two sends and leaves Nagle's algorithm
        # to the system; urllib3, curl and Java's HttpClient turn it off, as here. With it on, the
        # body may wait for the acknowledgement of the headers (40 ms a command when forced on here):
        # a delay of the client's making, not the service's
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.headers = {
            a: {"Authorization": f"Bearer {k}", "Content-Type": "application/json"} for a, k in keys.items()
        }
        self.reception = reception
        self.with_list = with_list
        self.latencies: list[float] = []
        """Seconds of each command, request written to response read."""

    def post(self, actor: str, path: str, body: bytes) -> bytes:
        started = time.perf_counter()
        self.conn.request("POST", path, body, self.headers[actor])
        response = self.conn.getresponse()
        data = response.read()
        self.latencies.append(time.perf_counter() - started)
        if response.status not in (200, 201):
            raise SystemExit(f"POST {path} as {actor}: {response.status} {data[:500]!r}")
        return data

    def lifecycle(self) -> None:
        created = json.loads(self.post("zhang.wei", "/api/v1/receptions", self.reception))
        base = f"/api/v1/receptions/{created['reception']['id']}/triggers/"
        for actor, trigger, carries_list in LIFECYCLE:
            self.post(actor, base + trigger, self.with_list if carries_list else b"{}")

    def close(self) -> None:
        self.conn.close()


class InProcess:
    """The same commands on an engine opened as ``jiedai serve`` opens it, inputs already built."""

    def __init__(
        self, db: str, folder: Path, reception: dict[str, Any], reception_list: dict[str, Any]
    ) -> None:
        from jiedai_flow.cli.app import App
        from jiedai_flow.cli.inputs import ReceptionFile
        from jiedai_flow.domain.loading import load
        from jiedai_flow.domain.model import ReceptionList

        app = App(
            db=db,
            actors_path=folder / "jiedai-actors.toml",
            standards_paths=(folder / "jiedai-standards.toml",),
            calendar_paths=(),
        )
        self.engine = app.engine(create=True)  # as `jiedai serve` opens it: the schema made if none
        self.actors = app.actors()
        self.source = load(ReceptionFile, reception)
        self.reception_list = load(ReceptionList, reception_list)

    def lifecycle(self) -> None:
        head = self.source.reception
        created = self.engine.create_reception(
            self.source.letter,
            self.source.plan,
            handler=self.actors["zhang.wei"],
            host_unit=head.host_unit,
            jurisdiction=head.jurisdiction,
            reception_type=head.type,
        )
        rid = created.reception.id
        for actor, trigger, carries_list in LIFECYCLE:
            self.engine.fire(
                rid,
                trigger,
                self.actors[actor],
                reception_list=self.reception_list if carries_list else None,
            )

    def close(self) -> None:
        self.engine.store.close()


def timed(run: Any, times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        run()
    return time.perf_counter() - started


def http_vs_engine(sizes: Sizes, client: Client, local: InProcess) -> dict[str, Any]:
    """Lifecycles over HTTP and in-process, interleaved one by one (a busy moment of a shared machine
    hits both sides alike); per round, the time of each side summed."""
    ratios, http_ms, engine_ms = [], [], []
    for number in range(sizes.rounds + 1):
        took = {"http": 0.0, "engine": 0.0}
        for k in range(sizes.lifecycles):
            pair = [("http", client.lifecycle), ("engine", local.lifecycle)]
            if k % 2:
                pair.reverse()  # neither side always goes first
            for name, run in pair:
                took[name] += timed(run, 1)
        if number == 0:
            client.latencies.clear()
            continue  # warm-up
        ratios.append(took["http"] / took["engine"])
        http_ms.append(took["http"] * 1000 / (sizes.lifecycles * COMMANDS))
        engine_ms.append(took["engine"] * 1000 / (sizes.lifecycles * COMMANDS))
    return {
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "http_ms": statistics.median(http_ms),
        "engine_ms": statistics.median(engine_ms),
        "latency_ms": sorted(t * 1000 for t in client.latencies),
    }


def _processes() -> dict[int, list[str]]:
    """The fields of ``/proc/<pid>/stat`` after "pid (comm) " (state, ppid, …) of every process;
    empty where there is no /proc."""
    found = {}
    with contextlib.suppress(OSError):
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/stat").read_text()
                found[int(pid)] = text[text.rindex(")") + 2 :].split()
    return found


def cpu_by_group(service: int) -> dict[str, float]:
    """CPU seconds used so far by the service (its process and workers), by PostgreSQL (every
    ``postgres`` process) and by this process (the clients); empty where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    processes = _processes()
    if not processes:
        return {}
    found = {"service": 0.0, "postgres": 0.0, "clients": 0.0}
    parents = {pid: int(fields[1]) for pid, fields in processes.items()}
    for pid, fields in processes.items():
        seconds = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                found["postgres"] += seconds
        ancestor = pid
        while ancestor > 1 and ancestor != service:
            ancestor = parents.get(ancestor, 0)
        if ancestor == service:
            found["service"] += seconds
        if pid == os.getpid():
            found["clients"] = seconds
    return found


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of the whole machine, from /proc/stat (zeros where there is none)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    return fields[3] + fields[4], sum(fields)


def connections_per_worker(service: int, workers: int, port: int, clients: Sequence[int]) -> list[int]:
    """How many of the connections from the local ports ``clients`` each of the service's
    ``workers`` holds, most first, from /proc (empty where there is none)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
                if local == port and remote in clients:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return []
    held = []
    for pid, fields in _processes().items():
        if service not in (pid, int(fields[1])):
            continue
        with contextlib.suppress(OSError):
            folder = f"/proc/{pid}/fd"
            found = sum(1 for fd in os.listdir(folder) if os.readlink(f"{folder}/{fd}") in inodes)
            if found:
                held.append(found)
    return sorted(held, reverse=True) + [0] * (workers - len(held))


def throughput(
    port: int,
    keys: dict[str, str],
    reception: bytes,
    with_list: bytes,
    per_client: int,
    count: int,
    service: tuple[int, int],
) -> tuple[float, list[int]]:
    """Commands per second of ``count`` threads, each running lifecycles on its own receptions, and
    how the service's workers (``service``: its process id and number of workers) shared their
    connections (see :func:`connections_per_worker`)."""
    clients = [Client(port, keys, reception, with_list) for _ in range(count)]
    for c in clients:  # every connection accepted by a worker before the split is read
        c.conn.request("GET", "/healthz")
        c.conn.getresponse().read()
    local_ports = [c.conn.sock.getsockname()[1] for c in clients]
    split = connections_per_worker(service[0], service[1], port, local_ports)
    barrier = threading.Barrier(count + 1)
    failures: list[BaseException] = []

    def run(c: Client) -> None:
        barrier.wait()
        try:
            for _ in range(per_client):
                c.lifecycle()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for c in clients:
        c.close()
    if failures:
        raise failures[0]
    return count * per_client * COMMANDS / elapsed, split


def workers_ratio(
    sizes: Sizes,
    services: dict[int, tuple[int, int]],
    keys: dict[str, str],
    reception: bytes,
    with_list: bytes,
) -> dict[str, Any]:
    ratios: list[float] = []
    rates: dict[int, list[float]] = {1: [], 2: []}
    idle: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, dict[str, float]] = {1: {}, 2: {}}
    """CPU seconds of each group over the measured rounds, per worker count."""
    splits: list[list[int]] = []
    """How the two workers shared the clients' connections, per measured round."""
    commands = sizes.clients * sizes.per_client * COMMANDS
    for number in range(sizes.rounds + 1):
        order = (1, 2) if number % 2 == 0 else (2, 1)
        found = {}
        for n in order:
            port, pid = services[n]
            idle_before, total_before = cpu_times()
            used_before = cpu_by_group(pid)
            found[n], split = throughput(
                port, keys, reception, with_list, sizes.per_client, sizes.clients, (pid, n)
            )
            if number and n == 2 and split:
                splits.append(split)
            used_after = cpu_by_group(pid)
            idle_after, total_after = cpu_times()
            if number and total_after > total_before:
                idle[n].append((idle_after - idle_before) / (total_after - total_before))
            if number:
                for group, seconds in used_after.items():
                    cpu[n][group] = cpu[n].get(group, 0.0) + seconds - used_before.get(group, 0.0)
        if number == 0:
            continue
        ratios.append(found[2] / found[1])
        for n in (1, 2):
            rates[n].append(found[n])
    return {
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "rate1": statistics.median(rates[1]),
        "rate2": statistics.median(rates[2]),
        "idle1": statistics.median(idle[1]) if idle[1] else float("nan"),
        "idle2": statistics.median(idle[2]) if idle[2] else float("nan"),
        "splits": splits,
        "cpu_us": {
            n: {group: seconds * 1e6 / (commands * sizes.rounds) for group, seconds in cpu[n].items()}
            for n in (1, 2)
        },
    }


def run(sizes: Sizes, url: str, parser: str) -> tuple[dict[str, Any], dict[str, Any]]:
    reception, reception_list = bodies()
    reception_bytes = json.dumps(reception, ensure_ascii=False).encode()
    with_list = json.dumps({"reception_list": reception_list}, ensure_ascii=False).encode()
    actors = sorted({a for a, _t, _l in LIFECYCLE} | {"zhang.wei"})
    with tempfile.TemporaryDirectory(prefix="jiedai-bench-http-") as tmp, private_schema(url) as db:
        folder = Path(tmp)
        write_files(folder)
        local = InProcess(db, folder, reception, reception_list)  # creates the schema, like jiedai init
        keys = tokens(db, actors)
        with serving(db, folder, 1, parser) as one, serving(db, folder, 2, parser) as two:
            client = Client(one[0], keys, reception_bytes, with_list)
            try:
                single = http_vs_engine(sizes, client, local)
            finally:
                client.close()
            scaling = workers_ratio(sizes, {1: one, 2: two}, keys, reception_bytes, with_list)
        local.close()
    return single, scaling


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (CI)")
    parser.add_argument("--postgres", default=DEFAULT_PG, help=f"PostgreSQL URL (default {DEFAULT_PG})")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"client threads (default {CLIENTS})")
    parser.add_argument(
        "--http",
        choices=("h11", "httptools"),
        default="h11",
        help="the service's request parser, as `jiedai serve --http` (default h11, the service's default)",
    )
    args = parser.parse_args(argv)
    sizes = Sizes(args.quick, args.clients)
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(
        f"bench_http {stamp} · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f} · "
        f"Python {sys.version.split()[0]} · {'quick' if args.quick else 'full'} · --http {args.http}"
    )
    why = pg_reachable(args.postgres)
    if why is not None:
        print(f"PostgreSQL unreachable at {args.postgres}: {why}")
        print("RATIO http/engine = n/a (unreachable)")
        print("RATIO workers 2/1 = n/a (unreachable)")
        return 0
    single, scaling = run(sizes, args.postgres, args.http)
    print(
        f"one client, keep-alive, {sizes.lifecycles} lifecycles × {COMMANDS} commands per side per round, "
        f"{sizes.rounds} rounds:"
    )
    print(f"  http   {single['http_ms']:.2f} ms per command (median of rounds)")
    print(f"  engine {single['engine_ms']:.2f} ms per command, in-process, same database")
    print(f"  per-round http/engine: {', '.join(f'{r:.2f}' for r in single['ratios'])}")
    latency = single["latency_ms"]
    print(
        f"  http per command over {len(latency)} commands: median {statistics.median(latency):.2f} ms, "
        f"99th percentile {latency[int(len(latency) * 0.99)]:.2f} ms, longest {latency[-1]:.2f} ms"
    )
    print(f"{sizes.clients} clients, {sizes.per_client} lifecycles each per round, different receptions:")
    print(f"  1 worker  {scaling['rate1']:.0f} commands/s, machine idle {scaling['idle1']:.0%}")
    print(f"  2 workers {scaling['rate2']:.0f} commands/s, machine idle {scaling['idle2']:.0%}")
    busy = 1 - scaling["idle1"]
    if busy > 0:  # nan without /proc/stat: no line
        print(
            f"  ceiling of 2/1 here: 1 worker keeps {busy:.0%} of the machine busy (the worker, PostgreSQL "
            f"and the clients), so 2 workers can do at most {1 / busy:.2f}× as much"
        )
    for n in (1, 2):
        spent = scaling["cpu_us"][n]
        if spent:
            print(
                f"  CPU per command with {n} worker{'s' if n > 1 else ''}: "
                + ", ".join(f"{group} {spent[group]:.0f} µs" for group in ("service", "postgres", "clients"))
            )
    if scaling["splits"]:
        shares = ", ".join("+".join(str(n) for n in split) for split in scaling["splits"])
        print(f"  connections per worker (2 workers), per round: {shares}")
    print(f"  per-round 2/1: {', '.join(f'{r:.2f}' for r in scaling['ratios'])}")
    print(f"load after {os.getloadavg()[0]:.2f}")
    print(f"RATIO http/engine = {single['ratio']:.2f}")
    print(f"RATIO workers 2/1 = {scaling['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

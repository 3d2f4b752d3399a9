"""``jiedai serve --workers N``: each worker listens on a socket of its own, so the keep-alive
connections a host system opens in one burst are spread over the workers; a worker that dies is
replaced; stopping the service stops every worker; a port in use is a clear error.

Read through /proc (Linux, where the kernel spreads connections over ``SO_REUSEPORT`` sockets).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jiedai_flow.server.workers import spreads_connections
from tests._http_server import eventually, running, write_starter_files

pytestmark = pytest.mark.skipif(
    not spreads_connections(), reason="SO_REUSEPORT spreads connections on Linux only"
)


def _children(parent: int) -> list[int]:
    """The worker processes of ``parent``: its children that hold a socket (multiprocessing's
    resource tracker, its other child, holds none)."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent and _sockets(int(pid)):
            found.append(int(pid))
    return sorted(found)


def _sockets(pid: int) -> set[str]:
    """The socket inodes ``pid`` holds (none once it is gone). A descriptor closed while the list is
    read is skipped, not taken for the whole process being gone."""
    folder = f"/proc/{pid}/fd"
    try:
        descriptors = os.listdir(folder)
    except OSError:
        return set()
    links = set()
    for fd in descriptors:
        with contextlib.suppress(OSError):
            links.add(os.readlink(f"{folder}/{fd}"))
    return {link[8:-1] for link in links if link.startswith("socket:[")}


def _listeners(parent: int, port: int) -> dict[int, set[str]]:
    """Each worker of ``parent`` and the listening sockets on ``port`` it holds."""
    listening = {inode for local, _r, state, inode in _tcp(port) if local == port and state == "0A"}
    return {worker: _sockets(worker) & listening for worker in _children(parent)}


def _tcp(port: int) -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket on ``port``."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
        if port in (local, remote):
            rows.append((local, remote, fields[3], fields[9]))
    return rows


def _port(server_base: str) -> int:
    return int(server_base.rsplit(":", 1)[1])


def test_keep_alive_connections_opened_at_once_are_spread_over_the_workers(tmp_path: Path) -> None:
    with running(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, workers=2) as server:
        port = _port(server.base)
        # each listens once its application is made: a listening socket each, not the same one
        assert eventually(lambda: [len(held) for held in _listeners(server.pid, port).values()] == [1, 1])
        owned = _listeners(server.pid, port)
        workers = sorted(owned)
        assert owned[workers[0]] != owned[workers[1]]
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(24)]
        try:
            for conn in connections:  # one burst, as a host's connection pool opens
                conn.connect()
            for conn in connections:
                conn.request("GET", "/healthz")
                assert conn.getresponse().read()
            ours = {str(c.sock.getsockname()[1]) for c in connections}
            accepted = {
                inode for local, remote, _s, inode in _tcp(port) if local == port and str(remote) in ours
            }
            held = [len(_sockets(w) & accepted) for w in workers]
            assert sum(held) == 24
            assert min(held) > 0, held  # all 24 on one worker: one chance in 8 million with a fair spread
        finally:
            for conn in connections:
                conn.close()


def test_a_worker_that_dies_is_replaced_and_stopping_stops_them_all(tmp_path: Path) -> None:
    with running(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, workers=2) as server:
        assert eventually(lambda: len(_children(server.pid)) == 2)
        first = _children(server.pid)
        os.kill(first[0], signal.SIGKILL)
        assert eventually(lambda: len(_children(server.pid)) == 2 and first[0] not in _children(server.pid))

        def answers() -> bool:
            conn = http.client.HTTPConnection("127.0.0.1", _port(server.base), timeout=5)
            try:
                conn.request("GET", "/readyz")
                return conn.getresponse().status == 200
            except OSError:
                return False
            finally:
                conn.close()

        assert eventually(answers)
        workers = _children(server.pid)
    assert eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))


def _serve_on(port: int, workers: int, folder: Path) -> subprocess.CompletedProcess[str]:
    """``jiedai serve --workers N --port PORT`` run to its end (it should not start)."""
    command = [sys.executable, "-m", "jiedai_flow.cli", "--db", f"sqlite:///{folder / 'j.db'}", "serve"]
    command += ["--workers", str(workers), "--port", str(port), "--demo-token", "zhang.wei"]
    return subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=120, check=False)


def _refused(done: subprocess.CompletedProcess[str]) -> None:
    """A usage error (exit 2) in both languages, before any token was made or the service announced."""
    assert done.returncode == 2, done.stderr
    assert "无法监听" in done.stderr
    assert "cannot listen" in done.stderr
    assert "Traceback" not in done.stderr
    assert "jiedai serve: http" not in done.stderr
    assert "Bearer" not in done.stdout  # no demo token printed, in any language


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_in_use_is_a_clear_error(tmp_path: Path, workers: int) -> None:
    write_starter_files(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        _refused(_serve_on(taken.getsockname()[1], workers, tmp_path))


def test_a_second_service_on_the_port_of_a_running_one_is_refused(tmp_path: Path) -> None:
    """Workers share their port with each other (``SO_REUSEPORT``), never with another service."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write_starter_files(second)
    with running(f"sqlite:///{first / 'j.db'}", first, workers=2) as server:
        assert eventually(
            lambda: [len(held) for held in _listeners(server.pid, _port(server.base)).values()] == [1, 1]
        )
        for workers in (1, 2):
            _refused(_serve_on(_port(server.base), workers, second))


START = (
    "from jiedai_flow.server import workers as w; "
    "w.serve(w.listening_socket('127.0.0.1', 0, listen=False), 2)"
)
"""The service's workers as ``jiedai serve --workers 2`` starts them, without the command line."""


def test_workers_whose_application_cannot_start_stop_the_service_with_an_error(tmp_path: Path) -> None:
    """Settings naming a database the workers cannot open: the parent does not start them again and
    again; it stops with a bilingual error."""
    from jiedai_flow.server.settings import SETTINGS_ENV, Settings

    missing = tmp_path / "no-such-folder" / "j.db"
    settings = Settings(db=f"sqlite:///{missing}", actors=str(tmp_path / "a.toml"))
    done = subprocess.run(
        [sys.executable, "-c", START],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, SETTINGS_ENV: settings.to_env(), "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"},
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "没能启动" in done.stderr
    assert "could not start" in done.stderr

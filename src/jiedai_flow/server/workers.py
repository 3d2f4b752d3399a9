"""Several worker processes, each with a listening socket of its own 多进程 (``jiedai serve --workers N``).

Why not uvicorn's own ``--workers``: there every worker accepts from one shared socket, and the first
to wake takes every connection waiting. A host system opens its pool of keep-alive connections in one
burst, so they all went to one worker and the others idled: eight connections over two workers split
8+0 in most rounds of ``benchmarks/bench_http.py``. Here each worker binds the port with
``SO_REUSEPORT`` and the kernel spreads new connections over the workers' sockets by their addresses,
whichever worker is awake. Linux only (elsewhere ``SO_REUSEPORT`` does not spread connections):
other systems keep uvicorn's workers.

The parent starts the workers, replaces one that dies (a worker whose application cannot start stops
the service with an error instead), and on SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

from jiedai_flow.errors import PluginError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

log = logging.getLogger("jiedai_flow.server")

APP = "jiedai_flow.server.app:from_env"
RESTART_PAUSE = 1.0
"""Seconds between replacing a worker that died and the next check (no tight crash loop)."""
STARTUP_FAILED = 3
"""A worker's exit code when the application never came up: the service stops with an error rather
than start it again and again."""
HTTP_PARSERS = ("h11", "httptools")
DEFAULT_HTTP = "h11"
"""How requests are parsed (``jiedai serve --http``). h11 by default: a Java host's stock
``java.net.http.HttpClient`` offers ``Upgrade: h2c`` on a plain ``http://`` address, and uvicorn's
httptools parser then hands the application an empty body (uvicorn issue 2722, open); h11 ignores
the offer as HTTP allows and reads the body. httptools parses in C, a little cheaper per request,
for hosts whose clients never offer an upgrade."""


class _NoUpgrades(logging.Filter):
    """Drops uvicorn's warnings about an upgrade it does not make: the service has no WebSocket, and
    every request of a Java host's stock client offers h2c, which is answered over HTTP/1.1."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message == "Unsupported upgrade request." or message.startswith("No supported WebSocket"))


_NO_UPGRADES = _NoUpgrades()


def proxy_options(forwarded: str | None) -> dict[str, Any]:
    """uvicorn's options for ``X-Forwarded-For`` and ``X-Forwarded-Proto``: believed only from the
    proxies ``forwarded`` names (``jiedai serve --forwarded-allow-ips``), from none when it is None.
    uvicorn's own default believes any caller on loopback, so a local caller could name any address
    it liked, dodging the failed-authentication limit and writing the address the log keeps."""
    return {"proxy_headers": forwarded is not None, "forwarded_allow_ips": forwarded}


def _config(http: str, log_level: str, forwarded: str | None, **options: Any) -> Any:
    import uvicorn

    if http not in HTTP_PARSERS:
        raise PluginError(f"不认识的 HTTP 解析器 {http!r}", f"unknown HTTP parser {http!r}")
    config = uvicorn.Config(
        APP, factory=True, log_level=log_level, http=http, **proxy_options(forwarded), **options
    )
    logging.getLogger("uvicorn.error").addFilter(_NO_UPGRADES)  # once: the same filter is kept once
    return config


def spreads_connections() -> bool:
    """Whether this system spreads connections over sockets sharing a port (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket on ``host:port`` that other sockets with ``SO_REUSEPORT`` may share."""
    return _bound(host, port, shared=True, listen=listen)


def claim_port(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` as one server holds it (``SO_REUSEADDR``, not
    ``SO_REUSEPORT``); ``OSError`` when any service listens there already — another ``jiedai serve``
    included, whose workers would otherwise share the port with this one without a word. Port 0:
    the system chooses (``getsockname()`` tells which)."""
    return _bound(host, port, shared=False, listen=True)


def _bound(host: str, port: int, *, shared: bool, listen: bool) -> socket.socket:
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def run_one(
    sock: socket.socket,
    log_level: str = "warning",
    http: str = DEFAULT_HTTP,
    forwarded: str | None = None,
) -> None:
    """The service in this process on ``sock`` (from :func:`claim_port`) until SIGTERM or SIGINT;
    ``forwarded``: the proxies whose ``X-Forwarded-*`` headers are believed (:func:`proxy_options`)."""
    import uvicorn

    server = uvicorn.Server(_config(http, log_level, forwarded))
    server.run(sockets=[sock])
    if not server.started:  # uvicorn has logged why
        raise PluginError(
            "接口服务没能启动，原因见上面的日志", "the service could not start (see the log above)"
        )


def run_worker(
    host: str, port: int, log_level: str, http: str = DEFAULT_HTTP, forwarded: str | None = None
) -> None:
    """One worker: its own socket on the port, the application served by uvicorn until SIGTERM."""
    import uvicorn

    config = _config(http, log_level, forwarded, host=host, port=port)
    try:
        config.load()  # the application, made here so that a failure is told from a crash
    except SystemExit:  # uvicorn has logged why
        sys.exit(STARTUP_FAILED)
    except Exception as error:
        log.error("worker %s could not make the application: %s", os.getpid(), error, exc_info=True)
        sys.exit(STARTUP_FAILED)
    # why only now: from the moment it listens the kernel hands this worker its share of new
    # connections, which would wait on an application still being made (or be reset if it fails)
    sock = listening_socket(host, port)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:  # its startup failed (uvicorn has logged why)
        sys.exit(STARTUP_FAILED)


def serve(
    holder: socket.socket,
    workers: int,
    log_level: str = "warning",
    http: str = DEFAULT_HTTP,
    forwarded: str | None = None,
) -> None:
    """Run ``workers`` workers on the address of ``holder`` until SIGTERM or SIGINT; a worker that
    dies is replaced.

    ``holder`` is :func:`listening_socket` with ``listen=False``, bound by the caller first so that
    a port in use is an error before any worker starts; it keeps the port while workers come and go,
    and is closed here at the end."""
    context = multiprocessing.get_context("spawn")
    host, port = holder.getsockname()[:2]  # the port the system chose, for port 0
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    running: list[BaseProcess] = []
    try:
        for _ in range(workers):
            running.append(_start(context, host, port, log_level, http, forwarded))
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                if process.exitcode == STARTUP_FAILED:
                    raise PluginError(
                        "接口服务的工作进程没能启动，服务已停止；原因见上面的日志",
                        "a worker of the service could not start, so the service stopped (see the log above)",
                    )
                log.warning("worker %s exited (%s); starting another", process.pid, process.exitcode)
                time.sleep(RESTART_PAUSE)
                running[index] = _start(context, host, port, log_level, http, forwarded)
    finally:
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in running:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join()
        holder.close()
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)


def _start(
    context: Any, host: str, port: int, log_level: str, http: str, forwarded: str | None
) -> BaseProcess:
    process: BaseProcess = context.Process(
        target=run_worker, args=(host, port, log_level, http, forwarded), daemon=False
    )
    process.start()
    return process

"""Prometheus metrics 监控指标 through the standard client library.

With several uvicorn workers ``jiedai serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers
start, so ``/metrics`` adds up every worker's counts (the client library's multiprocess mode).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "jiedai_http_requests_total", "HTTP requests by route and status", ["method", "route", "status"]
)
LATENCY = Histogram("jiedai_http_request_seconds", "HTTP request duration", ["method", "route"])
AUTH_FAILURES = Counter("jiedai_auth_failures_total", "Failed authentications by reason", ["reason"])
COMMANDS = Counter("jiedai_commands_total", "Commands by trigger and outcome", ["trigger", "outcome"])


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, every worker's when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def middleware(app: ASGIApp) -> ASGIApp:
    """Count and time every HTTP request by its route template (not its path: bounded labels)."""

    async def measured(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            route = _route(scope)
            method = scope.get("method", "")
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)

    return measured


def _route(scope: Any) -> str:
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else "unmatched"

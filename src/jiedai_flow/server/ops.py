"""Liveness, readiness and metrics 运行状态: ``/healthz``, ``/readyz``, ``/metrics`` (no token needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from litestar import Response, get
from litestar.enums import MediaType

from jiedai_flow.server import metrics
from jiedai_flow.server.models import Health
from jiedai_flow.server.schema import LibraryDTO
from jiedai_flow.server.service import Service


@get(
    "/healthz",
    summary="存活 the process answers",
    return_dto=LibraryDTO[Health],
    tags=["ops"],
    sync_to_thread=False,
)
def healthz() -> Health:
    return Health("ok", datetime.now(UTC))


@get(
    "/readyz",
    summary="就绪 the database answers and its schema is current (503 otherwise)",
    return_dto=LibraryDTO[Health],
    media_type=MediaType.JSON,
    tags=["ops"],
    sync_to_thread=True,
)
def readyz(service: Service) -> Response[Health]:
    from jiedai_flow.storage.migrate import current_revision, head_revision

    now = datetime.now(UTC)
    sql = getattr(service.engine.store, "db", None)
    if not isinstance(sql, sa.Engine):
        return Response(Health("ready", now, "memory"))
    shown = sql.url.render_as_string(hide_password=True)
    expected = head_revision()
    try:
        found = current_revision(sql) or ""
    except Exception as error:  # why: any failure to reach the database means not ready
        return Response(
            Health(f"database unreachable: {type(error).__name__}", now, shown, "", expected), status_code=503
        )
    ready = found == expected
    health = Health("ready" if ready else "migrations pending", now, shown, found, expected)
    return Response(health, status_code=200 if ready else 503)


@get(
    "/metrics",
    summary="Prometheus 指标 metrics (text format)",
    tags=["ops"],
    sync_to_thread=False,
    media_type="text/plain",
)
def metrics_page() -> Response[bytes]:
    body, content_type = metrics.exposition()
    # the response adds the charset to a text type itself: once is enough
    return Response(body, media_type=content_type.replace("; charset=utf-8", ""))


ROUTES = (healthz, readyz, metrics_page)

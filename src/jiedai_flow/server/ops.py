"""Liveness, readiness and metrics 运行状态: ``/healthz``, ``/readyz``, ``/metrics`` (no token needed)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec

from jiedai_flow.domain import loading as convert
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.server import metrics
from jiedai_flow.server.models import Health, Liveness
from jiedai_flow.server.schema import LibraryDTO
from jiedai_flow.server.service import Service


@get(
    "/healthz",
    operation_id="getLiveness",
    summary="存活 the process answers",
    return_dto=LibraryDTO[Liveness],
    tags=["ops"],
    sync_to_thread=False,
)
def healthz() -> Liveness:
    return Liveness("ok", datetime.now(CHINA_TZ))


@get(
    "/readyz",
    operation_id="getReadiness",
    summary="就绪 the database answers and its schema is current (503 otherwise)",
    return_dto=LibraryDTO[Health],
    media_type=MediaType.JSON,
    tags=["ops"],
    sync_to_thread=True,
    responses={
        503: ResponseSpec(
            Health,
            description="未就绪：数据库不可达、迁移未完成或数据库比本服务新 / not ready: the database is"
            " unreachable, migrations are pending, or the schema is newer than this version",
            generate_examples=False,
        )
    },
)
def readyz(service: NamedDependency[Service]) -> Response[Health]:
    from jiedai_flow.storage.migrate import current_revision, head_revision, is_known

    now = datetime.now(CHINA_TZ)
    sql = getattr(service.engine.store, "db", None)
    if not isinstance(sql, sa.Engine):
        return _answer(Health("ready", now, "memory"))
    # why only the kind: the endpoint needs no token, and a host, user and database name are a map
    # for whoever probes the service; its operators know where their database is
    shown = sql.dialect.name
    expected = head_revision()
    try:
        found = current_revision(sql) or ""
    except Exception as error:  # why: any failure to reach the database means not ready
        return _answer(Health(f"database unreachable: {type(error).__name__}", now, shown, "", expected), 503)
    ready = found == expected
    if ready:
        status = "ready"
    elif is_known(found or None):
        status = "migrations pending"
    else:  # a newer jiedai-flow upgraded it: this version will not open it
        status = "schema newer than this version"
    return _answer(Health(status, now, shown, found, expected), 200 if ready else 503)


def _answer(health: Health, status: int = 200) -> Response[Health]:
    """``health`` as every other answer is written (the library's converter: ISO moments with their
    offset, fields in declaration order), with its status; typed as what it holds, for the schema."""
    body = Response(convert.dump(health), status_code=status, media_type=MediaType.JSON)
    return cast("Response[Health]", body)


@get(
    "/metrics",
    operation_id="getMetrics",
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

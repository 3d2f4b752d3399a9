"""The ASGI application 应用: :func:`create_app` for a Python host to mount, :func:`from_env` for the
uvicorn workers of ``jiedai serve``.

Framework: Litestar (see docs/architecture.md, 「HTTP 服务」): it reads attrs classes, so the OpenAPI
3.1 document is generated from the library's own classes and errors (through :mod:`.schema`);
:mod:`.openapi30` derives the 3.0 rendering older generators read.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from jiedai_flow.server import metrics, openapi30, ops, schema
from jiedai_flow.server.api import ROUTES as API_ROUTES
from jiedai_flow.server.auth import Authenticator, FailureLimiter
from jiedai_flow.server.service import Service, api_principal
from jiedai_flow.server.settings import Settings
from jiedai_flow.server.tokens import tokens_for

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.process.engine import Engine

log = logging.getLogger("jiedai_flow.server")

API_PREFIX = "/api/v1"


def _register_schema_modules() -> None:
    from jiedai_flow import plugins, reports
    from jiedai_flow.cli import inputs
    from jiedai_flow.domain import standards
    from jiedai_flow.process import tasks
    from jiedai_flow.reports import flags, summary
    from jiedai_flow.server import models, problems

    for module in (standards, plugins, inputs, reports, flags, summary, models, problems, tasks):
        schema.register_module(module)


def open_for(settings: Settings) -> tuple[Engine, dict[str, Actor]]:
    """The engine and actors directory the settings name, opened as the command line opens them."""
    from jiedai_flow.cli.app import App

    app = App(
        db=settings.db,
        actors_path=Path(settings.actors),
        standards_paths=tuple(Path(p) for p in settings.standards),
        calendar_paths=tuple(Path(p) for p in settings.calendar),
    )
    engine = app.engine()
    actors = app.actors() if Path(settings.actors).is_file() else {}
    if not actors:
        log.warning(
            "没有参与人文件 %s：令牌和 JWT 都对应不到已知的参与人 / no actors file at %s: no token or JWT can"
            " name a known actor",
            settings.actors,
            settings.actors,
        )
    return engine, actors


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    actors: Mapping[str, Actor] | None = None,
    debug: bool = False,
) -> Litestar:
    """The service as an ASGI application.

    :param settings: database, files, JWT, limits (default: an in-memory database).
    :param engine: an engine the host already has (then ``settings.db`` is not opened).
    :param actors: the actors directory (default: the settings' actors file).
    """
    settings = settings or Settings(db="memory://")
    owned = engine is None  # why: a host's own engine is the host's to close, not the app's
    if engine is None:
        engine, found = open_for(settings)
        actors = actors if actors is not None else found
    tokens = tokens_for(engine, watch=True)
    service = Service(
        engine=engine,
        tokens=tokens,
        auth=Authenticator(
            tokens,
            actors or {},
            settings.jwt,
            FailureLimiter(settings.auth_failures, settings.auth_window),
        ),
        actors=dict(actors or {}),
        settings=settings,
    )
    _register_schema_modules()
    from jiedai_flow.server.web import pages

    api = Router(
        API_PREFIX,
        route_handlers=list(API_ROUTES),
        # why on the event loop: verifying a token is a look in memory on PostgreSQL (see
        # tokens.RevocationWatch) and one indexed read in autocommit elsewhere (a JWT, no read at
        # all), less than handing it to a worker thread costs; the command itself runs in a thread
        dependencies={"principal": Provide(api_principal, sync_to_thread=False)},
        security=[{"bearer": []}],
        before_request=json_bodies_only(service),
    )
    app = _build(service, settings, api, pages, debug, owned)
    # why here, not at start-up: a host mounting the app (Starlette's Mount, FastAPI's app.mount)
    # does not pass start-up events on, and would serve another document
    schema.drop_framework_400(app.openapi_schema)
    schema.sort_answer_headers(app.openapi_schema)
    schema.declare_retry_after(app.openapi_schema)
    schema.require_answer_fields(app.openapi_schema)
    return app


def json_bodies_only(service: Service) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A body the API reads is JSON: one sent as another type (a form, plain text — ``curl -d``
    without ``-H 'Content-Type: application/json'`` sends a form) is a 415 ``http_415``, not read
    as JSON regardless. A request that names no type is read as JSON. Who asks comes first: a
    request without valid credentials is a 401, whatever its body."""

    # why a coroutine: the framework hands a plain function to a worker thread, one more thread
    # hop on every request for a look at one header (and a token check that is itself kept on
    # the event loop, see create_app)
    async def check(request: Request[Any, Any, Any]) -> None:
        if request.method not in ("POST", "PUT", "PATCH"):
            return
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            api_principal(request, service)
            raise HTTPException(
                status_code=415,
                detail=f"请求体应为 application/json，收到 {media}"
                f" / the body must be application/json, got {media}",
            )

    return check


def _build(
    service: Service, settings: Settings, api: Router, pages: Any, debug: bool, owned: bool
) -> Litestar:
    from jiedai_flow.server.auth import Principal
    from jiedai_flow.server.web import errors

    return Litestar(
        route_handlers=[api, *ops.ROUTES, openapi30.serve, pages.router()],
        dependencies={"service": Provide(lambda: service, use_cache=True, sync_to_thread=False)},
        exception_handlers=errors.handlers(),
        plugins=[schema.AttrsSchema()],
        middleware=[metrics.middleware, pages.sessions(settings).middleware],
        openapi_config=OpenAPIConfig(
            title="jiedai_flow 公务接待 API",
            version="1",
            description="公务接待全流程 HTTP 接口 / official receptions over HTTP (docs/http.md).",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="API 令牌（jiedai token create）或单点登录 JWT / API token or SSO JWT",
                    )
                }
            ),
        ),
        template_config=TemplateConfig(directory=pages.TEMPLATES, engine=JinjaTemplateEngine),
        debug=debug,
        # why: the framework's default turns the root logger to INFO with its own handler, which
        # rewrites a host application's logging when it mounts the app and, in `jiedai serve`, formats
        # an INFO line per command (transitions, the log notifier). Errors are logged by the
        # handlers in problems.py; `jiedai -v serve` shows the package's INFO records.
        logging_config=None,
        on_shutdown=[service.tokens.close, *([service.engine.store.close] if owned else [])],
        signature_namespace={"Service": Service, "Principal": Principal},
    )


def from_env() -> Litestar:
    """The application of a ``jiedai serve`` worker (settings in ``JIEDAI_SERVER_SETTINGS``)."""
    return create_app(Settings.from_env())

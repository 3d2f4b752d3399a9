"""The HTTP service from the command line 接口服务: ``serve`` and ``token create|list|revoke``."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

import click
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.app import App, json_option, pass_app
from jiedai_flow.cli.common import heading, label, say
from jiedai_flow.errors import PluginError
from jiedai_flow.server.workers import DEFAULT_HTTP, HTTP_PARSERS

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable


def _need_extra() -> None:
    try:
        import litestar  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise PluginError(
            f'接口服务需要可选依赖：pip install "jiedai-flow[server]"（缺少 {error.name}）',
            f'the HTTP service needs its extra: pip install "jiedai-flow[server]" (missing {error.name})',
        ) from None


def _proxies(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: ``--forwarded-allow-ips`` as uvicorn takes it, every item an address or a
    network, or ``*`` alone (uvicorn would take anything else as a name no client ever has)."""
    if value is None:
        return None
    import ipaddress

    from jiedai_flow.cli.inputs import BadValue

    items = [item.strip() for item in value.split(",") if item.strip()]
    if items == ["*"]:
        return "*"
    for item in items:
        try:
            ipaddress.ip_network(item)  # an address is a network of one
        except ValueError:
            raise BadValue(
                f"{item!r} 不是 IP 地址或网段（如 10.0.0.1、10.0.0.0/8，或单独一个 *）",
                f"{item!r} is not an IP address or network (such as 10.0.0.1, 10.0.0.0/8, or * alone)",
                param=param,
            ) from None
    if not items:
        raise BadValue("未给出地址", "no address given", param=param)
    return ",".join(items)


@click.command(
    short_help="启动 HTTP 接口服务 / run the HTTP API and web pages.",
    help="启动 HTTP 接口服务和网页（uvicorn）：接口在 /api/v1，OpenAPI 在 /schema，网页在 /web。"
    "调用者凭令牌（jiedai token create）或单点登录 JWT（环境变量 JIEDAI_JWT_*，见 docs/http.md）认证。\n\n"
    "Run the HTTP API (/api/v1, OpenAPI at /schema) and the web pages (/web) on uvicorn; callers "
    "authenticate with an API token or a single sign-on JWT (JIEDAI_JWT_* variables, docs/http.md).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 / address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="端口 / port.")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="进程数 / worker processes."
)
@click.option(
    "--secure-cookies", is_flag=True, help="会话 Cookie 只走 HTTPS / mark the session cookie Secure."
)
@click.option(
    "--require-if-match",
    is_flag=True,
    help="操作已有接待（操作名、审批操作）必须带 If-Match 且不能是 *，否则 428；登记不需要 / a command on an "
    "existing reception (a trigger, an approval operation) without If-Match, or with *, is answered 428; "
    "registration is exempt.",
)
@click.option(
    "--max-auth-failures",
    type=click.IntRange(1, 1_000_000),
    default=10,
    show_default=True,
    help="每个地址每分钟允许的认证失败次数，超过返回 429 / failed authentications per address per minute.",
)
@click.option(
    "--http",
    "http_parser",
    type=click.Choice(HTTP_PARSERS),
    default=DEFAULT_HTTP,
    show_default=True,
    help="HTTP 解析器：h11 能接 Java HttpClient 默认发出的 h2c 升级请求；"
    "httptools 稍快，但会丢掉这类请求的请求体 / request parser: h11 serves the h2c upgrade offer "
    "of Java's stock HttpClient; httptools is a little faster but loses the body of such a request.",
)
@click.option(
    "--forwarded-allow-ips",
    "forwarded",
    metavar="IPS",
    callback=_proxies,
    help="信任这些反向代理发来的 X-Forwarded-For/-Proto（逗号分隔的地址或网段，* 为任何来源）；"
    "默认谁的都不信，本机也不信 / believe X-Forwarded-For and X-Forwarded-Proto from these reverse "
    "proxies (comma-separated addresses or networks, * for any); by default from none, loopback included.",
)
@click.option(
    "--demo-token",
    "demo_actor",
    metavar="ACTOR",
    help="为该参与人新建一个令牌并打印（演示用）/ make and print a token for this actor (demos).",
)
@pass_app
def serve(
    app: App,
    host: str,
    port: int,
    workers: int,
    secure_cookies: bool,
    require_if_match: bool,
    max_auth_failures: int,
    http_parser: str,
    forwarded: str | None,
    demo_actor: str | None,
) -> None:
    _need_extra()
    import uvicorn

    from jiedai_flow.server import workers as processes
    from jiedai_flow.server.settings import SETTINGS_ENV, JWTSettings, Settings
    from jiedai_flow.server.tokens import tokens_for

    # first: a port in use is a usage error before anything is opened, made or announced
    sock = _claimed(processes.claim_port, host, port)
    port = sock.getsockname()[1]

    with sock:  # closed however this ends
        try:
            jwt = JWTSettings.from_env()
        except ValueError as error:
            from jiedai_flow.cli.app import usage_problem

            zh, _, en = str(error).partition(" / ")
            raise usage_problem("JIEDAI_JWT_SECRET", zh, en) from None
        settings = Settings(
            db=app.db,
            actors=str(app.actors_path),
            standards=tuple(str(p) for p in app.standards_paths),
            calendar=tuple(str(p) for p in app.calendar_paths),
            jwt=jwt,
            secure_cookies=secure_cookies,
            auth_failures=max_auth_failures,
            require_if_match=require_if_match,
        )
        engine = app.engine(create=True)  # creates or upgrades the database once, before the workers start
        if demo_actor is not None:
            actor = app.actor(demo_actor)
            _info, token = tokens_for(engine).create(actor.id, "demo")
            click.echo(
                say(f"{actor.id}（{actor.name}）的演示令牌：", f"demo token for {actor.id} ({actor.name}): ")
                + token
            )
            click.echo(f"curl -H 'Authorization: Bearer {token}' http://{host}:{port}/api/v1/receptions")
        app.close()
        os.environ[SETTINGS_ENV] = settings.to_env()
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jiedai-metrics-")
        click.echo(
            f"jiedai serve: http://{host}:{port}/web · API /api/v1 · OpenAPI /schema/openapi.json "
            "(3.0: /schema/openapi-3.0.json)",
            err=True,
        )
        if workers == 1:
            processes.run_one(sock, http=http_parser, forwarded=forwarded)
            return
        sock.close()  # the workers listen themselves
        if processes.spreads_connections():
            processes.serve(
                _claimed(processes.listening_socket, host, port, listen=False),
                workers,
                http=http_parser,
                forwarded=forwarded,
            )
            return
        uvicorn.run(
            processes.APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            http=http_parser,
            **processes.proxy_options(forwarded),
        )


def _claimed(bind: Callable[..., socket.socket], host: str, port: int, **options: bool) -> socket.socket:
    """``bind(host, port, **options)``, a port in use made a usage error of ``--port``."""
    try:
        return bind(host, port, **options)
    except OSError as error:
        from jiedai_flow.cli.app import usage_problem

        raise usage_problem(
            "--port", f"无法监听 {host}:{port}：{error}", f"cannot listen on {host}:{port}: {error}"
        ) from None


@click.group(help="接口令牌 API tokens: create, list, revoke.")
def token() -> None:
    """API tokens."""


@token.command("create", help="为参与人新建令牌，只显示这一次 / make a token for an actor, shown once.")
@click.option("--actor", "actor_id", required=True, metavar="ID", help="参与人 id / actor id.")
@click.option("--label", default="", help="备注（哪个系统用）/ a note: which system uses it.")
@json_option
@pass_app
def token_create(app: App, actor_id: str, label: str) -> None:
    from jiedai_flow.server.tokens import tokens_for

    actor = app.actor(actor_id)
    info, secret = tokens_for(app.engine()).create(actor.id, label)
    if app.json:
        app.emit({"id": info.id, "actor_id": info.actor_id, "label": info.label, "token": secret})
        return
    app.out.print(
        say(
            f"参与人 {actor.id}（{actor.name}）的令牌 {info.id}，只显示这一次：",
            f"token {info.id} for {actor.id} ({actor.name}), shown only once:",
        )
    )
    click.echo(secret)


@token.command("list", help="列出令牌（不含令牌本身）/ list tokens (never the tokens themselves).")
@click.option("--actor", "actor_id", metavar="ID", help="只看这个参与人 / only this actor's.")
@json_option
@pass_app
def token_list(app: App, actor_id: str | None) -> None:
    from jiedai_flow.server.tokens import tokens_for

    found = tokens_for(app.engine()).list(actor_id)
    if app.json:
        app.emit(
            [
                {
                    "id": i.id,
                    "actor_id": i.actor_id,
                    "label": i.label,
                    "created_at": i.created_at.isoformat(),
                    "revoked_at": i.revoked_at.isoformat() if i.revoked_at else None,
                }
                for i in found
            ]
        )
        return
    table = Table(title=label("令牌", "tokens"), show_edge=False)  # why: the id needs 32 of 80 columns
    table.add_column("ID", no_wrap=True, min_width=32)  # whole: `token revoke` takes it (or a prefix)
    table.add_column(heading("参与人", "actor"), overflow="fold", min_width=9)
    table.add_column(heading("备注", "label"), overflow="fold", min_width=5)
    for zh, en in (("创建 UTC", "created (UTC)"), ("吊销", "revoked")):
        table.add_column(heading(zh, en), overflow="fold", min_width=10)  # a day, whole
    for i in found:
        # the day over the time: each whole, and the column narrow
        revoked = i.revoked_at.isoformat("\n", timespec="seconds") if i.revoked_at else ""
        created = i.created_at.isoformat("\n", timespec="seconds")
        table.add_row(i.id, Text(i.actor_id), Text(i.label), created, revoked)
    app.out.print(table)


@token.command(
    "revoke",
    help="吊销令牌（token list 里的 ID，或其至少 6 位的唯一前缀）"
    "/ revoke a token (its id, or a unique prefix of at least 6 characters).",
)
@click.argument("token_id", metavar="ID")
@json_option
@pass_app
def token_revoke(app: App, token_id: str) -> None:
    from jiedai_flow.cli.app import usage_problem
    from jiedai_flow.process.engine import MIN_ID_PREFIX
    from jiedai_flow.server.tokens import PREFIX, tokens_for

    store = tokens_for(app.engine())
    wanted = token_id.strip()
    if not wanted:
        raise usage_problem("ID", "未给出令牌 ID", "no token id given")
    ids = [i.id for i in store.list(None)]
    if wanted not in ids and wanted.startswith(PREFIX):  # not echoed: the secret stays off screen and logs
        raise usage_problem(
            "ID",
            f"{PREFIX}… 是令牌本身，不是它的 ID；请用 jiedai token list 列出的 ID",
            f"{PREFIX}… is the token itself, not its id; use the id `jiedai token list` shows",
        )
    if wanted not in ids and len(wanted) < MIN_ID_PREFIX:  # one character revoked whichever matched
        raise usage_problem(
            "ID",
            f"令牌 ID 的前缀至少 {MIN_ID_PREFIX} 位，收到 {wanted}；完整 ID 见 jiedai token list",
            f"a token id prefix has at least {MIN_ID_PREFIX} characters, got {wanted}; "
            "`jiedai token list` shows whole ids",
        )
    matching = [i for i in ids if i.startswith(wanted)]
    if len(matching) > 1 and wanted not in matching:
        raise usage_problem(
            "ID",
            f"前缀 {wanted} 对应多个令牌（{'、'.join(matching)}），请写得更长",
            f"prefix {wanted} matches several tokens ({', '.join(matching)}); give more of it",
        )
    chosen = wanted if wanted in matching or not matching else matching[0]
    before = store.get(chosen)
    info = store.revoke(chosen)
    if info is None:
        raise usage_problem(
            "ID",
            f"没有令牌 {token_id}；令牌的 ID 见 jiedai token list",
            f"no token {token_id}; `jiedai token list` shows their ids",
        )
    already = before is not None and before.revoked_at is not None
    if app.json:
        app.emit({"id": info.id, "actor_id": info.actor_id, "revoked": True, "already": already})
        return
    if already:
        when = f"{info.revoked_at:%Y-%m-%d %H:%M} UTC " if info.revoked_at else ""
        app.out.print(
            say(
                f"已于 {when}吊销过：{info.id}（{info.actor_id}）",
                f"already revoked {when}: {info.id} ({info.actor_id})",
            )
        )
        return
    app.out.print(say(f"已吊销：{info.id}（{info.actor_id}）", f"revoked: {info.id} ({info.actor_id})"))


COMMANDS = (serve, token)

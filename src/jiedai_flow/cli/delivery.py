"""``jiedai dispatch`` and ``jiedai remind``: deliver the outbox, and write deadline reminders."""

from __future__ import annotations

import logging
import math
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import click
from rich.text import Text

from jiedai_flow.cli.app import json_option, pass_app, usage_problem
from jiedai_flow.cli.common import label, say
from jiedai_flow.cli.inputs import BadValue, to_date
from jiedai_flow.cli.signals import on_sigterm

if TYPE_CHECKING:
    from jiedai_flow.cli.app import App
    from jiedai_flow.notify.dispatch import DispatchReport

logger = logging.getLogger(__name__)

_NOTIFIERS = click.option(
    "--notifiers",
    "notifiers_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="通知渠道配置 TOML（同全局 --notifiers）/ notifiers file (same as the global --notifiers).",
)


def _with_notifiers(app: App, path: Path | None) -> None:
    if path is not None:
        app.notifiers_path = path


def _finite(value: float) -> float:
    """``value``, unless it is not a number (``nan`` passes a range check)."""
    if not math.isfinite(value):
        raise BadValue(f"{value} 不是有限的秒数", f"{value} is not a finite number of seconds")
    return value


def round_data(report: DispatchReport) -> dict[str, int]:
    """A dispatch round for ``--json``: every count of the report, zeros included."""
    return attrs.asdict(report)


def print_round(app: App, report: DispatchReport, *, rounds: bool = False) -> None:
    """A dispatch round in one line, every count (refused and obsolete too, even at 0: a reminder
    recomputed away is not lost silently); refused rows also said on stderr. With ``rounds`` the
    report adds up every round of a dispatcher that ran until stopped."""
    zh, en = ("各轮合计", "all rounds") if rounds else ("本轮投递", "this round")
    app.out.print(
        say(
            f"{zh}：领取 {report.claimed} · 送达 {report.delivered} · 重试 {report.retried} · "
            f"死信 {report.dead} · 拒发 {report.refused} · 过时的催办 {report.obsolete}",
            f"{en}: claimed {report.claimed} · delivered {report.delivered} · retried "
            f"{report.retried} · dead {report.dead} · refused {report.refused} · obsolete reminders "
            f"{report.obsolete}",
        )
    )
    if report.refused:
        app.err.print(
            Text.assemble(
                (f"{label('错误', 'error')}: ", "red"),
                say(
                    f"{report.refused} 条通知与审计记录不符，未发送、不再重试"
                    "（原因见日志；请运行 jiedai audit verify）",
                    f"{report.refused} notification(s) do not match the audit trail: not sent, not retried "
                    "(reasons in the log; run jiedai audit verify)",
                ),
            ),
            soft_wrap=True,
        )


@click.command(
    help="投递待发通知（重试、退避、死信）/ deliver pending notifications (retries, dead letters)."
)
@_NOTIFIERS
@click.option("--once", is_flag=True, help="只投递一轮后退出 / one round, then exit.")
@click.option(
    "--interval",
    type=click.FloatRange(0.01, 86_400),
    callback=lambda _ctx, _param, value: _finite(value),
    default=5.0,
    show_default=True,
    help="空闲时轮询间隔（秒，0.01–86400）/ poll interval, seconds (0.01–86400).",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 1000),
    default=8,
    show_default=True,
    help="进入死信前的最多尝试次数（1–1000）/ attempts before dead (1–1000).",
)
@json_option
@pass_app
def dispatch(app: App, notifiers_path: Path | None, once: bool, interval: float, max_attempts: int) -> None:
    from jiedai_flow.notify.dispatch import STATUSES, Dispatcher, RetryPolicy

    _with_notifiers(app, notifiers_path)
    engine = app.engine()
    dispatcher = Dispatcher(engine, policy=RetryPolicy(max_attempts=max_attempts))
    stop = threading.Event()
    try:
        if once:
            report = dispatcher.run_once()
        else:
            # why: systemd and other supervisors stop a service with SIGTERM; the round in hand is
            # finished and reported, not cut off half way (a cut-off round is resent after its lease)
            with on_sigterm(stop.set):
                logger.info(
                    "投递器已启动，空闲时每 %s 秒查看一次 / dispatcher running, every %s s when idle",
                    interval,
                    interval,
                )
                report = dispatcher.run(interval=interval, stop=stop)
    except KeyboardInterrupt:
        stop.set()
        return
    counts = dict.fromkeys(STATUSES, 0) | dict(engine.store.delivery_counts())  # zeros too: alerts read them
    if app.json:
        app.emit({"round": round_data(report), "outbox": counts})
        return
    print_round(app, report, rounds=not once)
    statuses = " · ".join(f"{label(*_STATUSES.get(k, (k, k)))} {v}" for k, v in sorted(counts.items()))
    app.out.print(f"{label('发件箱', 'outbox')}: {statuses or '—'}")


_STATUSES = {
    "pending": ("待发", "pending"),
    "delivered": ("已送达", "delivered"),
    "dead": ("死信", "dead"),
    "refused": ("拒发", "refused"),
    "obsolete": ("过时的催办", "obsolete"),
}
"""The outbox's delivery states (:meth:`~jiedai_flow.storage.base.Store.delivery_counts`)."""


@click.command(
    help="查找超时或将到期的事项并写入催办通知（每个时限一次）/ write deadline reminders, once each."
)
@_NOTIFIERS
@click.option(
    "--soon",
    "soon_days",
    type=click.IntRange(0, 250),
    default=2,
    show_default=True,
    help="提前几个工作日提醒（0–250）/ working days ahead (0–250).",
)
@click.option(
    "--dispatch/--no-dispatch",
    "then_dispatch",
    default=True,
    show_default=True,
    help="写入后立即投递一轮 / deliver one round after.",
)
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    callback=to_date,
    help="按哪一天判断（默认今天），如节前查看节后到期的事项；不是今天时只列出，不写催办（除非 --write）"
    " / judge as of this day (default: today); another day only lists, writing nothing unless --write.",
)
@click.option(
    "--write",
    "write_other_day",
    is_flag=True,
    help="--today 不是今天时也写入并投递催办（补发、测试）/ write and deliver even for another --today.",
)
@json_option
@pass_app
def remind(
    app: App,
    notifiers_path: Path | None,
    soon_days: int,
    then_dispatch: bool,
    today: date | None,
    write_other_day: bool,
) -> None:
    from jiedai_flow.notify.deadlines import find_due
    from jiedai_flow.notify.deadlines import remind as write_reminders
    from jiedai_flow.notify.dispatch import AS_OF_SPAN, Dispatcher

    _with_notifiers(app, notifiers_path)
    engine = app.engine()
    now = engine.clock.now().date()
    day = today if today is not None else now
    # why: a reminder written as of another day says "overdue" (or not) for that day, is sent now,
    # and takes the place of the real one (each deadline is reminded once): looking ahead only lists
    writes = day == now or write_other_day
    if writes and abs((day - now).days) > AS_OF_SPAN:
        raise usage_problem(
            "--today",
            f"--today {day} 离今天超过 {AS_OF_SPAN} 天：这样写下的催办投递器不认（当作伪造拒发），不写",
            f"--today {day} is more than {AS_OF_SPAN} days from today: the dispatcher would refuse such a "
            "reminder as forged, so none is written",
        )
    due = find_due(engine, day, soon_days=soon_days)
    written = write_reminders(engine, day, soon_days=soon_days) if writes else 0
    dispatched = None
    if then_dispatch and writes:
        dispatched = Dispatcher(engine, lease=timedelta(minutes=5)).run_once()
    unknown = sorted({year for deadline in due for year in deadline.unknown_years})
    if app.json:
        app.emit(
            {
                "due": len(due),
                "written": written,
                "delivered": dispatched.delivered if dispatched is not None else 0,
                "round": round_data(dispatched) if dispatched is not None else None,
                "unknown_years": unknown,
                "listed_only": not writes,
            }
        )
        return
    for deadline in due:
        kind = label(deadline.kind.label, deadline.kind.value)
        status = label(deadline.status.label, deadline.status.value)
        app.out.print(Text(f"· {deadline.number} {kind} {deadline.due}（{status}）"))
    if unknown:
        warning = say(
            f"{'、'.join(map(str, unknown))} 年放假安排未载入，这些时限按周一至周五计算"
            f"（jiedai calendar check {unknown[0]}）",
            f"holidays of {', '.join(map(str, unknown))} not loaded: these deadlines count Monday to Friday "
            f"(jiedai calendar check {unknown[0]})",
        )
        app.err.print(Text.assemble((f"{label('警告', 'warning')}: ", "yellow"), warning), soft_wrap=True)
    if not writes:
        app.out.print(
            say(
                f"按 {day} 判断，到期或将到期 {len(due)}；不是今天，只列出，没有写入催办（要写入加 --write）",
                f"as of {day}, due: {len(due)}; not today: listed only, nothing written (--write to write)",
            )
        )
        return
    app.out.print(
        say(
            f"到期或将到期 {len(due)} · 新写入催办 {written}",
            f"due: {len(due)} · new reminders: {written}",
        )
    )
    if dispatched is not None:  # the round delivers every due row, not only these reminders
        print_round(app, dispatched)


COMMANDS = (dispatch, remind)

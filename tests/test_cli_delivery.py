"""``jiedai dispatch`` and ``jiedai remind`` as an operator runs them: on a SQLite file made by
``jiedai init``, with a notifiers TOML file whose secrets come from the environment, delivering to
real HTTP receivers on loopback (tests/_notify_servers.py).

The commands' outbox rows are written by an engine in Python on the same file, with the same
notifiers file: the CLI's own commands (``jiedai submit`` …) do not take ``--notifiers``. For
reminders the clock is real, so the reception is submitted by an engine whose clock stands 30 days
in the past, and ``jiedai remind`` then runs today.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from jiedai_flow import open_engine
from jiedai_flow.cli.app import StandardsFiles
from jiedai_flow.cli.inputs import load_actors, load_reception_file
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.standards_toml import load_standards_file
from jiedai_flow.notify.channels import config
from jiedai_flow.notify.channels.config import load_notifiers
from jiedai_flow.testing import FrozenClock
from tests._http_server import SRC
from tests._notify_servers import HttpReceiver, Reply
from tests.test_cli import Site, as_json, jiedai, make_site

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow import Engine

WEBHOOK_SECRET_ENV = "JIEDAI_TEST_WEBHOOK_SECRET"
DINGTALK_SECRET_ENV = "JIEDAI_TEST_DINGTALK_SECRET"


@pytest.fixture(autouse=True)
def close_what_the_cli_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close the notifiers ``--notifiers`` loaded once the test is over.

    ``jiedai dispatch``/``remind`` never close them (``App.close`` closes the store only), so their
    keep-alive sockets stay open until garbage collection: harmless in a process that then exits,
    but in-process here the ResourceWarning would land in whichever test collects them.
    """
    loaded: list[Any] = []

    def load_and_keep(path: str | Path) -> list[Any]:
        found = load_notifiers(path)
        loaded.extend(found)
        return found

    monkeypatch.setattr(config, "load_notifiers", load_and_keep)
    yield
    for notifier in loaded:
        notifier.close()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """``jiedai init`` on a SQLite file in a fresh directory."""
    return make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    monkeypatch.setenv(WEBHOOK_SECRET_ENV, server.webhook_secret)
    monkeypatch.setenv(DINGTALK_SECRET_ENV, server.dingtalk_secret)
    yield server
    server.close()


def notifiers_file(site: Site, receiver: HttpReceiver, *, robots: bool = True) -> Path:
    """A notifiers file: the signed webhook on ``/ok`` and (with ``robots``) DingTalk and WeCom."""
    text = f"""
[[webhook]]
url = "{receiver.url("/ok")}"
secret_env = "{WEBHOOK_SECRET_ENV}"
timeout = 5
"""
    if robots:
        text += f"""
[[dingtalk]]
webhook_url = "{receiver.url(f"/dingtalk?access_token={receiver.dingtalk_token}")}"
secret_env = "{DINGTALK_SECRET_ENV}"

[[wecom]]
webhook_url = "{receiver.url(f"/wecom?key={receiver.wecom_key}")}"
"""
    path = site.path / "jiedai-notifiers.toml"
    path.write_text(text, encoding="utf-8")
    return path


def engine_on(site: Site, notifiers: Path | None = None, clock: FrozenClock | None = None) -> Engine:
    """An engine on the site's database, with its standards file and the notifiers of ``notifiers``."""
    standards = StandardsFiles([load_standards_file(site.path / "jiedai-standards.toml")])
    extra = load_notifiers(notifiers) if notifiers is not None else []
    return open_engine(site.url, autoload=False, clock=clock, plugins=[("site.standards", standards), *extra])


def submitted(engine: Engine, site: Site) -> str:
    """The sample reception of ``jiedai init``, registered and submitted by its handler (zhang.wei)."""
    handler = load_actors(site.path / "jiedai-actors.toml")["zhang.wei"]
    sample = load_reception_file(site.path / "jiedai-reception.toml")
    created = engine.create_reception(
        sample.letter,
        sample.plan,
        handler=handler,
        host_unit=sample.reception.host_unit,
        jurisdiction=sample.reception.jurisdiction,
    )
    reception_id = created.reception.id
    if isinstance(engine.clock, FrozenClock):
        engine.clock.advance(hours=1)
    engine.fire(reception_id, "submit", handler)
    return reception_id


def close(engine: Engine) -> None:
    engine.store.close()
    for notifier in engine.notifiers.values():
        getattr(notifier, "close", lambda: None)()


def submitted_weeks_ago(site: Site, notifiers: Path | None = None) -> str:
    """A reception submitted 30 days ago (its 3-working-day approval long overdue)."""
    now = datetime.now(CHINA_TZ).replace(hour=9, minute=0, second=0, microsecond=0)
    engine = engine_on(site, notifiers, FrozenClock(now - timedelta(days=30)))
    try:
        return submitted(engine, site)
    finally:
        close(engine)


def outbox(**counts: int) -> dict[str, int]:
    """The outbox as ``--json`` gives it: every status, zeros included (an alert reads ``dead``)."""
    return {"delivered": 0, "pending": 0, "dead": 0, "refused": 0, "obsolete": 0, **counts}


# -- jiedai dispatch --------------------------------------------------------------------------------


def test_dispatch_once_delivers_a_commands_rows_to_the_webhook_and_robots_on_loopback(
    site: Site, receiver: HttpReceiver
) -> None:
    notifiers = notifiers_file(site, receiver)
    engine = engine_on(site, notifiers)
    try:
        reception_id = submitted(engine, site)
        number = engine.get(reception_id).number
    finally:
        close(engine)
    assert receiver.requests == []  # the command only wrote rows (and logged the inline `log` one)

    report = as_json("--db", site.url, "dispatch", "--once", "--notifiers", notifiers)

    assert report == {
        "round": {"claimed": 3, "delivered": 3, "retried": 0, "dead": 0, "refused": 0, "obsolete": 0},
        "outbox": outbox(delivered=4),  # log (inline, at the command), webhook, dingtalk, wecom
    }
    assert sorted(r.path for r in receiver.accepted) == ["/dingtalk", "/ok", "/wecom"]
    (posted,) = [r for r in receiver.accepted if r.path == "/ok"]
    body = posted.json()  # the receiver checked X-Jiedai-Signature with the secret from the environment
    assert (body["channel"], body["kind"], body["topic"], body["reception_number"]) == (
        "webhook",
        "event",
        "submit",
        number,
    )
    assert body["recipients"] == ["approver"]
    assert body["action_zh"] == "请审批"
    assert posted.key == body["idempotency_key"]
    dingtalk = next(r for r in receiver.accepted if r.path == "/dingtalk")
    assert number in dingtalk.json()["markdown"]["text"]

    again = as_json("--db", site.url, "dispatch", "--once", "--notifiers", notifiers)
    assert again["round"]["claimed"] == 0
    assert len(receiver.requests) == 3


def test_dispatch_once_prints_the_round_and_the_outbox_in_chinese_and_english(
    site: Site, receiver: HttpReceiver
) -> None:
    notifiers = notifiers_file(site, receiver, robots=False)
    engine = engine_on(site, notifiers)
    try:
        submitted(engine, site)
    finally:
        close(engine)
    out = jiedai("--db", site.url, "dispatch", "--once", "--notifiers", notifiers).output
    assert "送达 1" in out
    assert "delivered 1" in out
    assert "delivered 2" in out  # the outbox: the log row and the webhook row


def test_a_receiver_that_fails_leaves_the_row_pending_for_a_later_round(
    site: Site, receiver: HttpReceiver
) -> None:
    notifiers = notifiers_file(site, receiver, robots=False)
    engine = engine_on(site, notifiers)
    try:
        submitted(engine, site)
    finally:
        close(engine)
    receiver.script("/ok", Reply(503, {"error": "maintenance"}))

    first = as_json("--db", site.url, "dispatch", "--once", "--notifiers", notifiers)
    assert first == {
        "round": {"claimed": 1, "delivered": 0, "retried": 1, "dead": 0, "refused": 0, "obsolete": 0},
        "outbox": outbox(delivered=1, pending=1),
    }
    # the retry waits for its backoff (at least 15 s): an immediate round finds nothing due
    assert as_json("--db", site.url, "dispatch", "--once", "--notifiers", notifiers)["round"]["claimed"] == 0
    assert receiver.accepted == []


def test_dispatch_without_notifiers_claims_no_rows_of_channels_it_does_not_have(
    site: Site, receiver: HttpReceiver
) -> None:
    notifiers = notifiers_file(site, receiver, robots=False)
    engine = engine_on(site, notifiers)
    try:
        submitted(engine, site)
    finally:
        close(engine)
    report = as_json("--db", site.url, "dispatch", "--once")
    assert report == {
        "round": {"claimed": 0, "delivered": 0, "retried": 0, "dead": 0, "refused": 0, "obsolete": 0},
        "outbox": outbox(delivered=1, pending=1),  # the webhook row waits for a dispatcher with it
    }


# -- jiedai remind ------------------------------------------------------------------------------------


ROUND = {"claimed": 0, "delivered": 0, "retried": 0, "dead": 0, "refused": 0, "obsolete": 0}
"""A dispatch round that found nothing to do, as ``--json`` reports it."""


def test_remind_writes_a_reminder_of_an_overdue_approval_once(site: Site) -> None:
    reception_id = submitted_weeks_ago(site)
    number = as_json("show", reception_id)["reception"]["number"]

    first = as_json("--db", site.url, "remind")
    # one row for the `log` channel; the calendar knew every year it counted in
    assert first == {"due": 1, "written": 1, "delivered": 1, "unknown_years": [], "listed_only": False} | {
        "round": ROUND | {"claimed": 1, "delivered": 1}
    }

    second = as_json("--db", site.url, "remind")
    assert second == {"due": 1, "written": 0, "delivered": 0, "unknown_years": [], "listed_only": False} | {
        "round": ROUND
    }

    text = jiedai("--db", site.url, "remind", "--no-dispatch").output
    assert f"· {number} 审批时限" in text
    assert "已逾期" in text
    assert "新写入催办 0" in text
    assert "new reminders: 0" in text
    assert as_json("--db", site.url, "dispatch", "--once")["outbox"] == outbox(
        delivered=2
    )  # submit + reminder


def test_remind_no_dispatch_only_writes_and_dispatch_then_delivers(site: Site) -> None:
    submitted_weeks_ago(site)
    assert as_json("--db", site.url, "remind", "--no-dispatch") == {
        "due": 1,
        "written": 1,
        "delivered": 0,
        "round": None,  # no round ran
        "unknown_years": [],
        "listed_only": False,
    }
    report = as_json("--db", site.url, "dispatch", "--once")
    assert report["round"] == {
        "claimed": 1,
        "delivered": 1,
        "retried": 0,
        "dead": 0,
        "refused": 0,
        "obsolete": 0,
    }


def test_remind_as_of_another_day_lists_and_writes_nothing_unless_asked(site: Site) -> None:
    """Looking ahead (节前查看节后到期的事项) must not send tomorrow's "overdue" today, nor take the
    place of the real reminder (each deadline is reminded once): only ``--write`` writes."""
    submitted_weeks_ago(site)
    ahead = (date.today() + timedelta(days=60)).isoformat()
    assert as_json("--db", site.url, "remind", "--today", ahead) == {
        "due": 1,
        "written": 0,
        "delivered": 0,
        "round": None,
        "unknown_years": as_json("--db", site.url, "remind", "--today", ahead)["unknown_years"],
        "listed_only": True,
    }
    assert "只列出，没有写入催办" in jiedai("--db", site.url, "remind", "--today", ahead).output
    assert as_json("--db", site.url, "dispatch", "--once")["round"]["claimed"] == 0
    assert as_json("--db", site.url, "remind", "--today", ahead, "--write", "--no-dispatch")["written"] == 1
    far = (date.today() + timedelta(days=400)).isoformat()  # the dispatcher would refuse it as forged
    assert "366" in jiedai("--db", site.url, "remind", "--today", far, "--write", code=2).output


def test_remind_with_notifiers_sends_the_reminder_to_the_webhook(site: Site, receiver: HttpReceiver) -> None:
    notifiers = notifiers_file(site, receiver, robots=False)
    submitted_weeks_ago(site)

    first = as_json("--db", site.url, "remind", "--notifiers", notifiers)
    assert first == {
        "due": 1,
        "written": 2,
        "delivered": 2,
        "round": ROUND | {"claimed": 2, "delivered": 2},
        "unknown_years": [],
        "listed_only": False,
    }  # reminder on `log` and on `webhook`
    reminders = [r.json() for r in receiver.accepted if r.json()["kind"] == "reminder"]
    (reminder,) = reminders
    assert reminder["topic"] == "remind:approval"
    assert reminder["recipients"] == ["approver"]
    assert "已超过审批时限" in reminder["message_zh"]
    assert reminder["action_zh"].startswith("请审批")

    assert as_json("--db", site.url, "remind", "--notifiers", notifiers) == {
        "due": 1,
        "written": 0,
        "delivered": 0,
        "round": ROUND,
        "unknown_years": [],
        "listed_only": False,
    }
    assert len(receiver.accepted) == 1  # the second run sent nothing again


@pytest.mark.parametrize("command", [("remind",), ("dispatch", "--once")])
def test_a_round_counts_a_reminder_its_reception_no_longer_needs_as_obsolete(
    site: Site, command: tuple[str, ...]
) -> None:
    """A reminder written, then the reception approved before it went out: the round does not send
    it and says so — obsolete alongside delivered, retried, dead and refused, in text and JSON, for
    ``remind``'s round as for ``dispatch``'s."""

    def approved_after_its_reminder() -> None:
        reception_id = submitted_weeks_ago(site)
        assert as_json("--db", site.url, "remind", "--no-dispatch")["written"] == 1
        jiedai("approve", reception_id, "--as", "sun.hao", "--reason", "同意")
        jiedai("approve", reception_id, "--as", "li.na", "--reason", "同意")

    approved_after_its_reminder()
    assert as_json("--db", site.url, *command)["round"] == ROUND | {"claimed": 1, "obsolete": 1}
    approved_after_its_reminder()
    text = jiedai("--lang", "both", "--db", site.url, *command).output
    assert "死信 0 · 拒发 0 · 过时的催办 1" in text
    assert "dead 0 · refused 0 · obsolete reminders 1" in text
    assert as_json("--db", site.url, "dispatch", "--once")["outbox"]["obsolete"] == 2


# -- a bad notifiers file ------------------------------------------------------------------------------


BAD = """
[email]
host = "smtp.county.gov.cn"

[[webhook]]
url = "https://oa.example/hooks/jiedai"
secret_env = "JIEDAI_TEST_NEVER_SET"
"""


@pytest.mark.parametrize("command", ["dispatch", "remind"])
def test_a_bad_notifiers_file_exits_2_naming_the_file_and_every_problem(
    site: Site, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIEDAI_TEST_NEVER_SET", raising=False)
    bad = site.path / "bad-notifiers.toml"
    bad.write_text(BAD, encoding="utf-8")
    result = jiedai("--db", site.url, command, "--notifiers", bad, code=2)
    assert str(bad) in result.output
    assert "$.email" in result.output
    assert "$.webhook[0].secret_env" in result.output
    assert "JIEDAI_TEST_NEVER_SET" in result.output


def test_a_bad_notifiers_file_from_the_environment_with_json_is_a_json_error(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIEDAI_TEST_NEVER_SET", raising=False)
    bad = site.path / "bad-notifiers.toml"
    bad.write_text(BAD, encoding="utf-8")
    monkeypatch.setenv("JIEDAI_NOTIFIERS", str(bad))
    error = json.loads(jiedai("--json", "--db", site.url, "dispatch", "--once", code=2).stdout)["error"]
    assert (error["code"], error["exit_code"], error["source"]) == ("validation", 2, str(bad))
    assert [p["path"] for p in error["problems"]] == ["$.email", "$.webhook[0].secret_env"]


def test_a_missing_notifiers_file_exits_2_naming_it(site: Site) -> None:
    missing = site.path / "no-such-notifiers.toml"
    result = jiedai("--db", site.url, "dispatch", "--once", "--notifiers", missing, code=None)
    assert str(missing) in result.output
    assert result.exit_code == 2


def test_a_notifiers_file_that_is_not_utf8_exits_2_without_a_traceback(site: Site) -> None:
    path = site.path / "utf16-notifiers.toml"  # what Notepad's 「Unicode」 encoding saves
    path.write_bytes('[[webhook]]\nurl = "https://oa.example/通知"\n'.encode("utf-16"))
    result = jiedai("--db", site.url, "dispatch", "--once", "--notifiers", path, code=None)
    assert result.exit_code == 2


def test_dispatch_refuses_a_row_edited_in_the_database_and_says_so(
    site: Site, receiver: HttpReceiver
) -> None:
    """The webhook row's text rewritten straight in the file: not sent, not retried, named on stderr
    and in the log, counted in the round."""
    import sqlalchemy as sa

    from jiedai_flow.storage import schema

    notifiers = notifiers_file(site, receiver, robots=False)
    engine = engine_on(site, notifiers)
    try:
        submitted(engine, site)
    finally:
        close(engine)
    db = sa.create_engine(site.url)
    try:
        with db.begin() as conn:
            ob = schema.outbox
            row_id, data = conn.execute(sa.select(ob.c.id, ob.c.data).where(ob.c.channel == "webhook")).one()
            forged = data.replace("请审批", "李娜「审批同意」，请财务立即拨付")
            assert forged != data
            conn.execute(ob.update().where(ob.c.id == row_id).values(data=forged))
    finally:
        db.dispose()

    result = jiedai("--db", site.url, "dispatch", "--once", "--notifiers", notifiers)
    assert "拒发 1" in result.stdout
    assert "refused 1" in result.stdout
    assert "与审计记录不符" in result.stderr
    assert "do not match the audit trail" in result.stderr
    assert row_id in result.stderr  # the log record names the row
    assert receiver.requests == []
    report = as_json("--db", site.url, "dispatch", "--once", "--notifiers", notifiers)
    assert report == {
        "round": {"claimed": 0, "delivered": 0, "retried": 0, "dead": 0, "refused": 0, "obsolete": 0},
        "outbox": outbox(delivered=1, refused=1),
    }
    assert "拒发 refused 1" in jiedai("--db", site.url, "dispatch", "--once", "--notifiers", notifiers).stdout


@pytest.mark.parametrize(
    "args",
    [
        ("dispatch", "--once", "--max-attempts", "0"),
        ("dispatch", "--once", "--max-attempts", "-3"),
        ("dispatch", "--interval", "nan"),
        ("dispatch", "--interval", "-1"),
        ("dispatch", "--interval", "inf"),
        ("remind", "--soon", "-5"),
        ("remind", "--soon", "99999999"),
        ("remind", "--today", "2026-02-30"),
    ],
)
def test_dispatch_and_remind_refuse_values_out_of_range(site: Site, args: tuple[str, ...]) -> None:
    """An attempt count below one crashed; a negative or ``nan`` interval polled in a busy loop; a
    day that does not exist was called a format error."""
    result = jiedai("--db", site.url, *args, code=2)
    assert args[-2] in result.output
    english = jiedai("--lang", "en", "--db", site.url, *args, code=2).output
    assert not re.search("[\u4e00-\u9fff]", english), english


def test_a_long_running_dispatcher_stops_on_sigterm_and_reports_its_rounds(
    site: Site, receiver: HttpReceiver
) -> None:
    """systemd stops a service with SIGTERM: the dispatcher finishes the round in hand, prints what
    it did and exits 0, instead of dying with the signal."""
    notifiers = notifiers_file(site, receiver, robots=False)
    engine = engine_on(site, notifiers)
    try:
        submitted(engine, site)  # rows for the webhook, which only a dispatcher sends
    finally:
        close(engine)
    command = [sys.executable, "-m", "jiedai_flow.cli", "--db", site.url, "--log-level", "info", "--json"]
    process = subprocess.Popen(
        [*command, "dispatch", "--interval", "0.05", "--notifiers", str(notifiers)],
        cwd=site.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(SRC),
            "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1",
            "JIEDAI_CALENDAR": "",
        },
    )
    try:
        assert process.stderr is not None
        said = ""
        for line in process.stderr:  # the dispatcher says it runs once its SIGTERM handler is set
            said += line
            if "dispatcher running" in line:
                break
        assert "dispatcher running" in said, said
        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline:  # a round has run
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    answer = json.loads(out)
    assert answer["outbox"]["pending"] == 0  # every status, zeros too: an alert reads outbox.dead
    assert answer["round"]["claimed"] == answer["round"]["delivered"] > 0


def test_a_command_run_from_a_worker_thread_does_not_try_to_catch_sigterm() -> None:
    """Only the main thread may set a signal handler; a host running a command elsewhere gets the
    command as it ran before, not a ValueError."""
    from jiedai_flow.cli.signals import on_sigterm

    ran: list[bool] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with on_sigterm(lambda: None):
                ran.append(True)
        except BaseException as error:  # the test reports whatever it was
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert ran == [True]
    assert errors == []

"""Notifiers from a TOML file (``jiedai_flow.notify.channels.config.load_notifiers``): every kind builds
with its settings, secrets come from the environment and never from the file, and every problem of
a file is reported at once with its path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from jiedai_flow import PluginError, ValidationError
from jiedai_flow.notify.channels.config import load_notifiers
from jiedai_flow.notify.channels.email import EmailNotifier
from jiedai_flow.notify.channels.webhook import DingTalkNotifier, HttpNotifier, WebhookNotifier, WeComNotifier
from jiedai_flow.testing import make_engine

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SECRETS = {
    "JIEDAI_TEST_SMTP_PASSWORD": "smtp-口令-1",
    "JIEDAI_TEST_DINGTALK_SECRET": "SECdingtalk0123456789",
    "JIEDAI_TEST_WEBHOOK_SECRET": "whsec-测试",
}

EVERY_KIND = """
[[email]]
host = "smtp.county.gov.cn"
port = 465
security = "ssl"
sender = "公务接待系统 <jiedai@county.gov.cn>"
username = "jiedai"
password_env = "JIEDAI_TEST_SMTP_PASSWORD"
timeout = 20
name = "mail"

[[dingtalk]]
webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=dt-token"
secret_env = "JIEDAI_TEST_DINGTALK_SECRET"
mention = false
timeout = 3

[[dingtalk]]
webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=other"
name = "dingtalk-finance"

[[wecom]]
webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key"
mention = false
name = "wecom"

[[webhook]]
url = "https://oa.county.gov.cn/hooks/jiedai"
secret_env = "JIEDAI_TEST_WEBHOOK_SECRET"
timeout = 5
"""


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


@pytest.fixture
def built(tmp_path: Path, secrets: dict[str, str]) -> Iterator[list[Any]]:
    """The notifiers of :data:`EVERY_KIND`, their HTTP clients closed afterwards."""
    notifiers = load_notifiers(write(tmp_path, EVERY_KIND))
    yield notifiers
    for notifier in notifiers:
        if isinstance(notifier, HttpNotifier):
            notifier.close()


def write(tmp_path: Path, text: str, name: str = "notifiers.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> dict[str, str]:
    """The problems ``load_notifiers`` reports for ``path``, by field path (Chinese message)."""
    with pytest.raises(ValidationError) as refused:
        load_notifiers(path)
    assert refused.value.source == str(path)
    return {p.path: p.message_zh for p in refused.value.problems}


# -- every kind builds ------------------------------------------------------------------------------


def test_every_kind_builds_in_the_order_of_the_kinds_with_the_names_given(built: list[Any]) -> None:
    assert [(type(n).__name__, n.name) for n in built] == [
        ("EmailNotifier", "mail"),
        ("DingTalkNotifier", "dingtalk"),
        ("DingTalkNotifier", "dingtalk-finance"),
        ("WeComNotifier", "wecom"),
        ("WebhookNotifier", "webhook"),
    ]
    assert not any(n.inline for n in built)  # slow channels: the dispatcher delivers them


def test_each_kind_takes_its_settings(built: list[Any]) -> None:
    mail, dingtalk, finance, wecom, webhook = built
    assert isinstance(mail, EmailNotifier)
    assert (mail.host, mail.port, mail.security, mail.username, mail.timeout) == (
        "smtp.county.gov.cn",
        465,
        "ssl",
        "jiedai",
        20,
    )
    assert (mail.sender.display_name, mail.sender.addr_spec) == ("公务接待系统", "jiedai@county.gov.cn")
    assert isinstance(dingtalk, DingTalkNotifier)
    assert dingtalk.mention is False
    assert dingtalk.client.timeout.read == 3
    signed = dingtalk.signed_url()
    assert "&timestamp=" in signed
    assert "&sign=" in signed
    assert isinstance(finance, DingTalkNotifier)
    assert finance.mention is True  # the default
    assert finance.signed_url() == "https://oapi.dingtalk.com/robot/send?access_token=other"  # unsigned
    assert isinstance(wecom, WeComNotifier)
    assert (wecom.webhook_url, wecom.mention) == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key",
        False,
    )
    assert isinstance(webhook, WebhookNotifier)
    assert (webhook.url, webhook.client.timeout.read) == ("https://oa.county.gov.cn/hooks/jiedai", 5)


def test_defaults_fill_in_what_a_minimal_entry_leaves_out(tmp_path: Path, secrets: dict[str, str]) -> None:
    del secrets
    (mail,) = load_notifiers(
        write(tmp_path, '[[email]]\nhost = "smtp.county.gov.cn"\nsender = "jiedai@county.gov.cn"\n')
    )
    assert (mail.name, mail.port, mail.security, mail.username, mail.password) == (
        "email",
        587,
        "starttls",
        None,
        None,
    )


def test_an_empty_file_configures_no_notifier(tmp_path: Path) -> None:
    assert load_notifiers(write(tmp_path, "# 暂不配置通知渠道\n")) == []


def test_the_notifiers_register_as_channels_of_an_engine(built: list[Any]) -> None:
    engine = make_engine(*built)
    assert sorted(engine.notifiers) == ["dingtalk", "dingtalk-finance", "log", "mail", "webhook", "wecom"]


def test_two_entries_of_one_kind_without_names_clash_when_the_engine_is_built(
    tmp_path: Path, secrets: dict[str, str]
) -> None:
    del secrets
    robot = '[[wecom]]\nwebhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={}"\n'
    notifiers = load_notifiers(write(tmp_path, robot.format("a") + robot.format("b")))
    try:
        with pytest.raises(PluginError, match="wecom"):
            make_engine(*notifiers)
    finally:
        for notifier in notifiers:
            notifier.close()


# -- secrets come from the environment --------------------------------------------------------------


def test_secrets_are_read_from_the_environment_variables_named(built: list[Any]) -> None:
    mail, dingtalk, _finance, _wecom, webhook = built
    assert mail.password == SECRETS["JIEDAI_TEST_SMTP_PASSWORD"]
    assert dingtalk._secret == SECRETS["JIEDAI_TEST_DINGTALK_SECRET"]
    assert webhook._secret == SECRETS["JIEDAI_TEST_WEBHOOK_SECRET"]


def test_a_secret_changed_in_the_environment_is_what_the_next_load_uses(
    tmp_path: Path, secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    del secrets
    path = write(
        tmp_path, '[[webhook]]\nurl = "https://oa.example/h"\nsecret_env = "JIEDAI_TEST_WEBHOOK_SECRET"\n'
    )
    monkeypatch.setenv("JIEDAI_TEST_WEBHOOK_SECRET", "rotated-2026")
    (webhook,) = load_notifiers(path)
    try:
        assert webhook._secret == "rotated-2026"
    finally:
        webhook.close()


def test_no_secret_shows_in_the_notifiers_reprs(built: list[Any]) -> None:
    shown = " ".join(repr(n) for n in built)
    for secret in (*SECRETS.values(), "dt-token", "wecom-key"):
        assert secret not in shown


# -- every problem at once, with its path -----------------------------------------------------------


def test_every_problem_of_a_file_is_reported_at_once_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIEDAI_TEST_NOT_SET", raising=False)
    monkeypatch.setenv("JIEDAI_TEST_WEBHOOK_SECRET", "whsec")
    path = write(
        tmp_path,
        """
[email]                              # a table, not an array of tables
host = "smtp.county.gov.cn"

[[dingtalk]]                         # webhook_url missing, an unknown key
secret_env = "JIEDAI_TEST_NOT_SET"  # and its environment variable not set
access_token = "dt-token"

[[webhook]]
url = "https://oa.example/hooks/a"
secret_env = "JIEDAI_TEST_WEBHOOK_SECRET"

[[webhook]]                          # the second entry: its secret is missing
url = "https://oa.example/hooks/b"

[[sms]]                              # a kind that does not exist
gateway = "https://sms.example"
""",
    )
    found = problems(path)
    assert sorted(found) == [
        "$.dingtalk[0].access_token",
        "$.dingtalk[0].secret_env",
        "$.dingtalk[0].webhook_url",
        "$.email",
        "$.sms",
        "$.webhook[1].secret_env",
    ]
    assert "应写成 [[email]]" in found["$.email"]
    assert "未知的通知渠道「sms」" in found["$.sms"]
    assert "缺少「webhook_url」" in found["$.dingtalk[0].webhook_url"]
    assert "未知字段「access_token」" in found["$.dingtalk[0].access_token"]
    assert "环境变量 JIEDAI_TEST_NOT_SET 未设置" in found["$.dingtalk[0].secret_env"]
    assert "缺少「secret_env」" in found["$.webhook[1].secret_env"]


def test_an_environment_variable_set_but_empty_counts_as_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIEDAI_TEST_SMTP_PASSWORD", "")
    path = write(
        tmp_path,
        '[[email]]\nhost = "h"\nsender = "a@b.cn"\nusername = "u"\n'
        'password_env = "JIEDAI_TEST_SMTP_PASSWORD"\n',
    )
    assert list(problems(path)) == ["$.email[0].password_env"]


def test_an_entry_that_is_not_a_table_is_reported_at_its_index(tmp_path: Path) -> None:
    found = problems(write(tmp_path, 'wecom = ["https://qyapi.weixin.qq.com/…", 2]\n'))
    assert found == {"$.wecom[0]": "应为表", "$.wecom[1]": "应为表"}


def test_a_value_the_notifier_refuses_is_reported_at_its_entry(tmp_path: Path) -> None:
    found = problems(
        write(
            tmp_path,
            '[[email]]\nhost = "h"\nsender = "a@b.cn"\nsecurity = "tls"\n\n'
            '[[email]]\nhost = "h"\nsender = "no address"\nname = "second"\n',
        )
    )
    assert sorted(found) == ["$.email[0]", "$.email[1]"]
    assert "security" in found["$.email[0]"]
    assert "sender" in found["$.email[1]"]


def test_a_toml_syntax_error_is_one_problem_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[[webhook]\nurl = "https://oa.example"\n')
    with pytest.raises(ValidationError) as refused:
        load_notifiers(path)
    (problem,) = refused.value.problems
    assert problem.path == "$"
    assert "TOML" in problem.message_zh
    assert str(path) in str(refused.value)

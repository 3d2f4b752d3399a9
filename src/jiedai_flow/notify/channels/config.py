"""Notifiers from a TOML file 通知渠道配置, for ``jiedai dispatch`` and deployments.

One table array per kind; secrets come from environment variables (``*_env`` keys), never from
the file itself — any key may be given as ``<key>_env`` (e.g. ``webhook_url_env`` for a robot URL
that carries its access token)::

    [[email]]
    host = "smtp.example.gov.cn"
    port = 587
    security = "starttls"          # starttls / ssl / none
    sender = "jiedai@example.gov.cn"
    username = "jiedai"
    password_env = "JIEDAI_SMTP_PASSWORD"

    [[dingtalk]]
    webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=…"
    secret_env = "JIEDAI_DINGTALK_SECRET"

    [[wecom]]
    webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"

    [[webhook]]
    url = "https://oa.example.gov.cn/hooks/jiedai"
    secret_env = "JIEDAI_WEBHOOK_SECRET"

Every problem is reported at once with its table and key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jiedai_flow.domain.loading import read_toml
from jiedai_flow.errors import Problem, ValidationError
from jiedai_flow.notify.channels.email import EmailNotifier
from jiedai_flow.notify.channels.webhook import DingTalkNotifier, WebhookNotifier, WeComNotifier

_KINDS: dict[str, tuple[Any, frozenset[str], frozenset[str]]] = {
    # kind: (class, required keys, optional keys)
    "email": (
        EmailNotifier,
        frozenset({"host", "sender"}),
        frozenset({"port", "security", "username", "password_env", "timeout", "name"}),
    ),
    "dingtalk": (
        DingTalkNotifier,
        frozenset({"webhook_url"}),
        frozenset({"secret_env", "name", "timeout", "mention"}),
    ),
    "wecom": (WeComNotifier, frozenset({"webhook_url"}), frozenset({"name", "timeout", "mention"})),
    "webhook": (WebhookNotifier, frozenset({"url", "secret_env"}), frozenset({"name", "timeout"})),
}


def load_notifiers(path: str | Path) -> list[Any]:
    """The notifier plugins a TOML file configures (see the module docstring)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem(
            "$", f"无法读取（应为 UTF-8 文本）：{exc}", f"cannot read it (UTF-8 text expected): {exc}"
        )
        raise ValidationError([problem], source=source) from exc
    data = read_toml(text, source=source)  # syntax, nesting depth, NUL and lone surrogates
    problems: list[Problem] = []
    built: list[Any] = []
    for kind in sorted(set(data) - set(_KINDS)):
        problems.append(
            Problem(
                f"$.{kind}",
                f"未知的通知渠道「{kind}」（可用：{'、'.join(_KINDS)}）",
                f"unknown notifier kind {kind!r} (known: {', '.join(_KINDS)})",
            )
        )
    for kind, (cls, required, optional) in _KINDS.items():
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            problems.append(Problem(f"$.{kind}", f"应写成 [[{kind}]]", f"write it as [[{kind}]]"))
            continue
        for i, entry in enumerate(entries):
            at = f"$.{kind}[{i}]"
            found = _arguments(entry, required, optional, at, problems)
            if found is None:
                continue
            try:
                built.append(cls(**found))
            except (TypeError, ValueError) as exc:
                problems.append(Problem(at, f"配置无效：{exc}", f"invalid settings: {exc}"))
    if problems:
        raise ValidationError(problems, source=source)
    return built


def _arguments(
    entry: Any, required: frozenset[str], optional: frozenset[str], at: str, problems: list[Problem]
) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        problems.append(Problem(at, "应为表", "must be a table"))
        return None
    found: dict[str, Any] = {}
    before = len(problems)
    for key in sorted(k for k in required if k not in entry and f"{k}_env" not in entry):
        problems.append(Problem(f"{at}.{key}", f"缺少「{key}」", f"{key!r} is missing"))
    allowed = required | optional | {f"{k}_env" for k in required | optional if not k.endswith("_env")}
    for key in sorted(set(entry) - allowed):
        problems.append(Problem(f"{at}.{key}", f"未知字段「{key}」", f"unknown key {key!r}"))
    for key, value in entry.items():
        if not key.endswith("_env"):
            found[key] = value
            continue
        secret = os.environ.get(str(value), "")
        if not secret:
            problems.append(
                Problem(
                    f"{at}.{key}",
                    f"环境变量 {value} 未设置（密钥不写在文件里）",
                    f"environment variable {value} is not set (secrets stay out of the file)",
                )
            )
        found[key.removesuffix("_env")] = secret
    return found if len(problems) == before else None

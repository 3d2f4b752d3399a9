"""The Java example of docs/http.md is a test: docs/examples/java/JiedaiClient.java compiles with the JDK's
``javac`` and walks a whole reception through a real ``jiedai serve`` (exit status, the states it prints,
the reception and the audit chain as the service then shows them); its retry on a stale ``If-Match``
reuses the command's ``Idempotency-Key``; a refusal prints the problem's code and both messages; and the
excerpt on the page is text of the file.

Where the JDK is absent the tests skip with the reason — unless ``JIEDAI_REQUIRE_JAVA=1`` (set by
``.ci/run``), where a missing ``javac`` or ``java`` fails the run instead."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests._http_server import running

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "examples" / "java" / "JiedaiClient.java"
HTTP_MD = ROOT / "docs" / "http.md"
REQUIRED = os.environ.get("JIEDAI_REQUIRE_JAVA") == "1"
HANG_GUARD = 120
"""Seconds before a stuck JVM is killed: a guard against a hang, not a timed assertion."""

UTF8_STREAMS = [f"-D{p}.encoding=UTF-8" for p in ("file", "sun.stdout", "sun.stderr", "stdout", "stderr")]
"""Chinese on stdout and stderr whatever the machine's locale (Java 17 reads ``sun.std*``, 19+ ``std*``)."""


def jdk() -> tuple[str, str]:
    """``javac`` and ``java``; skips the test (fails it under ``JIEDAI_REQUIRE_JAVA=1``) without them."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if javac and java:
        return javac, java
    reason = "no JDK: javac or java not on PATH (apt-get install -y default-jdk-headless)"
    if REQUIRED:
        pytest.fail(f"{reason} (JIEDAI_REQUIRE_JAVA=1: Java is mandatory here)")
    pytest.skip(reason)


STALE_RETRY = """\
import java.net.http.HttpRequest;

// JiedaiClient with a stale ETag, as if another user acted after it was read; every key it sends shown.
public class StaleRetry extends JiedaiClient {
    StaleRetry(String base) {
        super(base);
    }

    @Override
    HttpRequest.Builder post(String path, String token, String body, String idempotencyKey) {
        System.out.println("key " + idempotencyKey);
        return super.post(path, token, body, idempotencyKey);
    }

    public static void main(String[] args) throws Exception {
        StaleRetry jd = new StaleRetry(System.getenv("JIEDAI_URL"));
        String zhang = System.getenv("TOKEN_ZHANG");
        jd.create(zhang, reception(args[0], args[1], args[2]));
        System.out.println("id " + jd.id);
        jd.etag = "\\"0\\"";
        System.out.println("submit → " + jd.fire(zhang, "submit", "{}"));
    }
}
"""
"""A second class beside the example, in its package: the example's own ``fire`` with a stale version."""


@pytest.fixture(scope="module")
def classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example and :data:`STALE_RETRY`, compiled: warnings are errors (but a missing serialVersionUID)."""
    javac, _java = jdk()
    folder = tmp_path_factory.mktemp("java")
    (folder / "StaleRetry.java").write_text(STALE_RETRY, encoding="utf-8")
    flags = ["-encoding", "UTF-8", "-Xlint:all,-serial", "-Werror", "-d", str(folder / "out")]
    done = subprocess.run(
        [javac, *flags, str(SOURCE), str(folder / "StaleRetry.java")],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "out"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-java")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder) as found:
        yield found


def run_java(
    classes: Path, server: Server, cwd: Path, *args: str, **tokens: str
) -> subprocess.CompletedProcess[str]:
    """``java -cp CLASSES ARGS…`` in ``cwd`` with the URL and the four tokens of the example's header
    (``tokens`` replaces some: TOKEN_SUN="…")."""
    _javac, java = jdk()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIEDAI_", "TOKEN_"))}
    env |= {
        "JIEDAI_URL": server.base,
        "TOKEN_ZHANG": server.token("zhang.wei"),
        "TOKEN_SUN": server.token("sun.hao"),
        "TOKEN_LI": server.token("li.na"),
        "TOKEN_WANG": server.token("wang.fang"),
        **tokens,
    }
    return subprocess.run(
        [java, *UTF8_STREAMS, "-cp", str(classes), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=HANG_GUARD,
        check=False,
    )


def test_the_java_example_walks_a_whole_reception(classes: Path, server: Server, tmp_path: Path) -> None:
    done = run_java(classes, server, tmp_path, "JiedaiClient")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line.rsplit(" → ", 1)[1] for line in lines if " → " in line] == [
        "draft",
        "submitted",
        "submitted",  # 孙浩 signed the first level, 李娜's is open
        "approved",
        "in_progress",
        "completed",
        "settling",
        "settled",
        "jiedai-list.xlsx",
        "ok",
    ]
    assert "结算 settle → settled" in lines
    assert "retrying" not in done.stdout  # nobody else acted: no stale version
    [rid] = re.findall(r"接待 ID id ([0-9a-f]{32}), ETag \"1\"", done.stdout)
    assert (tmp_path / "jiedai-list.xlsx").read_bytes()[:2] == b"PK"
    with server.client("liu.yang") as c:  # the supervisor reads everything
        shown = c.get(f"/api/v1/receptions/{rid}")
        assert shown.json()["state"] == "settled"
        assert shown.headers["etag"] == '"8"'
        events = c.get(f"/api/v1/receptions/{rid}/history").json()
        verify = c.get("/api/v1/audit/verify").json()
    assert [(e["trigger"], e["actor_id"]) for e in events] == [
        ("create", "zhang.wei"),
        ("submit", "zhang.wei"),
        ("approve", "sun.hao"),
        ("approve", "li.na"),
        ("start", "zhang.wei"),
        ("finish", "zhang.wei"),
        ("claim", "zhang.wei"),
        ("settle", "wang.fang"),
    ]
    keys = [e["request_id"] for e in events]  # an Idempotency-Key of its own for each command
    assert len(set(keys)) == len(keys)
    assert all(uuid.UUID(k).version == 4 for k in keys)
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    assert verify["ok"], verify
    assert verify["checked"] >= len(events)


def test_a_stale_version_is_read_again_and_retried_with_the_same_key(
    classes: Path, server: Server, tmp_path: Path
) -> None:
    start = date.today() + timedelta(days=7)
    dates = [start, start + timedelta(days=1), start - timedelta(days=5)]
    done = run_java(classes, server, tmp_path, "StaleRetry", *map(str, dates))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    [rid] = re.findall(r"^id ([0-9a-f]{32})$", done.stdout, re.M)
    assert 'version changed: retrying with ETag "1"' in done.stdout  # the 412, then the re-read
    assert done.stdout.endswith("submit → submitted\n")
    create_key, *submit_keys = re.findall(r"^key (\S+)$", done.stdout, re.M)
    assert len(submit_keys) == 2
    assert len(set(submit_keys)) == 1, "the retry sends the command's key again"
    assert create_key not in submit_keys
    with server.client("zhang.wei") as c:
        events = c.get(f"/api/v1/receptions/{rid}/history").json()
    assert [(e["trigger"], e["request_id"]) for e in events] == [
        ("create", create_key),
        ("submit", submit_keys[0]),
    ]


def test_a_refusal_prints_the_problem_and_exits_non_zero(
    classes: Path, server: Server, tmp_path: Path
) -> None:
    """李娜's token where 孙浩's is expected: she may not sign the first level (部门负责人)."""
    done = run_java(classes, server, tmp_path, "JiedaiClient", TOKEN_SUN=server.token("li.na"))
    assert done.returncode == 1, f"{done.stdout}\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == "提交 submit → submitted"
    [line] = done.stderr.splitlines()
    found = re.fullmatch(r"HTTP (\d+) (\w+): (.+) / (.+)", line)
    assert found, line
    status, code, zh, en = found.groups()
    assert (status, code) == ("403", "not_authorized")
    assert re.search(r"[\u4e00-\u9fff]", zh), "message_zh, read as UTF-8"
    assert en.startswith("li.na may not fire 'approve'")
    [rid] = re.findall(r"接待 ID id ([0-9a-f]{32})", done.stdout)
    with server.client("zhang.wei") as c:
        assert c.get(f"/api/v1/receptions/{rid}").json()["state"] == "submitted"


def java_blocks() -> list[str]:
    return re.findall(r"^```java\n(.*?)^```", HTTP_MD.read_text(encoding="utf-8"), re.S | re.M)


def test_the_pages_java_excerpt_is_text_of_the_file() -> None:
    """Each piece of the page's ``java`` block (pieces split by a ``// …`` line) is consecutive lines of
    JiedaiClient.java, as they stand in its class body (one level of indentation less), so the page cannot
    drift from the file CI compiles and runs."""
    [block] = java_blocks()
    source = SOURCE.read_text(encoding="utf-8")
    pieces = re.split(r"^// …\n", block, flags=re.M)
    assert len(pieces) >= 2
    for piece in pieces:
        assert piece.strip()
        assert "\n" + textwrap.indent(piece, "    ") in source, f"not in {SOURCE.name}:\n{piece}"
    page = HTTP_MD.read_text(encoding="utf-8")
    assert "(examples/java/JiedaiClient.java)" in page
    assert "tests/test_http_java.py" in page

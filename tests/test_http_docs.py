"""docs/http.md and the README's service line are tests: the curl blocks run verbatim against a real
``jiedai serve`` (exit status, every response a success, the state they leave), and the README line
starts the service on the embedded SQLite default with a demo token that works."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from jiedai_flow.cli import starter
from tests._http_server import free_port, running

if TYPE_CHECKING:
    from tests._http_server import Server

ROOT = Path(__file__).resolve().parents[1]
HTTP_MD = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent

PROBLEM = '"type":"https://github.com/jiedai-flow/jiedai-flow/blob/main/docs/http.md#'
"""How every error response starts (problem details): none may appear in the blocks' output."""


def curl_blocks() -> list[str]:
    """The ``bash`` blocks of docs/http.md that call the API (``$B/…``), in page order."""
    found = re.findall(r"^```bash\n(.*?)^```", HTTP_MD, re.S | re.M)
    return [b for b in found if "$B/" in b]


def _env(extra: dict[str, str]) -> dict[str, str]:
    """A user's shell: this Python's scripts first on PATH, no ``JIEDAI_*`` settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIEDAI_")}
    return env | {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONIOENCODING": "utf-8",
        **extra,
    }


def test_the_curl_blocks_run_verbatim_against_a_real_service(tmp_path: Path) -> None:
    blocks = curl_blocks()
    assert len(blocks) == 2, "the lifecycle and the task blocks"
    with running(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path) as server:
        today = date.today()  # the files jiedai init writes next to the database
        (tmp_path / "jiedai-reception.toml").write_text(starter.reception_toml(today), encoding="utf-8")
        (tmp_path / "jiedai-list.toml").write_text(starter.list_toml(today), encoding="utf-8")
        script = "\n".join(["set -euo pipefail", *blocks])  # the block makes its own tokens
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            # the reader's own zone, as the page is run: the page asks `date` for China's day itself
            env=_env({"JIEDAI_URL": server.base, "TZ": "Pacific/Kiritimati"}),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        output = done.stdout.replace(" ", "")
        assert PROBLEM not in output, done.stdout
        assert '{"ok":true' in output
        assert "/operations/transfer\n" in done.stdout  # the paths of 孙浩's operations, one a line
        assert "/operations/add-signers\n" in done.stdout
        # the stand-in's 待办 visibly gains the principal's task once the proxy is set
        assert "李娜的待办 mine: 0\n" in done.stdout
        assert "李娜的待办 mine: 1\n" in done.stdout.split("李娜的待办 mine: 0\n", 1)[1]
        assert (tmp_path / "接待清单.xlsx").read_bytes()[:2] == b"PK"
        _check_state(server)


def _check_state(server: Server) -> None:
    with server.client("zhang.wei") as c:
        started = c.get("/api/v1/tasks", params={"view": "started"}).json()["items"]
    assert sorted(r["state"] for r in started) == ["settled", "submitted", "submitted"]
    second, third = sorted(
        (r for r in started if r["state"] == "submitted"), key=lambda r: r["number"]
    )  # numbered in the order they were made
    second, third = second["reception_id"], third["reception_id"]
    with server.client("zhou.lei") as c:
        assert second in {r["reception_id"] for r in c.get("/api/v1/tasks").json()["items"]}
    with server.client("chen.jie") as c:
        assert [r["reception_id"] for r in c.get("/api/v1/tasks", params={"view": "cc"}).json()["items"]] == [
            second
        ]
    with server.client("li.na") as c:  # 分管领导, who sees 孙浩's 部门负责人 task only as his stand-in
        assert [(p["principal"], p["stand_in"]) for p in c.get("/api/v1/proxies").json()["items"]] == [
            ("sun.hao", "li.na")
        ]
        mine = c.get("/api/v1/tasks").json()["items"]
        assert [(r["reception_id"], r["assignee"]) for r in mine] == [(third, "部门负责人")]
    with server.client("sun.hao") as c:
        done = c.get("/api/v1/tasks", params={"view": "done"}).json()["items"]
    assert sorted(r["outcome"] for r in done) == ["agree", "transferred"]


def _readme_line() -> str:
    """The README's command that starts the service (after its install step)."""
    [line] = [x for x in README.splitlines() if "jiedai serve --demo-token" in x]
    command = line.removeprefix("$ ").split("#", 1)[0].strip()
    steps = [s.strip() for s in command.split("&&")]
    assert steps[0].startswith("pip install"), "the line installs the server extra first"
    assert '".[server]"' in steps[0]
    return " && ".join(steps[1:])


def test_the_readme_line_starts_the_service_on_sqlite_with_a_demo_token(tmp_path: Path) -> None:
    command = _readme_line()
    assert command.endswith("jiedai init && jiedai serve --demo-token zhang.wei")
    checkout = tmp_path / "checkout"  # where the line starts: the source folder it installed from
    checkout.mkdir()
    port = free_port()  # the default port may be taken on a shared machine: the one change made
    process = subprocess.Popen(
        ["bash", "-c", f"{command} --port {port}"],
        cwd=checkout,
        env=_env({"PYTHONUNBUFFERED": "1"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        start_new_session=True,  # so the service the shell started stops with it
    )
    # a guard against a hang, not a timed assertion: if the token line never comes, the service
    # is stopped and its output ends, instead of the suite waiting for ever
    guard = threading.Timer(120, os.killpg, (process.pid, signal.SIGTERM))
    guard.start()
    try:
        assert process.stdout is not None
        token = ""
        for line in process.stdout:  # ends when the process does
            # the curl line after the token's own says it in any language: 'Bearer TOKEN'
            found = re.search(r"Authorization: Bearer (\S+?)'", line)
            if found:
                token = found.group(1)
                break
        guard.cancel()
        assert token, "the demo token is printed"
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, process)
        listed = httpx.get(f"{base}/api/v1/receptions", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200
        me = httpx.get(f"{base}/api/v1/tasks/counts", headers={"Authorization": f"Bearer {token}"})
        assert json.loads(me.text)["started"] == 0
        assert (tmp_path / "jiedai-try" / "jiedai.db").is_file()  # the embedded SQLite default
        assert not list(checkout.iterdir())  # nothing written into the checkout
    finally:
        guard.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def _wait_ready(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60  # a guard against a hang, not a timed assertion
    while time.monotonic() < deadline:
        assert process.poll() is None, "jiedai serve exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("jiedai serve did not become ready")


def test_every_problem_type_has_its_row_in_http_md() -> None:
    """A problem's ``type`` is ``…/docs/http.md#<code>``: every code the service can answer has its
    anchored row there, with the status the service gives it."""
    import re

    from jiedai_flow import errors
    from jiedai_flow.server.problems import STATUS

    text = (Path(__file__).resolve().parent.parent / "docs" / "http.md").read_text(encoding="utf-8")
    rows = {
        m["anchor"]: int(m["status"])
        for m in re.finditer(
            r'^\| <a id="(?P<anchor>[a-z0-9-]+)"></a>`[a-z0-9_]+` \| (?P<status>\d+) \|', text, re.M
        )
    }
    library = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.JiedaiFlowError) and "code" in vars(c)
    ]
    for kind in library:
        status = next((s for s, kinds in STATUS if issubclass(kind, kinds)), 500)
        assert rows.get(kind.code.replace("_", "-")) == status, kind.__name__
    for code in ("not-authenticated", "forbidden", "csrf-failed", "read-only", "method-not-allowed"):
        assert code in rows
    for code in ("precondition-failed", "precondition-required", "internal", "http-400", "http-415"):
        assert code in rows


def test_no_input_error_of_the_library_is_answered_with_a_500() -> None:
    """http.md: every input error is a 4xx. A value that is wrong (empty, negative, too long, a NUL)
    is the caller's, wherever it is found: 422 ``invalid_value``, never a 500."""
    from jiedai_flow.errors import InvalidValueError
    from jiedai_flow.server.problems import of_error

    details = of_error(InvalidValueError("「title」含 NUL 字符", "title contains a NUL", field="title"))
    assert (details.status, details.code, details.title) == (422, "invalid_value", "Unprocessable Content")
    assert details.type.endswith("#invalid-value")
    assert [p.path for p in details.problems] == ["$.title"]  # the field it is about

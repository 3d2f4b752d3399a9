"""A real ``jiedai serve`` on a loopback port for the HTTP tests: the starter files of ``jiedai init``
in a temporary folder, tokens written straight into its database, requests over real sockets."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from jiedai_flow.cli import starter
from jiedai_flow.server.tokens import SQLTokens

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

SRC = Path(__file__).resolve().parents[1] / "src"


def eventually(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether ``check`` holds within ``seconds`` (asked every few milliseconds): for what another
    process or thread does in its own time, never as a measure of speed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running service: its base URL, its database, and tokens for the starter actors."""

    def __init__(self, base: str, db: str, folder: Path, pid: int = 0) -> None:
        self.base = base
        self.db = db
        self.folder = folder
        self.pid = pid
        """The ``jiedai serve`` process."""
        self._sql = sa.create_engine(db)
        self._tokens: dict[str, str] = {}
        self.answers: set[tuple[str, str, int]] = set()
        """(method, path, status) of every answer its clients got (:meth:`client`)."""

    def token(self, actor_id: str) -> str:
        if actor_id not in self._tokens:
            self._tokens[actor_id] = SQLTokens(self._sql).create(actor_id, "test")[1]
        return self._tokens[actor_id]

    def new_token(self, actor_id: str) -> tuple[str, str]:
        info, token = SQLTokens(self._sql).create(actor_id, "test")
        return info.id, token

    def revoke(self, token_id: str) -> None:
        SQLTokens(self._sql).revoke(token_id)

    def client(self, actor_id: str | None = None) -> httpx.Client:
        """A client of the service (with a token for ``actor_id``) that notes every answer's status."""
        headers = {"Authorization": f"Bearer {self.token(actor_id)}"} if actor_id else {}
        return httpx.Client(
            base_url=self.base, headers=headers, timeout=30, event_hooks={"response": [self._note]}
        )

    def _note(self, response: httpx.Response) -> None:
        request = response.request
        self.answers.add((request.method, request.url.path, response.status_code))

    def undeclared_answers(self) -> list[str]:
        """The answers its clients got with a status the operation does not declare (none when the
        service is gone: a test stopped it)."""
        try:
            document = httpx.get(f"{self.base}/schema/openapi.json", timeout=30).json()
        except httpx.HTTPError:
            return []
        return undeclared(document, self.answers)

    def close(self) -> None:
        self._sql.dispose()


def undeclared(document: Mapping[str, Any], answers: Iterable[tuple[str, str, int]]) -> list[str]:
    """``METHOD path status`` of each of ``answers`` to an operation of ``document`` that does not
    declare its status (an answer to no operation there, a page or a 405, is not the document's)."""
    found = []
    for method, path, status in sorted(answers):
        operation = operation_of(document, method, path)
        if operation is not None and str(status) not in operation["responses"]:
            found.append(f"{method} {path} {status}")
    return found


def operation_of(document: Mapping[str, Any], method: str, path: str) -> Mapping[str, Any] | None:
    """The operation of ``document`` a request is for: its path template with the most literal
    segments (``/operations/urge`` before ``/triggers/{trigger}``), then its method."""
    parts = path.split("/")
    best: tuple[int, Mapping[str, Any]] | None = None
    for template, item in document["paths"].items():
        pattern = template.split("/")
        if len(pattern) != len(parts):
            continue
        if all(p == s or (p.startswith("{") and s) for p, s in zip(pattern, parts, strict=True)):
            literal = sum(p == s for p, s in zip(pattern, parts, strict=True))
            if best is None or literal > best[0]:
                best = literal, item
    return None if best is None else best[1].get(method.lower())


def reception_body(days_ahead: int = 14) -> dict[str, Any]:
    """A reception as ``jiedai init`` writes it, as the JSON body of ``POST /api/v1/receptions``."""
    return _plain(tomllib.loads(starter.reception_toml(date.today() + timedelta(days=days_ahead - 14))))


def list_body(days_ahead: int = 14) -> dict[str, Any]:
    return _plain(tomllib.loads(starter.list_toml(date.today() + timedelta(days=days_ahead - 14))))


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """TOML dates as ISO strings, as a JSON client sends them."""
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


def write_starter_files(
    folder: Path,
    *,
    countersign: bool = False,
    kind: str = "parallel",
    standards: str | None = None,
    extra_actors: str = "",
) -> None:
    """The starter actors and standards (``countersign``: with :data:`COUNTERSIGN_ACTORS` and
    :func:`countersign_standards`, its step of ``kind``; ``standards``: these standards instead;
    ``extra_actors``: more ``[[actor]]`` tables)."""
    actors = starter.actors_toml() + (COUNTERSIGN_ACTORS if countersign else "") + extra_actors
    if standards is None:
        standards = countersign_standards(kind) if countersign else starter.STANDARDS_TOML
    (folder / "jiedai-actors.toml").write_text(actors, encoding="utf-8")
    (folder / "jiedai-standards.toml").write_text(standards, encoding="utf-8")


COUNTERSIGN_ACTORS = """
[[actor]]
id = "qian.bo"
name = "钱博"
roles = ["approver"]
unit = "县财政局"
levels = []

[[actor]]
id = "zheng.li"
name = "郑丽"
roles = ["approver"]
unit = "县政府办公室"
levels = []

[[actor]]
id = "wu.gang"
name = "吴刚"
roles = ["approver"]
unit = "县政府办公室"
levels = []

[[actor]]
id = "he.ping"
name = "何平"
roles = ["approver"]
unit = "县财政局"
levels = []
"""
"""Approvers of the countersign step (钱博 of the finance bureau, 郑丽), a transfer target (吴刚) and a
delegate or stand-in (何平), added to the starter actors."""

COUNTERSIGN = ("li.na", "qian.bo", "zheng.li")

COUNTERSIGN_LABELS = {"parallel": "财政局、分管领导会签", "vote": "党组会票签"}


def countersign_standards(kind: str = "parallel") -> str:
    """The starter standards with one approval level (部门负责人), then a parallel countersign of
    李娜, 钱博 and 郑丽: all three must agree (``kind = "vote"``: they vote, one vote each)."""
    one_level = starter.STANDARDS_TOML.replace(
        'approval_levels = ["部门负责人", "分管领导"]', 'approval_levels = ["部门负责人"]'
    )
    assert one_level != starter.STANDARDS_TOML, "the starter standards changed: adapt this helper"
    people = ", ".join(f'"{p}"' for p in COUNTERSIGN)
    return (
        one_level
        + f"""
[[standards.countersigns]]
label = "{COUNTERSIGN_LABELS[kind]}"
kind = "{kind}"
people = [{people}]
"""
    )


@contextlib.contextmanager
def running(
    db: str,
    folder: Path,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    max_auth_failures: int = 1000,
    countersign: bool = False,
    kind: str = "parallel",
    standards: str | None = None,
    extra_actors: str = "",
    serve_args: Sequence[str] = (),
) -> Iterator[Server]:
    """``jiedai serve --db DB`` in ``folder`` until the block ends (``countersign``: with the actors and
    standards of :func:`countersign_standards`, its step of ``kind``; ``standards``: these standards
    instead; ``extra_actors``: more ``[[actor]]`` tables; ``serve_args``: more options of ``serve``)."""
    write_starter_files(
        folder, countersign=countersign, kind=kind, standards=standards, extra_actors=extra_actors
    )
    port = free_port()
    environ = {**os.environ, "PYTHONPATH": str(SRC), "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})}
    code = "from jiedai_flow.cli import main; main()"
    args = ["--db", db, "serve", "--port", str(port), "--workers", str(workers)]
    args += ["--max-auth-failures", str(max_auth_failures), *serve_args]
    with open(folder / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=folder,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process, folder)
        server = Server(base, db, folder, process.pid)
        try:
            yield server
            # why here: every HTTP test's answers are held to the document, not only the schema tests'
            assert server.undeclared_answers() == [], "statuses the OpenAPI document does not declare"
        finally:
            server.close()
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(base: str, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((folder / "server.log").read_text(errors="replace"))
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready: " + (folder / "server.log").read_text(errors="replace"))

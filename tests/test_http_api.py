"""The HTTP API through a real ``jiedai serve`` on a loopback port, on SQLite and PostgreSQL: a whole
lifecycle, the HTTP conventions (ETag/If-Match, Idempotency-Key, problem+json) and the exports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from jiedai_flow.storage import migrate
from tests._http_server import list_body, reception_body, running
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"serve-{request.param}")
    for url in private_database(request.param, folder):
        with running(url, folder) as found:
            yield found


def _create(server: Server, actor: str = "zhang.wei") -> dict[str, Any]:
    with server.client(actor) as c:
        r = c.post("/api/v1/receptions", json=reception_body())
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    return r.json()  # type: ignore[no-any-return]


def _fire(server: Server, actor: str, rid: str, trigger: str, **body: Any) -> Any:
    with server.client(actor) as c:
        return c.post(f"/api/v1/receptions/{rid}/triggers/{trigger}", json=body)


def test_a_whole_lifecycle_over_http(server: Server) -> None:
    created = _create(server)
    rid = created["reception"]["id"]
    assert created["event"]["auth_method"].startswith("api-token:")
    steps = [
        ("zhang.wei", "submit", {}),
        ("sun.hao", "approve", {"reason": "同意"}),
        ("li.na", "approve", {"reason": "同意"}),
        ("zhang.wei", "start", {}),
        ("zhang.wei", "finish", {}),
        ("zhang.wei", "claim", {"reception_list": list_body()}),
        ("wang.fang", "settle", {}),
    ]
    hashes = [created["event"]["hash"]]
    for actor, trigger, body in steps:
        r = _fire(server, actor, rid, trigger, **body)
        assert r.status_code == 200, (trigger, r.text)
        assert r.json()["event"]["prev_hash"] == hashes[-1]  # each result carries its link of the chain
        hashes.append(r.json()["event"]["hash"])
    with server.client("liu.yang") as c:  # the supervisor reads everything
        shown = c.get(f"/api/v1/receptions/{created['reception']['number']}")
        assert shown.status_code == 200
        assert shown.json()["state"] == "settled"
        assert shown.headers["etag"] == '"8"'
        events = c.get(f"/api/v1/receptions/{rid}/history").json()
        assert [e["trigger"] for e in events][1:] == [t for _a, t, _b in steps]
        assert all(e["auth_method"].startswith("api-token:") for e in events)
        assert [e["hash"] for e in events] == hashes  # what the host kept is what the trail holds
        verify = c.get("/api/v1/audit/verify").json()
        assert verify["ok"]
        assert verify["checked"] >= 8
        html = c.get(f"/api/v1/receptions/{rid}/list")
        assert html.status_code == 200
        assert "接待清单" in html.text
        csv = c.get(f"/api/v1/receptions/{rid}/list", params={"format": "csv"})
        assert csv.headers["content-type"] == "text/csv; charset=utf-8"
        xlsx = c.get(f"/api/v1/receptions/{rid}/list", params={"format": "xlsx"})
        assert xlsx.content[:2] == b"PK"
        year = shown.json()["start"][:4]
        summary = c.get("/api/v1/reports/summary", params={"year": year}).json()
        assert summary["rows"]
        assert all(isinstance(r["actual"], str) for r in summary["rows"])
        for kind in ("disclosure", "red-flags"):
            assert c.get(f"/api/v1/reports/{kind}", params={"year": year, "format": "csv"}).status_code == 200
        diagram = c.get(f"/api/v1/receptions/{rid}/diagram")
        assert diagram.status_code == 200
        assert "stateDiagram" in diagram.text
        assert c.get("/api/v1/processes").json()[0]["initial"] == "draft"
        assert c.get("/api/v1/plugins").status_code == 200
        standards = c.get("/api/v1/standards", params={"jurisdiction": "341502", "on": shown.json()["start"]})
        assert standards.status_code == 200


def test_list_query_and_cursor_pages(server: Server) -> None:
    for _ in range(3):
        _create(server)
    with server.client("zhang.wei") as c:
        first = c.get("/api/v1/receptions", params={"limit": 2, "state": "draft"}).json()
        assert len(first["items"]) == 2
        assert first["next_cursor"]
        rest = c.get(
            "/api/v1/receptions", params={"limit": 2, "state": "draft", "after": first["next_cursor"]}
        )
        assert rest.status_code == 200
        ids = {r["id"] for r in first["items"]} & {r["id"] for r in rest.json()["items"]}
        assert not ids
        bad = c.get("/api/v1/receptions", params={"state": "nonsense"})
        assert bad.status_code == 422
        assert bad.json()["problems"][0]["path"] == "$.query.state"


def test_triggers_check_and_explanations(server: Server) -> None:
    rid = _create(server)["reception"]["id"]
    with server.client("zhang.wei") as c:
        names = [t["name"] for t in c.get(f"/api/v1/receptions/{rid}/triggers").json()["triggers"]]
        assert "submit" in names
        check = c.get(f"/api/v1/receptions/{rid}/check").json()
        assert check["reception_id"] == rid
        assert "ok" in check
        assert c.get(f"/api/v1/receptions/{rid}/explanations").json()["reception_id"] == rid
        dry = c.post("/api/v1/checks", json=reception_body())
        assert dry.status_code == 200
        assert "by_stage" in dry.json()
    with server.client("sun.hao") as c:
        assert c.get(f"/api/v1/receptions/{rid}/triggers").json()["triggers"] == []


def test_if_match_and_idempotency_key(server: Server) -> None:
    rid = _create(server)["reception"]["id"]
    with server.client("zhang.wei") as c:
        url = f"/api/v1/receptions/{rid}/triggers/submit"
        stale = c.post(url, json={}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        assert stale.headers["content-type"].startswith("application/problem+json")
        assert stale.json()["code"] == "precondition_failed"
        assert stale.json()["current_version"] == 1
        weak = c.post(url, json={}, headers={"If-Match": 'W/"1"'})  # If-Match compares strongly
        assert weak.status_code == 412
        assert "W/" in weak.json()["message_zh"]
        assert weak.json()["code"] == "precondition_failed"
        first = c.post(url, json={}, headers={"If-Match": '"1"', "Idempotency-Key": f"k-{rid}"})
        assert first.status_code == 200
        assert first.headers["etag"] == '"2"'
        again = c.post(url, json={}, headers={"Idempotency-Key": f"k-{rid}"})
        assert again.status_code == 200
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["event"]["id"] == first.json()["event"]["id"]
        assert len(c.get(f"/api/v1/receptions/{rid}/history").json()) == 2
        key = {"Idempotency-Key": f"create-{rid}"}
        made, remade = (c.post("/api/v1/receptions", json=reception_body(), headers=key) for _ in range(2))
        other = reception_body()
        other["reception"]["host_unit"] = "县财政局"
        reused = c.post("/api/v1/receptions", json=other, headers=key)  # the same key, another body
        assert reused.status_code == 422
        assert reused.json()["code"] == "idempotency"
        words = f"/api/v1/receptions/{rid}/operations/comment"
        said = c.post(words, json={"reason": "第一次"}, headers={"Idempotency-Key": f"w-{rid}"})
        assert said.status_code == 200
        resaid = c.post(words, json={"reason": "完全不同"}, headers={"Idempotency-Key": f"w-{rid}"})
        assert resaid.status_code == 422
        assert resaid.json()["code"] == "idempotency"
        assert [e["reason"] for e in c.get(f"/api/v1/receptions/{rid}/history").json()][-1] == "第一次"
    # a retried registration answers as the first did: a client checking for 201 is not misled
    assert (made.status_code, remade.status_code) == (201, 201)
    assert remade.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in made.headers
    assert remade.json()["reception"]["id"] == made.json()["reception"]["id"]


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``jiedai serve --require-if-match``."""
    folder = tmp_path_factory.mktemp("serve-if-match")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder, serve_args=["--require-if-match"]) as found:
        yield found


def test_a_service_requiring_if_match_answers_a_command_without_it_with_428(strict_server: Server) -> None:
    """Under ``--require-if-match`` a trigger or an approval operation without ``If-Match`` is 428
    problem+json ``precondition_required`` naming the header, and changes nothing: a client that
    forgot it learnt of the lost update only in a race. Registration has nothing to match: exempt."""
    with strict_server.client("zhang.wei") as c:
        made = c.post("/api/v1/receptions", json=reception_body())
        assert made.status_code == 201, made.text
        rid = made.json()["reception"]["id"]
        for path in ("triggers/submit", "operations/comment"):
            refused = c.post(f"/api/v1/receptions/{rid}/{path}", json={"reason": "请核对"})
            assert refused.status_code == 428, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            said = refused.json()
            assert (said["code"], said["title"]) == ("precondition_required", "Precondition Required")
            assert "If-Match" in said["message_zh"]
            assert "If-Match" in said["message_en"]
            assert [p["path"] for p in said["problems"]] == ["$.headers.If-Match"]
        assert c.get(f"/api/v1/receptions/{rid}").headers["ETag"] == '"1"'  # nothing was done
        stale = c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        fired = c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}, headers={"If-Match": '"1"'})
        assert (fired.status_code, fired.headers["ETag"]) == (200, '"2"')
        listed = c.post(
            f"/api/v1/receptions/{rid}/operations/comment",
            json={"reason": "请核对"},
            headers={"If-Match": '"1", "2"'},
        )
        assert (listed.status_code, listed.headers["ETag"]) == (200, '"3"')


def test_a_service_requiring_if_match_refuses_a_star_with_428(strict_server: Server) -> None:
    """``--require-if-match`` is there so that no client updates what it has not read: ``If-Match: *``
    names no version read, so it is refused as its absence is, with a message that says so."""
    with strict_server.client("zhang.wei") as c:
        rid = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"]
        for path in ("triggers/submit", "operations/comment"):
            refused = c.post(
                f"/api/v1/receptions/{rid}/{path}", json={"reason": "请核对"}, headers={"If-Match": "*"}
            )
            assert refused.status_code == 428, refused.text
            said = refused.json()
            assert said["code"] == "precondition_required"
            assert "不接受 *" in said["message_zh"]
            assert "not *" in said["message_en"]
            assert [p["path"] for p in said["problems"]] == ["$.headers.If-Match"]
        assert c.get(f"/api/v1/receptions/{rid}").headers["ETag"] == '"1"'  # nothing was done


def test_a_command_on_no_reception_is_404_before_428(strict_server: Server) -> None:
    """A reception that does not exist is 404 whatever ``If-Match`` says, even where the service
    requires it: the condition of a request that fails anyway is not looked at."""
    with strict_server.client("zhang.wei") as c:
        for ref in ("f" * 32, "341502-2099-99999", "nosuch"):
            for headers in ({}, {"If-Match": "*"}, {"If-Match": '"1"'}, {"If-Match": '"1", "2"'}):
                for path in ("triggers/submit", "operations/comment"):
                    r = c.post(f"/api/v1/receptions/{ref}/{path}", json={"reason": "请核对"}, headers=headers)
                    assert (r.status_code, r.json()["code"]) == (404, "not_found"), (ref, headers, path)


def test_if_match_is_a_list_of_entity_tags_one_of_which_must_be_current(server: Server) -> None:
    """As HTTP has it (RFC 9110), ``If-Match`` lists entity tags and holds when one of them is the reception's
    ETag, compared strongly (a weak tag never matches; ``"02"`` is not ``"2"``); none matching is 412
    with the version now, ``*`` matches any, a value that is no list of tags is 400 at its path. A
    refused condition changes nothing."""
    rid = _create(server)["reception"]["id"]
    with server.client("zhang.wei") as c:
        url = f"/api/v1/receptions/{rid}/triggers/submit"
        first = c.post(url, json={}, headers={"If-Match": '"7", "1"'})
        assert (first.status_code, first.headers["etag"]) == (200, '"2"'), first.text
        words = f"/api/v1/receptions/{rid}/operations/comment"
        for stale in ('"3", "4"', 'W/"2"', 'W/"2", "9"', '"02"', '"1",,"3"', '"x,2"'):
            r = c.post(words, json={"reason": "请核对"}, headers={"If-Match": stale})
            assert r.status_code == 412, (stale, r.text)
            assert (r.json()["code"], r.json()["current_version"]) == ("precondition_failed", 2)
        weak = c.post(words, json={"reason": "请核对"}, headers={"If-Match": 'W/"2", "5"'})
        assert "W/" in weak.json()["message_zh"]
        assert "weak" in weak.json()["message_en"]
        for bad in ("2", '"2', '*, "2"', '"2" "3"', 'w/"2"', '"2";', ",", ""):
            r = c.post(words, json={"reason": "请核对"}, headers={"If-Match": bad})
            assert r.status_code == 400, (bad, r.text)
            said = r.json()
            assert said["code"] == "invalid_header"
            assert [p["path"] for p in said["problems"]] == ["$.headers.If-Match"]
            assert "If-Match" in said["message_zh"]
        assert c.get(f"/api/v1/receptions/{rid}").headers["etag"] == '"2"'  # nothing was done
        listed = c.post(words, json={"reason": "一"}, headers={"If-Match": '"1" , W/"2",\t"2" ,"3"'})
        assert (listed.status_code, listed.headers["etag"]) == (200, '"3"'), listed.text
        fields = c.post(words, json={"reason": "二"}, headers=[("If-Match", '"9"'), ("If-Match", '"3"')])
        assert (fields.status_code, fields.headers["etag"]) == (200, '"4"'), fields.text
        anyway = c.post(words, json={"reason": "三"}, headers={"If-Match": "*"})
        assert (anyway.status_code, anyway.headers["etag"]) == (200, '"5"'), anyway.text
        missing = c.post(
            f"/api/v1/receptions/{'f' * 32}/operations/comment",
            json={"reason": "四"},
            headers={"If-Match": '"1", "2"'},
        )
        assert missing.status_code == 404


def test_if_match_is_optional_by_default(server: Server) -> None:
    """Without ``--require-if-match`` a command without ``If-Match`` is done (a lost race is a 409)."""
    rid = _create(server)["reception"]["id"]
    assert _fire(server, "zhang.wei", rid, "submit").status_code == 200


def test_errors_are_problem_details_with_codes_findings_and_paths(server: Server) -> None:
    rid = _create(server)["reception"]["id"]
    with server.client("zhang.wei") as c:
        wrong = c.post(f"/api/v1/receptions/{rid}/triggers/settle", json={})
        assert wrong.status_code == 409
        assert wrong.json()["code"] == "invalid_transition"
        assert "submit" in wrong.json()["allowed"]
        bad = c.post("/api/v1/receptions", json={"reception": {"jurisdiction": "34"}, "letter": {}})
        body = bad.json()
        assert bad.status_code == 422
        assert body["code"] == "validation"
        assert "$.letter.number" in {p["path"] for p in body["problems"]}
        assert body["message_zh"]
        assert body["message_en"]
        missing = c.get("/api/v1/receptions/ffffffffffff")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"
    assert _fire(server, "zhang.wei", rid, "submit").status_code == 200
    refused = _fire(server, "sun.hao", rid, "return")
    assert refused.status_code == 422
    assert refused.json()["code"] == "reason_required"
    typo = _fire(server, "sun.hao", rid, "aprove", reason="同意")  # no such trigger: the path names nothing
    assert typo.status_code == 404
    assert typo.json()["code"] == "unknown_trigger"
    assert "approve" in typo.json()["allowed"]
    assert "没有操作「aprove」" in typo.json()["message_zh"]
    not_allowed = _fire(server, "zhang.wei", rid, "approve", reason="自己批")
    assert not_allowed.status_code == 403
    assert not_allowed.json()["code"] == "not_authorized"
    big = reception_body()
    big["plan"]["meals"][0]["cost"] = "99999.00"
    with server.client("zhang.wei") as c:
        created = c.post("/api/v1/receptions", json=big)
    assert created.status_code == 201
    over = _fire(server, "zhang.wei", created.json()["reception"]["id"], "submit")
    assert over.status_code == 422
    assert over.json()["code"] == "rule_violation"
    assert all(f["rule_id"] for f in over.json()["findings"])


def test_health_ready_metrics_and_openapi(server: Server) -> None:
    with server.client() as c:
        alive = c.get("/healthz").json()
        assert list(alive) == ["status", "checked_at"]  # liveness: nothing it did not look at
        assert alive["status"] == "ok"
        ready = c.get("/readyz").json()
        assert ready["status"] == "ready"
        assert ready["revision"] == ready["expected_revision"]
        # no token needed here, so the database's address is not told: only its kind
        assert ready["database"] in {"sqlite", "postgresql"}
        # every moment is written one way, the library's: ISO 8601 in China time, with its offset
        assert alive["checked_at"].endswith("+08:00")
        assert ready["checked_at"].endswith("+08:00")
        metrics = c.get("/metrics")
        assert "jiedai_http_requests_total" in metrics.text
        assert metrics.headers["content-type"].count("charset") == 1
        doc = c.get("/schema/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert {"Reception", "AuditEvent", "Finding", "ProblemDetails"} <= set(doc["components"]["schemas"])


def test_readyz_tells_a_pending_migration_from_a_newer_schema(server: Server) -> None:
    """Both are 503; a database a newer jiedai-flow upgraded needs this service upgraded, not
    ``jiedai db upgrade``, and the answer says which."""
    version = sa.table("jd_alembic_version", sa.column("version_num"))
    db = sa.create_engine(server.db)
    try:
        head = migrate.head_revision()
        seen = {}
        for stamped in (f"{int(head) - 1:04d}", "9999"):
            with db.begin() as conn:
                conn.execute(version.update().values(version_num=stamped))
            with server.client() as c:
                answer = c.get("/readyz")
            seen[stamped] = (answer.status_code, answer.json()["status"])
    finally:
        with db.begin() as conn:
            conn.execute(version.update().values(version_num=migrate.head_revision()))
        db.dispose()
    assert list(seen.values()) == [(503, "migrations pending"), (503, "schema newer than this version")]


def _raw_post(server: Server, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One POST written byte for byte on a socket, as a client outside Python sends it; the status
    and the body of the answer."""
    import http.client
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(server.base)
    lines = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}"] + [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, answer.read()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_h2c_upgrade_offer_keeps_the_body(server: Server, framing: str) -> None:
    """Java's stock HttpClient offers ``Upgrade: h2c`` on every plain-http request: the service
    declines and answers over HTTP/1.1 with the body read in full, whether sized or chunked."""
    import json

    body = json.dumps(reception_body(), ensure_ascii=False).encode()
    headers = {
        "Authorization": f"Bearer {server.token('zhang.wei')}",
        "Content-Type": "application/json",
        "Connection": "Upgrade, HTTP2-Settings",
        "Upgrade": "h2c",
        "HTTP2-Settings": "AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA",
    }
    if framing == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    else:
        headers["Content-Length"] = str(len(body))
    status, answer = _raw_post(server, "/api/v1/receptions", body, headers)
    assert status == 201, answer.decode()
    made = json.loads(answer)
    assert made["reception"]["letter"]["number"] == reception_body()["letter"]["number"]
    assert "Unsupported upgrade" not in (server.folder / "server.log").read_text(encoding="utf-8")


def test_a_body_of_another_type_is_415_and_a_body_that_is_not_json_is_said(server: Server) -> None:
    """A form or plain text where JSON is read is a 415 ``http_415`` naming the type (``curl -d``
    without its JSON header sends a form); a body that is not JSON is a 422 ``validation`` at
    ``$``; a body that names no type is read as JSON. Without credentials it is a 401 first."""
    import json

    with server.client("zhang.wei") as c:
        form = c.post("/api/v1/receptions", content=b"{}", headers={"Content-Type": "text/plain"})
        assert form.status_code == 415
        assert form.json()["code"] == "http_415"
        assert "text/plain" in form.json()["message_zh"]
    with server.client(None) as anonymous:  # who asks comes first
        plain = {"Content-Type": "text/plain"}
        unsigned = anonymous.post("/api/v1/receptions", content=b"a=1", headers=plain)
        assert unsigned.status_code == 401
    with server.client("zhang.wei") as c:
        broken = c.post("/api/v1/receptions", content=b"xx", headers={"Content-Type": "application/json"})
        assert broken.status_code == 422
        assert [p["path"] for p in broken.json()["problems"]] == ["$"]
    body = json.dumps(reception_body(), ensure_ascii=False).encode()
    status, _answer = _raw_post(
        server,
        "/api/v1/receptions",
        body,
        {"Authorization": f"Bearer {server.token('zhang.wei')}", "Content-Length": str(len(body))},
    )
    assert status == 201


def test_bad_input_of_every_kind_is_a_4xx_problem_never_a_500(server: Server) -> None:
    """A reception id that is no path segment or header value (a line break, a ``/``), a body nested
    past any reason, an ``If-Match`` of digits that are not ASCII, a query parameter out of range or
    missing: each a problem with its field path — never a 500, and nothing saved."""
    import socket
    from urllib.parse import urlsplit

    with server.client("zhang.wei") as c:
        before = len(c.get("/api/v1/receptions", params={"limit": 200}).json()["items"])
        for bad_id in ("x\r\nX-Injected: y", "a/b", "../../etc", "-lead", "名字"):
            body = reception_body()
            body["reception"]["id"] = bad_id
            r = c.post("/api/v1/receptions", json=body)
            assert r.status_code == 422, (bad_id, r.text)
            assert r.json()["problems"][0]["path"] == "$.reception.id"
            assert "只能用字母、数字和 . _ -" in r.json()["problems"][0]["message_zh"]
        body = reception_body()
        body["reception"]["id"] = "341502-2026-00001"  # the form of a number, another's one day
        r = c.post("/api/v1/receptions", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["problems"][0]["path"] == "$.reception.id"
        assert "不能写成接待编号的样子" in r.json()["problems"][0]["message_zh"]
        assert "form of a reception number" in r.json()["problems"][0]["message_en"]
        body["reception"]["id"] = "visit-01"
        assert c.post("/api/v1/receptions", json=body).status_code == 201
        assert c.get("/api/v1/receptions/visit-01").json()["id"] == "visit-01"  # a chosen id is found
        before += 1
        deep = c.post(
            "/api/v1/receptions",
            content=b"[" * 50_000 + b"]" * 50_000,
            headers={"content-type": "application/json"},
        )
        assert deep.status_code == 422
        assert deep.json()["code"] == "validation"
        assert len(c.get("/api/v1/receptions", params={"limit": 200}).json()["items"]) == before
        low = c.get("/api/v1/receptions", params={"limit": 0})
        assert low.status_code == 422
        assert low.json()["problems"][0]["path"] == "$.query.limit"
        assert low.json()["problems"][0]["message_zh"].startswith("「limit」取值无效")
        missing = c.get("/api/v1/reports/summary")
        assert missing.status_code == 422
        assert missing.json()["problems"] == [
            {
                "path": "$.query.year",
                "message_zh": "缺少必填参数「year」",
                "message_en": "missing required query parameter 'year'",
                "line": None,
            }
        ]
        unknown = c.get("/api/v1/processes/zzz/diagram")
        assert unknown.status_code == 404
        assert unknown.json()["message_zh"].startswith("没有流程 zzz（已加载：")
        huge = c.post(
            "/api/v1/receptions", content=b" " * 10_500_000, headers={"content-type": "application/json"}
        )
        assert huge.status_code == 413
        assert (huge.json()["code"], huge.json()["message_zh"]) == ("http_413", "请求体过大（上限 10 MB）")
        rid = _create(server)["reception"]["id"]
    where = urlsplit(server.base)
    request = (
        f"POST /api/v1/receptions/{rid}/triggers/submit HTTP/1.1\r\nHost: {where.netloc}\r\n"
        f"Authorization: Bearer {server.token('zhang.wei')}\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nConnection: close\r\n"
    ).encode() + b'If-Match: "\xb2"\r\n\r\n{}'
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(request)
        status_line = sock.makefile("rb").readline()
    assert status_line.split()[1] == b"412"

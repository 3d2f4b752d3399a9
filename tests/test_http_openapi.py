"""The OpenAPI document as a vendor generating a typed client reads it, and the bodies as that client
decodes them, against a real ``jiedai serve`` on loopback."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from openapi_spec_validator.validation import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from jiedai_flow.server.openapi30 import downgrade
from tests._http_server import reception_body, running

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests._http_server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-openapi")
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder) as found:
        yield found


def _examples(node: Any, path: str = "$") -> list[str]:
    if isinstance(node, dict):
        return [
            found
            for key, value in node.items()
            for found in (
                [f"{path}.{key}"] if key in ("example", "examples") else _examples(value, f"{path}.{key}")
            )
        ]
    if isinstance(node, list):
        return [found for i, value in enumerate(node) for found in _examples(value, f"{path}[{i}]")]
    return []


def test_the_document_carries_no_made_up_examples(server: Server) -> None:
    """The framework made random examples for every problem response (a negative 80-digit budget, a
    ``code`` of random letters), new on every start: each worker served another document, so a
    client generated from one did not match the next, and the examples misled whoever read them."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    assert _examples(document) == []


def _undeclared(value: Any, schema: dict[str, Any], components: dict[str, Any], path: str = "$") -> list[str]:
    """The object keys in ``value`` that ``schema`` does not declare, at any depth."""
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for choice in schema.get("oneOf", ()):
        if value is not None and choice.get("type") != "null":
            return _undeclared(value, choice, components, path)
    if isinstance(value, dict) and "properties" in schema:
        return [f"{path}.{key}" for key in value if key not in schema["properties"]] + [
            found
            for key, item in value.items()
            if key in schema["properties"]
            for found in _undeclared(item, schema["properties"][key], components, f"{path}.{key}")
        ]
    if isinstance(value, list) and "items" in schema:
        return [
            found
            for i, item in enumerate(value)
            for found in _undeclared(item, schema["items"], components, f"{path}[{i}]")
        ]
    return []


def test_every_body_is_what_the_document_declares(server: Server) -> None:
    """A reception written with its ETag (the registration, a command, ``GET``) and a list (the
    history, the stand-ins) were encoded by the framework, not the library's converter: the plan
    carried ``planned_total`` and ``planned_fen``, declared nowhere, whenever the engine had asked
    for them — on the first answer to a command but not on its replay, which was to be the same."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    components = document["components"]["schemas"]
    with server.client("zhang.wei") as c:
        first = c.post("/api/v1/receptions", json=reception_body(), headers={"Idempotency-Key": "openapi-1"})
        again = c.post("/api/v1/receptions", json=reception_body(), headers={"Idempotency-Key": "openapi-1"})
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert {**first.json(), "replayed": True} == again.json()
        rid = first.json()["reception"]["id"]
        assert c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}).status_code == 200
        start = date.today() + timedelta(days=30)
        end = start + timedelta(days=2)
        proxy = {"stand_in": "li.na", "start": start.isoformat(), "end": end.isoformat(), "reason": "出差"}
        assert c.post("/api/v1/proxies", json=proxy).status_code == 201
        answers = {
            "CommandResult": first.json(),
            "Reception": c.get(f"/api/v1/receptions/{rid}").json(),
            "AuditEvent": c.get(f"/api/v1/receptions/{rid}/history").json(),
            "ProxyPage": c.get("/api/v1/proxies").json(),
        }
    undeclared = [
        f"{name} {found}"
        for name, body in answers.items()
        for item in (body if isinstance(body, list) else [body])
        for found in _undeclared(item, {"$ref": f"#/components/schemas/{name}"}, components)
    ]
    assert undeclared == []
    assert answers["AuditEvent"]
    assert answers["ProxyPage"]["items"]


def test_a_stand_in_is_written_in_china_time(server: Server) -> None:
    """Every moment is written in China time (docs/http.md, 约定): a stand-in read back from the
    database said UTC, so the same designation was +08:00 when set and +00:00 when listed."""
    start = date.today() + timedelta(days=40)
    body = {"stand_in": "chen.jie", "start": start.isoformat(), "end": start.isoformat(), "reason": "出差"}
    with server.client("zhang.wei") as c:
        made = c.post("/api/v1/proxies", json=body)
        assert made.status_code == 201
        again = c.post(
            "/api/v1/proxies", json=body
        )  # the same designation in force: returned, not made twice
        listed = [p for p in c.get("/api/v1/proxies").json()["items"] if p["id"] == made.json()["id"]]
    assert made.json()["at"].endswith("+08:00")
    assert again.json() == made.json()
    assert listed == [made.json()]


def test_the_headers_of_a_command_are_declared(server: Server) -> None:
    """A client generated from the document (OpenAPI Generator, NSwag) sends only the headers an
    operation declares and reads only the headers its answer declares: ``If-Match`` and
    ``Idempotency-Key`` were described in prose only, so such a client could neither guard a command
    with the version nor retry it safely, nor read the ``ETag`` and ``Location`` it was to use."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    commands = {
        f"POST {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method == "post"
        and any(
            (r.get("content") or {})
            .get("application/json", {})
            .get("schema", {})
            .get("$ref", "")
            .endswith("/CommandResult")
            for r in operation["responses"].values()
        )
    }
    assert len(commands) >= 20  # registration, fire a trigger, every approval operation

    def headers_in(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in operation.get("parameters", ()) if p["in"] == "header"}

    missing = []
    for name, operation in commands.items():
        wanted = {"Idempotency-Key"} if name == "POST /api/v1/receptions" else {"Idempotency-Key", "If-Match"}
        declared = headers_in(operation)
        missing += [f"{name}: {h}" for h in sorted(wanted - declared.keys())]
        missing += [
            f"{name}: {h} is not a plain string"
            for h in wanted & declared.keys()
            if declared[h]["schema"].get("type") != "string"
        ]
        success = next(r for code, r in operation["responses"].items() if code.startswith("2"))
        for header in ("ETag", "Location", "Idempotent-Replayed"):
            if (success.get("headers") or {}).get(header, {}).get("schema", {}).get("type") != "string":
                missing.append(f"{name}: answer's {header}")
    shown = document["paths"]["/api/v1/receptions/{ref}"]["get"]["responses"]["200"]
    if (shown.get("headers") or {}).get("ETag", {}).get("required") is not True:
        missing.append("GET /api/v1/receptions/{ref}: answer's ETag")
    assert missing == []
    # and the declared headers are the ones the service reads and writes
    with server.client("zhang.wei") as c:
        made = c.post("/api/v1/receptions", json=reception_body(), headers={"Idempotency-Key": "openapi-h"})
        rid = made.json()["reception"]["id"]
        assert made.headers["Location"] == f"/api/v1/receptions/{rid}"
        assert c.get(f"/api/v1/receptions/{rid}").headers["ETag"] == made.headers["ETag"] == '"1"'
        stale = c.post(
            f"/api/v1/receptions/{rid}/operations/comment",
            json={"reason": "请补充行程"},
            headers={"If-Match": '"7"'},
        )
        assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
        fired = c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}, headers={"If-Match": '"1"'})
        assert (fired.status_code, fired.headers["ETag"]) == (200, '"2"')


def test_setting_a_stand_in_declares_its_key_its_address_and_both_answers(server: Server) -> None:
    """``POST /proxies`` declares ``Idempotency-Key`` and answers 201 (made) or 200 (the same
    designation, set already), each with ``Location`` and ``Idempotent-Replayed``: it declared no
    header, so a generated client could neither send the key nor read the address."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    operation = document["paths"]["/api/v1/proxies"]["post"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    for status in ("200", "201"):
        answer = operation["responses"][status]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Proxy"}
        assert sorted(answer["headers"]) == ["Idempotent-Replayed", "Location"], status
        assert answer["headers"]["Location"]["required"] is True
    shown = document["paths"]["/api/v1/proxies/{proxy_id}"]["get"]
    assert shown["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Proxy"
    }
    assert "404" in shown["responses"]


def test_a_command_on_an_existing_reception_declares_428(server: Server) -> None:
    """Firing a trigger and every approval operation may answer 428 ``precondition_required``
    (``jiedai serve --require-if-match``); registration, with nothing to match, does not declare it."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    commands = {
        path: methods["post"]
        for path, methods in document["paths"].items()
        if "post" in methods and ("/triggers/" in path or "/operations/" in path)
    }
    assert len(commands) == 19  # fire a trigger, and the 18 approval operations
    assert [path for path, op in commands.items() if "428" not in op["responses"]] == []
    assert "428" not in document["paths"]["/api/v1/receptions"]["post"]["responses"]


def test_every_operation_has_an_id_a_tag_and_a_whole_summary(server: Server) -> None:
    """Generators name methods after the operationId and list them by tag and summary. An approval
    operation's summary was the first line of its docstring: 「驳回到环节」 and 「跳转」 stopped
    mid-sentence ("… The steps from there on are"), and 「委派」 showed a Sphinx role."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    operations = [op for methods in document["paths"].values() for op in methods.values()]
    ids = [op.get("operationId") for op in operations]
    assert None not in ids
    assert len(set(ids)) == len(ids)
    assert all(op.get("tags") and op.get("summary") for op in operations)
    broken = [
        op["summary"]
        for op in operations
        if "operations" in op["tags"]
        and (not op["summary"].endswith(".") or ":class:" in op["summary"] or "``" in op["summary"])
    ]
    assert broken == []


OPERATION_IDS = [
    ("DELETE", "/api/v1/proxies/{proxy_id}", "revokeProxy"),
    ("GET", "/api/v1/audit/verify", "verifyAuditChain"),
    ("GET", "/api/v1/plugins", "listPlugins"),
    ("GET", "/api/v1/processes", "listProcesses"),
    ("GET", "/api/v1/processes/{key}/diagram", "getProcessDiagram"),
    ("GET", "/api/v1/proxies", "listProxies"),
    ("GET", "/api/v1/proxies/{proxy_id}", "getProxy"),
    ("GET", "/api/v1/receptions", "listReceptions"),
    ("GET", "/api/v1/receptions/{ref}", "getReception"),
    ("GET", "/api/v1/receptions/{ref}/check", "checkReception"),
    ("GET", "/api/v1/receptions/{ref}/diagram", "getReceptionDiagram"),
    ("GET", "/api/v1/receptions/{ref}/explanations", "getExplanations"),
    ("GET", "/api/v1/receptions/{ref}/history", "getHistory"),
    ("GET", "/api/v1/receptions/{ref}/list", "exportReceptionList"),
    ("GET", "/api/v1/receptions/{ref}/operations", "listOperations"),
    ("GET", "/api/v1/receptions/{ref}/triggers", "listTriggers"),
    ("GET", "/api/v1/reports/{kind}", "getReport"),
    ("GET", "/api/v1/standards", "getStandards"),
    ("GET", "/api/v1/tasks", "listTasks"),
    ("GET", "/api/v1/tasks/counts", "countTasks"),
    ("GET", "/healthz", "getLiveness"),
    ("GET", "/metrics", "getMetrics"),
    ("GET", "/readyz", "getReadiness"),
    ("POST", "/api/v1/checks", "checkUnsavedReception"),
    ("POST", "/api/v1/proxies", "setProxy"),
    ("POST", "/api/v1/receptions", "createReception"),
    ("POST", "/api/v1/receptions/{ref}/operations/add-signers", "addSigners"),
    ("POST", "/api/v1/receptions/{ref}/operations/against", "voteAgainst"),
    ("POST", "/api/v1/receptions/{ref}/operations/assign", "assignItems"),
    ("POST", "/api/v1/receptions/{ref}/operations/claim", "claimTask"),
    ("POST", "/api/v1/receptions/{ref}/operations/comment", "addComment"),
    ("POST", "/api/v1/receptions/{ref}/operations/complete", "completeTask"),
    ("POST", "/api/v1/receptions/{ref}/operations/copy", "copyReception"),
    ("POST", "/api/v1/receptions/{ref}/operations/delegate", "delegateTask"),
    ("POST", "/api/v1/receptions/{ref}/operations/jump", "jumpReception"),
    ("POST", "/api/v1/receptions/{ref}/operations/problem", "reportProblem"),
    ("POST", "/api/v1/receptions/{ref}/operations/read", "markRead"),
    ("POST", "/api/v1/receptions/{ref}/operations/remove-signer", "removeSigner"),
    ("POST", "/api/v1/receptions/{ref}/operations/reply", "replyToDelegation"),
    ("POST", "/api/v1/receptions/{ref}/operations/send-back", "sendBackToStep"),
    ("POST", "/api/v1/receptions/{ref}/operations/take-back", "takeBackSignature"),
    ("POST", "/api/v1/receptions/{ref}/operations/terminate", "terminateReception"),
    ("POST", "/api/v1/receptions/{ref}/operations/transfer", "transferTask"),
    ("POST", "/api/v1/receptions/{ref}/operations/urge", "urgeTasks"),
    ("POST", "/api/v1/receptions/{ref}/triggers/{trigger}", "fireTrigger"),
]
"""Every operation's (method, path, operationId), sorted: the method names of every generated client.
Changing one breaks every vendor's code, so it is a change made here on purpose."""


def test_every_operation_has_a_stable_verb_phrase_id(server: Server) -> None:
    """An operationId is the method name a generated client gets. Most were made from the path and
    the handler (``ApiV1ReceptionsRefTriggersFire``, ``HealthzHealthz``), the approval operations
    were ``operate_claim``: ugly in Java and .NET, and renamed whenever a path or a handler was.
    Each is written out, lowerCamelCase, a verb phrase, unique."""
    import re

    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    found = sorted(
        (method.upper(), path, operation["operationId"])
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    )
    ids = [operation_id for _m, _p, operation_id in found]
    assert [i for i in ids if not re.fullmatch(r"[a-z][A-Za-z0-9]+", i)] == []
    assert len(set(ids)) == len(ids)
    assert found == sorted(OPERATION_IDS)


def test_money_is_a_decimal_string_with_its_pattern(server: Server) -> None:
    """Money (and every other decimal) is written as a string, ``"180.00"``: the document said only
    ``type: string``, the same as free text, so a generated client had no way to tell an amount."""
    import re

    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    components = document["components"]["schemas"]
    amounts = {
        "Plan": "budget",
        "Meal": "cost",
        "Lodging": "price_per_night",
        "Invoice": "amount",
        "Payment": "amount",
        "ListItem": "cost",
    }
    patterns = {
        f"{name}.{field}": components[name]["properties"][field].get("pattern")
        for name, field in amounts.items()
    }
    assert set(patterns.values()) == {r"^-?[0-9]+(\.[0-9]+)?$"}, patterns
    with server.client("zhang.wei") as c:
        plan = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["plan"]
    written = [
        plan["budget"],
        *(m["cost"] for m in plan["meals"]),
        *(lo["price_per_night"] for lo in plan["lodgings"]),
    ]
    assert len(written) >= 2
    assert all(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value) for value in written), written


def test_readiness_declares_its_503(server: Server) -> None:
    """``/readyz`` answers 503 with the same body when the database is not ready (a load balancer or
    a generated health client reads it): the document declared only its 200."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    responses = document["paths"]["/readyz"]["get"]["responses"]
    assert responses["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Health"
    }
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Health"
    }


def test_the_problems_every_operation_can_give_are_declared(server: Server) -> None:
    """A client generated from the document decodes an error's problem details only for the status
    codes an operation declares. Every API operation can give a 500 (``internal``, a faulty
    deployment) and a 503 (``storage``), and every one that reads a body a 413 and a 415, all as
    problem details: none was declared."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    missing = []
    for path, methods in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in methods.items():
            wanted = {"401", "500", "503"} | ({"413", "415"} if "requestBody" in operation else set())
            for code in sorted(wanted):
                content = operation["responses"].get(code, {}).get("content", {})
                if "application/problem+json" not in content:
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    with server.client("zhang.wei") as c:
        form = c.post(
            "/api/v1/receptions",
            content=b"a=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert (form.status_code, form.headers["Content-Type"]) == (415, "application/problem+json")


def _both(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    """The 3.1 document and its 3.0 rendering, as a generator fetches them: without a token."""
    newer = httpx.get(f"{server.base}/schema/openapi.json", timeout=30)
    older = httpx.get(f"{server.base}/schema/openapi-3.0.json", timeout=30)
    assert (newer.status_code, older.status_code) == (200, 200)
    assert (
        older.headers["Content-Type"] == newer.headers["Content-Type"] == "application/vnd.oai.openapi+json"
    )
    return newer.json(), older.json()


OAS30_SCHEMA_KEYWORDS = {
    *("title", "description", "format", "default", "enum", "pattern", "multipleOf", "example"),
    *("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"),
    *("minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "required"),
    *("readOnly", "writeOnly", "deprecated", "discriminator", "xml", "externalDocs", "nullable", "$ref"),
    *("type", "items", "not", "additionalProperties", "properties", "allOf", "oneOf", "anyOf"),
}
"""The Schema Object of OpenAPI 3.0.3, keyword by keyword."""


def _schema_keywords(node: Any, where: str, inside: bool = False) -> list[tuple[str, str, Any]]:
    """(where, keyword, value) of every schema keyword under ``node`` (extensions and examples skipped)."""
    if isinstance(node, list):
        return [
            found for i, item in enumerate(node) for found in _schema_keywords(item, f"{where}[{i}]", inside)
        ]
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        at = f"{where}.{key}"
        if key.startswith("x-"):
            continue
        if key in ("example", "examples", "default", "enum"):  # values, not schemas
            found += [(where, key, value)] if inside else []
        elif inside and key == "properties":
            found.append((where, key, value))
            found += [kw for name, s in value.items() for kw in _schema_keywords(s, f"{at}.{name}", True)]
        elif inside:
            found.append((where, key, value))
            found += _schema_keywords(value, at, True)
        else:
            found += _schema_keywords(value, at, key == "schema" or where == "$.components.schemas")
    return found


def test_both_documents_validate_each_against_its_version(server: Server) -> None:
    """NSwag and Microsoft.OpenApi 1.x do not read OpenAPI 3.1, so a .NET host could not generate a
    client: ``/schema/openapi-3.0.json`` is the same document in 3.0.3, derived from the 3.1 one (never
    a second schema), and valid. A 3.1-only construct the conversion does not know fails here (the
    conversion refuses it, or the validator or the keyword walk finds it), not in a vendor's build."""
    newer, older = _both(server)
    OpenAPIV31SpecValidator(newer).validate()
    OpenAPIV30SpecValidator(older).validate()
    assert (newer["openapi"], older["openapi"]) == ("3.1.0", "3.0.3")
    assert older == downgrade(newer)
    keywords = _schema_keywords(older, "$")
    assert len(keywords) > 1000  # the walk reaches every schema
    left = [
        f"{where}.{key}"
        for where, key, value in keywords
        if key not in OAS30_SCHEMA_KEYWORDS
        or (key == "type" and value not in ("string", "number", "integer", "boolean", "array", "object"))
        or (key.startswith("exclusiveM") and not isinstance(value, bool))
    ]
    assert left == []
    assert any(key == "nullable" for _where, key, _value in keywords)


def _outline(document: dict[str, Any]) -> dict[str, Any]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {
        f"{method.upper()} {path}": (
            operation.get("operationId"),
            operation.get("tags"),
            sorted((p["name"], p["in"], p.get("required", False)) for p in operation.get("parameters", ())),
            sorted((operation.get("requestBody") or {}).get("content", ())),
            {code: sorted(r.get("content", ())) for code, r in operation["responses"].items()},
            operation.get("security"),
        )
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in methods
    }


def test_the_3_0_document_describes_the_same_api(server: Server) -> None:
    """A client generated from either document has the same methods: the same paths and operations,
    operationIds, parameters, bodies, answers and components."""
    newer, older = _both(server)
    assert len(_outline(newer)) >= 40
    assert _outline(older) == _outline(newer)
    assert {kind: sorted(found) for kind, found in older["components"].items()} == {
        kind: sorted(found) for kind, found in newer["components"].items()
    }
    assert {key: older.get(key) for key in ("info", "servers", "security", "tags")} == {
        key: newer.get(key) for key in ("info", "servers", "security", "tags")
    }


def test_every_start_serves_the_same_document_byte_for_byte(tmp_path: Path) -> None:
    """The framework keeps a handler's response headers in a set; under another hash seed (another
    worker, another start) they came in another order. The document is sorted where it was not."""
    served = []
    for seed in ("1", "2"):
        folder = tmp_path / seed
        folder.mkdir()
        with running(f"sqlite:///{folder / 'jiedai.db'}", folder, env={"PYTHONHASHSEED": seed}) as started:
            served.append(httpx.get(f"{started.base}/schema/openapi.json", timeout=30).content)
    assert served[0] == served[1]


API_PROBLEMS = {"401", "429", "500", "503"}
"""What every API operation may answer: who calls (and too many failures of it), the service, the database."""

DECLARED = [
    ("GET", "/api/v1/tasks", {"422"}),
    ("GET", "/api/v1/tasks/counts", set()),
    ("GET", "/api/v1/receptions", {"422"}),
    ("GET", "/api/v1/receptions/{ref}", {"400", "404"}),
    ("GET", "/api/v1/receptions/{ref}/check", {"400", "404", "422"}),
    ("GET", "/api/v1/reports/{kind}", {"422", "501"}),
    ("GET", "/api/v1/proxies/{proxy_id}", {"404"}),
    ("DELETE", "/api/v1/proxies/{proxy_id}", {"403", "404"}),
    ("POST", "/api/v1/checks", {"413", "415", "422"}),
    ("POST", "/api/v1/proxies", {"403", "413", "415", "422"}),
    ("POST", "/api/v1/receptions", {"403", "409", "413", "415", "422"}),
    (
        "POST",
        "/api/v1/receptions/{ref}/triggers/{trigger}",
        {"400", "403", "404", "409", "412", "413", "415", "422", "428"},
    ),
    (
        "POST",
        "/api/v1/receptions/{ref}/operations/urge",
        {"400", "403", "404", "409", "412", "413", "415", "422", "428"},
    ),
]
"""The problems some operations declare beyond :data:`API_PROBLEMS`, one of each kind."""


@pytest.mark.parametrize(("method", "path", "problems"), DECLARED, ids=[f"{m} {p}" for m, p, _ in DECLARED])
def test_an_operation_declares_the_problems_it_can_give_and_no_other(
    server: Server, method: str, path: str, problems: set[str]
) -> None:
    """Every operation declared the same ten problems, so a generated client expected a 404 from a
    list of tasks and a 409 or 412 from reading a reception, which neither can give: each declares
    those it can (docs/http.md, 状态码), in both documents."""
    for document in _both(server):
        responses = document["paths"][path][method.lower()]["responses"]
        assert {code for code in responses if not code.startswith("2")} == API_PROBLEMS | problems


def test_what_an_operation_does_says_what_it_may_answer(server: Server) -> None:
    """The rules behind the declared problems, for every API operation: 413 and 415 only with a
    body; 403 only on a write (the supervisor writes nothing); 412 and 428 only on a command on a
    reception, 409 on no read; 400 only where ``{ref}`` names a reception, which the start of an id
    may do ambiguously."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    wrong = []
    for path, methods in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in methods.items():
            declared = set(operation["responses"])
            wanted = {
                "400": "{ref}" in path,
                "403": method != "get" and path != "/api/v1/checks",  # a dry run writes nothing
                "412": "/triggers/" in path or "/operations/" in path,
                "413": "requestBody" in operation,
                "415": "requestBody" in operation,
                "428": "/triggers/" in path or "/operations/" in path,
            }
            wrong += [
                f"{method.upper()} {path} {code}" for code, due in wanted.items() if due != (code in declared)
            ]
            wrong += [f"{method.upper()} {path} {code}" for code in sorted(API_PROBLEMS - declared)]
            if method == "get":
                wrong += [f"GET {path} {code}" for code in ("409", "412", "428") if code in declared]
    assert wrong == []


def test_every_answer_the_http_tests_get_is_declared() -> None:
    """Each HTTP test's answers are held to the document when its service stops
    (``tests/_http_server.running``): a status an operation gives that it does not declare fails
    the test that got it. The check itself: an operation found by its path, the most literal
    template first; a status it does not declare named; a page, or a method with no operation, not
    the document's."""
    from tests._http_server import undeclared

    urged = {"responses": {"200": {}, "429": {}}}
    fired = {"responses": {"200": {}, "409": {}}}
    document = {
        "paths": {
            "/api/v1/receptions/{ref}/operations/urge": {"post": urged},
            "/api/v1/receptions/{ref}/triggers/{trigger}": {"post": fired},
            "/api/v1/receptions/{ref}/{part}/{name}": {"post": {"responses": {}}},
        }
    }
    answers = [
        ("POST", "/api/v1/receptions/r1/operations/urge", 429),
        ("POST", "/api/v1/receptions/r1/operations/urge", 409),
        ("POST", "/api/v1/receptions/r1/triggers/submit", 409),
        ("POST", "/api/v1/receptions/r1/triggers/submit", 412),
        ("GET", "/api/v1/receptions/r1/triggers/submit", 405),
        ("GET", "/web/receptions", 200),
    ]
    assert undeclared(document, answers) == [
        "POST /api/v1/receptions/r1/operations/urge 409",
        "POST /api/v1/receptions/r1/triggers/submit 412",
    ]


def test_every_429_declares_its_retry_after(server: Server) -> None:
    """Too many failed authentications, or 催办 the same task again within the hour, is a 429 with
    ``Retry-After`` in whole seconds (test_http_security, test_http_tasks): the answer declared no
    header, so a generated client could not read how long to wait."""
    for document in _both(server):
        answers = [
            (f"{method.upper()} {path}", operation["responses"]["429"])
            for path, methods in document["paths"].items()
            for method, operation in methods.items()
            if "429" in operation["responses"]
        ]
        assert len(answers) >= 40  # every API operation
        wrong = [
            name
            for name, answer in answers
            if (answer.get("headers") or {}).get("Retry-After", {}).get("schema")
            != {"type": "integer", "minimum": 1}
            or answer["headers"]["Retry-After"].get("required") is not True
        ]
        assert wrong == []


TASK_KINDS = ["approval", "execution", "cc", "started"]


def test_a_task_line_declares_its_kinds_and_no_state_is_pinned_to_a_process(server: Server) -> None:
    """A task line's ``kind`` is a string in Python (a page builds one line per row, without an
    enum's conversion) and was ``type: string`` in the document: a generated client could not switch
    on it. It is an enum there, of the kinds the library defines. A state stays a string: a county's
    process may add states, and a client generated before (Jackson refuses an enum value it does not
    know) would then fail on every answer carrying one; ``GET /processes`` lists the states."""
    for document in _both(server):
        components = document["components"]["schemas"]
        line = components["TaskRow"]["properties"]
        assert line["kind"] == {"type": "string", "enum": TASK_KINDS}
        assert line["state"] == {"type": "string"}
        assert components["Reception"]["properties"]["state"] == {"type": "string"}
    with server.client("zhang.wei") as c:
        assert c.post("/api/v1/receptions", json=reception_body()).status_code == 201
        started = c.get("/api/v1/tasks", params={"view": "started"}).json()["items"]
    assert started
    assert {row["kind"] for row in started} == {"started"}

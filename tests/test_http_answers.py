"""Answers as the OpenAPI document declares them: every property of an answer is required, because the
service always writes it, and real answers of a running ``jiedai serve`` carry every one."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from jiedai_flow.cli import starter
from tests._http_server import COUNTERSIGN_ACTORS, list_body, reception_body, running

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server


STANDARDS = (
    starter.STANDARDS_TOML
    + f"""
[[standards.approval_tiers]]
steps = ["部门负责人", "分管领导"]
min_amount = "1000000.00"

[[standards.countersigns]]
label = "大额会签"
kind = "parallel"
min_amount = "1000000.00"
people = ["qian.bo", "zheng.li"]

[[standards.budgets]]
host_unit = "县财政局"
year = {date.today().year}
amount = "100000.00"
"""
)
"""The starter standards, and a tier, a countersign and a budget that change nothing for the starter
reception: the standards in force then show one of each."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-answers")
    db = f"sqlite:///{folder / 'jiedai.db'}"
    with running(db, folder, extra_actors=COUNTERSIGN_ACTORS, standards=STANDARDS) as found:
        yield found


def _named(node: Any) -> list[str]:
    return re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(node))


def _carried(document: dict[str, Any]) -> set[str]:
    """The components a request may carry (in a body or a parameter), and those they name."""
    components = document["components"]["schemas"]
    todo = [
        name
        for item in document["paths"].values()
        for operation in item.values()
        for name in _named({k: v for k, v in operation.items() if k != "responses"})
    ]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += _named(components[name])
    return found


def _answer_only(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    carried = _carried(document)
    return {
        name: schema
        for name, schema in document["components"]["schemas"].items()
        if name not in carried and "properties" in schema
    }


@pytest.mark.parametrize("path", ["/schema/openapi.json", "/schema/openapi-3.0.json"])
def test_an_answer_requires_every_property(server: Server, path: str) -> None:
    """A .NET or Java client generated from the document made every answer property with a default in
    Python optional (``int?``, ``string?``) although the service always writes it: a component only
    answers carry requires them all, a null one stays nullable. What a request carries (a plan, a
    meal) keeps its defaults optional, so a client can send back a plan it read with fields left out."""
    document = httpx.get(f"{server.base}{path}", timeout=30).json()
    components = document["components"]["schemas"]
    answers = _answer_only(document)
    loose = {name: sorted(set(s["properties"]) - set(s.get("required", ()))) for name, s in answers.items()}
    assert {name: names for name, names in loose.items() if names} == {}
    assert {"Reception", "CommandResult", "AuditEvent", "TaskPage", "TaskRow", "TaskCounts"} <= answers.keys()
    assert {"Report", "AnnualSummaryRow", "ProblemDetails", "Standards", "Health", "Proxy"} <= answers.keys()
    assert "null" in json.dumps(components["TaskPage"]["properties"]["next_cursor"])
    assert {"Plan", "Meal", "ReceptionList", "FireRequest", "ProxyRequest"} <= _carried(document)
    assert components["Plan"].get("required", []) == []
    assert components["ProxyRequest"]["required"] == ["end", "stand_in", "start"]


def _absent(
    value: Any, schema: dict[str, Any], components: dict[str, Any], seen: set[str], path: str = "$"
) -> list[str]:
    """The properties ``schema`` requires that ``value`` lacks, at any depth; ``seen`` gathers the
    components that described a value."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        seen.add(name)
        schema = components[name]
    branches = [b for b in schema.get("oneOf", schema.get("anyOf", ())) if b.get("type") != "null"]
    if branches:  # the branch the value fits best (a report row is one of three)
        if value is None:
            return []
        tried = [(_absent(value, b, components, found := set(), path), found) for b in branches]
        best, found = min(tried, key=lambda t: len(t[0]))
        seen |= found
        return best
    if isinstance(value, list) and "items" in schema:
        return [
            m
            for i, item in enumerate(value)
            for m in _absent(item, schema["items"], components, seen, f"{path}[{i}]")
        ]
    if not isinstance(value, dict):
        return []
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    return [f"{path}.{name}" for name in schema.get("required", ()) if name not in value] + [
        missing
        for key, item in value.items()
        for inner in ([properties[key]] if key in properties else [extra] if isinstance(extra, dict) else [])
        for missing in _absent(item, inner, components, seen, f"{path}.{key}")
    ]


EXPLAINED = {"L-03": "派出单位临时增派一人，已电话确认"}
"""The written explanation of the one guest more than the letter named (rule L-03)."""


def _one_guest_more() -> dict[str, Any]:
    """The starter list with a fourth guest the letter does not name: a finding that asks for a
    written explanation, so the reception carries one."""
    body = list_body()
    body["guests"].append({"name": "吴静", "unit": "市农业农村局", "post": "科员", "rank": "乡科级及以下"})
    return body


def _claimed_after(server: Server, invoice: str) -> None:
    """Another starter reception of the same unit up to its claim, its canteen invoice numbered
    ``invoice``: right after the first's, so the year's red flags show consecutive invoices."""
    listing = list_body()
    listing["invoices"][0]["number"] = invoice

    def call(actor: str, method: str, path: str, **kwargs: Any) -> Any:
        with server.client(actor) as c:
            answer = c.request(method, f"/api/v1{path}", **kwargs)
        assert answer.is_success, answer.text
        return answer.json()

    at = f"/receptions/{call('zhang.wei', 'POST', '/receptions', json=reception_body())['reception']['id']}"
    for actor, trigger, body in [
        ("zhang.wei", "submit", {}),
        ("sun.hao", "approve", {"reason": "同意"}),
        ("li.na", "approve", {"reason": "同意"}),
        ("zhang.wei", "start", {}),
        ("zhang.wei", "finish", {}),
        ("zhang.wei", "claim", {"reception_list": listing}),
    ]:
        call(actor, "POST", f"{at}/triggers/{trigger}", json=body)


def _lifecycle(server: Server) -> list[tuple[str, httpx.Response]]:
    """A reception from registration to settlement, copied, commented and stood in for, and every
    kind of answer the API gives on the way: (operation path, answer)."""
    answers: list[tuple[str, httpx.Response]] = []

    def call(actor: str, method: str, path: str, template: str = "", **kwargs: Any) -> Any:
        with server.client(actor) as c:
            answer = c.request(method, f"/api/v1{path}", **kwargs)
        answers.append((f"{method.lower()} /api/v1{template or path}", answer))
        return answer.json()

    created = call("zhang.wei", "POST", "/receptions", json=reception_body())
    rid = created["reception"]["id"]
    at = f"/receptions/{rid}"
    for path in ("triggers", "operations"):  # while there are some
        call("zhang.wei", "GET", f"{at}/{path}", f"/receptions/{{ref}}/{path}")
    call("zhang.wei", "POST", f"{at}/triggers/submit", "/receptions/{ref}/triggers/{trigger}", json={})
    call(
        "zhang.wei",
        "POST",
        f"{at}/operations/copy",
        "/receptions/{ref}/operations/copy",
        json={"people": ["chen.jie"]},
    )
    call("chen.jie", "POST", f"{at}/operations/read", "/receptions/{ref}/operations/read", json={})
    call(
        "zhang.wei",
        "POST",
        f"{at}/operations/comment",
        "/receptions/{ref}/operations/comment",
        json={"reason": "请核对"},
    )
    start = date.today().isoformat()
    stand_in = {"stand_in": "he.ping", "start": start, "end": start, "reason": "出差"}
    proxy = call("sun.hao", "POST", "/proxies", json=stand_in)
    for actor, trigger, body in [
        ("sun.hao", "approve", {"reason": "同意"}),
        ("li.na", "approve", {"reason": "同意"}),
        ("zhang.wei", "start", {}),
        ("zhang.wei", "finish", {}),
        ("zhang.wei", "claim", {"reception_list": _one_guest_more(), "explanations": EXPLAINED}),
        ("wang.fang", "settle", {}),
        ("zhang.wei", "no-such-trigger", {}),
    ]:
        call(actor, "POST", f"{at}/triggers/{trigger}", "/receptions/{ref}/triggers/{trigger}", json=body)
    _claimed_after(server, invoice="0451208")  # the next invoice of the same canteen: a red flag
    call("sun.hao", "DELETE", f"/proxies/{proxy['id']}", "/proxies/{proxy_id}")
    shown = call("liu.yang", "GET", at, "/receptions/{ref}")
    assert shown["state"] == "settled", shown
    for view in ("mine", "done", "cc", "started"):
        for actor in ("zhang.wei", "sun.hao", "chen.jie"):
            call(actor, "GET", "/tasks", params={"view": view})
    year = shown["start"][:4]
    for kind in ("summary", "disclosure", "red-flags"):
        call("liu.yang", "GET", f"/reports/{kind}", "/reports/{kind}", params={"year": year})
    for path in ("history", "triggers", "operations", "check", "explanations"):
        call("zhang.wei", "GET", f"{at}/{path}", f"/receptions/{{ref}}/{path}")
    call("zhang.wei", "POST", "/checks", json=reception_body())
    call("zhang.wei", "POST", "/receptions", json={"header": {}})  # refused: problems with paths
    call("zhang.wei", "GET", "/receptions/no-such-reception", "/receptions/{ref}")
    standards = {"jurisdiction": "341502", "on": shown["start"]}
    for path, params in [
        ("/receptions", {}),
        ("/tasks/counts", {}),
        ("/proxies", {}),
        ("/standards", standards),
    ]:
        call("sun.hao", "GET", path, params=params)
    for path in ("/audit/verify", "/processes", "/plugins"):
        call("liu.yang", "GET", path)
    for path in ("/healthz", "/readyz"):
        answers.append((f"get {path}", httpx.get(f"{server.base}{path}", timeout=30)))
    return answers


def test_every_answer_carries_every_property_it_requires(server: Server) -> None:
    """What the document requires of an answer is in every real one — a command's result, a reception,
    its history, the task lists, a report, the standards, a problem — for every component only
    answers carry: a property marked required that the service sometimes left out would break a
    generated client's decoding rather than leave a field empty."""
    document = httpx.get(f"{server.base}/schema/openapi.json", timeout=30).json()
    components = document["components"]["schemas"]
    seen: set[str] = set()
    absent = []
    for operation, answer in _lifecycle(server):
        method, path = operation.split(" ", 1)
        declared = document["paths"][path][method]["responses"][str(answer.status_code)]
        media = answer.headers["Content-Type"].split(";")[0]
        schema = declared["content"][media]["schema"]
        absent += [
            f"{operation} {answer.status_code} {m}" for m in _absent(answer.json(), schema, components, seen)
        ]
    assert absent == []
    assert sorted(_answer_only(document).keys() - seen) == []

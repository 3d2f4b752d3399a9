"""Standards layers from TOML files 标准文件.

One file is one layer: who issued it and where and when it applies at the top, and under
``[standards]`` only the fields that differ from the layer above::

    name = "六安市"
    level = "city"                 # national / province / city / county, or 国家 / 省 / 市 / 县
    jurisdiction = "3415"          # GB/T 2260 code prefix the layer covers
    effective_from = 2014-01-01
    source = "六安市市场监管局《公务接待有关规定》"

    [standards]
    accepted_letters = ["公函", "电话记录"]
    claim_deadline_months = 1

Every problem is reported at once, with the file, the line and the field.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import attrs

from jiedai_flow.domain.loading import converter, problems_from, read_toml, with_lines
from jiedai_flow.domain.model import InvalidValueError, shown
from jiedai_flow.domain.records import StepKind
from jiedai_flow.domain.standards import (
    DEFAULT_EFFECTIVE_FROM,
    STANDARDS_FIELDS,
    CountersignRule,
    Level,
    Standards,
    StandardsLayer,
    UnitKind,
    countersign_problems,
    never_in_force,
    unknown_field,
)
from jiedai_flow.errors import Problem, ValidationError

_LEVELS = {
    "national": Level.NATIONAL,
    "国家": Level.NATIONAL,
    "全国": Level.NATIONAL,
    "province": Level.PROVINCE,
    "省": Level.PROVINCE,
    "city": Level.CITY,
    "市": Level.CITY,
    "county": Level.COUNTY,
    "县": Level.COUNTY,
    "unit": Level.UNIT,
    "单位": Level.UNIT,
}
_DEFAULT_KIND = attrs.fields(CountersignRule).kind.default
_HEADER_KEYS = {
    "name",
    "level",
    "jurisdiction",
    "effective_from",
    "effective_to",
    "source",
    "standards",
    "host_units",
    "unit_kinds",
    "articles",
}


def load_standards_file(path: str | Path) -> StandardsLayer:
    """Read one standards layer from a TOML file; ValidationError lists every problem with its line."""
    path = Path(path)
    return load_standards_text(path.read_text(encoding="utf-8"), source=str(path))


def load_standards_text(text: str, source: str = "<standards>") -> StandardsLayer:
    """Read one standards layer from TOML text (see the module docstring for the format)."""
    data = read_toml(text, source=source)  # syntax, nesting depth, NUL and lone surrogates
    problems: list[Problem] = []
    header = _header(data, problems)
    changes = _changes(data.get("standards", {}), problems)
    table = data.get("standards", {})
    written = set(table) if isinstance(table, dict) else set()
    for key in sorted((set(header.get("articles", {})) & set(STANDARDS_FIELDS)) - written):
        problems.append(  # a finding would cite the article for a value this layer never set
            Problem(
                f"$.articles.{key}",
                f"本层没有设定 {key}，不能为它写条款（条款只注明本层设定的字段出自哪一条）",
                f"this layer does not set {key}, so it has no article for it"
                " (articles cite the fields it sets)",
            )
        )
    if problems:
        raise ValidationError(with_lines(problems, text), source=source)
    return StandardsLayer(changes=changes, **header)


def _header(data: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    for key in sorted(set(data) - _HEADER_KEYS):
        problems.append(Problem(f"$.{key}", f"未知字段「{key}」", f"unknown field {key!r}"))
    header: dict[str, Any] = {}
    for key in ("name", "jurisdiction"):
        value = data.get(key)
        if not isinstance(value, str) or (key == "name" and not value.strip()):
            problems.append(Problem(f"$.{key}", f"「{key}」必须是文本", f"{key!r} must be text"))
        else:
            header[key] = value
    jurisdiction = header.get("jurisdiction", "")
    if jurisdiction and not (jurisdiction.isdigit() and len(jurisdiction) in (2, 4, 6)):
        problems.append(
            Problem(
                "$.jurisdiction",
                "辖区应为 2、4 或 6 位行政区划代码，全国为空字符串",
                "jurisdiction must be a 2-, 4- or 6-digit GB/T 2260 code ('' for national)",
            )
        )
    level = _LEVELS.get(str(data.get("level", "")))
    if level is None:
        problems.append(
            Problem(
                "$.level",
                "层级应为 national/province/city/county/unit（国家/省/市/县/单位）",
                "level must be national, province, city, county or unit",
            )
        )
    header["level"] = level
    for key in ("effective_from", "effective_to"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, date) and not hasattr(value, "hour"):
            header[key] = value
        else:
            problems.append(
                Problem(f"$.{key}", "应为 TOML 日期，如 2024-01-01", "must be a TOML date such as 2024-01-01")
            )
    starts, ends = header.get("effective_from", DEFAULT_EFFECTIVE_FROM), header.get("effective_to")
    known = "effective_from" in header or "effective_from" not in data  # not when the start is itself wrong
    if known and ends is not None and ends <= starts:
        problems.append(never_in_force(starts, ends))
    if "source" in data:
        if isinstance(data["source"], str):
            header["source"] = data["source"]
        else:
            problems.append(
                Problem(
                    "$.source",
                    f"「source」应为依据文件的名称（文本），收到 {shown(data['source'])}",
                    f"'source' must name the document (text), got {shown(data['source'])}",
                )
            )
    _unit_scope(data, header, problems)
    if not isinstance(data.get("standards", {}), dict):
        problems.append(Problem("$.standards", "[standards] 应为表", "[standards] must be a table"))
    return header


def _unit_scope(data: dict[str, Any], header: dict[str, Any], problems: list[Problem]) -> None:
    """``host_units``, ``unit_kinds`` (a unit layer) and ``articles`` of the header."""
    units = data.get("host_units", [])
    if not isinstance(units, list) or not all(isinstance(u, str) and u.strip() for u in units):
        problems.append(
            Problem(
                "$.host_units", "「host_units」应为单位名称列表", "'host_units' must be a list of unit names"
            )
        )
    else:
        header["host_units"] = frozenset(u.strip() for u in units)
    kinds = data.get("unit_kinds", [])
    if not isinstance(kinds, list):
        problems.append(Problem("$.unit_kinds", "「unit_kinds」应为列表", "'unit_kinds' must be a list"))
        kinds = []
    parsed = set()
    for i, kind in enumerate(kinds):
        try:
            parsed.add(UnitKind.parse(str(kind)))
        except InvalidValueError as exc:
            problems.append(Problem(f"$.unit_kinds[{i}]", exc.message_zh, exc.message_en))
    header["unit_kinds"] = frozenset(parsed)
    if header.get("level") is Level.UNIT and not (header.get("host_units") or parsed):
        problems.append(
            Problem(
                "$.host_units",
                "单位层须写明适用的单位（host_units）或单位类型（unit_kinds）",
                "a unit layer names its host units (host_units) or unit kinds (unit_kinds)",
            )
        )
    articles = data.get("articles", {})
    if not isinstance(articles, dict) or not all(isinstance(v, str) for v in articles.values()):
        problems.append(
            Problem(
                "$.articles", "「articles」应为 字段 = 条款 的表", "'articles' must map fields to articles"
            )
        )
        return
    for key in sorted(set(articles) - set(STANDARDS_FIELDS)):
        problems.append(unknown_field(key, "$.articles"))
    header["articles"] = dict(articles)


def _countersign_problems(value: Any) -> list[Problem]:
    """The checks across a countersign's fields, on the file's own values: a countersign with a
    wrong field is never built, so its own checks would not run and their problems would go unsaid."""
    if not isinstance(value, list):
        return []
    found: list[Problem] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        names = [item.get(key, []) for key in ("units", "levels", "people")]
        approvers = sum(map(len, names)) if all(isinstance(n, list) for n in names) else None
        weights = item.get("weights", [])
        label = item.get("label")
        for problem in countersign_problems(
            label if isinstance(label, str) else "",
            _step_kind(item.get("kind", _DEFAULT_KIND)),
            approvers,
            len(weights) if isinstance(weights, list) else None,
        ):
            path = f"$.standards.countersigns[{i}].{problem.field}"
            found.append(Problem(path, problem.message_zh, problem.message_en))
    return found


_LISTS = (tuple, frozenset, list, set)


def _shape_problems(key: str, value: Any, tp: Any) -> list[Problem]:
    """A list or a table where the field wants the other (or a single value): cattrs would iterate
    a table's keys or a text's characters (``banned_dishes = "鲍鱼"`` banning every dish with 鱼),
    say "'int' object is not iterable", or fail outright on a number for a table."""
    path = f"$.standards.{key}"
    origin = typing.get_origin(tp)
    if origin in _LISTS and not isinstance(value, list):
        tables = attrs.has(typing.get_args(tp)[0])
        zh = f"（每项一个 [[standards.{key}]] 表）" if tables else _like(value)
        en = f" (one [[standards.{key}]] table each)" if tables else _like(value, en=True)
        return [
            Problem(
                path, f"「{key}」应为列表{zh}{_got_zh(value)}", f"{key!r} must be a list{en}{_got_en(value)}"
            )
        ]
    if origin is not Mapping:
        return []
    if not isinstance(value, dict):
        return [
            Problem(
                path,
                f"「{key}」应为表（键 = 值）{_got_zh(value)}",
                f"{key!r} must be a table{_got_en(value)}",
            )
        ]
    if typing.get_origin(typing.get_args(tp)[1]) not in _LISTS:
        return []
    return [
        Problem(
            f"{path}[{k}]",
            f"应为列表{_like(v)}{_got_zh(v)}",
            f"must be a list{_like(v, en=True)}{_got_en(v)}",
        )
        for k, v in value.items()
        if not isinstance(v, list)
    ]


def _like(value: object, *, en: bool = False) -> str:
    """An example of the list a single text was meant to be."""
    if not isinstance(value, str):
        return ""
    return f', e.g. ["{value}"]' if en else f'，如 ["{value}"]'


def _got_zh(value: object) -> str:
    return f"，收到 {shown(value)}（{type(value).__name__}）"


def _got_en(value: object) -> str:
    return f", got {shown(value)} ({type(value).__name__})"


def _step_kind(value: object) -> StepKind | None:
    """A countersign's ``kind`` as written, or None when it is wrong (reported at its own path)."""
    try:
        return StepKind.parse(value) if isinstance(value, str) else None
    except InvalidValueError:
        return None


def _changes(table: Any, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(table, dict):
        return {}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        field = STANDARDS_FIELDS.get(key)
        if field is None:
            problems.append(unknown_field(key))
            continue
        shape = _shape_problems(key, value, field.type)
        if shape:
            problems.extend(shape)
            continue
        found: list[Problem] = []
        try:
            changes[key] = converter.structure(value, field.type or object)
            if field.validator is not None:  # the field's own bounds, at its path (they never read self)
                field.validator(None, field, changes[key])
        except InvalidValueError as exc:
            changes.pop(key, None)
            found = [Problem(f"$.standards.{key}", exc.message_zh, exc.message_en)]
        except (ValueError, TypeError, KeyError, ExceptionGroup) as exc:
            changes.pop(key, None)
            found = problems_from(exc, f"$.standards.{key}")
        if key == "countersigns":
            across = _countersign_problems(value)
            said = {p.message_zh for p in across}  # the rules that could be built said some already
            found = [p for p in found if p.message_zh not in said] + across
        problems.extend(found)
    if changes:
        try:  # cross-field sanity: the folded result must be a valid Standards on its own
            Standards(**changes)
        except InvalidValueError as exc:
            problems.append(
                Problem(f"$.standards.{exc.field or ''}".rstrip("."), exc.message_zh, exc.message_en)
            )
        except (ValueError, TypeError) as exc:
            problems.append(Problem("$.standards", f"标准无效：{exc}", f"invalid standards: {exc}"))
    return changes

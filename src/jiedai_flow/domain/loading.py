"""Plain data (JSON/TOML shapes) to model objects and back, with every problem reported at once.

``load(Plan, data)`` returns the object or raises :class:`~jiedai_flow.errors.ValidationError`,
whose ``problems`` name each wrong value by path (``$.meals[2].cost``), Chinese message first.
``dump(obj)`` gives JSON-safe data that ``load`` reads back to an equal object.
``read_toml(text)`` and ``check_document(data)`` guard what a file may hold before it is loaded:
nesting at most :data:`MAX_DEPTH` deep, no NUL character or lone surrogate in any key or string.

What storage cannot hold is refused here, at its path: every string is checked for NUL characters
and lone surrogates, and a field with ``stored_in(n)`` metadata for its column's length
(:func:`jiedai_flow.domain.model.check_text`); the model itself refuses amounts, totals and counts.

How: one cattrs converter with detailed validation. Leaf hooks are strict (no float money, no
``"3"`` for an int, no ``1`` for a bool) and raise :class:`~jiedai_flow.domain.model.InvalidValueError`.
Every attrs class gets a structure hook that also runs each field's own attrs validator on that
field, so a blank name is reported at its own path instead of cattrs' object-level
"invalid value"; checks that span fields (``__attrs_post_init__``) are reported at the object.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import re
import sys
import tomllib
import typing
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, override

from jiedai_flow.domain import model
from jiedai_flow.domain.model import MAX_LENGTH, InvalidValueError, LabelledEnum, check_text, money, shown
from jiedai_flow.errors import Problem, ValidationError

__all__ = [
    "MAX_DEPTH",
    "check_document",
    "converter",
    "dump",
    "load",
    "problems_from",
    "read_toml",
    "toml_syntax_problem",
    "too_deep",
    "unreadable_number",
]

T = TypeVar("T")
_Hook = Callable[[Any, Any], Any]

converter = cattrs.Converter(
    forbid_extra_keys=True,
    detailed_validation=True,
    # why: JSON has no tuple or set; sets are sorted so dumps are stable (diffs, hashes)
    unstruct_collection_overrides={Sequence: list, Set: sorted},
)


def load(cls: type[T], data: Mapping[str, Any], *, source: str | None = None) -> T:
    """Build ``cls`` from plain data; raise ``ValidationError`` listing every problem with its path.

    Dates are ISO strings (or ``date``), money strings or ints (never float), enums their value or
    Chinese label, sequences and sets lists. Unknown keys are errors. ``source`` names the file.
    """
    try:
        return converter.structure(data, cls)
    except (ValueError, TypeError, KeyError, ExceptionGroup) as exc:
        problems: list[Problem] = []
        _collect(exc, "$", problems)
        raise ValidationError(problems, source=source) from exc
    except RecursionError:
        raise ValidationError([too_deep("$")], source=source) from None


def problems_from(exc: BaseException, path: str = "$") -> list[Problem]:
    """Flatten a structuring error from :data:`converter` into Problems with paths under ``path``."""
    problems: list[Problem] = []
    _collect(exc, path, problems)
    return problems


def dump(obj: Any) -> Any:
    """Plain JSON-safe data: Decimal → ``"180.00"``, date → ISO, enum → value, set → sorted list."""
    return converter.unstructure(obj)


# --- Leaf hooks: strict, bilingual ---


def _type_error(value: object, zh: str, en: str) -> InvalidValueError:
    return InvalidValueError(
        f"{zh}，收到 {shown(value)}（{type(value).__name__}）",
        f"{en}, got {shown(value)} ({type(value).__name__})",
    )


def _structure_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _type_error(value, "应为文本", "expected a string")
    check_text(value)
    return value


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(value, "应为整数", "expected an integer")
    return value


def _structure_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise _type_error(value, "应为 true 或 false", "expected true or false")
    return value


def _structure_date(value: object, _: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = ascii_digits(value)
        try:
            return date.fromisoformat(text)
        except ValueError:
            if is_day_shaped(text):
                raise InvalidValueError(
                    f"没有这一天：{shown(value)}", f"no such day: {shown(value)}"
                ) from None
    raise _type_error(value, "日期格式应为 YYYY-MM-DD", "expected a date as YYYY-MM-DD")


def ascii_digits(text: str) -> str:
    """``text`` stripped, with full-width digits and dashes (２０２６－０３－０１, typed with a Chinese
    input method) made ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def is_day_shaped(text: str) -> bool:
    """Whether ``text`` is written as YYYY-MM-DD (then a refusal is of the day — 2026-02-30 — not
    of how it is written)."""
    return re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()) is not None  # ASCII digits only


def _structure_datetime(value: object, _: type) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _type_error(value, "时间格式应为 ISO 8601", "expected an ISO 8601 date-time")


def _structure_decimal(value: Any, _: type) -> Decimal:
    return money(value)


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    if isinstance(value, str):
        check_text(value)  # why: parse() quotes the text in its message, which must stay printable
    if issubclass(cls, LabelledEnum) and isinstance(value, str):
        return cls.parse(value)
    try:
        return cls(value)
    except ValueError:
        allowed = "、".join(str(m.value) for m in cls)
        raise _type_error(
            value,
            f"不是有效取值，可选：{allowed}",
            f"not a valid {cls.__name__}; one of: {allowed}",
        ) from None


converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(date, _structure_date)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_structure_hook(Decimal, _structure_decimal)
# why: class hooks dispatch by MRO, where str (or int) comes before Enum in a StrEnum (IntEnum)
for _base in (enum.Enum, enum.StrEnum, enum.IntEnum):
    converter.register_structure_hook(_base, _structure_enum)
    converter.register_unstructure_hook(_base, lambda e: e.value)
converter.register_unstructure_hook(Decimal, lambda d: format(d, "f"))
converter.register_unstructure_hook(date, lambda d: d.isoformat())
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())


# --- attrs classes: cattrs' generated hook, plus each field's validator run on that field ---

_COLLECTIONS = (tuple, list, frozenset, set)


def _field_hook(field: attrs.Attribute[Any]) -> _Hook:
    validator = field.validator
    max_length = field.metadata.get(MAX_LENGTH)

    def hook(value: Any, type_: Any) -> Any:
        # why: cattrs would happily turn "北京" into ("北", "京"), and say "'int' object is not
        # iterable" of a number
        if typing.get_origin(type_) in _COLLECTIONS and not isinstance(value, _COLLECTIONS):
            raise _type_error(value, "应为列表", "expected a list")
        result = converter.structure(value, type_)
        if max_length is not None and isinstance(result, str):
            check_text(result, field=field.name, max_length=max_length)  # the column it is stored in
        if validator is not None:
            try:
                validator(None, field, result)  # the model's validators never read the instance
            except (ValueError, TypeError):
                raise
            except Exception:
                pass  # a validator that reads the instance runs again in __init__, at the object
        return result

    return hook


def _attrs_hook(cls: type[Any]) -> _Hook:
    # why: ruff's TC rules move annotation-only imports (date, Decimal, model classes) under
    # TYPE_CHECKING; supply those names so such classes still resolve. The module's own win.
    namespace = {**vars(model), "date": date, "datetime": datetime, "Decimal": Decimal}
    attrs.resolve_types(cls, globalns={**namespace, **vars(sys.modules[cls.__module__])})
    overrides: dict[str, Any] = {
        f.name: override(struct_hook=_field_hook(f)) for f in attrs.fields(cls) if f.init
    }
    structure = make_dict_structure_fn(cls, converter, **overrides)

    def hook(value: Any, _: Any) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise _type_error(value, "应为对象（键值表）", "expected an object (mapping)")
        return structure(value, cls)

    return hook


converter.register_structure_hook_factory(attrs.has, _attrs_hook)


# --- cattrs' exception tree → flat list of Problems with paths ---


def _collect(exc: BaseException, path: str, out: list[Problem]) -> None:
    if isinstance(exc, ClassValidationError):
        with_notes, others = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(sub, KeyError) and sub.args == (note.name,):
                out.append(
                    Problem(
                        f"{path}.{note.name}",
                        f"缺少必填字段「{note.name}」",
                        f"required field '{note.name}' is missing",
                    )
                )
            else:
                _collect(sub, f"{path}.{note.name}", out)
        for sub in others:  # from __init__: a check across fields, reported at the object
            _collect(sub, path, out)
    elif isinstance(exc, IterableValidationError):
        with_index, others = exc.group_exceptions()
        for sub, inote in with_index:
            _collect(sub, f"{path}[{inote.index}]", out)
        for sub in others:
            _collect(sub, path, out)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(map(_key, exc.extra_fields)):
            out.append(
                Problem(
                    f"{path}.{key}",
                    f"未知字段「{key}」，请检查拼写或删除",
                    f"unknown field '{key}'; check the spelling or remove it",
                )
            )
    elif isinstance(exc, InvalidValueError):
        out.append(Problem(path, exc.message_zh, exc.message_en))
    elif isinstance(exc, ValueError | TypeError):
        out.append(Problem(path, f"值无效：{exc}", f"invalid value: {exc}"))
    else:
        raise exc  # a bug, not bad data: let it surface as itself


# --- What a file may hold before it is loaded ---

MAX_DEPTH = 64
"""How deep tables and lists may nest in an input file; the deepest file the model reads nests
about six levels, and a parser or a printer given thousands would overflow Python's stack."""

_MAX_PROBLEMS = 50  # why: a file with a million NULs needs a few examples, not a million lines


# tomllib's messages (Python 3.11–3.13), each with what it most often means in a hand-written file
_TOML_SAYS = {
    "Invalid value": '取值写法不对（文本要加引号，日期写成 2026-03-10，金额写成 "275.00"）',
    "Invalid date or datetime": "日期或时间不存在或写法不对（如 2026-13-08）",
    "Expected newline or end of document after a statement": (
        "这一项的值后面还有内容（值写错了，如日期 2026-13-08；或一行写了两项）"
    ),
    "Invalid statement": "这一行不是「键 = 值」，也不是 [表] 的标题",
    "Expected '=' after a key in a key/value pair": "键后面缺少 =",
    "Invalid initial character for a key part": "键名以不允许的字符开头（含空格或中文的键名要加引号）",
    "Unterminated string": "文本缺少结束的引号",
    "Unclosed array": "列表缺少结束的 ]",
    "Unclosed inline table": "行内表缺少结束的 }",
    "Cannot overwrite a value": "同一个键写了两次",
    "Expected ']' at the end of a table declaration": "[表] 的标题缺少 ]",
    "Expected ']]' at the end of an array declaration": "[[表数组]] 的标题缺少 ]]",
}


def toml_syntax_problem(exc: tomllib.TOMLDecodeError) -> Problem:
    """A TOML syntax error as a Problem: tomllib's English as it is, its meaning in Chinese, and
    the line (``第 14 行第 17 列`` in the Chinese)."""
    text = str(exc)
    found = re.fullmatch(r"(.*) \(at (?:line (\d+), column (\d+)|end of document)\)", text, re.DOTALL)
    said, line, column = (found[1], found[2], found[3]) if found else (text, None, None)
    meaning = _TOML_SAYS.get(said, "")
    if not meaning and said.startswith("Cannot declare"):
        meaning = "同一个表或键写了两次"
    where = f"第 {line} 行第 {column} 列" if line else ("文件末尾" if found else "")
    zh = "TOML 语法错误" + (f"（{where}）" if where else "") + f"：{meaning or said}"
    return Problem("$", zh, f"TOML syntax error: {text}", int(line) if line else None)


@contextlib.contextmanager
def parsing() -> Iterator[None]:
    """No cyclic garbage collection while a recursive parser runs: a hostile file nested 50,000 deep
    ends in a RecursionError we report, but a collection that happens down there runs finalizers
    (a database pool's weakref callbacks) with no stack left, and Python prints their failure as
    "Exception ignored … Traceback" on stderr."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_toml(
    text: str, *, source: str | None = None, parse_float: Callable[[str], Any] = float
) -> dict[str, Any]:
    """Parse TOML text, then :func:`check_document` it; every failure is a ValidationError (a
    syntax error with its line, nesting too deep, a number too long to read), never a crash."""
    try:
        with parsing():
            data = tomllib.loads(text, parse_float=parse_float)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([toml_syntax_problem(exc)], source=source) from None
    except RecursionError:
        raise ValidationError([too_deep("$")], source=source) from None
    except ValueError as exc:  # why: tomllib lets int()'s 4300-digit limit through as ValueError
        raise ValidationError([unreadable_number(exc)], source=source) from None
    check_document(data, source=source)
    return data


class TomlLines:
    """Maps a field path such as ``$.standards.meal_standards[1].amount`` to its line in a TOML text:
    the line of the key, or of its nearest enclosing key or table. Tables, arrays of tables and
    ``key =`` lines are recognized; a value inside an inline table or array gets its key's line."""

    _TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*|\"[^\"]+\")\s*=")

    def __init__(self, text: str, root: str = "$") -> None:
        self.keys: dict[str, int] = {}
        table = root
        counts: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._TABLE.match(line)
            if header:
                name = f"{root}." + header.group(2).replace('"', "")
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    name = f"{name}[{index}]"
                table = name
                self.keys.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault(f"{table}.{key.group(1).strip(chr(34))}", number)

    def find(self, path: str) -> int | None:
        """The line of ``path`` or of its nearest enclosing key or table."""
        while path:
            if path in self.keys:
                return self.keys[path]
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return None
            path = path[:cut]
        return None


def with_lines(problems: Sequence[Problem], text: str, root: str = "$") -> list[Problem]:
    """``problems`` found in the TOML ``text``, each with its line (a line already known is kept);
    ``root`` is the path the text's top level is reported under."""
    lines = TomlLines(text, root)
    return [p if p.line else attrs.evolve(p, line=lines.find(p.path)) for p in problems]


def check_document(data: Any, *, source: str | None = None) -> None:
    """Refuse parsed input (TOML or JSON) nested deeper than :data:`MAX_DEPTH`, or holding a NUL
    character or a lone surrogate in a key or a string; each problem at its path."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while stack and len(problems) < _MAX_PROBLEMS:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            try:
                check_text(value)
            except InvalidValueError as bad:
                problems.append(Problem(path, bad.message_zh, bad.message_en))
            continue
        if isinstance(value, Mapping):
            items: list[tuple[str, Any]] = []
            for key, item in value.items():
                text = key if isinstance(key, str) else str(key)
                try:
                    check_text(text)
                except InvalidValueError as bad:
                    problems.append(
                        Problem(f"{path}.{_key(text)}", f"键名{bad.message_zh}", f"key {bad.message_en}")
                    )
                items.append((f"{path}.{_key(text)}", item))
        elif isinstance(value, list | tuple):
            items = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
        else:
            continue
        if depth >= MAX_DEPTH:
            problems.append(too_deep(path))
            continue
        stack.extend((item, at, depth + 1) for at, item in reversed(items))
    if problems:
        raise ValidationError(problems, source=source)


def unreadable_number(exc: ValueError) -> Problem:
    """A number a parser could not turn into a Python value (more than 4300 digits)."""
    return Problem("$", f"数字过长，无法读取：{exc}", f"a number too long to read: {exc}")


def too_deep(path: str) -> Problem:
    """Input nested deeper than :data:`MAX_DEPTH` (or than a parser could follow), at ``path``."""
    return Problem(
        path,
        f"嵌套过深：表和列表最多嵌套 {MAX_DEPTH} 层",
        f"nested too deeply: tables and lists may nest at most {MAX_DEPTH} levels",
    )


def _key(key: object) -> str:
    """A key as a path shows it: as written, or quoted and escaped when it cannot be printed."""
    text = key if isinstance(key, str) else str(key)
    return shown(text) if _UNPRINTABLE.search(text) else text


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")

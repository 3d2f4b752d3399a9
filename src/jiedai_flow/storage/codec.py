"""Rows ↔ records: the JSON the back ends store for receptions, events and results.

Stored data was validated when it entered, so reading it back uses a lean converter without
detailed validation (several times faster than :func:`jiedai_flow.domain.loading.load`); writing uses the
same hooks as :func:`jiedai_flow.domain.loading.dump`, so both agree on every format.

The JSON text itself is written and read by ``orjson`` (about ten times faster than the standard
library on a reception); for the values records hold (strings, integers, booleans, null, lists
and objects: no floats) its compact output is byte for byte what ``json.dumps(...,
ensure_ascii=False, separators=(",", ":"))`` writes, so hashes recorded by earlier versions still
verify. What orjson refuses (integers beyond 64 bits, lone surrogates, non-string keys) falls back
to the standard library, so no value that was storable before is refused now.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence, Set
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
import orjson

from jiedai_flow.domain import findings, model, records
from jiedai_flow.domain.loading import converter, dump
from jiedai_flow.domain.model import LabelledEnum
from jiedai_flow.process import lifecycle

T = TypeVar("T")

_reader = cattrs.Converter(unstruct_collection_overrides={Sequence: list, Set: sorted})
_reader.register_structure_hook(Decimal, lambda v, _: Decimal(v))
_reader.register_structure_hook(date, lambda v, _: date.fromisoformat(v))
_reader.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))

_NAMESPACE: dict[str, Any] = {
    **vars(model),
    **vars(findings),
    **vars(lifecycle),
    **vars(records),
    "date": date,
    "datetime": datetime,
    "Decimal": Decimal,
}
for _cls in (*vars(records).values(), findings.Finding, findings.Citation):
    if (
        isinstance(_cls, type)
        and attrs.has(_cls)
        and _cls.__module__ in {records.__name__, findings.__name__}
    ):
        attrs.resolve_types(_cls, globalns=_NAMESPACE)


def _enum_hook(cls: type[Any]) -> Any:
    return lambda value, _: cls(value)


_reader.register_structure_hook_factory(
    lambda t: isinstance(t, type) and issubclass(t, LabelledEnum | findings.Severity),
    _enum_hook,
)


def compact(plain: Any, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON of plain data (non-ASCII kept), by orjson; by the standard library for
    what orjson refuses. For strings, integers, booleans, null, lists and objects byte for byte
    what ``json.dumps(…, ensure_ascii=False, separators=(",", ":"))`` writes."""
    try:
        return orjson.dumps(plain, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
        return text.encode()


def _remembered(base: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An unstructure hook that keeps the JSON text of the same (frozen, so unchanged) object as
    an ``orjson.Fragment``: a reception's letter and plan are saved with every command but rarely
    change, and are then neither unstructured nor serialized again."""
    cache: dict[int, tuple[object, orjson.Fragment]] = {}

    def hook(obj: Any) -> orjson.Fragment:
        hit = cache.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        if len(cache) >= 4096:
            cache.clear()
        fragment = orjson.Fragment(compact(base(obj)))
        cache[id(obj)] = (obj, fragment)  # the object is kept, so its id is not reused meanwhile
        return fragment

    return hook


_plain = converter.copy()
"""Plain data for the standard library's encoder, where orjson refuses a value."""
_writer = converter.copy()
for _part in (model.OfficialLetter, model.Plan, model.ReceptionList, model.Actor):
    _writer.register_unstructure_hook(_part, _remembered(_writer.get_unstructure_hook(_part)))


def encode(obj: Any) -> str:
    """Compact JSON of a record (non-ASCII kept, so Chinese stays readable in the database)."""
    try:
        return orjson.dumps(_writer.unstructure(obj)).decode()
    except orjson.JSONEncodeError:
        return compact(_plain.unstructure(obj)).decode()


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact, UTF-8) for hashing."""
    return compact(dump(obj), sort_keys=True)


_DIGITS_AS_ZERO = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
"""A ``bytes.translate`` table: every ASCII digit to ``0``, every other byte to a space."""
_LONG_RUN = b"0" * 19


def parse(text: str | bytes) -> Any:
    """Plain data from stored JSON, by orjson; by the standard library where the text has a run of
    19 or more digits (orjson reads an integer beyond 64 bits as a float, losing digits; the run may
    as well be inside a string, which only costs speed) or where orjson refuses the text."""
    if not _long_run(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _long_run(text: str | bytes) -> bool:
    """Whether ``text`` has a run of 19 or more ASCII digits. Why not a regular expression: this
    runs on every row read, and the C loops of ``translate`` and ``in`` take a tenth of the time
    of a regular-expression search on a reception (3 µs, not 27)."""
    data = text.encode(errors="surrogatepass") if isinstance(text, str) else text
    return _LONG_RUN in data.translate(_DIGITS_AS_ZERO)


def decode(cls: type[T], text: str | bytes) -> T:
    """A record from its stored JSON."""
    return _reader.structure(parse(text), cls)

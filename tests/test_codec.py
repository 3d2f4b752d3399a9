"""The stored JSON: orjson writes exactly what the standard library wrote, so old hashes verify."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jiedai_flow.domain.records import AuditEvent, Reception
from jiedai_flow.storage import codec
from jiedai_flow.testing import ACTORS, make_engine

from ._sql_helpers import create

# JSON values as the converters produce them: text with any character (Chinese, quotes,
# backslashes, control characters, U+2028, emoji), integers of any size, nested lists and objects.
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_leaves = st.none() | st.booleans() | st.integers() | _text
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=30,
)


def _stdlib(value: Any, sort_keys: bool) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_compact_text_is_byte_identical_to_the_standard_library(value: Any) -> None:
    for sort_keys in (False, True):
        text = codec.compact(value, sort_keys)
        written = text.decode() if isinstance(text, bytes) else text
        assert written == _stdlib(value, sort_keys)
        assert codec.parse(written) == value


def test_integers_beyond_64_bits_fall_back_to_the_standard_library() -> None:
    value = {"big": 2**80, "small": -(2**70)}
    assert codec.compact(value, sort_keys=True).decode() == _stdlib(value, sort_keys=True)
    assert codec.parse(_stdlib(value, sort_keys=True)) == value


def test_a_real_reception_and_event_round_trip() -> None:
    result = create(make_engine())
    text = codec.encode(result.reception)
    assert codec.decode(Reception, text) == result.reception
    content = codec.canonical(result.event)
    plain = codec._plain.unstructure(result.event)
    assert (
        content
        == json.dumps(json.loads(content), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    )
    assert codec.decode(AuditEvent, content) == codec._reader.structure(plain, AuditEvent)


def test_a_reception_encodes_as_the_standard_library_would_also_from_remembered_parts() -> None:
    engine = make_engine()
    created = create(engine).reception
    submitted = engine.fire(created.id, "submit", ACTORS["handler"]).reception
    for reception in (created, submitted, created):  # the second and third reuse the letter's text
        expected = json.dumps(codec._plain.unstructure(reception), ensure_ascii=False, separators=(",", ":"))
        assert codec.encode(reception) == expected


def test_integers_beyond_64_bits_are_read_back_exactly() -> None:
    for big in (2**63, -(2**63) - 1, 2**64, 10**30, -(10**25)):
        text = _stdlib({"n": big, "s": "x"}, sort_keys=True)
        assert codec.parse(text) == {"n": big, "s": "x"}
        assert codec.parse(text.encode()) == {"n": big, "s": "x"}
    assert codec.parse('{"card":"6222021234567890123"}') == {"card": "6222021234567890123"}
    for text in (
        "[12345678901234567890]",
        '{"a": [1, -123456789012345678901]}',
        " 98765432109876543210",
        "1",
    ):
        assert codec.parse(text) == json.loads(text)
        assert codec.parse(text.encode()) == json.loads(text)

"""The lexicon 词表: reading what clerks write, not only the flags they set.

A clerk writes 「茅台」 among the dishes and forgets to tick 高档酒水; enters a 专场演出 as an ordinary
activity; plans a 考察 at a 5A 景区. The rules judge the flags, so each of these would pass. The lexicon
(``lexicon.toml``, extended per locality by ``[standards.lexicon]``) is matched against the dishes,
the activities (description and place), the letter's purpose and gift descriptions; a word that
contradicts a flag is a finding under the rule that judges the flag, naming the word and where it
was found:

- the rule would have refused had the flag been set (alcohol under a no-alcohol policy, cigarettes,
  a banned dish, sightseeing, a special performance, a gift) → 须书面说明 needs an explanation;
- otherwise → 提醒 warning.

Some phrases contain a word without meaning it: 啤酒鸭 and 花雕鸡 are dishes, 野生菌 is a mushroom, the
文化和旅游局 an office. They are listed under ``not_meant``; matching takes the longest phrase at each
place, so where one of them stands its word is not read.

Matching is one compiled regular expression per lexicon (the built-in one, or it extended by a
locality), built once and cached.
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib.resources import files
from typing import TYPE_CHECKING

from jiedai_flow.domain.standards import LexiconCategory

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from jiedai_flow.domain.standards import Standards

__all__ = ["Lexicon", "base_terms", "lexicon_of"]


@functools.cache
def base_terms() -> Mapping[LexiconCategory, frozenset[str]]:
    """The built-in lexicon, read once from ``lexicon.toml``."""
    data = tomllib.loads(files(__package__ or __name__).joinpath("lexicon.toml").read_text(encoding="utf-8"))
    return {LexiconCategory(key): frozenset(words) for key, words in data.items()}


class Lexicon:
    """Words by category, compiled into one regular expression (longest words first)."""

    def __init__(self, terms: Mapping[LexiconCategory, Iterable[str]]) -> None:
        self.category: dict[str, LexiconCategory] = {}
        for category in LexiconCategory:  # a word in two categories takes the first, in enum order
            for word in terms.get(category, ()):
                self.category.setdefault(word, category)
        ordered = sorted(self.category, key=lambda w: (-len(w), w))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        not_meant = sorted((w for w, c in self.category.items() if c is LexiconCategory.NOT_MEANT), key=len)
        self._not_meant = re.compile("|".join(map(re.escape, reversed(not_meant)))) if not_meant else None
        self._plain: dict[str, str] = {}
        self._seen: dict[str, tuple[tuple[str, LexiconCategory], ...]] = {}
        self._items: dict[tuple[str, ...], tuple[tuple[int, str, LexiconCategory], ...]] = {}

    def find(self, text: str, *wanted: LexiconCategory) -> list[tuple[str, LexiconCategory]]:
        """The words of ``text`` in the lexicon (of the ``wanted`` categories, if any), in order.
        Each text is matched once: the same dish or activity is read at every stage."""
        found = self._seen.get(text)
        if found is None:
            found = self._match(text)
        if not found:
            return []
        return [f for f in found if not wanted or f[1] in wanted]

    def _match(self, text: str) -> tuple[tuple[str, LexiconCategory], ...]:
        found: tuple[tuple[str, LexiconCategory], ...] = ()
        if self._pattern is not None and text:
            found = tuple(
                (m.group(), category)
                for m in self._pattern.finditer(text)
                if (category := self.category[m.group()]) is not LexiconCategory.NOT_MEANT
            )
        if len(self._seen) >= 65_536:
            self._seen.clear()
        self._seen[text] = found
        return found

    def plain(self, text: str) -> str:
        """``text`` with its not-meant phrases blanked out, for a plain substring list such as the
        standards' ``banned_dishes`` (野生 must not catch 野生菌)."""
        if self._not_meant is None:
            return text
        found = self._plain.get(text)
        if found is None:
            if len(self._plain) >= 65_536:
                self._plain.clear()
            found = self._plain[text] = self._not_meant.sub(lambda m: "\u3000" * len(m.group()), text)
        return found

    def in_items(self, items: tuple[str, ...]) -> tuple[tuple[int, str, LexiconCategory], ...]:
        """(index, word, category) of every lexicon word in ``items`` (a meal's dishes, say), read
        once per distinct tuple — most meals have none, and cost one lookup."""
        found = self._items.get(items)
        if found is None:
            found = tuple((i, w, c) for i, text in enumerate(items) for w, c in self.find(text))
            if len(self._items) >= 65_536:
                self._items.clear()
            self._items[items] = found
        return found

    def first(self, text: str, category: LexiconCategory) -> str | None:
        """The first word of ``category`` in ``text``, or None."""
        for word, found in self.find(text):
            if found is category:
                return word
        return None


_LOCAL: dict[int, tuple[object, Lexicon]] = {}


def lexicon_of(standards: Standards) -> Lexicon:
    """The lexicon a reception is read with: the built-in one, plus the words its standards add.
    Compiled once per built-in lexicon and once per locality's additions."""
    extra = standards.lexicon
    if not extra:
        return _builtin()
    cached = _LOCAL.get(id(extra))
    if cached is not None and cached[0] is extra:
        return cached[1]
    merged = {c: base_terms().get(c, frozenset()) | extra.get(c, frozenset()) for c in LexiconCategory}
    made = Lexicon(merged)
    if len(_LOCAL) > 256:
        _LOCAL.clear()
    _LOCAL[id(extra)] = (extra, made)  # the mapping is kept alive here, so its id is not reused
    return made


@functools.cache
def _builtin() -> Lexicon:
    return Lexicon(base_terms())

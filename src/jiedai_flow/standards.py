"""Reception standards 接待标准, layered national → province → city → county, with effective dates.

A :class:`StandardsLayer` states only what differs from the layer above it; plugins contribute
layers through ``jiedai_standards_layers`` and :func:`resolve` folds every layer in force on a date
for a jurisdiction into one :class:`Standards`.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.errors import Problem, ValidationError
from jiedai_flow.model import LetterKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from decimal import Decimal


class Level(enum.IntEnum):
    """Administrative level of a standards layer; lower levels refine higher ones."""

    NATIONAL = 0
    PROVINCE = 1
    CITY = 2
    COUNTY = 3


RULE_PACK_2013 = "national-2013"
RULE_PACK_2025 = "national-2025"
REVISION_2025 = date(2025, 5, 18)
"""The revised 《党政机关厉行节约反对浪费条例》 as reported by Xinhua on 2025-05-18 (reference §1.4)."""


def national_rule_pack(on: date) -> str:
    """The national rule pack in force on ``on``."""
    return RULE_PACK_2025 if on >= REVISION_2025 else RULE_PACK_2013


@attrs.frozen
class Standards:
    """The standards that apply to one reception, after every layer is folded in."""

    jurisdiction: str = "000000"
    rule_pack: str = RULE_PACK_2025
    accepted_letters: frozenset[LetterKind] = frozenset(
        {LetterKind.LETTER, LetterKind.INVITATION, LetterKind.NOTICE}
    )
    working_meals_max: int = 1
    companions_small_party: int = 10
    """Parties up to this many guests may have ``companions_small_cap`` companions."""
    companions_small_cap: int = 3
    companions_divisor: int = 3
    """Larger parties: companions ≤ ⌊guests / divisor⌋ (⅓ by Art 10)."""
    meal_cap_per_person: Decimal | None = None
    """Per person-meal spending cap in yuan; None when no layer sets one."""
    banned_dishes: frozenset[str] = frozenset({"鱼翅", "燕窝"})
    alcohol_allowed: bool = False
    approval_levels: tuple[str, ...] = ("分管领导",)
    layers: tuple[str, ...] = ()
    """Names of the layers folded in, national first — for the record."""

    def companion_cap(self, guests: int) -> int:
        """Companions allowed for ``guests`` guests (M-02): ≤3 up to 10 guests, else ≤⌊g/3⌋."""
        if guests <= self.companions_small_party:
            return self.companions_small_cap
        return guests // self.companions_divisor


_FIELDS = {a.name for a in attrs.fields(Standards)} - {"jurisdiction", "layers"}


@attrs.frozen
class StandardsLayer:
    """One layer: who issued it, where and when it applies, and the fields it changes."""

    name: str
    level: Level
    jurisdiction: str
    """GB/T 2260 code prefix it covers: "" national, "34" Anhui, "3415" Lu'an, "341502" a county."""
    changes: Mapping[str, Any] = attrs.field(factory=dict)
    effective_from: date = date(2013, 12, 8)
    effective_to: date | None = None
    source: str = ""

    def __attrs_post_init__(self) -> None:
        unknown = sorted(set(self.changes) - _FIELDS)
        if unknown:
            raise ValidationError(
                [
                    Problem(
                        f"$.changes.{key}",
                        f"未知的标准字段「{key}」",
                        f"unknown standards field {key!r}",
                    )
                    for key in unknown
                ],
                source=self.name,
            )

    def applies(self, jurisdiction: str, on: date) -> bool:
        in_force = self.effective_from <= on and (self.effective_to is None or on < self.effective_to)
        return in_force and jurisdiction.startswith(self.jurisdiction)


def resolve(jurisdiction: str, on: date, layers: Iterable[StandardsLayer]) -> Standards:
    """Fold the layers in force for ``jurisdiction`` on ``on``: national first, county last."""
    chosen = sorted(
        (layer for layer in layers if layer.applies(jurisdiction, on)),
        key=lambda layer: (layer.level, len(layer.jurisdiction), layer.effective_from),
    )
    values: dict[str, Any] = {"jurisdiction": jurisdiction}
    for layer in chosen:
        values.update(layer.changes)
    values["layers"] = tuple(layer.name for layer in chosen)
    return Standards(**values)

"""The few figures reports need from a reception's JSON ``data``, read without decoding it whole.

Headcounts, meals, invoices and companions live only in the JSON column today. Decoding a whole
:class:`~jiedai_flow.domain.records.Reception` costs ~10× a plain ``json.loads``; reports read many, so
they take what they need from the parsed JSON here (the format of :func:`jiedai_flow.domain.loading.dump`).
``tests/test_reports.py`` checks these readers against the decoded record.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from jiedai_flow.domain.model import MealKind, VenueType
from jiedai_flow.storage import codec


def parse(data: str) -> dict[str, Any]:
    """The stored JSON of a reception."""
    parsed: dict[str, Any] = codec.parse(data)
    return parsed


def letter_headcount(reception: dict[str, Any]) -> int:
    """人次: the visitors named in the letter 公函所列人数 (``letter.personnel``)."""
    return len(reception["letter"]["personnel"])


def item_count(reception: dict[str, Any]) -> int:
    """项目数: the list's activity items and meals, or the plan's before a list is filed."""
    listing = reception.get("reception_list")
    if listing is not None:
        return len(listing["items"]) + len(listing["meals"])
    plan = reception["plan"]
    return len(plan["activities"]) + len(plan["meals"])


@attrs.frozen
class MealFact:
    """One meal as the red flags see it; ``index`` is its position in the meals it came from."""

    index: int
    on: date
    kind: MealKind
    venue: str
    venue_type: VenueType
    guests: int
    companions: int
    cost: Decimal
    alcohol: bool

    @property
    def diners(self) -> int:
        return self.guests + self.companions

    @property
    def per_person(self) -> Fraction:
        """The exact cost per diner (compared with caps without rounding)."""
        return Fraction(self.cost) / self.diners


@attrs.frozen
class InvoiceFact:
    """One invoice on the list."""

    number: str
    issuer: str
    issued_on: date
    amount: Decimal


@attrs.frozen
class ReceptionFacts:
    """What the red flags need of one reception."""

    id: str
    number: str
    jurisdiction: str
    host_unit: str
    start: date
    guests: int
    """The list's guests, or the letter's personnel before a list is filed."""
    companions: int
    """The list's named companions 陪同人员, or the plan's before a list is filed."""
    meals: tuple[MealFact, ...]
    meals_from_list: bool
    """The meals are the list's (what happened); False: the plan's, the list names none."""
    invoices: tuple[InvoiceFact, ...]


def reception_facts(reception: dict[str, Any]) -> ReceptionFacts:
    """The red-flag facts of one parsed reception."""
    listing = reception.get("reception_list")
    from_list = listing is not None and bool(listing["meals"])
    meals = listing["meals"] if listing is not None and from_list else reception["plan"]["meals"]
    if listing is not None:
        guests, companions = len(listing["guests"]), len(listing["companions"])
        invoices = tuple(
            InvoiceFact(i["number"], i["issuer"], date.fromisoformat(i["issued_on"]), Decimal(i["amount"]))
            for i in listing["invoices"]
        )
    else:
        guests, companions = letter_headcount(reception), len(reception["plan"]["companions"])
        invoices = ()
    return ReceptionFacts(
        id=reception["id"],
        number=reception["number"],
        jurisdiction=reception["jurisdiction"],
        host_unit=reception["host_unit"],
        start=date.fromisoformat(reception["start"]),
        guests=guests,
        companions=companions,
        meals=tuple(
            MealFact(
                index=n,
                on=date.fromisoformat(m["on"]),
                kind=MealKind(m["kind"]),
                venue=m["venue"],
                venue_type=VenueType(m["venue_type"]),
                guests=m["guests"],
                companions=m["companions"],
                cost=Decimal(m["cost"]),
                alcohol=m["alcohol"],
            )
            for n, m in enumerate(meals)
        ),
        meals_from_list=from_list,
        invoices=invoices,
    )

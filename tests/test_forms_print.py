"""The printed forms on paper: printed to PDF by headless Chromium (tests/browser.py), a simple
reception's 接待清单 and 审批单 take one A4 page; a long one runs over several pages, each with the
running header and 「第 n 页 共 N 页」, and its tables repeat their column headers."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow.domain.model import Guest, Meal, MealKind, Person, Rank, VenueType
from jiedai_flow.reports import approval_document, list_document, render_approval_html, render_list_html
from tests.browser import PAGE_NUMBER, chromium, pdf_pages, print_to_pdf
from tests.test_cli import jiedai, make_site, walk_to_archive
from tests.test_forms import START, reception

if TYPE_CHECKING:
    from pathlib import Path

GUEST_HEAD = "序号 单位 姓名 职务"
ACTIVITY_HEAD = "日期 时间 活动项目 场所 费用(元) 备注"  # NFKC: full-width brackets become ASCII


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium()


def numbered(pages: list[str]) -> list[tuple[int, int]]:
    """(n, N) of each page's 「第 n 页 共 N 页」."""
    found = []
    for text in pages:
        match = PAGE_NUMBER.search(text)
        assert match, f"no page number on: {text[:200]}"
        found.append((int(match[1]), int(match[2])))
    return found


def test_a_simple_reception_prints_on_one_page_with_its_signatures(browser: str, tmp_path: Path) -> None:
    filed, _ = reception()
    for name, html in (
        ("list", render_list_html(list_document(filed))),
        ("approval", render_approval_html(approval_document(filed))),
    ):
        pages = pdf_pages(print_to_pdf(browser, html, tmp_path, name))
        assert len(pages) == 1, f"the {name} form takes {len(pages)} pages"
        assert numbered(pages) == [(1, 1)]
        assert "单位盖章" in pages[0]
        assert f"编号 {filed.number}" in pages[0]


def test_the_starter_sample_list_prints_on_one_page(
    browser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reception ``jiedai init`` writes, exported as the README does (two approvals, one meal)."""
    make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)
    reception_id = str(json.loads(jiedai("--json", "new", "jiedai-reception.toml").stdout)["id"])
    walk_to_archive(reception_id)
    html = jiedai("export", reception_id).stdout
    pages = pdf_pages(print_to_pdf(browser, html, tmp_path))
    assert len(pages) == 1
    for expected in ("用餐费用", "275.00", "负责人审签", "分管领导", "单位盖章"):
        assert expected in pages[0]


def long_reception() -> tuple[object, int]:
    """60 guests over 5 days, three meals a day."""
    filed, _ = reception()
    guests = tuple(Guest(f"来宾{n:02d}", "市农业农村局", "调研员", Rank.TOWNSHIP) for n in range(1, 61))
    meals = tuple(
        Meal(START + timedelta(days=d), kind, "县机关食堂", VenueType.CANTEEN, 60, 4, Decimal("3840.00"))
        for d in range(5)
        for kind in (MealKind.BREAKFAST, MealKind.LUNCH, MealKind.DINNER)
    )
    listing = attrs.evolve(
        filed.reception_list,  # type: ignore[arg-type]
        guests=guests,
        meals=meals,
        companions=tuple(Person(f"陪同{n}", "县政府办公室") for n in range(1, 9)),
    )
    return attrs.evolve(filed, end=START + timedelta(days=4), reception_list=listing), len(meals)


def test_a_long_reception_runs_over_numbered_pages_with_the_header_repeated(
    browser: str, tmp_path: Path
) -> None:
    long, meals = long_reception()
    doc = list_document(long)  # type: ignore[arg-type]
    assert len(doc.activities) == meals
    pages = pdf_pages(print_to_pdf(browser, render_list_html(doc), tmp_path))
    total = len(pages)
    assert total >= 3
    assert numbered(pages) == [(n, total) for n in range(1, total + 1)]
    for text in pages:  # the running header on every page
        assert f"县政府办公室 公务接待清单 编号 {doc.number}" in text
    assert sum(GUEST_HEAD in text for text in pages) >= 2, "the guest table's header repeats"
    assert sum(ACTIVITY_HEAD in text for text in pages) >= 2, "the activity table's header repeats"
    assert "单位盖章" in pages[-1]
    assert "实际费用合计" in pages[-1]
    assert "公 务 接 待 清 单" not in "".join(pages[1:])  # the title block only once


def test_english_captions_also_print_and_number_their_pages(browser: str, tmp_path: Path) -> None:
    filed, _ = reception()
    pages = pdf_pages(print_to_pdf(browser, render_list_html(list_document(filed), lang="both"), tmp_path))
    total = len(pages)
    assert [f"page {n} of {total}" in text for n, text in enumerate(pages, 1)] == [True] * total
    assert "Official reception list" in pages[0]


def test_a_countersigned_approval_form_prints_every_signer_on_one_page(browser: str, tmp_path: Path) -> None:
    """Three steps — one signer, a parallel countersign of three (one by a stand-in), a 票签 of
    three — and a return: one A4 page naming every signer, the kinds and results."""
    from jiedai_flow.testing import FrozenClock, make_engine
    from tests.test_views import Chain, countersigned

    clock = FrozenClock()
    engine = make_engine(Chain(), clock=clock)
    rid = countersigned(engine, clock)
    form = approval_document(engine.get(rid), events=engine.history(rid))
    pages = pdf_pages(print_to_pdf(browser, render_approval_html(form), tmp_path, "countersigned"))
    assert len(pages) == 1
    text = " ".join(pages[0].split())
    # 长 prints as the radical ⻓ in the PDF's text layer of some CJK fonts: the names are cut before it
    for expected in ("并行会签 3/3 同意", "郑副局", "(代 郑局", "同意权重 5/7", "常务副县", "请补充安保方案"):
        assert expected in text, expected

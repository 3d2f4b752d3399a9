"""Printed forms from templates: the 接待清单 and the 审批单 are rendered by Jinja2 with every value
escaped, in Chinese unless English is asked for, and a county plugin replaces any template through
``jiedai_templates``. (tests/test_forms_print.py prints them in Chromium and counts the pages.)"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import attrs
import jinja2
import pytest

from jiedai_flow import hookimpl
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.model import Guest, InvalidValueError, Rank
from jiedai_flow.domain.records import Approval, ApprovalStep
from jiedai_flow.domain.samples import ACTORS, sample_letter, sample_list, sample_plan
from jiedai_flow.reports import (
    FormTemplateError,
    StepBox,
    approval_document,
    list_document,
    render_approval_html,
    render_list_html,
)
from jiedai_flow.reports.forms import css_string
from jiedai_flow.testing import make_engine
from tests.test_cli import jiedai, make_site, walk_to_archive

if TYPE_CHECKING:
    from pathlib import Path

    from jiedai_flow.domain.records import Reception

SCRIPT = "<script>alert('x')</script>"
START = date(2026, 3, 10)
ENGLISH = ("Guests", "Activities", "Handler", "Host unit", "Official reception list", "Seal", "Meals")


def reception(*, guest: str = "刘建国", plugins: tuple[object, ...] = ()) -> tuple[Reception, list[Any]]:
    """A reception with its list filed (as a stored record would be), and the engine's templates."""
    engine = make_engine(*plugins)
    letter = sample_letter(START)
    people = list(letter.personnel)
    people[1] = Guest(guest, "市农业农村局", "科长", Rank.COUNTY)
    letter = attrs.evolve(letter, personnel=tuple(people))
    created = engine.create_reception(
        letter, sample_plan(START), handler=ACTORS["handler"], host_unit="县政府办公室", jurisdiction="341502"
    ).reception
    filed = attrs.evolve(created, reception_list=sample_list(created))
    return filed, engine.hooks.jiedai_templates()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        del attrs
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    return tags


def words(page: str) -> str:
    """The text of the body, one space between elements."""
    return re.sub(r"\s+", " ", " ".join(parsed(page[page.index("<body>") :]).text)).strip()


def test_a_guest_named_like_a_script_prints_as_text_on_both_forms() -> None:
    """Autoescape: no value becomes markup, in the body or the running header."""
    filed, _ = reception(guest=SCRIPT)
    for page in (render_list_html(list_document(filed)), render_approval_html(approval_document(filed))):
        assert "<script>" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        tags = parsed(page)
        assert "script" not in tags.tags
        assert SCRIPT in "".join(tags.text)


def test_running_header_text_cannot_end_the_style_element() -> None:
    """Values in the CSS of the running header are CSS-escaped, not HTML-escaped."""
    assert css_string('a"b</style><script>') == '"a\\22 b\\3c /style\\3e \\3c script\\3e "'
    assert css_string("县政府办公室 编号 341502-2026-00001") == '"县政府办公室 编号 341502-2026-00001"'
    filed, _ = reception()
    unit = attrs.evolve(filed, host_unit="县</style><b>办")
    page = render_list_html(list_document(unit))
    style = page[page.index("<style>") : page.index("</style>")]
    assert "</style" not in style[1:]
    assert "县\\3c /style\\3e \\3c b\\3e 办" in style


def test_forms_are_chinese_only_by_default_and_bilingual_when_asked() -> None:
    filed, _ = reception()
    for render, doc in (
        (render_list_html, list_document(filed)),
        (render_approval_html, approval_document(filed)),
    ):
        chinese = render(doc)  # type: ignore[operator]
        both = render(doc, lang="both")  # type: ignore[operator]
        assert 'class="en"' not in chinese
        body = chinese[chinese.index("<body>") :]
        assert not re.search(r"[A-Za-z]{3,}", "".join(parsed(body).text)), "English words in the body"
        assert 'class="en"' in both
        assert '第 " counter(page) " 页 共 " counter(pages) " 页"' in chinese
        assert 'page " counter(page) " of' in both
    assert all(word in render_list_html(list_document(filed), lang="both") for word in ENGLISH)


def test_an_unknown_language_is_refused_in_both_languages() -> None:
    filed, _ = reception()
    with pytest.raises(InvalidValueError) as caught:
        render_list_html(list_document(filed), lang="en")  # type: ignore[arg-type]
    assert "zh 或 both" in caught.value.message_zh
    assert "zh or both" in caught.value.message_en


def test_the_list_form_has_signature_and_seal_boxes_and_the_meal_as_a_meal() -> None:
    filed, _ = reception()
    doc = list_document(filed)
    page = render_list_html(doc)
    text = words(page)
    for caption in ("经办人", "负责人审签", "单位盖章", "（盖章）", "用餐费用", "实际费用合计"):
        assert caption in text
    assert doc.totals.meals == Decimal("360.00") == sum(m.cost for m in filed.plan.meals)
    assert '<tr class="meal">' in page
    assert "工作餐（桌餐）" in text


def test_the_approval_form_lists_the_plan_and_one_box_per_step() -> None:
    """Unsigned steps are empty boxes to sign by hand; a signed one shows who and when."""
    filed, _ = reception()
    assert [s.level for s in approval_document(filed).steps] == ["审批"]  # a draft: one box
    chain = (ApprovalStep("部门负责人"), ApprovalStep("分管领导"))
    signed = Approval(0, "部门负责人", "sun.hao", "孙浩", datetime(2026, 3, 5, 9, tzinfo=CHINA_TZ), "同意")
    doc = approval_document(attrs.evolve(filed, approval_chain=chain, approvals=(signed,)))
    assert doc.steps == (StepBox("部门负责人", "孙浩", date(2026, 3, 5), "同意"), StepBox("分管领导"))
    assert [(line.category, line.cost) for line in doc.lines] == [("用餐", Decimal("360.00"))]
    text = words(render_approval_html(doc))
    for expected in (
        "公务接待审批单",
        "接待安排",
        "预计费用合计 360.00",
        "部门负责人意见 同意 孙浩 2026-03-05",
    ):
        assert expected in text
    assert "分管领导意见 年 月 日 单位盖章 （盖章）" in text


def test_the_starter_samples_print_their_working_meal_under_meals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files ``jiedai init`` writes: the meal is 275.00 on the plan, the list and the form."""
    make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)
    created = jiedai("--json", "new", "jiedai-reception.toml").stdout
    reception_id = re.search(r'"id": "([0-9a-f]{32})"', created).group(1)  # type: ignore[union-attr]
    walk_to_archive(reception_id)
    text = words(jiedai("export", reception_id).stdout)
    assert "活动项目费用 用餐费用 实际费用合计 发票合计 支付合计 预计费用（方案） 0.00 275.00 275.00" in text
    assert "午餐 工作餐（桌餐） 县机关食堂 275.00" in text
    approval = jiedai("export", reception_id, "--form", "approval", "--lang", "both").stdout
    assert "Approval" in approval
    assert "分管领导意见" in approval
    refused = jiedai("export", reception_id, "--form", "approval", "--format", "csv", code=2)
    assert "审批单只有 HTML 格式" in refused.output


# -- templates a county brings -----------------------------------------------------------------


class CountyTitle:
    """A county plugin whose title block extends the built-in one."""

    def __init__(self, directory: Path) -> None:
        (directory / "title.html").write_text(
            '{% extends "jiedai/title.html" %}{% block heading %}<p class="county">××县接待办制 表 JD-01</p>'
            "{{ super() }}{% endblock %}",
            encoding="utf-8",
        )
        self.directory = directory

    @hookimpl
    def jiedai_templates(self) -> Path:
        return self.directory


def test_a_plugin_replaces_the_title_block_and_keeps_the_rest(tmp_path: Path) -> None:
    filed, templates = reception(plugins=(CountyTitle(tmp_path),))
    assert templates == [tmp_path]
    for page in (
        render_list_html(list_document(filed), templates=templates),
        render_approval_html(approval_document(filed), templates=templates),
    ):
        assert '<p class="county">××县接待办制 表 JD-01</p>' in page
        assert "<h1>" in page
        assert "单位盖章" in page
    assert "JD-01" not in render_list_html(list_document(filed))  # without the plugin's templates


def test_a_plugin_may_hand_over_a_jinja_loader_for_a_whole_form() -> None:
    class WholeForm:
        @hookimpl
        def jiedai_templates(self) -> jinja2.BaseLoader:
            return jinja2.DictLoader({"list.html": "<p>{{ doc.number }} {{ doc.guests[1].name }}</p>"})

    filed, templates = reception(guest=SCRIPT, plugins=(WholeForm(),))
    page = render_list_html(list_document(filed), templates=templates)
    assert page == f"<p>{filed.number} &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"


def test_a_broken_county_template_names_itself() -> None:
    broken = jinja2.DictLoader({"title.html": "{% if %}"})
    filed, _ = reception()
    with pytest.raises(FormTemplateError) as caught:
        render_list_html(list_document(filed), templates=[broken])
    assert "title.html" in caught.value.message_zh
    assert caught.value.code == "form_template"

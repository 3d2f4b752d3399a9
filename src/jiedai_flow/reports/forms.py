"""Printed forms 打印文书: the 接待清单 and the 审批单 as A4 HTML from Jinja2 templates.

The templates ship in ``jiedai_flow/reports/templates``; a county replaces any of them — the
title block ``title.html`` alone, or a whole form — through the ``jiedai_templates`` hook
(docs/reports.md). Every value is escaped (autoescape), so a guest named ``<script>`` prints as
text. Chinese only by default; ``lang="both"`` adds the English captions under the Chinese.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any, Literal, Union, get_args

from jiedai_flow.domain.model import InvalidValueError
from jiedai_flow.reports.common import FormTemplateError
from jiedai_flow.reports.listing import TITLE_EN, payment_payer

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date
    from decimal import Decimal

    import jinja2
    from markupsafe import Markup

    from jiedai_flow.reports.approval_form import ApprovalFormDocument
    from jiedai_flow.reports.listing import ListDocument

Lang = Literal["zh", "both"]
"""Captions of a printed form: ``zh`` Chinese only (the default), ``both`` Chinese with English."""
LANGS: tuple[str, ...] = get_args(Lang)

# why: Union with a string forward reference, so importing this module (and the CLI) does not import
# jinja2; it is imported when a form is first rendered
TemplateSource = Union[str, os.PathLike[str], "jinja2.BaseLoader"]
"""Where a county's templates are: a directory, or any Jinja2 loader."""

LIST_TEMPLATE = "list.html"
APPROVAL_TEMPLATE = "approval.html"
DEFAULT_PREFIX = "jiedai/"
"""The built-in templates are also reachable under this prefix, so a county template can extend
the one it replaces: ``{% extends "jiedai/title.html" %}``."""


def render_list_html(
    doc: ListDocument, *, lang: Lang = "zh", templates: Sequence[TemplateSource] = ()
) -> str:
    """The 接待清单 as one printable A4 HTML file (inline CSS, every value escaped).

    :param lang: ``"zh"`` (Chinese captions) or ``"both"`` (Chinese, English beneath).
    :param templates: county templates searched before the built-in ones, e.g.
        ``engine.hooks.jiedai_templates()``.
    """
    return render_form(
        LIST_TEMPLATE, {"doc": doc, "title_en": TITLE_EN, "payer": payment_payer}, lang, templates
    )


def render_approval_html(
    doc: ApprovalFormDocument, *, lang: Lang = "zh", templates: Sequence[TemplateSource] = ()
) -> str:
    """The 审批单 as one printable A4 HTML file; parameters as :func:`render_list_html`."""
    from jiedai_flow.reports.approval_form import APPROVAL_TITLE_EN

    return render_form(APPROVAL_TEMPLATE, {"doc": doc, "title_en": APPROVAL_TITLE_EN}, lang, templates)


def render_form(
    name: str, context: dict[str, Any], lang: Lang = "zh", templates: Sequence[TemplateSource] = ()
) -> str:
    """Render the form template ``name`` with ``context`` (plus ``lang``); a missing or broken
    template raises :class:`FormTemplateError` naming it."""
    if lang not in LANGS:
        raise InvalidValueError(
            f"打印文书的语言应为 {' 或 '.join(LANGS)}，收到 {lang!r}",
            f"the form language must be {' or '.join(LANGS)}, got {lang!r}",
            field="lang",
        )
    import jinja2

    env = environment(tuple(templates))
    try:
        return env.get_template(name).render(context, lang=lang)
    except jinja2.TemplateError as error:
        where = getattr(error, "filename", None) or getattr(error, "name", None) or name
        raise FormTemplateError(str(where), str(error.message or error)) from error


def environment(templates: tuple[TemplateSource, ...] = ()) -> jinja2.Environment:
    """The Jinja2 environment of the forms: ``templates`` first, then the built-in ones. Built
    once per set of sources, so templates compile once per process."""
    key = tuple(os.fspath(t) if isinstance(t, str | os.PathLike) else t for t in templates)
    return _environment(key)


@functools.lru_cache(maxsize=16)
def _environment(templates: tuple[str | jinja2.BaseLoader, ...]) -> jinja2.Environment:
    import jinja2

    builtin = jinja2.PackageLoader("jiedai_flow.reports", "templates")
    county = [t if isinstance(t, jinja2.BaseLoader) else jinja2.FileSystemLoader(t) for t in templates]
    loader = jinja2.ChoiceLoader(
        [jinja2.PrefixLoader({DEFAULT_PREFIX.rstrip("/"): builtin}), *county, builtin]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,  # why: every template is HTML; values are never trusted markup
        undefined=jinja2.StrictUndefined,  # a misspelt field fails instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(money=money, day=day, css_string=css_string)
    return env


def money(value: Decimal) -> str:
    """Yuan with thousands separators and two places: ``1,234.50``."""
    return f"{value:,.2f}"


def day(value: date | None) -> str:
    """A date as ``2026-03-10``; empty for None."""
    return value.isoformat() if value is not None else ""


def css_string(value: object) -> Markup:
    """``value`` as a quoted CSS string, for ``content:`` in a ``<style>`` element (running
    headers). HTML escaping does not apply inside ``<style>``; this escapes every character that
    could end the string or the element."""
    from markupsafe import Markup

    out = []
    for ch in str(value):
        if (ch.isalnum() and ch.isascii()) or ch in " -_.:/·" or ord(ch) > 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return Markup('"' + "".join(out) + '"')  # safe: every character that could end it is escaped

"""MkDocs hooks for the docs site (mkdocs.yml ``hooks``); not a page (``exclude_docs``).

The docstrings use Sphinx roles (``:class:`Engine```); mkdocstrings renders them as text followed by
code. Keep the code and drop the role, so the API reference reads ``Engine``, not ``:class:Engine``.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):(<code>)~?")


def on_page_content(html: str, **_: Any) -> str:
    return _ROLE.sub(r"\1", html)

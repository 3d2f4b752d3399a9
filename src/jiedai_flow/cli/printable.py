"""Terminal output that prints text, never obeys it 终端只显示、不执行: a control character in stored
text (an escape sequence in a guest's name, written by a program through the library or stored
before such text was refused) is shown as ``�``, so ``jiedai show`` cannot retitle, clear or recolour
the screen of whoever reads it. Rich's own styling and cursor control pass untouched."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderHook
from rich.segment import Segment

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import ConsoleOptions, ConsoleRenderable, RenderableType

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""What a terminal would act on in text: control characters but tab and line feed."""
SHOWN_AS = "\ufffd"


def console(**options: Any) -> Console:
    """A rich console whose every print shows control characters in text as :data:`SHOWN_AS`."""
    made = Console(**options)
    made.push_render_hook(_Printable())
    return made


class _Printable(RenderHook):
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Shown(r) for r in renderables]


class _Shown:
    """``inner`` rendered, the text of its segments freed of control characters."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for segment in console.render(self.inner, options):
            if segment.control is None and _CONTROL.search(segment.text):
                yield Segment(_CONTROL.sub(SHOWN_AS, segment.text), segment.style)
            else:
                yield segment

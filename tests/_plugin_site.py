"""A throwaway site-packages for tests that need a plugin installed the way a county installs one:
a distribution whose ``jiedai_flow`` entry point names a module (see ``docs/plugins.md``)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from typing import TYPE_CHECKING

from jiedai_flow.plugins import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import pytest


class Site:
    """Installed distributions with ``jiedai_flow`` entry points, under a folder on ``sys.path``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def install(self, dist: str, ep_name: str, source: str, version: str = "1.0") -> str:
        """Install distribution ``dist`` whose module (``source``) is entry point ``ep_name``."""
        module = f"jiedai_test_{ep_name}_{uuid.uuid4().hex[:8]}"
        self.modules.append(module)
        (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            f"[{ENTRY_POINT_GROUP}]\n{ep_name} = {module}\n", encoding="utf-8"
        )
        importlib.invalidate_caches()  # importlib.metadata caches directory listings
        return module


def installed_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A :class:`Site` on ``sys.path`` for one test (``yield from`` it in a fixture); its modules
    are forgotten afterwards."""
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    made = Site(root)
    yield made
    for module in made.modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()

"""Import paths of earlier versions 旧导入路径: the modules moved into ``domain/``, ``process/``,
``notify/``, ``storage/`` and ``cli/`` still import under their old names, with a
:class:`DeprecationWarning` naming the new one. Nothing of jiedai_flow itself uses the old names
(``tests/test_layout.py`` keeps it so); they are for code written against earlier versions.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

MOVED: dict[str, str] = {
    "jiedai_flow.model": "jiedai_flow.domain.model",
    "jiedai_flow.records": "jiedai_flow.domain.records",
    "jiedai_flow.findings": "jiedai_flow.domain.findings",
    "jiedai_flow.standards_toml": "jiedai_flow.domain.standards_toml",
    "jiedai_flow.standards": "jiedai_flow.domain.standards",
    "jiedai_flow.calendar": "jiedai_flow.domain.workdays",
    "jiedai_flow.clock": "jiedai_flow.domain.clock",
    "jiedai_flow.budget": "jiedai_flow.domain.budget",
    "jiedai_flow.convert": "jiedai_flow.domain.loading",
    "jiedai_flow.inputref": "jiedai_flow.domain.inputref",
    "jiedai_flow.samples": "jiedai_flow.domain.samples",
    "jiedai_flow.localities": "jiedai_flow.domain.localities",
    "jiedai_flow.lifecycle": "jiedai_flow.process.lifecycle",
    "jiedai_flow.engine": "jiedai_flow.process.engine",
    "jiedai_flow.rules": "jiedai_flow.process.rules",
    "jiedai_flow.rulekit": "jiedai_flow.process.rulekit",
    "jiedai_flow.tasks": "jiedai_flow.process.tasks",
    "jiedai_flow.migration": "jiedai_flow.process.migration",
    "jiedai_flow.diagram": "jiedai_flow.process.diagram",
    "jiedai_flow.authn": "jiedai_flow.process.authn",
    "jiedai_flow.routing": "jiedai_flow.notify.routing",
    "jiedai_flow.dispatch": "jiedai_flow.notify.dispatch",
    "jiedai_flow.deadlines": "jiedai_flow.notify.deadlines",
    "jiedai_flow.notifiers": "jiedai_flow.notify.channels",
    "jiedai_flow.audit": "jiedai_flow.storage.chain",
    "jiedai_flow.checkpoints": "jiedai_flow.storage.checkpoints",
    "jiedai_flow.storage.sql_outbox": "jiedai_flow.storage.sql.outbox",
    "jiedai_flow.storage.sql_tasks": "jiedai_flow.storage.sql.tasks",
    "jiedai_flow.builtin.approval": "jiedai_flow.builtin.chain",
    "jiedai_flow.builtin.calendar": "jiedai_flow.builtin.holidays",
    "jiedai_flow.builtin.sql": "jiedai_flow.builtin.sql_backend",
    "jiedai_flow.builtin.memory": "jiedai_flow.builtin.memory_backend",
    "jiedai_flow.demo": "jiedai_flow.cli.demo",
    "jiedai_flow.cli_commands": "jiedai_flow.cli",
}
"""Old module path → new module path."""

_PREFIXES = {
    "jiedai_flow.cli_commands.": "jiedai_flow.cli.",
    "jiedai_flow.notifiers.": "jiedai_flow.notify.channels.",
}
"""Old package prefixes whose submodules moved with them."""


def new_name(old: str) -> str | None:
    """Where the module once named ``old`` lives now, or None if it did not move."""
    if old in MOVED:
        return MOVED[old]
    for prefix, into in _PREFIXES.items():
        if old.startswith(prefix):
            return into + old[len(prefix) :]
    return None


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and answers with the module under its new name."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        del path, target
        if new_name(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = new_name(spec.name)
        assert new is not None
        warnings.warn(
            f"{spec.name} 已移到 {new}，请改用新路径 / {spec.name} moved to {new}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the one under its new name, already imported."""


def install() -> None:
    """Put the finder first on ``sys.meta_path``, once: an old name must not be found by the path
    finder inside the moved package (that would import a second copy of the module)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())

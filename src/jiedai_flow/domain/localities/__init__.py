"""Example standards of five localities 地方标准示例, one TOML file each, shipped with the package.

Each file is one standards layer (format: :mod:`jiedai_flow.domain.standards_toml`) transcribed from a
public source, with its key ("参考资料 S12", listed in docs/sources.md) in its ``source`` and comments.
A deployment loads one as it is, or copies it as the start of its own::

    from jiedai_flow import hookimpl
    from jiedai_flow.domain import localities

    @hookimpl
    def jiedai_standards_layers():
        return [localities.load("anhui"), localities.load("luan")]

``anhui`` 安徽省直 (S21), ``fujian`` 福建省 (S12), ``hubei_county`` 湖北某县 (S15), ``luan`` 六安市
(S19), ``zhoukou`` 周口市 (S18). docs/standards.md describes them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from jiedai_flow.domain.standards_toml import load_standards_file

if TYPE_CHECKING:
    from jiedai_flow.domain.standards import StandardsLayer

__all__ = ["available", "load", "path"]

_HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    """The names of the shipped localities, sorted: the TOML file names without ``.toml``."""
    return sorted(p.stem for p in _HERE.glob("*.toml"))


def path(name: str) -> Path:
    """The TOML file of locality ``name`` (to read or copy); LookupError if there is none."""
    if name not in available():
        raise LookupError(
            f"没有名为「{name}」的地方标准，可选：{'、'.join(available())} / "
            f"no locality named {name!r}; one of: {', '.join(available())}"
        )
    return _HERE / f"{name}.toml"


@functools.cache
def load(name: str) -> StandardsLayer:
    """The standards layer of locality ``name``, read once per process."""
    return load_standards_file(path(name))

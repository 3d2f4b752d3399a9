"""Generate docs/hooks.md from :mod:`jiedai_flow.hookspecs`, so the hooks have one source of text.

``python -m jiedai_flow.docgen hooks > docs/hooks.md`` regenerates the page;
``python -m jiedai_flow.docgen --check [PATH]`` exits 1 if the file differs from the generated text.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from jiedai_flow import hookspecs
from jiedai_flow.plugins import BUILTIN_PLUGINS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from types import ModuleType

DEFAULT_PATH = Path("docs/hooks.md")
REGENERATE = "python -m jiedai_flow.docgen hooks > docs/hooks.md"
_BANNER = re.compile(r"^# -{20,}\n# (?P<title>[^\n]+)\n# -{20,}$", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc):`~?([^`]+)`")
_FIELD = re.compile(r"^:param (\w+):", re.MULTILINE)

_SEMANTICS = {
    "firstresult": "firstresult — 第一个非 None 结果即停止 / stops at the first non-None result",
    "historic": "historic — 之后注册的插件也会收到 / replayed to plugins registered later",
    "1:N": "1:N — 每个插件都调用，结果为列表 / every plugin is called, results are a list",
}


def _manager() -> pluggy.PluginManager:
    return pluggy.PluginManager(hookspecs.PROJECT_NAME)


def specs(module: ModuleType = hookspecs) -> Iterator[tuple[str, Callable[..., object], str]]:
    """Each hook spec of ``module`` in source order: (name, function, call semantics)."""
    pm = _manager()
    for name, obj in vars(module).items():
        opts = pm.parse_hookspec_opts(module, name)
        if opts is not None:
            kind = "firstresult" if opts.get("firstresult") else "historic" if opts.get("historic") else "1:N"
            yield name, obj, kind


def signature(name: str, func: Callable[..., object]) -> str:
    """``name(arg: Type, ...) -> Return`` with annotations as written in the source."""
    sig = inspect.signature(func)

    def text(annotation: object) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    params = ", ".join(f"{p.name}: {text(p.annotation)}" for p in sig.parameters.values())
    return f"{name}({params}) -> {text(sig.return_annotation)}"


def _markdown(doc: str) -> str:
    doc = _ROLE.sub(r"``\1``", inspect.cleandoc(doc))
    doc = _FIELD.sub(r"- `\1`:", doc).replace(":return:", "- 返回 / returns:")
    return doc.replace("``", "`")


def _phases(module: ModuleType) -> list[tuple[int, str]]:
    """(line number, title) of each banner comment of ``module``."""
    source = inspect.getsource(module)
    return [(source.count("\n", 0, m.start()) + 1, m["title"]) for m in _BANNER.finditer(source)]


def render_builtin_table(plugins: Sequence[tuple[str, str]] = BUILTIN_PLUGINS) -> str:
    """A markdown table of the built-in plugins: registered name, module, hooks implemented."""
    pm = _manager()
    rows = ["| 插件 plugin | 模块 module | 钩子 hooks |", "| --- | --- | --- |"]
    for plugin_name, module_name in plugins:
        module = importlib.import_module(module_name)
        hooks = []
        for attr in vars(module):
            opts = pm.parse_hookimpl_opts(module, attr)
            if opts is not None:
                flags = [flag for flag in ("wrapper", "hookwrapper", "tryfirst", "trylast") if opts.get(flag)]
                suffix = f" ({', '.join(flags)})" if flags else ""
                hooks.append(f"`{opts.get('specname') or attr}`{suffix}")
        rows.append(f"| `{plugin_name}` | `{module_name}` | {', '.join(hooks)} |")
    return "\n".join(rows) + "\n"


def render_hooks(module: ModuleType = hookspecs) -> str:
    """The whole hooks reference page."""
    out = [
        "# 插件钩子参考 Hooks reference",
        "",
        f"<!-- 由 {module.__name__} 生成，请勿手改 / generated; do not edit. Regenerate: {REGENERATE} -->",
        "",
        _markdown(module.__doc__ or ""),
        "",
    ]
    phases = _phases(module)
    current = ""
    for name, func, kind in specs(module):
        line = inspect.getsourcelines(func)[1]
        phase = next((title for start, title in reversed(phases) if start < line), "")
        if phase and phase != current:
            out += [f"## {phase}", ""]
            current = phase
        out += [f"### `{name}`", "", "```python", signature(name, func), "```", ""]
        out += [f"调用方式 / call semantics: {_SEMANTICS[kind]}", "", _markdown(func.__doc__ or ""), ""]
    out += ["## 内置插件 Built-in plugins", "", render_builtin_table()]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """``hooks`` prints the page; ``plugins`` prints the built-in table; ``--check [PATH]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["hooks"]:
        sys.stdout.buffer.write(render_hooks().encode("utf-8"))
        return 0
    if args[:1] == ["plugins"]:
        sys.stdout.buffer.write(render_builtin_table().encode("utf-8"))
        return 0
    if args[:1] == ["--check"] and len(args) <= 2:
        path = Path(args[1]) if len(args) == 2 else DEFAULT_PATH
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != render_hooks():
            print(f"{path} 已过期 / is stale; run: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    print("usage: python -m jiedai_flow.docgen hooks | plugins | --check [PATH]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

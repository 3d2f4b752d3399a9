"""``jiedai schema``: the JSON Schema of an input 输入的 JSON Schema — a reception file, a list file,
a follow-up entry or one import row — generated from the model by :mod:`jiedai_flow.domain.inputref`."""

from __future__ import annotations

import json

import click

KINDS = ("reception", "list", "follow-up", "import-row")
"""The kinds ``jiedai schema`` prints; the same as :data:`jiedai_flow.domain.inputref.SCHEMA_KINDS`
(not imported here: :mod:`jiedai_flow.domain.inputref` reads the reception file from this package)."""


@click.command(
    short_help="输入的 JSON Schema / JSON Schema of an input file.",
    help="打印输入的 JSON Schema（draft 2020-12），由模型生成：reception 接待文件、list 接待清单、"
    "follow-up 跟踪记录、import-row 导入行。字段说明见 docs/input-reference.md。\n\n"
    "Print the JSON Schema (draft 2020-12) of a reception file, a list file, a follow-up entry or "
    "one import row, generated from the model.",
)
@click.argument("kind", type=click.Choice(KINDS), default="reception", required=False)
def schema(kind: str) -> None:
    from jiedai_flow.domain.inputref import json_schema

    click.echo(json.dumps(json_schema(kind), ensure_ascii=False, indent=2))


COMMANDS = (schema,)

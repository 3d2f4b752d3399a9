"""Reading an import file 读取导入文件: CSV (UTF-8 or GB18030, as Excel in China saves it) or xlsx,
and its header row matched to :data:`~jiedai_flow.importer.columns.COLUMNS`."""

from __future__ import annotations

import csv
import io
import re
import warnings
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from jiedai_flow.errors import Problem, ValidationError
from jiedai_flow.importer.columns import COLUMNS, Column, RowError

if TYPE_CHECKING:
    from collections.abc import Sequence


def _file_error(path: Path, zh: str, en: str, line: int | None = None) -> ValidationError:
    return ValidationError([Problem("$", zh, en, line)], source=str(path))


def read_table(path: str | Path) -> list[tuple[int, list[str]]]:
    """The rows of a CSV (UTF-8 or GB18030) or xlsx file as (row number, cells), header first."""
    path = Path(path)
    if not path.is_file():
        why = "是目录" if path.is_dir() else "不存在"
        raise _file_error(path, f"导入文件 {path} {why}", f"import file {path} not found or not a file")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path)
    if suffix in {".csv", ".tsv", ".txt"}:
        return _read_csv(path, "\t" if suffix == ".tsv" else ",")
    hint = "（旧版 .xls 请在 Excel 中另存为 .xlsx）" if suffix == ".xls" else ""
    raise _file_error(
        path,
        f"不支持的文件类型「{suffix or '无后缀'}」，请用 .csv 或 .xlsx{hint}",
        f"unsupported file type {suffix!r}; use .csv or .xlsx",
    )


def _read_csv(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # why: Excel in China saves CSV as GBK by default
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly any byte sequence
        raise _file_error(
            path, "无法识别文件编码（应为 UTF-8 或 GBK）", "unknown encoding (use UTF-8 or GBK)"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append((number, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise _file_error(path, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}", reader.line_num) from None
    return rows


def _read_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # why: openpyxl ships no type hints

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # why: openpyxl warns about styles it cannot read
            book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # why: openpyxl raises many types for a damaged or non-xlsx file
        raise _file_error(
            path, f"不是有效的 xlsx 文件：{type(exc).__name__} {exc}", f"not a valid xlsx file: {exc!r}"
        ) from None
    try:
        sheet = book.worksheets[0]
        return [
            (number, [_cell(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # why: Excel stores numbers as floats; repr is the shortest exact text (330.5, not 330.49999…)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _header_map(header: Sequence[str], path: Path) -> list[Column | None]:
    known: dict[str, Column] = {}
    for column in COLUMNS:
        known[column.name.lower()] = known[column.label] = column
    found: list[Column | None] = []
    problems = []
    seen: set[str] = set()
    for text in header:
        tokens = [text.strip().lower(), *re.split(r"[\s()（）*]+", text.strip().lower())]
        found_column = next((known[t] for t in tokens if t in known), None)
        if text.strip() and found_column is None:
            problems.append(
                Problem(
                    text, f"未知的列「{text}」", f"unknown column {text!r}; see `jiedai import --help`", 1
                )
            )
        elif found_column is not None and found_column.name in seen:
            problems.append(Problem(text, f"列「{text}」重复", f"column {text!r} appears twice", 1))
        if found_column is not None:
            seen.add(found_column.name)
        found.append(found_column)
    missing = [c for c in COLUMNS if c.required and c.name not in seen]
    problems += [
        Problem(c.name, f"缺少必填列「{c.label}」（{c.name}）", f"required column {c.name} is missing", 1)
        for c in missing
    ]
    if problems:
        raise ValidationError(problems, source=str(path))
    return found


def read_rows(path: str | Path) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The data rows of an import file as (row number, {column name: cell}), blank rows skipped,
    and the rows with more cells than the header has columns."""
    table = [(n, cells) for n, cells in read_table(path) if any(cells)]
    if not table:
        raise _file_error(
            Path(path), "文件是空的（第一行应为表头）", "the file is empty (row 1 must be the header)"
        )
    columns = _header_map(table[0][1], Path(path))
    rows, errors = [], []
    for number, cells in table[1:]:
        extra = [v for v in cells[len(columns) :] if v]
        if extra:
            errors.append(
                RowError(
                    number, "", f"比表头多出 {len(extra)} 个单元格", f"{len(extra)} cell(s) beyond the header"
                )
            )
        named = {col.name: cells[i] for i, col in enumerate(columns) if col is not None and i < len(cells)}
        rows.append((number, named))
    return rows, errors

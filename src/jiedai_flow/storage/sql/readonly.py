"""Opening a SQLite file read-only 只读打开 (an auditor's copy)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote


def read_only_file(database: str | None) -> bool:
    """A SQLite database file that exists but that this process may not write, or whose folder it
    may not write (SQLite writes a journal beside the file)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    path = Path(database)
    if not path.is_file():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def read_only_uri(database: str) -> str:
    """The URI that opens a read-only copy. Without committed pages waiting in a ``-wal`` file the
    copy is opened immutable (no locks, no ``-shm`` to create in a folder that may be read-only);
    with them it is opened plainly read-only, so those commits are read rather than silently
    missed."""
    path = Path(database)
    wal = path.with_name(path.name + "-wal")
    pending = wal.is_file() and wal.stat().st_size > 0
    return f"file:{quote(str(path.resolve()))}?mode=ro" + ("" if pending else "&immutable=1")

"""The in-memory store as a storage plugin for ``memory://``. Plugin name ``jiedai.memory``."""

from __future__ import annotations

from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.storage.memory import MemoryStore


@hookimpl(trylast=True)
def jiedai_storage(url: str) -> MemoryStore | None:
    return MemoryStore() if url in {"memory://", "memory:"} else None

"""Storage back ends 存储. Each implements :class:`Store` and passes :mod:`jiedai_flow.testing`'s
contract suite; the engine picks one by URL through the ``jiedai_storage`` hook."""

from __future__ import annotations

from jiedai_flow.storage.base import Store
from jiedai_flow.storage.memory import MemoryStore

__all__ = ["MemoryStore", "Store"]

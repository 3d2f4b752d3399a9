"""存储后端插件：按 URL 打开存储。这里让同一进程里的多个引擎共用一个内存存储。"""

from __future__ import annotations

import threading

from jiedai_flow import MemoryStore, hookimpl

SCHEME = "shared-memory://"
_stores: dict[str, MemoryStore] = {}
_lock = threading.Lock()


@hookimpl
def jiedai_storage(url: str) -> MemoryStore | None:
    if not url.startswith(SCHEME):
        return None  # 不是本插件的 URL：交给下一个后端
    with _lock:
        return _stores.setdefault(url, MemoryStore())

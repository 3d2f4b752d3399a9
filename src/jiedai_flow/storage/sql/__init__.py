"""The SQL back end 关系数据库存储: SQLite (embedded default), PostgreSQL, MySQL/MariaDB — a package of
parts with one job each:

- :mod:`.store` — :class:`SQLStore`: connections, the write path of a command (compare-and-set, the
  audit chain, ledger, idempotency record), reads and queries;
- :mod:`.statements` — statements compiled once per dialect, bound values (the leaf the others use);
- :mod:`.outbox` — claiming and finishing outbox deliveries;
- :mod:`.tasks` — the task lists 待办/已办/抄送/发起 and their rows;
- :mod:`.verify` — what verify checks besides the chain (typed columns, outbox digests);
- :mod:`.races` — transactions run again after losing a race; :mod:`.readonly` — read-only files;
- :mod:`.opening` — the error that says why a database cannot be opened.
"""

from __future__ import annotations

from jiedai_flow.storage.sql.races import RACE_ATTEMPTS
from jiedai_flow.storage.sql.store import Durability, MonthlyStatistics, SQLStore
from jiedai_flow.storage.sql.verify import (
    RECEPTION_COLUMNS_EXEMPT,
    RECEPTION_COLUMNS_FROM_DATA,
    report_columns,
)

__all__ = [
    "RACE_ATTEMPTS",
    "RECEPTION_COLUMNS_EXEMPT",
    "RECEPTION_COLUMNS_FROM_DATA",
    "Durability",
    "MonthlyStatistics",
    "SQLStore",
    "report_columns",
]

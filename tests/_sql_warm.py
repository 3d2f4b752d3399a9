"""Imported by the crash test's fork server: opens (and closes) one engine on an in-memory
database so every lazy import and first-use cost is paid before the writers are forked, and a
writer starts writing within milliseconds."""

from __future__ import annotations

import sqlalchemy as sa

from jiedai_flow.testing import make_engine
from tests._sql_helpers import create

_engine = make_engine(url="sqlite://")
create(_engine)
_engine.store.close()
for _url in ("postgresql+psycopg://", "mysql+pymysql://"):
    sa.make_url(_url).get_dialect().import_dbapi()
del _engine

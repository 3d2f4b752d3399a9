"""The JSON API under ``/api/v1``, one module per resource; :data:`ROUTES` lists them all.

Task lists and approval operations (会签/或签/加签/转办/委派/驳回/拿回/催办/抄送, 待办/已办) go in
:mod:`.tasks`, which the router already includes.
"""

from __future__ import annotations

from jiedai_flow.server.api import receptions, reports, tasks

ROUTES = (*receptions.ROUTES, *reports.ROUTES, *tasks.ROUTES)

"""stub"""
from __future__ import annotations
from litestar import Router
def router(settings):
    return Router("/web", route_handlers=[])

"""The HTTP service 接口服务 (``pip install "jiedai-flow[server]"``; ``jiedai serve``).

An optional extra over the same engine: :func:`jiedai_flow.server.app.create_app` builds an ASGI
application a Python host can mount in its own; ``jiedai serve`` runs it on uvicorn. Only
:mod:`.tokens` works without the extra (``jiedai token`` needs no web framework).
"""

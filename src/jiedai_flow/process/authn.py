"""How the actor of a command was authenticated 身份认证方式, recorded on its audit event.

The engine trusts the :class:`~jiedai_flow.domain.model.Actor` it is given; the application that
authenticated the person says how, and every audit event the command writes records it
(``AuditEvent.auth_method``). The HTTP service sets it per request (``api-token:<id>``,
``jwt:<issuer>``, ``session/api-token:<id>`` …); an in-process call that sets nothing records ""
(the embedding application vouched for the actor).

It is a context variable, not a parameter of every command, so that every command the engine has
or gains records it the same way, and a host can set it once around its own request handling.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

AUTH_METHOD: ContextVar[str] = ContextVar("jiedai_auth_method", default="")
"""How the actor of the commands run in this context was authenticated ("" : not said)."""


@contextlib.contextmanager
def authenticated_by(method: str) -> Iterator[None]:
    """Record ``method`` on the audit events of the commands run inside the block."""
    token = AUTH_METHOD.set(method)
    try:
        yield
    finally:
        AUTH_METHOD.reset(token)

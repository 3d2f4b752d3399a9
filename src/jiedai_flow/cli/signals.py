"""SIGTERM 终止信号, as service managers stop a program (systemd, Docker, Kubernetes): what a command
does with it while it runs."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@contextlib.contextmanager
def on_sigterm(handler: Callable[[], None]) -> Iterator[None]:
    """Call ``handler`` on SIGTERM while the block runs. Only the main thread may set a signal
    handler: run elsewhere (a host calling a command from a worker thread), the block runs as it
    would have without this."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda _signal, _frame: handler())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupt() -> None:
    """A SIGTERM handler that stops the command as Ctrl-C does, so that its ``finally`` blocks run."""
    raise KeyboardInterrupt

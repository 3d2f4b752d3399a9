"""The writer of tests/test_crash_safety.py, killed with SIGKILL at random moments.

It first finishes the receptions a killed predecessor left unfinished — re-sending the last
accepted command of each as a client whose reply was lost would, and expecting the first result
back — then runs full lifecycles of new receptions forever. Request ids are deterministic
(``<reception>:<version it makes>``). Anything that contradicts the store's promises is appended
to the ``problems`` file; the parent fails the test if that file exists.

Run as ``python -m tests._sql_crash_writer URL PROBLEMS_FILE`` or through :func:`run`.
"""

from __future__ import annotations

import sys
import uuid
from typing import TYPE_CHECKING, Any

from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.testing import ACTORS, make_engine
from tests._sql_helpers import HAPPY, TERMINAL, create, fire

if TYPE_CHECKING:
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.engine import Engine

ACTOR_KEYS = {actor.id: key for key, actor in ACTORS.items()}


def _problem(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(text + "\n")


def _walk(engine: Engine, reception: Reception) -> None:
    while reception.state not in TERMINAL:
        trigger, actor = HAPPY[reception.state]
        request_id = f"{reception.id}:{reception.version + 1}"
        reception = fire(engine, reception, trigger, actor, request_id=request_id).reception


def _resend_last(engine: Engine, reception: Reception, problems: str) -> None:
    last = engine.history(reception.id)[-1]
    if last.trigger == "create":
        again = create(engine, reception_id=reception.id, request_id=last.request_id)
    else:  # the same command again, as a client whose reply was lost resends it (its list included)
        again = fire(engine, reception, last.trigger, ACTOR_KEYS[last.actor_id], request_id=last.request_id)
    if not again.replayed or again.event.id != last.id:
        _problem(problems, f"re-sent {last.request_id}: replayed={again.replayed}, event {again.event.id}")


def run(url: str, problems: str, ready: Any = None) -> None:
    engine = make_engine(url=url)
    if ready is not None:
        ready.set()
    unfinished = engine.query(ReceptionQuery(states=frozenset(HAPPY), limit=10_000)).items
    for reception in unfinished:
        _resend_last(engine, reception, problems)
        _walk(engine, engine.get(reception.id))
    while True:
        rid = uuid.uuid4().hex
        created = create(engine, reception_id=rid, request_id=f"{rid}:1")
        _walk(engine, created.reception)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])

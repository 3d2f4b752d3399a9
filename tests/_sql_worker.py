"""A worker process of tests/test_sql_concurrency.py: its own engine, firing commands at shared
receptions from what it believes their state is, re-sending some request ids (a lost reply)."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from jiedai_flow.errors import ConflictError, InvalidTransitionError, NotAuthorizedError
from jiedai_flow.testing import make_engine
from tests._sql_helpers import DETOURS, HAPPY, TERMINAL, fire

if TYPE_CHECKING:
    from collections.abc import Sequence


def choose(rng: random.Random, state: str) -> tuple[str, str]:
    """A trigger valid from ``state``: mostly the happy path, sometimes a detour back."""
    detours = DETOURS.get(state, ())
    if detours and rng.random() < 0.4:
        return rng.choice(detours)
    return HAPPY[state]


def run(
    url: str,
    worker: int,
    reception_ids: Sequence[str],
    seconds: float,
    seed: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Fire for ``seconds`` after ``go`` is set; put (worker, accepted, replays, conflicts, errors).

    ``accepted`` holds (request_id, reception_id, version, event_id, trigger, actor) of every
    command this worker saw accepted for the first time.
    """
    rng = random.Random(seed)
    engine = None
    accepted: list[tuple[str, str, int, str, str, str]] = []
    errors: list[str] = []
    replays = conflicts = 0
    signalled = False
    try:
        engine = make_engine(url=url)
        known = {rid: engine.get(rid) for rid in reception_ids}
        ready.put(worker)
        signalled = True
        go.wait(60)
        deadline = time.monotonic() + seconds
        counter = 0
        while time.monotonic() < deadline:
            live = [rid for rid, r in known.items() if r.state not in TERMINAL]
            if not live:
                break
            believed = known[rng.choice(live)]
            trigger, actor = choose(rng, believed.state)
            counter += 1
            request_id = f"w{worker}-{counter}"
            expected = believed.version if rng.random() < 0.5 else None
            try:
                result = fire(
                    engine, believed, trigger, actor, request_id=request_id, expected_version=expected
                )
            except (ConflictError, InvalidTransitionError, NotAuthorizedError):
                conflicts += 1
                known[believed.id] = engine.get(believed.id)
                continue
            except Exception as exc:
                errors.append(f"{request_id} {trigger} on {believed.id}: {exc!r}")
                known[believed.id] = engine.get(believed.id)
                continue
            if result.replayed:
                errors.append(f"fresh request {request_id} came back as a replay")
            event = result.event
            accepted.append((request_id, believed.id, result.reception.version, event.id, trigger, actor))
            known[believed.id] = result.reception
            if rng.random() < 0.3:  # a reply was lost: the client sends an earlier request again
                old = rng.choice(accepted)
                try:
                    again = fire(engine, known[old[1]], old[4], old[5], request_id=old[0])
                except Exception as exc:
                    errors.append(f"re-sent {old[0]}: {exc!r}")
                    continue
                replays += 1
                if not again.replayed or (again.reception.version, again.event.id) != (old[2], old[3]):
                    errors.append(
                        f"re-sent {old[0]}: replayed={again.replayed}, version "
                        f"{again.reception.version} (first {old[2]}), event {again.event.id} (first {old[3]})"
                    )
    except Exception as exc:  # anything else ends the worker; the parent reports it
        errors.append(f"worker {worker} stopped: {exc!r}")
    finally:
        if not signalled:
            ready.put(worker)
        if engine is not None:
            engine.store.close()
        results.put((worker, accepted, replays, conflicts, errors))

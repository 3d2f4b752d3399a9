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
    """Fire for ``seconds`` after ``go`` is set, then put this worker's outcome on ``results``.

    Half the commands carry a request id every worker derives alike from (reception, version it
    should make, trigger, actor), so two workers sending the same command race with one request
    id, as a client's retry racing its original would; the others carry ids unique to the worker.
    The outcome: ``accepted`` (request_id, reception_id, version, event_id) of every command that
    came back as accepted for the first time, ``replayed`` (request_id, event_id, version) of every
    answer that came back as a replay, counts of ``conflicts`` and ``resent``, and ``errors``.
    """
    rng = random.Random(seed)
    engine = None
    accepted: list[tuple[str, str, int, str]] = []
    sent: dict[str, tuple[str, str, str]] = {}  # request id → (reception id, trigger, actor)
    replayed: list[tuple[str, str, int]] = []
    errors: list[str] = []
    conflicts = resent = 0
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
            if rng.random() < 0.5:
                request_id = f"{believed.id}:{believed.version + 1}:{trigger}:{actor}"
            else:
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
            sent[request_id] = (believed.id, trigger, actor)
            event, version = result.event, result.reception.version
            if result.replayed:  # another worker sent this very command first
                replayed.append((request_id, event.id, version))
                known[believed.id] = engine.get(believed.id)
                continue
            accepted.append((request_id, believed.id, version, event.id))
            known[believed.id] = result.reception
            if rng.random() < 0.3:  # a reply was lost: the client sends an earlier request again
                old = rng.choice(list(sent))
                rid, old_trigger, old_actor = sent[old]
                try:
                    again = fire(engine, known[rid], old_trigger, old_actor, request_id=old)
                except Exception as exc:
                    errors.append(f"re-sent {old}: {exc!r}")
                    continue
                resent += 1
                if not again.replayed:
                    errors.append(f"re-sent {old} was applied again as version {again.reception.version}")
                replayed.append((old, again.event.id, again.reception.version))
    except Exception as exc:  # anything else ends the worker; the parent reports it
        errors.append(f"worker {worker} stopped: {exc!r}")
    finally:
        if not signalled:
            ready.put(worker)
        if engine is not None:
            engine.store.close()
        results.put(
            {
                "worker": worker,
                "accepted": accepted,
                "replayed": replayed,
                "conflicts": conflicts,
                "resent": resent,
                "errors": errors,
            }
        )

#!/usr/bin/env python
"""Engine benchmark 引擎性能基准: the engine's per-command cost against floors measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_engine.py          # full run (~1–3 min on 2 cores)
    .venv/bin/python benchmarks/bench_engine.py --quick  # short run for CI (< 20 s)

What is measured (see docs/performance.md):

a) floor 1 — a bare ``transitions`` trigger: one ``transitions.Machine(model=None)`` built from
   ``DEFAULT_PROCESS`` exactly the way ``CompiledProcess`` builds it, fired with
   ``machine.events[name].trigger(token)`` on a slotted token (start/finish, no conditions);
b) floor 2 — a hand-written state machine: ``table[(state, trigger)] -> ((condition, dest), ...)``;
c) ``engine.fire`` on the in-memory store with the built-in plugins (``testing.make_engine()``) on
   the rule-free stages start/finish (approved → in_progress → completed); receptions are brought to
   ``approved`` first and only the start/finish commands are timed;
d) a full lifecycle (create, submit, approve, start, finish, claim with a reception list paid by
   公务卡, settle by finance, archive) — the average command, against the issue's yardstick
   "a python-statemachine trigger ≈ 11× a transitions trigger" (measured when python-statemachine
   is importable, otherwise stated as 11× the measured transitions trigger);
e) memory per reception for 100,000 receptions (each with its own letter and plan; tracemalloc
   difference / count) and the cost of a command on the first reception versus the 100,000th.

Method: ``time.perf_counter_ns``; a warm-up before every timed section; the median of several
repeats; the garbage collector is collected before and disabled during every timed loop (the
engine allocates only acyclic garbage, so this removes collector pauses whose cost depends on the
whole heap, not on the engine; memory in e) is measured with the collector on).

The last three lines are machine-readable::

    RATIO engine/transitions = X   (target ≤ 5)
    RATIO engine/dict = Y          (no target; shows the price of the whole unit of work)
    RATIO last/first = Z           (target ≈ 1)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import transitions
from transitions import Machine

from jiedai_flow.lifecycle import DEFAULT_PROCESS, CompiledProcess, ProcessDefinition
from jiedai_flow.model import Payment, PaymentMethod, ReceptionList
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from jiedai_flow.engine import Engine
    from jiedai_flow.model import OfficialLetter, Plan

perf_ns = time.perf_counter_ns

HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
FINANCE = ACTORS["finance"]
OFFICE = ACTORS["office"]
JURISDICTION = "341502"
HOST_UNIT = "县政府办公室"
YARDSTICK = 11.0
"""The issue's yardstick: a python-statemachine trigger ≈ 11× a transitions trigger."""


class Settings:
    """How much work each section does."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.repeats = 5 if quick else 9
        self.floor_loops = 2_000 if quick else 20_000  # start/finish pairs per floor repeat
        self.engine_batch = 300 if quick else 2_000  # receptions per engine repeat (c)
        self.lifecycle_batch = 200 if quick else 1_500  # receptions per lifecycle repeat (d)
        self.population = 10_000 if quick else 100_000  # receptions in the store (e)
        self.ends = 30 if quick else 100  # receptions timed at each end (e)


# -- helpers ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Collect, then keep the collector off for a timed loop."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Token:
    """What a state machine sees of a reception: a state and the facts of this command."""

    __slots__ = ("facts", "state")

    def __init__(self, state: str, facts: frozenset[str] = frozenset()) -> None:
        self.state = state
        self.facts = facts


def _fact(fact: str) -> Callable[[Any], bool]:
    def holds(event: Any) -> bool:
        return fact in event.model.facts

    return holds


def transitions_machine(definition: ProcessDefinition) -> Machine:
    """One ``Machine(model=None)`` for the definition, built with the arguments CompiledProcess uses."""
    return Machine(
        model=None,
        states=[s.name for s in definition.states],
        transitions=[
            {
                "trigger": t.trigger,
                "source": t.source,
                "dest": t.dest,
                "conditions": [_fact(t.condition)] if t.condition else [],
            }
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
        send_event=True,
    )


def dict_machine(definition: ProcessDefinition) -> Callable[[Token, str], bool]:
    """The hand-written floor: ``table[(state, trigger)] -> ((condition, dest), ...)``."""
    table: dict[tuple[str, str], tuple[tuple[str | None, str], ...]] = {}
    for t in definition.transitions:
        key = (t.source, t.trigger)
        table[key] = (*table.get(key, ()), (t.condition, t.dest))

    def fire(token: Token, trigger: str) -> bool:
        for condition, dest in table.get((token.state, trigger), ()):
            if condition is None or condition in token.facts:
                token.state = dest
                return True
        return False

    return fire


def statemachine_class(definition: ProcessDefinition) -> type | None:
    """An equivalent python-statemachine class (states, triggers, conditions), if it is installed."""
    try:
        from statemachine import State, StateMachine  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    namespace: dict[str, Any] = {
        s.name: State(s.label, value=s.name, initial=s.name == definition.initial, final=s.terminal)
        for s in definition.states
    }
    events: dict[str, Any] = {}
    for t in definition.transitions:
        kwargs: dict[str, Any] = {}
        if t.condition:
            fact = t.condition
            kwargs["cond"] = lambda model, _fact=fact: _fact in model.facts
        step = namespace[t.source].to(namespace[t.dest], **kwargs)
        events[t.trigger] = step if t.trigger not in events else events[t.trigger] | step
    namespace.update(events)
    return type("ReceptionStateMachine", (StateMachine,), namespace)


def reception_list(letter: OfficialLetter, plan: Plan) -> ReceptionList:
    """The list 接待清单 filed with the claim: the guests, the meal, one 公务卡 payment."""
    total = sum((m.cost for m in plan.meals), Decimal(0))
    return ReceptionList(
        guests=letter.personnel,
        meals=plan.meals,
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "POS-20260310-001"),),
        companions=plan.companions,
        signed_by="王强",
        signed_on=letter.itinerary.end,
    )


def create(engine: Engine, letter: OfficialLetter, plan: Plan) -> str:
    return engine.create_reception(
        letter, plan, handler=HANDLER, host_unit=HOST_UNIT, jurisdiction=JURISDICTION
    ).reception.id


def approved(engine: Engine, count: int, letter: OfficialLetter, plan: Plan) -> list[str]:
    """``count`` new receptions brought to 已审批 (create, submit, approve) — not timed."""
    ids = []
    for _ in range(count):
        rid = create(engine, letter, plan)
        engine.fire(rid, "submit", HANDLER)
        engine.fire(rid, "approve", APPROVER)
        ids.append(rid)
    return ids


def start_finish(engine: Engine, rid: str, into: list[int]) -> None:
    """Fire start and finish on one approved reception, each timed on its own (ns)."""
    t0 = perf_ns()
    engine.fire(rid, "start", HANDLER)
    t1 = perf_ns()
    engine.fire(rid, "finish", HANDLER)
    t2 = perf_ns()
    into += (t1 - t0, t2 - t1)


# -- the sections --------------------------------------------------------------------------------
#
# Sections a)–d) run in rounds: every round times each floor, the engine and the lifecycle once, so
# that a slow spell of the machine (other jobs on the same 2 cores) hits floors and engine alike.
# Ratios are the median of the per-round ratios; the first round is the warm-up and is discarded.


def floor_runs(s: Settings) -> tuple[dict[str, Callable[[], tuple[int, int]]], str]:
    """The floors, each a ``run() -> (elapsed ns, triggers)``; and python-statemachine's version."""
    machine = transitions_machine(DEFAULT_PROCESS)
    compiled = CompiledProcess(DEFAULT_PROCESS)
    assert set(machine.events) == set(compiled._machine.events), "floor differs from CompiledProcess"
    start_t, finish_t = machine.events["start"].trigger, machine.events["finish"].trigger
    fire_dict = dict_machine(DEFAULT_PROCESS)
    n = s.floor_loops

    def run_transitions() -> tuple[int, int]:
        token = Token("approved")
        t0 = perf_ns()
        for _ in range(n):
            token.state = "approved"
            start_t(token)
            finish_t(token)
        elapsed = perf_ns() - t0
        assert token.state == "completed"
        return elapsed, 2 * n

    def run_dict() -> tuple[int, int]:
        token = Token("approved")
        t0 = perf_ns()
        for _ in range(n):
            token.state = "approved"
            fire_dict(token, "start")
            fire_dict(token, "finish")
        elapsed = perf_ns() - t0
        assert token.state == "completed"
        return elapsed, 2 * n

    def run_adapter() -> tuple[int, int]:
        fire = compiled.fire
        none: frozenset[str] = frozenset()
        t0 = perf_ns()
        for _ in range(n):
            fire("approved", "start", none)
            fire("in_progress", "finish", none)
        return perf_ns() - t0, 2 * n

    runs = {"transitions": run_transitions, "dict": run_dict, "adapter": run_adapter}
    cls = statemachine_class(DEFAULT_PROCESS)
    version = ""
    if cls is not None:
        import statemachine  # type: ignore[import-not-found, unused-ignore]

        version = statemachine.__version__
        token = Token("draft")
        send = cls(model=token).send
        m = max(n // 10, 100)

        def run_psm() -> tuple[int, int]:
            t0 = perf_ns()
            for _ in range(m):
                token.state = "approved"
                send("start")
                send("finish")
            elapsed = perf_ns() - t0
            assert token.state == "completed"
            return elapsed, 2 * m

        runs["psm"] = run_psm
    return runs, version


def engine_round(engine: Engine, batch: int, letter: OfficialLetter, plan: Plan) -> dict[str, float]:
    """c) ``batch`` receptions brought to approved (not timed), then start and finish timed."""
    ids = approved(engine, batch, letter, plan)
    fire = engine.fire
    with gc_paused():
        t0 = perf_ns()
        for rid in ids:
            fire(rid, "start", HANDLER)
        t1 = perf_ns()
        for rid in ids:
            fire(rid, "finish", HANDLER)
        t2 = perf_ns()
    assert engine.get(ids[-1]).state == "completed"
    return {"engine": (t2 - t0) / (2 * batch), "start": (t1 - t0) / batch, "finish": (t2 - t1) / batch}


LIFECYCLE = ("create", "submit", "approve", "start", "finish", "claim", "settle", "archive")


def lifecycle_round(engine: Engine, batch: int, letter: OfficialLetter, plan: Plan) -> dict[str, float]:
    """d) ``batch`` receptions taken from create to archive, one command kind at a time."""
    listing = reception_list(letter, plan)
    fire = engine.fire
    steps: list[tuple[str, Callable[[str], object]]] = [
        ("submit", lambda rid: fire(rid, "submit", HANDLER)),
        ("approve", lambda rid: fire(rid, "approve", APPROVER)),
        ("start", lambda rid: fire(rid, "start", HANDLER)),
        ("finish", lambda rid: fire(rid, "finish", HANDLER)),
        ("claim", lambda rid: fire(rid, "claim", HANDLER, reception_list=listing)),
        ("settle", lambda rid: fire(rid, "settle", FINANCE)),
        ("archive", lambda rid: fire(rid, "archive", OFFICE)),
    ]
    times = {}
    with gc_paused():
        t0 = perf_ns()
        ids = [create(engine, letter, plan) for _ in range(batch)]
        times["create"] = perf_ns() - t0
        for name, step in steps:
            t0 = perf_ns()
            for rid in ids:
                step(rid)
            times[name] = perf_ns() - t0
    assert engine.get(ids[-1]).state == "archived"
    out = {f"lc_{name}": elapsed / batch for name, elapsed in times.items()}
    out["lifecycle"] = sum(times.values()) / (batch * len(LIFECYCLE))
    return out


def rounds(s: Settings) -> tuple[dict[str, list[float]], str]:
    """a)–d) in ``s.repeats`` rounds after one warm-up round; per-command ns per round."""
    runs, psm_version = floor_runs(s)
    letter, plan = sample_letter(), sample_plan()
    engine, lifecycle_engine = make_engine(), make_engine()
    for stage in ("start", "finish"):
        assert not engine.rules.for_stage(stage), f"stage {stage} has rules; pick a rule-free stage"
    samples: dict[str, list[float]] = {}
    for i in range(s.repeats + 1):
        got: dict[str, float] = {}
        for name, run in runs.items():
            with gc_paused():
                elapsed, ops = run()
            got[name] = elapsed / ops
        got.update(engine_round(engine, s.engine_batch, letter, plan))
        got.update(lifecycle_round(lifecycle_engine, s.lifecycle_batch, letter, plan))
        if i:  # round 0 is the warm-up
            for key, value in got.items():
                samples.setdefault(key, []).append(value)
    return samples, psm_version


def population(s: Settings) -> dict[str, float]:
    """e) Memory per reception and a command on the first vs the last of ``s.population``."""
    letter, plan = sample_letter(), sample_plan()
    engine = make_engine()
    ends = s.ends
    bulk = s.population - 2 * ends

    # 1. receptions #1 … #ends, timed while the store is nearly empty
    first: list[int] = []
    first_ids = approved(engine, ends, letter, plan)
    with gc_paused():
        for rid in first_ids:
            start_finish(engine, rid, first)

    # 2. the bulk, each with its own letter and plan (dates spread over the year), under tracemalloc
    day0 = date(2026, 3, 10)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(bulk):
        on = day0 + timedelta(days=i % 240)
        create(engine, sample_letter(on), sample_plan(on))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    gc.collect()

    # 3. the last receptions (… #population), interleaved pair by pair with receptions #1 … #ends of
    # a fresh engine (the control), so that load from elsewhere on the machine hits both ends alike
    last_ids = approved(engine, ends, letter, plan)
    assert engine.get(last_ids[-1]).number.endswith(f"-{s.population:05d}")
    control = make_engine()
    control_ids = approved(control, ends, letter, plan)
    last: list[int] = []
    control_first: list[int] = []
    with gc_paused():
        for i, (big_id, small_id) in enumerate(zip(last_ids, control_ids, strict=True)):
            if i % 2:
                start_finish(engine, big_id, last)
                start_finish(control, small_id, control_first)
            else:
                start_finish(control, small_id, control_first)
                start_finish(engine, big_id, last)
    return {
        "bytes_per_reception": (after - before) / bulk,
        "bulk": bulk,
        "first": statistics.median(first),
        "last": statistics.median(last),
        "control_first": statistics.median(control_first),
    }


# -- the report ----------------------------------------------------------------------------------


def us(ns: float) -> str:
    return f"{ns / 1000:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run for CI (< 20 s)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    s = Settings(args.quick)
    wall = time.perf_counter()

    samples, psm_version = rounds(s)
    e = population(s)

    med = {key: statistics.median(values) for key, values in samples.items()}

    def ratio(num: str, den: str) -> float:
        """Median over rounds of num/den measured in the same round."""
        return statistics.median(n / d for n, d in zip(samples[num], samples[den], strict=True))

    tr = med["transitions"]
    has_psm = "psm" in med
    x = ratio("engine", "transitions")
    y = ratio("engine", "dict")
    z = e["last"] / e["control_first"]
    lifecycle_x = ratio("lifecycle", "transitions")
    psm_x = ratio("psm", "transitions") if has_psm else YARDSTICK

    rows: list[tuple[str, str, str, str]] = []

    def row(label: str, key: str | None = None, note: str = "", ns: float | None = None) -> None:
        value = med[key] if key is not None else ns
        assert value is not None
        times = ratio(key, "transitions") if key is not None else value / tr
        rows.append((label, us(value), f"{times:.2f}", note))

    def spread(key: str) -> str:
        return f"{us(min(samples[key]))}–{us(max(samples[key]))}"

    row("a) transitions trigger, Machine(model=None), slotted token", "transitions", spread("transitions"))
    row("b) dict table[(state, trigger)] state machine", "dict", spread("dict"))
    row("   CompiledProcess.fire (engine's adapter: token + trigger)", "adapter", spread("adapter"))
    if has_psm:
        row(f"   python-statemachine {psm_version} send(), same definition", "psm", spread("psm"))
    else:
        row("   python-statemachine: not installed, 11 × a) stated", None, "yardstick", YARDSTICK * tr)
    row("c) engine.fire on a rule-free stage (start, finish)", "engine", spread("engine"))
    row("     start   approved → in_progress", "start")
    row("     finish  in_progress → completed", "finish")
    row("d) full lifecycle, average command", "lifecycle", spread("lifecycle"))
    for name in LIFECYCLE:
        row(f"     {name}", f"lc_{name}")
    ends, pop = s.ends, f"{s.population:,}"
    row(f"e) start/finish on receptions #1–#{ends} (store nearly empty)", None, "before filling", e["first"])
    row(
        f"   start/finish on #1–#{ends} of a fresh engine (control)",
        None,
        "interleaved ↓",
        e["control_first"],
    )
    row(f"   start/finish on the last {ends}, up to #{pop}", None, "interleaved ↑", e["last"])
    rows.append(
        (
            f"   memory per reception ({e['bulk']:,} created, own letter+plan)",
            f"{e['bytes_per_reception'] / 1024:.2f} KiB",
            "",
            "tracemalloc diff / count",
        )
    )

    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"jiedai_flow engine benchmark — {'quick' if s.quick else 'full'} run, {stamp}")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"transitions {transitions.__version__}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.machine()}"
    )
    print(
        f"µs per command: median of {s.repeats} rounds after a warm-up round (a–d), median of "
        f"{2 * s.ends} single commands (e); ×a = median per-round ratio to a); gc collected "
        "before and disabled during timed loops"
    )
    print()
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'µs':>10}  {'×a':>7}  range over rounds / note")
    print("-" * (width + 50))
    for label, value, times, note in rows:
        print(f"{label:<{width}}  {value:>10}  {times:>7}  {note}")
    print()
    psm_source = "measured" if has_psm else "python-statemachine not installed: the issue's 11×"
    checks: list[tuple[str, str, bool | None]] = [
        (f"engine (rule-free) / transitions = {x:.2f}", "≤ 5", x <= 5),
        (f"lifecycle average / transitions = {lifecycle_x:.2f}", f"< {YARDSTICK:g}", lifecycle_x < YARDSTICK),
        (f"python-statemachine / transitions = {psm_x:.2f}", f"≈ {YARDSTICK:g} ({psm_source})", None),
        (f"lifecycle average / python-statemachine = {lifecycle_x / psm_x:.2f}", "< 1", lifecycle_x < psm_x),
        (f"#{s.population:,} / #1 of a fresh engine = {z:.2f}", "≈ 1", 0.8 <= z <= 1.25),
        (f"#{s.population:,} / #1 before filling = {e['last'] / e['first']:.2f}", "(info)", None),
    ]
    missed = False
    for text, target, ok in checks:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        missed |= ok is False
        print(f"{text:<48} target {target:<24} {verdict}")
    print(f"wall time {time.perf_counter() - wall:.1f} s")
    print(f"RATIO engine/transitions = {x:.2f}")
    print(f"RATIO engine/dict = {y:.1f}")
    print(f"RATIO last/first = {z:.2f}")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())

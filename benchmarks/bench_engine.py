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


def median_per_op(run: Callable[[], tuple[int, int]], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """``run()`` returns (elapsed ns, operations); the (median, min) ns per operation over repeats."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        with gc_paused():
            elapsed, ops = run()
        samples.append(elapsed / ops)
    return statistics.median(samples), min(samples)


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
        from statemachine import State, StateMachine
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


def start_finish_samples(engine: Engine, ids: Sequence[str]) -> list[int]:
    """Each start and each finish command timed on its own (ns), collector off."""
    fire = engine.fire
    samples = []
    with gc_paused():
        for rid in ids:
            t0 = perf_ns()
            fire(rid, "start", HANDLER)
            t1 = perf_ns()
            fire(rid, "finish", HANDLER)
            t2 = perf_ns()
            samples += (t1 - t0, t2 - t1)
    return samples


# -- the sections --------------------------------------------------------------------------------


def floors(s: Settings) -> dict[str, float]:
    machine = transitions_machine(DEFAULT_PROCESS)
    compiled = CompiledProcess(DEFAULT_PROCESS)
    assert set(machine.events) == set(compiled._machine.events), "floor machine differs from CompiledProcess"  # noqa: SLF001
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
        fire, none = compiled.fire, frozenset()
        t0 = perf_ns()
        for _ in range(n):
            fire("in_progress", "finish", none)
            fire("approved", "start", none)
        return perf_ns() - t0, 2 * n

    out = {}
    out["transitions"], out["transitions_min"] = median_per_op(run_transitions, s.repeats)
    out["dict"], out["dict_min"] = median_per_op(run_dict, s.repeats)
    out["adapter"], out["adapter_min"] = median_per_op(run_adapter, s.repeats)

    cls = statemachine_class(DEFAULT_PROCESS)
    if cls is not None:
        import statemachine

        token = Token("draft")
        sm = cls(model=token)
        m = max(n // 5, 200)

        def run_psm() -> tuple[int, int]:
            send = sm.send
            t0 = perf_ns()
            for _ in range(m):
                token.state = "approved"
                send("start")
                send("finish")
            elapsed = perf_ns() - t0
            assert token.state == "completed"
            return elapsed, 2 * m

        out["psm"], out["psm_min"] = median_per_op(run_psm, s.repeats)
        out["psm_version"] = statemachine.__version__  # type: ignore[assignment]
    return out


def engine_rule_free(s: Settings) -> dict[str, float]:
    engine = make_engine()
    for stage in ("start", "finish"):
        assert not engine.rules.for_stage(stage), f"stage {stage} has rules; pick a rule-free stage"
    letter, plan = sample_letter(), sample_plan()
    fire = engine.fire
    starts, finishes, both = [], [], []
    for i in range(s.repeats + 1):  # the first round is the warm-up
        ids = approved(engine, s.engine_batch, letter, plan)
        with gc_paused():
            t0 = perf_ns()
            for rid in ids:
                fire(rid, "start", HANDLER)
            t1 = perf_ns()
            for rid in ids:
                fire(rid, "finish", HANDLER)
            t2 = perf_ns()
        assert engine.get(ids[-1]).state == "completed"
        if i:
            starts.append((t1 - t0) / len(ids))
            finishes.append((t2 - t1) / len(ids))
            both.append((t2 - t0) / (2 * len(ids)))
    return {
        "engine": statistics.median(both),
        "engine_min": min(both),
        "start": statistics.median(starts),
        "finish": statistics.median(finishes),
    }


LIFECYCLE = ("create", "submit", "approve", "start", "finish", "claim", "settle", "archive")


def lifecycle(s: Settings) -> dict[str, Any]:
    engine = make_engine()
    letter, plan = sample_letter(), sample_plan()
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
    per_step: dict[str, list[float]] = {name: [] for name in LIFECYCLE}
    averages = []
    m = s.lifecycle_batch
    for i in range(s.repeats + 1):  # the first round is the warm-up
        times = {}
        with gc_paused():
            t0 = perf_ns()
            ids = [create(engine, letter, plan) for _ in range(m)]
            times["create"] = perf_ns() - t0
            for name, step in steps:
                t0 = perf_ns()
                for rid in ids:
                    step(rid)
                times[name] = perf_ns() - t0
        assert engine.get(ids[-1]).state == "archived"
        if i:
            for name, elapsed in times.items():
                per_step[name].append(elapsed / m)
            averages.append(sum(times.values()) / (m * len(LIFECYCLE)))
    out: dict[str, Any] = {name: statistics.median(v) for name, v in per_step.items()}
    out["average"] = statistics.median(averages)
    out["average_min"] = min(averages)
    return out


def population(s: Settings) -> dict[str, float]:
    """Memory per reception and a command on the first vs the last of ``s.population`` receptions."""
    letter, plan = sample_letter(), sample_plan()
    engine = make_engine()
    ends = s.ends
    bulk = s.population - 2 * ends

    # 1. the first receptions, timed while the store is nearly empty
    first_ids = approved(engine, ends, letter, plan)
    first = start_finish_samples(engine, first_ids)

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

    # 3. the last receptions (#population - ends + 1 … #population)
    last_ids = approved(engine, ends, letter, plan)
    assert engine.get(last_ids[-1]).number.endswith(f"-{s.population:05d}")
    # a control measured at the same moment: a fresh engine's first receptions, interleaved, so that
    # load on the machine from elsewhere affects both ends alike
    control = make_engine()
    control_ids = approved(control, ends, letter, plan)
    last, control_first = [], []
    for chunk in range(0, ends, 10):
        last += start_finish_samples(engine, last_ids[chunk : chunk + 10])
        control_first += start_finish_samples(control, control_ids[chunk : chunk + 10])
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run for CI (< 20 s)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    s = Settings(args.quick)
    wall = time.perf_counter()

    f = floors(s)
    c = engine_rule_free(s)
    d = lifecycle(s)
    e = population(s)

    tr, dct = f["transitions"], f["dict"]
    psm = f.get("psm")
    yardstick = psm if psm is not None else YARDSTICK * tr
    x = c["engine"] / tr
    y = c["engine"] / dct
    z = e["last"] / e["control_first"]
    lifecycle_ratio = d["average"] / tr

    rows: list[tuple[str, str, str, str]] = []

    def row(label: str, ns: float | None, note: str = "") -> None:
        if ns is None:
            rows.append((label, "", "", note))
        else:
            rows.append((label, us(ns), f"{ns / tr:.2f}", note))

    row("a) transitions trigger (Machine(model=None), slotted token)", tr, f"min {us(f['transitions_min'])}")
    row("b) dict table[(state, trigger)] state machine", dct, f"min {us(f['dict_min'])}")
    row("   CompiledProcess.fire (the engine's adapter)", f["adapter"], "token + trigger")
    if psm is not None:
        row(f"   python-statemachine {f['psm_version']} send() (same definition)", psm, "measured")
    else:
        row("   python-statemachine trigger (not installed: 11× a)", YARDSTICK * tr, "yardstick")
    row("c) engine.fire, rule-free stage (start+finish)", c["engine"], f"min {us(c['engine_min'])}")
    row("     start  approved → in_progress", c["start"])
    row("     finish in_progress → completed", c["finish"])
    row("d) full lifecycle, average command", d["average"], f"min {us(d['average_min'])}")
    for name in LIFECYCLE:
        row(f"     {name}", d[name])
    row(f"e) command on reception #1 (store of {s.ends})", e["first"], "median start/finish")
    row(f"   command on reception #1 of a fresh engine (control)", e["control_first"], "interleaved w/ next")
    row(f"   command on reception #{s.population:,}", e["last"], f"{s.population:,} in store")
    rows.append(
        (
            f"   memory per reception ({e['bulk']:,} created, letter+plan each)",
            f"{e['bytes_per_reception'] / 1024:.2f} KiB",
            "",
            "tracemalloc diff / count",
        )
    )

    print(
        f"jiedai_flow engine benchmark — {'quick' if s.quick else 'full'} run, "
        f"{datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}"
    )
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"transitions {transitions.__version__}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.machine()}"
    )
    print(
        f"medians of {s.repeats} repeats after a warm-up; gc collected before and disabled during "
        "timed loops; µs per command"
    )
    print()
    width = max(len(r[0]) for r in rows)
    header = ("measurement", "µs", "×a", "note")
    print(f"{header[0]:<{width}}  {header[1]:>10}  {header[2]:>8}  {header[3]}")
    print("-" * (width + 40))
    for label, value, ratio, note in rows:
        print(f"{label:<{width}}  {value:>10}  {ratio:>8}  {note}")
    print()
    source = "measured" if psm is not None else "not installed, issue's 11× used"
    checks = [
        (f"engine / transitions = {x:.2f}", "≤ 5", x <= 5),
        (f"lifecycle average / transitions = {lifecycle_ratio:.2f}", f"< {YARDSTICK:g}", lifecycle_ratio < YARDSTICK),
        (
            f"lifecycle average / python-statemachine trigger = {d['average'] / yardstick:.2f}",
            f"({source}; psm = {yardstick / tr:.2f}× transitions)",
            None,
        ),
        (f"#{s.population:,} / first (fresh-engine control) = {z:.2f}", "≈ 1", 0.8 <= z <= 1.25),
        (f"#{s.population:,} / first (same engine, before filling) = {e['last'] / e['first']:.2f}", "≈ 1", None),
    ]
    missed = False
    for text, target, ok in checks:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        missed |= ok is False
        print(f"{text:<66} target {target:<12} {verdict}")
    print(f"wall time {time.perf_counter() - wall:.1f} s")
    print(f"RATIO engine/transitions = {x:.2f}")
    print(f"RATIO engine/dict = {y:.1f}")
    print(f"RATIO last/first = {z:.2f}")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())

"""How long the command line takes to start: ``jiedai --version`` against ``python -c pass``.

    python benchmarks/bench_cli.py [--quick] [--runs N] [--check]

Runs the installed ``jiedai`` console script next to this Python (else ``python -m
jiedai_flow.cli``) many times, alternating with ``python -c pass`` on the same interpreter, and
compares the medians of the wall times. ``jiedai --help`` is timed the same way, for information.

Last line: ``RATIO cli-startup jiedai/python = X`` (target ≤ 12; ``--check`` exits 1 above it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

TARGET = 12.0


def jiedai_command() -> list[str]:
    """What a user runs: the console script installed with this Python, else the module."""
    script = Path(sys.executable).parent / "jiedai"
    if script.exists():
        return [str(script)]
    found = shutil.which("jiedai")
    if found is not None and Path(found).parent == Path(sys.executable).parent:
        return [found]
    return [sys.executable, "-m", "jiedai_flow.cli"]


def wall(command: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (CI)")
    parser.add_argument("--runs", type=int, default=None, help="runs of each command (default 40; 12 quick)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when the ratio is above {TARGET:g}")
    args = parser.parse_args(argv)
    runs = args.runs or (12 if args.quick else 40)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIEDAI_")}
    jiedai = jiedai_command()
    python = [sys.executable, "-c", "pass"]
    for command in (python, [*jiedai, "--version"], [*jiedai, "--help"]):
        wall(command, env)  # warm the file cache (CI starts from an empty one)
    times: dict[str, list[float]] = {"python": [], "version": [], "help": []}
    for _ in range(runs):  # alternating, so a busy moment of the machine hits all three
        times["python"].append(wall(python, env))
        times["version"].append(wall([*jiedai, "--version"], env))
        times["help"].append(wall([*jiedai, "--help"], env))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"command: {' '.join(jiedai)}  ({runs} runs each, medians of wall time)")
    for name, label in (
        ("python", "python -c pass"),
        ("version", "jiedai --version"),
        ("help", "jiedai --help"),
    ):
        low, high = min(times[name]), max(times[name])
        print(f"  {label:<18} {median[name] * 1000:7.1f} ms   (range {low * 1000:.1f}–{high * 1000:.1f})")
    ratio = median["version"] / median["python"]
    print(f"  jiedai --help ÷ python -c pass = {median['help'] / median['python']:.2f}")
    print(f"RATIO cli-startup jiedai/python = {ratio:.2f}")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())

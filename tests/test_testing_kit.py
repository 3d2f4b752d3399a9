"""The plugin-testing kit: its pytest11 fixtures work in a plugin author's own test run."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import jiedai_flow.storage.sql  # noqa: F401 — loaded before the in-process run below (see it)
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.testing import ACTORS, FrozenClock, StoreContract, sample_letter, sample_plan

if TYPE_CHECKING:
    import pytest

    from jiedai_flow import Engine
    from jiedai_flow.testing import HookRecorder

pytest_plugins = ["pytester"]

AUTHOR_TESTS = Path(__file__).parent / "fixtures" / "kit_user_tests.py"


def test_a_plugin_authors_suite_passes_with_the_kit(pytester: pytest.Pytester) -> None:
    """Fixtures from the ``pytest11`` entry point and ``StoreContract`` work in another project."""
    pytester.makepyfile(test_county_plugin=AUTHOR_TESTS.read_text(encoding="utf-8"))
    # in process, pytester forgets afterwards the modules the run imported; the SQL store (and the
    # SQLAlchemy dialects it brings) is imported by this module first, so a later test does not
    # import them anew (SQLAlchemy warns when its functions register twice)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    contract = [name for name in dir(StoreContract) if name.startswith("test_")]
    result.assert_outcomes(passed=len(contract) + 3)


def test_frozen_clock_stands_still_until_advanced() -> None:
    """``now()`` repeats itself; ``advance(**delta)`` moves and returns the new time."""
    clock = FrozenClock()
    start = clock.now()
    assert start == datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)
    assert clock.now() == start
    assert clock.advance(days=3, minutes=30) == start + timedelta(days=3, minutes=30)
    assert clock.now() == start + timedelta(days=3, minutes=30)
    clock.set(start)
    assert clock.now() == start


def test_hook_recorder_records_authorize_calls_during_a_fire(
    jiedai_engine: Engine, jiedai_hook_recorder: HookRecorder
) -> None:
    """Firing a trigger asks ``jiedai_authorize`` once, with the actor, trigger and reception."""
    handler = ACTORS["handler"]
    created = jiedai_engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    )
    jiedai_hook_recorder.calls.clear()
    jiedai_engine.fire(created.reception.id, "submit", handler)
    (call,) = jiedai_hook_recorder.named("jiedai_authorize")
    assert call.kwargs["actor"] == handler
    assert call.kwargs["trigger"] == "submit"
    assert call.kwargs["reception"] == created.reception
    assert call.kwargs["step"] is None
    assert jiedai_hook_recorder.names.index("jiedai_authorize") < jiedai_hook_recorder.names.index(
        "jiedai_approval_chain"
    )


def test_hook_recorder_undo_stops_recording(
    jiedai_engine: Engine, jiedai_hook_recorder: HookRecorder
) -> None:
    """After ``undo()`` the engine's hook calls are no longer recorded."""
    jiedai_hook_recorder.undo()
    jiedai_engine.create_reception(
        sample_letter(),
        sample_plan(),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    )
    assert jiedai_hook_recorder.calls == []

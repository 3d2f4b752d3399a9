"""Errors cross processes 错误能跨进程: an error the engine raises pickles and copies whole — a worker
pool or a job queue hands it back with its code, messages and data, not a ``TypeError``."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import (
    InvalidTransitionError,
    JiedaiFlowError,
    NotAuthorizedError,
    ReasonRequiredError,
    RuleViolationError,
    TaskError,
    UnknownOperationError,
    ValidationError,
)
from jiedai_flow.testing import ACTORS, make_engine
from tests._sql_helpers import create

if TYPE_CHECKING:
    from collections.abc import Callable

HANDLER, APPROVER = ACTORS["handler"], ACTORS["approver"]


def _withdraw_after_approval() -> None:
    engine = make_engine()
    rid = create(engine).reception.id
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", APPROVER)
    engine.fire(rid, "withdraw", HANDLER)


def _approve_own() -> None:
    engine = make_engine()
    rid = create(engine).reception.id
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", HANDLER)


def _over_standard() -> None:
    engine = make_engine()
    engine.fire(create(engine, companions=30).reception.id, "submit", HANDLER)


def _bad_reference() -> None:
    create(make_engine(), reception_id="a/b")


def _unknown_operation() -> None:
    raise UnknownOperationError("add_signers", ["add-signers", "transfer"])


def _no_reason() -> None:
    engine = make_engine()
    rid = create(engine).reception.id
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "return", APPROVER)


def _stand_in_backwards() -> None:
    make_engine().set_proxy(APPROVER.id, "someone", date(2026, 3, 10), date(2026, 3, 1), APPROVER)


RAISING: dict[str, tuple[Callable[[], None], type[JiedaiFlowError]]] = {
    "invalid transition": (_withdraw_after_approval, InvalidTransitionError),
    "not authorized": (_approve_own, NotAuthorizedError),
    "rule violation": (_over_standard, RuleViolationError),
    "validation": (_bad_reference, ValidationError),
    "unknown operation": (_unknown_operation, UnknownOperationError),
    "reason required": (_no_reason, ReasonRequiredError),
    "task refused at a field": (_stand_in_backwards, TaskError),
}


def _raised(raise_it: Callable[[], None]) -> JiedaiFlowError:
    with pytest.raises(JiedaiFlowError) as caught:
        raise_it()
    return caught.value


@pytest.mark.parametrize("case", list(RAISING))
def test_an_error_pickles_and_copies_with_everything_it_holds(case: str) -> None:
    raise_it, kind = RAISING[case]
    error = _raised(raise_it)
    assert type(error) is kind
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert type(again) is kind
        assert (again.code, again.message_zh, again.message_en, str(again)) == (
            error.code,
            error.message_zh,
            error.message_en,
            str(error),
        )
        assert again.__dict__.keys() == error.__dict__.keys()
        assert again.problems == error.problems  # the fields it is about ($.reason, $.end)


def test_an_error_about_one_field_names_its_path() -> None:
    """Problem details and the command line read the field from ``problems``: every error has
    them (none for most), a refusal about one field has its path."""
    assert _raised(_no_reason).problems[0].path == "$.reason"
    assert _raised(_stand_in_backwards).problems[0].path == "$.end"
    assert _raised(_approve_own).problems == ()
    assert TaskError("r", "转办", "不行", "no").problems == ()
    assert TaskError("r", "转办", "不行", "no", path="$.to").problems[0].path == "$.to"


def test_an_error_raised_in_a_worker_process_comes_back_as_it_was() -> None:
    """The real crossing: a process pool runs the command and hands its refusal back."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a job queue's worker is
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        future = pool.submit(_withdraw_after_approval)
        with pytest.raises(InvalidTransitionError) as caught:
            future.result(timeout=120)
    assert caught.value.trigger == "withdraw"
    assert caught.value.allowed
    assert "不能执行「撤回」" in caught.value.message_zh

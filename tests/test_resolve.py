"""Naming a reception as people do 按编号或短 ID 找接待: its number (341502-2026-00001) or the start
of its id works wherever an id does, on every store; a prefix two receptions share is refused by
name, never guessed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from jiedai_flow import AmbiguousReferenceError, NotFoundError, ValidationError
from jiedai_flow.cli import main
from jiedai_flow.domain.model import InvalidValueError
from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.process.engine import MIN_ID_PREFIX, Engine
from jiedai_flow.testing import make_engine
from tests._sql_helpers import create
from tests.databases import BACKENDS, private_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(params=["memory", *BACKENDS])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "memory":
        yield make_engine()
        return
    for url in private_database(request.param, tmp_path):
        made = make_engine(url=url)
        try:
            yield made
        finally:
            made.store.close()


def test_the_number_the_id_and_a_unique_prefix_all_name_the_reception(engine: Engine) -> None:
    reception = create(engine).reception
    assert engine.resolve(reception.number) == reception.id
    assert engine.resolve(reception.id) == reception.id
    assert engine.resolve(reception.id[:8]) == reception.id
    assert engine.resolve(f" {reception.number} ") == reception.id  # pasted with spaces


def test_an_unknown_reference_or_a_too_short_prefix_is_not_found(engine: Engine) -> None:
    reception = create(engine).reception
    for reference in ("341502-2099-99999", reception.id[: MIN_ID_PREFIX - 1], "zzzzzzzz", "f" * 33):
        with pytest.raises(NotFoundError) as caught:
            engine.resolve(reference)
        assert reference in caught.value.message_zh


def test_a_prefix_two_receptions_share_is_refused_naming_both(engine: Engine) -> None:
    first = create(engine, reception_id="abcdef01" + "0" * 24).reception
    second = create(engine, reception_id="abcdef02" + "0" * 24).reception
    with pytest.raises(AmbiguousReferenceError) as caught:
        engine.resolve("abcdef0")
    assert set(caught.value.candidates) == {first.id[:12], second.id[:12]}
    assert "接待编号" in caught.value.message_zh
    assert "reception number" in caught.value.message_en
    assert engine.resolve("abcdef02") == second.id  # one more digit tells them apart


def test_a_chosen_id_names_its_reception_before_any_number_or_prefix(engine: Engine) -> None:
    """An id a host system chose is found as it is, though it is no hexadecimal prefix, and a
    generated id it begins does not make it ambiguous: the exact id comes first."""
    chosen = create(engine, reception_id="visit-01").reception
    assert engine.resolve("visit-01") == chosen.id
    short = create(engine, reception_id="abcdef01").reception
    longer = create(engine, reception_id="abcdef01" + "0" * 24).reception
    assert engine.resolve("abcdef01") == short.id
    assert engine.resolve(longer.id[:10]) == longer.id


def test_an_id_in_the_form_of_a_reception_number_is_refused(engine: Engine) -> None:
    """A chosen id like 341502-2026-00002 would stand where the number of another reception (given
    later) names that one: refused at the field, nothing saved; the number then names its own."""
    first = create(engine).reception
    with pytest.raises(ValidationError) as caught:
        create(engine, reception_id="341502-2026-00002")
    [problem] = caught.value.problems
    assert problem.path == "$.reception_id"
    assert "不能写成接待编号的样子" in problem.message_zh
    assert "may not have the form of a reception number" in problem.message_en
    assert [r.id for r in engine.query(ReceptionQuery()).items] == [first.id]
    second = create(engine).reception
    assert second.number == "341502-2026-00002"
    assert engine.resolve(second.number) == second.id
    assert create(engine, reception_id="3415022026-00002").reception.id == "3415022026-00002"


def test_an_id_of_a_numbers_form_stored_before_never_hides_that_number(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier version let an id take the form of a number: that number, once given to another
    reception, names that one (as it always did); the old id is still found while no number is it."""
    from jiedai_flow.process import engine as engine_module

    with monkeypatch.context() as earlier:
        earlier.setattr(engine_module, "check_reception_id", lambda value, **_: None)
        old = create(engine, reception_id="341502-2026-00002").reception
        numbered = create(engine).reception
        kept = create(engine, reception_id="341502-2026-00099").reception
    assert (old.number, numbered.number) == ("341502-2026-00001", "341502-2026-00002")
    assert engine.resolve("341502-2026-00002") == numbered.id
    assert engine.resolve("341502-2026-00099") == kept.id
    assert engine.resolve("341502-2026-00001") == old.id


def test_the_query_filters_by_number_and_id_prefix(engine: Engine) -> None:
    first, second = create(engine).reception, create(engine).reception
    assert [r.id for r in engine.query(ReceptionQuery(number=second.number)).items] == [second.id]
    assert [r.id for r in engine.query(ReceptionQuery(id_prefix=first.id[:10])).items] == [first.id]
    with pytest.raises(InvalidValueError, match="hexadecimal"):
        ReceptionQuery(id_prefix="ABC%")


def test_the_command_line_takes_the_number_and_lists_short_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    engine = make_engine(url=url)
    try:
        reception = create(engine).reception
    finally:
        engine.store.close()
    env = {"COLUMNS": "80", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", "JIEDAI_CALENDAR": ""}
    runner = CliRunner()
    shown = runner.invoke(main, ["--db", url, "show", reception.number], env=env)
    assert shown.exit_code == 0, shown.output
    assert reception.id in shown.output
    history = runner.invoke(main, ["--db", url, "history", reception.id[:8]], env=env)
    assert history.exit_code == 0, history.output
    listed = runner.invoke(main, ["--db", url, "list"], env=env)
    assert reception.id[:8] in listed.output
    assert reception.id not in listed.output  # the full id no longer wraps the table
    missing = runner.invoke(main, ["--db", url, "show", "341502-2099-99999"], env=env)
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output

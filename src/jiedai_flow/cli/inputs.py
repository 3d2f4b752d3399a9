"""Files and arguments the commands read 输入: reception files, plan and list files, the actors file,
dates, triggers and explanations — every problem reported with its path, never a traceback.

A reception file (TOML or JSON) holds three tables::

    [reception]                 # jurisdiction, host_unit, handler (an actor id), type
    jurisdiction = "341502"
    host_unit = "县政府办公室"
    handler = "zhang.wei"
    type = "国内公务接待"        # optional; also id, start, end

    [letter]                    # the 公函: jiedai_flow.domain.model.OfficialLetter
    ...
    [plan]                      # the 接待方案: jiedai_flow.domain.model.Plan
    ...

Money may be written as a string (``"330.00"``), an integer or a decimal number (read exactly,
never as a float). A file nested deeper than :data:`~jiedai_flow.domain.loading.MAX_DEPTH`, or with a NUL
character or a lone surrogate in a key or a string, is refused before it is loaded.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from jiedai_flow.cli.app import usage_problem
from jiedai_flow.domain.loading import (
    check_document,
    load,
    parsing,
    read_toml,
    too_deep,
    unreadable_number,
    with_lines,
)
from jiedai_flow.domain.model import (
    MAX_ACTOR_ID,
    MAX_HOST_UNIT,
    MAX_RECEPTION_ID,
    Actor,
    InvalidValueError,
    OfficialLetter,
    Plan,
    ReceptionList,
    ReceptionType,
    Role,
    check_reception_id,
    optional_day,
    stored_in,
)
from jiedai_flow.domain.records import FollowUp, Reception
from jiedai_flow.errors import Problem, ValidationError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.notify.channels import Contact

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jiedai_flow.process.engine import Engine
    from jiedai_flow.process.lifecycle import ProcessDefinition

T = TypeVar("T")


# -- reading documents -----------------------------------------------------------------------------


def _problem(path: Path, zh: str, en: str, line: int | None = None) -> ValidationError:
    return ValidationError([Problem("$", zh, en, line)], source=str(path))


def read_document(path: str | Path) -> dict[str, Any]:
    """A TOML or JSON file (JSON when the name ends in ``.json``) as plain data."""
    return _read(Path(path))[0]


def _read(path: Path) -> tuple[dict[str, Any], str | None]:
    """The file's data, and its text when it is TOML (to find the line of a problem)."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # why: Windows editors add a BOM
    except FileNotFoundError:
        raise _problem(path, f"文件不存在：{path}", f"no such file: {path}") from None
    except IsADirectoryError:
        raise _problem(path, f"{path} 是目录，不是文件", f"{path} is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise _problem(
            path, f"文件不是 UTF-8 文本（{exc.reason}）", f"the file is not UTF-8 text ({exc.reason})"
        ) from None
    except OSError as exc:
        raise _problem(
            path, f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc.strerror}"
        ) from None
    if path.suffix.lower() != ".json":
        return read_toml(text, source=str(path), parse_float=Decimal), text
    try:
        with parsing():
            data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise _problem(
            path, f"JSON 语法错误：{exc.msg}", f"JSON syntax error: {exc.msg}", exc.lineno
        ) from None
    except RecursionError:
        raise ValidationError([too_deep("$")], source=str(path)) from None
    except ValueError as exc:  # why: int()'s 4300-digit limit, not a JSONDecodeError
        raise ValidationError([unreadable_number(exc)], source=str(path)) from None
    check_document(data, source=str(path))
    if not isinstance(data, dict):
        raise _problem(path, "JSON 顶层应为对象 {…}", "the JSON top level must be an object {…}")
    return data, None


def load_document(cls: type[T], path: str | Path, *keys: str) -> T:
    """``cls`` from a TOML or JSON file; every problem with its path and, in a TOML file, its line.

    With ``keys``, the file may hold the object itself or a single table named by one of them
    (``[plan]``); problems are reported under that table, or the first key when there is none."""
    path = Path(path)
    return _loaded(cls, path, *_read(path), keys)


def _loaded(cls: type[T], path: Path, data: Any, text: str | None, keys: tuple[str, ...]) -> T:
    """:func:`load_document` of what was read from ``path``."""
    wrapper = next((k for k in keys if set(data) == {k}), None)
    try:
        return load(cls, data if wrapper is None else data[wrapper], source=str(path))
    except ValidationError as error:
        problems: Sequence[Problem] = error.problems
        if keys:
            under = f"$.{wrapper or keys[0]}"
            problems = [attrs.evolve(p, path=under + p.path[1:]) for p in problems]
        if text is not None:
            problems = with_lines(problems, text, "$" if wrapper or not keys else f"$.{keys[0]}")
        raise ValidationError(problems, source=str(path)) from None


# -- reception files -------------------------------------------------------------------------------


def _region(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (isinstance(value, str) and value.isdigit() and len(value) in (2, 4, 6)):
        raise InvalidValueError(
            f"「{attribute.name}」应为 2、4 或 6 位行政区划代码（GB/T 2260），收到 {value!r}",
            f"{attribute.name} must be a 2-, 4- or 6-digit GB/T 2260 area code, got {value!r}",
            field=attribute.name,
        )


def _reception_id(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    check_reception_id(value, field=attribute.name)


def _filled(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (isinstance(value, str) and value.strip()):
        raise InvalidValueError(
            f"「{attribute.name}」不能为空", f"{attribute.name} must not be blank", field=attribute.name
        )


@attrs.frozen
class ReceptionHeader:
    """The ``[reception]`` table: where and by whom the reception is handled."""

    jurisdiction: str = attrs.field(validator=_region)
    host_unit: str = attrs.field(validator=_filled, metadata=stored_in(MAX_HOST_UNIT))
    handler: str = attrs.field(default="", metadata=stored_in(MAX_ACTOR_ID))
    """Actor id of the handler 经办人 (from the actors file); ``--as`` may give it instead."""
    type: ReceptionType = ReceptionType.DOMESTIC
    id: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_reception_id), metadata=stored_in(MAX_RECEPTION_ID)
    )
    start: date | None = attrs.field(default=None, validator=optional_day)
    end: date | None = attrs.field(default=None, validator=optional_day)


@attrs.frozen
class ReceptionFile:
    """A reception file: ``[reception]``, ``[letter]`` and ``[plan]``."""

    reception: ReceptionHeader
    letter: OfficialLetter
    plan: Plan = attrs.field(factory=Plan)


def load_reception_file(path: str | Path) -> ReceptionFile:
    """Read a reception file; ValidationError lists every problem with its path."""
    return load_document(ReceptionFile, path)


def unsaved_reception(engine: Engine, file: ReceptionFile, handler: Actor) -> Reception:
    """The reception ``jiedai new`` would create from ``file``, not saved (for ``jiedai check``)."""
    head, letter = file.reception, file.letter
    start = head.start or letter.itinerary.start
    end = head.end or letter.itinerary.end
    standards = engine.standards_for(head.jurisdiction, start, head.host_unit)
    now = engine.clock.now()
    definition = engine.choose_process(head.type, head.jurisdiction, head.host_unit, file.plan).definition
    return Reception(
        id=head.id or "(unsaved)",
        number="（未保存 unsaved）",
        jurisdiction=head.jurisdiction,
        host_unit=head.host_unit,
        reception_type=head.type,
        handler=handler,
        letter=letter,
        plan=file.plan,
        start=start,
        end=end,
        state=definition.initial,
        version=0,
        process=definition.key,
        rule_pack=standards.rule_pack,
        created_at=now,
        updated_at=now,
    )


def stand_in(actor_id: str) -> Actor:
    """A handler known only by id (a dry run does not need the actors file)."""
    return Actor(actor_id or "?", actor_id or "未指定 unspecified", frozenset({Role.HANDLER}))


def load_plan(path: str | Path) -> Plan:
    return load_document(Plan, path, "plan")


def load_plan_sections(path: str | Path) -> tuple[Plan, frozenset[str]]:
    """A plan file's plan, and the top-level fields it writes (inside its ``[plan]`` table, if it
    has one): what a revised plan says on purpose, as against what it leaves out. One read."""
    path = Path(path)
    data, text = _read(path)
    table = data.get("plan") if set(data) == {"plan"} else data
    return _loaded(Plan, path, data, text, ("plan",)), frozenset(table) if isinstance(
        table, dict
    ) else frozenset()


def load_list(path: str | Path) -> ReceptionList:
    """A reception list from a file holding it or a single ``[reception_list]`` or ``[list]`` table."""
    return load_document(ReceptionList, path, "reception_list", "list")


def load_follow_up(path: str | Path) -> FollowUp:
    """A follow-up entry 跟踪记录 from a file holding it or a single ``[follow_up]`` table."""
    return load_document(FollowUp, path, "follow_up")


# -- actors ----------------------------------------------------------------------------------------


@attrs.frozen
class ActorEntry:
    """One ``[[actor]]`` table: the actor, and where notifications reach them (all optional)."""

    # checked here as Actor checks them: a blank one is reported at its place in the file, not
    # later, with neither file nor field, when ``--as`` builds the actor
    id: str = attrs.field(validator=_filled, metadata=stored_in(MAX_ACTOR_ID))
    name: str = attrs.field(validator=_filled)
    roles: frozenset[Role]
    unit: str = ""
    levels: frozenset[str] = frozenset()
    email: str = ""
    mobile: str = ""
    dingtalk_id: str = ""
    wecom_id: str = ""

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.name, self.roles, self.unit, self.levels)

    @property
    def contact(self) -> Contact:
        return Contact(self.name, None, self.email, self.mobile, self.dingtalk_id, self.wecom_id)


@attrs.frozen
class ActorsFile:
    """The actors file: ``[[actor]]`` tables with id, name, roles, unit, levels and, optionally,
    email, mobile, dingtalk_id and wecom_id for notifications."""

    actor: tuple[ActorEntry, ...] = ()


class ActorsDirectory:
    """Contacts from the actors file, by role (``jiedai_contacts``): the handler of a reception is
    its own 经办人; an approver must hold the pending step's level when the step names one. People
    named by id (a task's owner …) by their entry (``jiedai_person_contact``), and the directory
    the engine checks the targets of approval operations against (``jiedai_actor``)."""

    def __init__(self, entries: tuple[ActorEntry, ...]) -> None:
        self.entries = entries
        self._by_id = {entry.id: entry for entry in entries}

    @hookimpl
    def jiedai_actor(self, actor_id: str) -> Actor | None:
        entry = self._by_id.get(actor_id)
        return entry.actor if entry is not None else None

    @hookimpl
    def jiedai_actors(self) -> tuple[Actor, ...]:
        return tuple(entry.actor for entry in self.entries)

    @hookimpl
    def jiedai_person_contact(self, actor_id: str, reception: Reception) -> Contact | None:
        del reception  # the file names each person once, whatever the reception
        entry = self._by_id.get(actor_id)
        return entry.contact if entry is not None else None

    @hookimpl
    def jiedai_contacts(self, role: Role, reception: Reception) -> list[Contact]:
        step = reception.next_step
        found = []
        for entry in self.entries:
            if role not in entry.roles:
                continue
            if role is Role.HANDLER and entry.id != reception.handler.id:
                continue
            if role is Role.APPROVER and step is not None and step.level and step.level not in entry.levels:
                continue
            found.append(attrs.evolve(entry.contact, role=role))
        return found


def load_actor_entries(path: str | Path) -> tuple[ActorEntry, ...]:
    """The entries of an actors file, as written."""
    return load_document(ActorsFile, path).actor


def load_actors(path: str | Path) -> dict[str, Actor]:
    """The actors of an actors file by id; duplicate ids are problems too."""
    found = [entry.actor for entry in load_actor_entries(path)]
    by_id: dict[str, Actor] = {}
    problems = []
    for i, actor in enumerate(found):
        if actor.id in by_id:
            problems.append(
                Problem(
                    f"$.actor[{i}].id", f"参与人 id「{actor.id}」重复", f"duplicate actor id {actor.id!r}"
                )
            )
        by_id[actor.id] = actor
    if problems:
        raise ValidationError(problems, source=str(path))
    return by_id


# -- arguments ---------------------------------------------------------------------------------------


def to_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """A click callback: a YYYY-MM-DD option value as a date (a usage error otherwise)."""
    if value is None:
        return None
    from jiedai_flow.domain.loading import ascii_digits, is_day_shaped

    text = ascii_digits(value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        if is_day_shaped(text):
            raise BadValue(f"没有这一天：{value!r}", f"no such day: {value!r}", param=param) from None
        raise BadValue(
            f"日期格式应为 YYYY-MM-DD，收到 {value!r}",
            f"expected a date as YYYY-MM-DD, got {value!r}",
            param=param,
        ) from None


class BadValue(click.BadParameter):
    """A value click accepted but a command cannot use, said in Chinese and in English; the
    ``jiedai`` group shows it in the run's language (``BilingualUsageError``)."""

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        param: click.Parameter | None = None,
        param_hint: str | None = None,
    ) -> None:
        super().__init__(message_en, param=param, param_hint=param_hint)
        self.message_zh = message_zh
        self.message_en = message_en


def resolve_trigger(definition: ProcessDefinition, text: str) -> str:
    """The trigger named ``text``: its id (``start-urgent`` works too), its Chinese label, or the
    one trigger of ``definition`` that runs the rule stage ``text``."""
    wanted = text.strip().replace("-", "_")
    for trigger in definition.triggers:
        if wanted in {trigger.name, trigger.label} or wanted == trigger.label_en.replace(" ", "_"):
            return trigger.name
    # a county's process may name its triggers otherwise: the one trigger running that rule stage
    same_stage = [t.name for t in definition.triggers if t.rule_stage == wanted]
    if len(same_stage) == 1:
        return same_stage[0]
    listed = "、".join(f"{t.name}（{t.label}）" for t in definition.triggers)
    raise usage_problem(
        "TRIGGER",
        f"未知操作「{text}」；可用操作：{listed}",
        f"unknown trigger {text!r}; one of: {', '.join(t.name for t in definition.triggers)}",
    )


def resolve_states(definitions: Sequence[ProcessDefinition], names: tuple[str, ...]) -> frozenset[str]:
    """State ids from ids, Chinese or English labels (as ``--lang en`` shows them), in any of
    ``definitions``; unknown names are a usage problem listing the states. An id wins over a label."""
    states = {s.name: s for d in definitions for s in d.states}.values()
    by_text = (
        {s.label_en: s.name for s in states if s.label_en}
        | {s.label: s.name for s in states}
        | {s.name: s.name for s in states}
    )
    unknown = [n for n in names if n.strip() not in by_text]
    if unknown:
        listed = "、".join(f"{s.name}（{s.label}）" for s in states)
        raise usage_problem(
            "--state",
            f"未知状态「{'、'.join(unknown)}」；可选：{listed}",
            f"unknown state(s) {', '.join(unknown)}; one of: {', '.join(s.name for s in states)}",
        )
    return frozenset(by_text[n.strip()] for n in names)


def parse_explanations(values: tuple[str, ...]) -> Mapping[str, str]:
    """``RULE=TEXT`` pairs from ``--explain`` into {rule id: text}."""
    given: dict[str, str] = {}
    for value in values:
        rule, sep, text = value.partition("=")
        if not sep or not rule.strip() or not text.strip():
            raise BadValue(
                f"应写成 规则编号=说明，如 M-02=上级检查组临时增加 2 人，收到 {value!r}",
                f"expected RULE=TEXT, e.g. M-02=two more inspectors joined, got {value!r}",
                param_hint="--explain",
            )
        given[rule.strip()] = text.strip()
    return given

"""The pages' plan and list forms as functions: what a posted form becomes, over the reception it
edits (the browser tests drive the same code through a real server and Chromium)."""

from __future__ import annotations

import attrs

from jiedai_flow import open_engine
from jiedai_flow.domain.samples import sample_list
from jiedai_flow.server.web import forms
from jiedai_flow.testing import ACTORS, sample_letter, sample_plan


def _reception_with_a_list() -> object:
    engine = open_engine("memory://")
    created = engine.create_reception(
        sample_letter(),
        sample_plan(),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    )
    reception = created.reception
    filed = sample_list(reception)
    filed = attrs.evolve(filed, meals=(attrs.evolve(filed.meals[0], alcohol=True, cigarettes=True),))
    return attrs.evolve(reception, reception_list=filed)


def test_editing_a_filed_list_keeps_what_the_form_does_not_show() -> None:
    """The form shows a meal's date, venue, diners and cost, not its alcohol or cigarettes: saving
    it must not wipe them (the alcohol and cigarette rules would never see them again)."""
    reception = _reception_with_a_list()
    form = forms.list_values(reception)
    read = forms.read_list(form, reception)
    assert read.problems == {}
    assert read.value.meals[0].alcohol is True
    assert read.value.meals[0].cigarettes is True
    assert read.value.guests == reception.reception_list.guests


def test_a_posted_row_number_far_beyond_the_table_is_ignored() -> None:
    """``meals.99999999999.cost`` must not make the page build a hundred billion rows."""
    form = {"meals.99999999999.cost": "1", "meals.150.cost": "2", "meals.0.cost": "3"}
    shown = forms.rows_shown(form, forms.MEALS)
    assert shown == list(range(151 + forms.BLANK_ROWS))
    assert len(forms.rows_shown({f"meals.{forms.MAX_ROWS}.cost": "1"}, forms.MEALS)) == forms.BLANK_ROWS


def test_a_stand_in_gets_the_form_to_complete_the_principals_item() -> None:
    """The reception page offered 完成 only on the actor's own execution items: a stand-in 代理 could
    complete the principal's item through the API but was shown no form for it."""
    from datetime import timedelta
    from functools import partial

    from jiedai_flow import Actor, Role
    from jiedai_flow.domain.records import Assignee
    from jiedai_flow.process.tasks import Assign, ExecutionItem
    from jiedai_flow.server.api import tasks
    from jiedai_flow.server.auth import Principal
    from jiedai_flow.server.web import operations
    from jiedai_flow.testing import FrozenClock

    clock = FrozenClock()
    engine = open_engine("memory://", clock=clock)
    driver = Actor("zhao.driver", "赵师傅", frozenset({Role.OFFICE}))
    stand_in = Actor("qian.driver", "钱师傅", frozenset({Role.OFFICE}))
    handler = ACTORS["handler"]
    rid = engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    engine.fire(rid, "submit", handler)
    for approver in ("director", "approver"):
        if not engine.get(rid).approval_complete:
            engine.fire(rid, "approve", ACTORS[approver])
    engine.operate(rid, Assign((ExecutionItem("接站", Assignee.person(driver.id)),)), handler)
    today = clock.now().date()
    engine.set_proxy(driver.id, stand_in.id, today, today + timedelta(days=5), driver)

    def shown(actor: Actor) -> list[str]:
        infos = tasks.available(engine, rid, Principal(actor, "test"))
        found = operations.forms(infos, partial(engine.task_choices, engine.get(rid), actor))
        return [f.info.operation for f in found]

    assert "complete" in shown(driver)
    assert "complete" in shown(stand_in)


def test_the_meal_rows_carry_dishes_alcohol_and_cigarettes_for_the_rules() -> None:
    """The list form had no dishes, alcohol or cigarettes: a list filed in the pages gave the meal
    rules (M-04 禁止菜品, M-05 烟酒) nothing to read. They are columns of every meal row now."""
    engine = open_engine("memory://")
    reception = _reception_with_a_list()
    form = forms.list_values(reception)
    assert form["meals.0.alcohol"] == "1"  # shown as filed
    assert form["meals.0.cigarettes"] == "1"
    form["meals.0.dishes"] = "鱼翅、清炒时蔬\n米饭"
    form["meals.0.alcohol"] = ""  # unticked
    read = forms.read_list(form, reception)
    assert read.problems == {}
    meal = read.value.meals[0]
    assert meal.dishes == ("鱼翅", "清炒时蔬", "米饭")
    assert (meal.alcohol, meal.cigarettes) == (False, True)
    assert forms.list_values(attrs.evolve(reception, reception_list=read.value))["meals.0.dishes"] == (
        "鱼翅、清炒时蔬、米饭"
    )
    checked = engine.check(attrs.evolve(reception, reception_list=read.value), stages=["claim"])
    assert {"M-04", "M-05"} <= {f.rule_id for f in checked.findings}


def test_a_dish_with_a_comma_survives_a_save_and_a_ticked_box_alone_is_a_blank_row() -> None:
    """Dishes are separated by 、 (or lines) only: 「鱼香肉丝（微辣，少油）」 stays one dish, and a list
    saved without touching its dishes keeps them as filed. A row whose text is all cleared is
    deleted even with 上酒 still ticked; unticking 上酒 takes 高档酒水 with it."""
    reception = _reception_with_a_list()
    filed = reception.reception_list
    meal = attrs.evolve(
        filed.meals[0], dishes=("鱼香肉丝（微辣，少油）", "Peking duck"), premium_alcohol=True
    )
    reception = attrs.evolve(reception, reception_list=attrs.evolve(filed, meals=(meal, meal)))
    form = forms.list_values(reception)
    kept = forms.read_list(form, reception).value
    assert kept.meals[0].dishes == ("鱼香肉丝（微辣，少油）", "Peking duck")
    form["meals.0.alcohol"] = ""
    for column in forms.MEALS.columns:
        if column.kind != "check":
            form[f"meals.1.{column.name}"] = ""  # row 2 cleared; its 上酒 box still ticked
    read = forms.read_list(form, reception)
    assert read.problems == {}
    assert len(read.value.meals) == 1
    assert (read.value.meals[0].alcohol, read.value.meals[0].premium_alcohol) == (False, False)


def test_a_form_sent_back_does_not_grow_by_its_blank_rows() -> None:
    """Each failed send of the list added the blank rows the page had shown to the rows it shows."""
    form = {"meals.0.cost": "120.00", "meals.1.cost": "", "meals.2.venue": " ", "meals.3.on": ""}
    assert forms.rows_shown(form, forms.MEALS) == list(range(1 + forms.BLANK_ROWS))


def test_full_width_dates_come_back_as_a_date_input_shows_them() -> None:
    from jiedai_flow.server.web.pages import _days_shown

    form = {
        "meals.0.on": "２０２６－０３－０１",
        "meals.0.venue": "县机关食堂，二楼",
        "signed_on": "２０２６-03-02",
    }
    shown = forms.dates_shown(form, [forms.MEALS])
    assert shown == {
        "meals.0.on": "2026-03-01",
        "meals.0.venue": "县机关食堂，二楼",
        "signed_on": "2026-03-02",
    }
    assert _days_shown({"start_day": "２０２６－０３－０１", "places": "县，乡"}) == {
        "start_day": "2026-03-01",
        "places": "县，乡",
    }


def test_the_registration_form_records_the_letters_date_and_the_meals_kind() -> None:
    from jiedai_flow.server.auth import Principal
    from jiedai_flow.server.web.pages import _document, _field_of

    form = {
        "number": "皖财函〔2026〕13号",
        "issued_on": "2026-02-20",
        "start_day": "2026-03-01",
        "meal_cost": "240.00",
        "meal_kind": "dinner",
        "meal_venue_type": "designated",
        "lodging_hotel": "县招待所",
        "lodging_room_type": "suite",
    }
    document = _document(form, Principal(ACTORS["handler"], "test"))
    assert document["letter"]["issued_on"] == "2026-02-20"
    [meal] = document["plan"]["meals"]
    assert (meal["kind"], meal["venue_type"]) == ("dinner", "designated")
    assert document["plan"]["lodgings"][0]["room_type"] == "suite"
    defaults = _document({"meal_cost": "1", "lodging_hotel": "x"}, Principal(ACTORS["handler"], "test"))
    assert (defaults["plan"]["meals"][0]["kind"], defaults["plan"]["lodgings"][0]["room_type"]) == (
        "lunch",
        "standard",
    )
    assert _field_of("$.letter", "「number」不能为空，收到 ''") == "number"  # the letter's own check


def test_the_people_pickers_offer_only_those_the_operation_can_reach() -> None:
    from jiedai_flow import Actor, Role
    from jiedai_flow.server.web.operations import candidates

    engine = open_engine("memory://")
    handler = ACTORS["handler"]
    rid = engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    reception = engine.fire(rid, "submit", handler).reception
    me = ACTORS["director"]
    other = Actor("wu.gang", "吴刚", frozenset({Role.APPROVER}))
    office = Actor("chen.jie", "陈洁", frozenset({Role.OFFICE}))
    supervisor = Actor("liu.yang", "刘洋", frozenset({Role.SUPERVISOR}))
    people = [me, handler, other, office, supervisor]
    replies = frozenset(Role) - {Role.SUPERVISOR}  # the default process: everyone but 纪检 replies
    found = {k: [a.id for a in v] for k, v in candidates(reception, me, people, replies).items()}
    assert found["transfer"] == found["add_signers"] == ["wu.gang"]
    assert found["delegate"] == ["wu.gang", "chen.jie"]
    assert found["copy"] == [handler.id, "wu.gang", "chen.jie", "liu.yang"]


def test_the_read_form_has_no_reason_box_and_the_others_keep_theirs() -> None:
    """已阅 carries no text (a reason is refused): the supervisor copied on a reception, whose only
    form is 已阅, was shown a 「理由或意见」 box whose every word was refused. The form says whether
    its operation takes a reason; only 已阅 takes none."""
    from jiedai_flow import Actor, Role
    from jiedai_flow.process import tasks as task_ops
    from jiedai_flow.process.lifecycle import Operation
    from jiedai_flow.process.tasks import Copy
    from jiedai_flow.server.api import tasks
    from jiedai_flow.server.auth import Principal
    from jiedai_flow.server.web import operations

    engine = open_engine("memory://")
    handler = ACTORS["handler"]
    supervisor = Actor("liu.yang", "刘洋", frozenset({Role.SUPERVISOR}))
    rid = engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    engine.fire(rid, "submit", handler)
    engine.operate(rid, Copy([supervisor.id]), handler)
    reception = engine.get(rid)

    def forms_of(actor: Actor) -> dict[str, bool]:
        infos = tasks.available(engine, rid, Principal(actor, "test"))
        found = operations.forms(infos, lambda op: engine.task_choices(reception, actor, op))
        return {f.info.operation: f.takes_reason for f in found}

    assert forms_of(supervisor) == {"read": False}
    handlers = forms_of(handler)
    assert handlers["comment"] is handlers["urge"] is True
    assert [op for op in Operation if not task_ops.COMMANDS[op].takes_reason] == [Operation.READ]


def test_the_add_signer_form_offers_the_positions_the_step_takes_its_default_chosen() -> None:
    """加签's form preselected 后加签 on every step, and a 或签 or 票签 takes only 并加签: sent as it
    was offered, it was refused. The form offers what the current step takes, with its default
    chosen, and a form naming no position leaves the choice to the step."""
    from jiedai_flow import ApprovalStep
    from jiedai_flow.domain.records import StepKind
    from jiedai_flow.process.lifecycle import Operation
    from jiedai_flow.process.tasks import Position
    from jiedai_flow.server.web import operations
    from jiedai_flow.testing import make_engine
    from tests.test_approvals import Chain, person, submitted

    every = [Position.BEFORE, Position.AFTER, Position.ALONGSIDE]
    for kind, offered, default in (
        (StepKind.SINGLE, every, Position.AFTER),
        (StepKind.PARALLEL, every, Position.AFTER),
        (StepKind.ANY, [Position.ALONGSIDE], Position.ALONGSIDE),
        (StepKind.VOTE, [Position.ALONGSIDE], Position.ALONGSIDE),
    ):
        engine = make_engine(Chain(ApprovalStep("", "审批", kind=kind, assignees=person("b", "c"))))
        reception = engine.get(submitted(engine))
        assert list(operations.positions(reception)) == offered, kind
        assert operations.default_position(reception) is default, kind
    command = operations.command(Operation.ADD_SIGNERS, {"people:x": "1", "position": ""})
    assert command.position is None  # type: ignore[attr-defined]

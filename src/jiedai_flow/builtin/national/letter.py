"""L, S and B rules: the letter 公函, the scope of official reception 公务范围, investment receptions."""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import (
    CLAIM_STAGES,
    PLAN_STAGES,
    art,
    block,
    explain,
    note,
    warn,
)
from jiedai_flow.builtin.national.lexicon import lexicon_of
from jiedai_flow.domain.findings import Citation
from jiedai_flow.domain.model import LetterKind, Purpose, ReceptionType
from jiedai_flow.domain.standards import LexiconCategory, same_city
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import date

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.domain.model import Guest, Itinerary
    from jiedai_flow.process.rules import RuleContext

LOCAL = Citation("本地标准")
FOREIGN_GUESTS = Citation("《中央和国家机关外宾接待经费管理办法》（财行〔2013〕533号）")

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_MIDDLE_DOTS = dict.fromkeys(map(ord, "•‧・.．"), "·")


@functools.lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """A name for comparison: no spaces (half- or full-width), no zero-width characters, one kind
    of middle dot (阿依古丽·买买提), full-width letters folded, case ignored."""
    folded = unicodedata.normalize("NFKC", name.translate(_ZERO_WIDTH))
    return "".join(folded.split()).translate(_MIDDLE_DOTS).casefold()


def _span(itinerary: Itinerary) -> str:
    return f"{itinerary.start.isoformat()} 至 {itinerary.end.isoformat()}"


def _span_en(itinerary: Itinerary) -> str:
    return f"{itinerary.start.isoformat()} to {itinerary.end.isoformat()}"


# --- L-01 无公函不接待 ---------------------------------------------------------------------------


def check_letter_kind(ctx: RuleContext) -> Iterator[Finding]:
    """L-01 无公函不接待: the letter, or a substitute the standards accept, must be there; a letter
    dated after the reception began is flagged (the reception may have started without one)."""
    reception = ctx.reception
    letter = reception.letter
    if letter.kind is LetterKind.NONE:
        yield block(
            "L-01",
            f"没有公函（{letter.sending_unit}），无公函不接待：请取得派出单位的公函或本地接受的替代凭证",
            f"there is no letter ({letter.sending_unit}): no letter, no reception — obtain the sending "
            "unit's letter or a substitute the local standards accept",
            "$.letter.kind",
            art("第七条"),
        )
        return
    if letter.kind not in ctx.standards.accepted_letters:
        accepted = "、".join(k.label for k in sorted(ctx.standards.accepted_letters))
        yield block(
            "L-01",
            f"「{letter.kind.label}」不是本地接受的公函形式（接受：{accepted}）",
            f"a {letter.kind.value} is not an accepted letter here "
            f"(accepted: {', '.join(sorted(ctx.standards.accepted_letters))})",
            "$.letter.kind",
            ctx.standards.cite("accepted_letters", art("第七条")),
        )
    if letter.issued_on > reception.start:
        yield warn(
            "L-01",
            f"公函落款日期 {letter.issued_on.isoformat()} 晚于接待开始日期 {reception.start.isoformat()}，"
            "请核实接待前是否已收到公函",
            f"the letter is dated {letter.issued_on.isoformat()}, after the reception began on "
            f"{reception.start.isoformat()}; check that it was received before the reception",
            "$.letter.issued_on",
            art("第七条"),
        )


# --- L-02 公函内容 -------------------------------------------------------------------------------


def check_letter_contents(ctx: RuleContext) -> Iterator[Finding]:
    """L-02 公函内容: the letter states content, itinerary and personnel (Art 5).

    The model already refuses a blank content and a missing itinerary; this rule adds what the
    model cannot: personnel named, a phone record that records who called, and an itinerary that
    covers the reception's dates.
    """
    reception = ctx.reception
    letter = reception.letter
    if not letter.personnel:
        yield block(
            "L-02",
            "公函未列明来访人员（0 人）",
            "the letter names no visiting personnel (0 people)",
            "$.letter.personnel",
            art("第五条"),
        )
    if letter.kind is LetterKind.PHONE_RECORD and not letter.contact.strip():
        yield block(
            "L-02",
            "电话记录未记明来电单位联系人及电话",
            "the phone record does not say who called (contact person and number)",
            "$.letter.contact",
            art("第五条"),
        )
    itinerary = letter.itinerary
    if reception.start < itinerary.start or reception.end > itinerary.end:
        yield block(
            "L-02",
            f"接待时间 {reception.start.isoformat()} 至 {reception.end.isoformat()} 超出公函行程 "
            f"{_span(itinerary)}（{itinerary.days} 天）",
            f"the reception ({reception.start.isoformat()} to {reception.end.isoformat()}) goes beyond "
            f"the letter's itinerary ({_span_en(itinerary)}, {itinerary.days} days)",
            "$.start" if reception.start < itinerary.start else "$.end",
            art("第五条"),
        )


# --- L-03 清单与公函一致 -------------------------------------------------------------------------


def check_list_matches_letter(ctx: RuleContext) -> Iterator[Finding]:
    """L-03 清单与公函一致: the list names only the letter's visitors, on the itinerary's days.

    Names are compared after :func:`normalise_name`, as multisets (two visitors may share a name).
    More guests than the letter names need a written explanation below
    ``standards.new_letter_increase`` extra guests, and a new letter at or above it.
    """
    listing = ctx.reception.reception_list
    if listing is None:
        return  # F-01 asks for the list
    letter = ctx.reception.letter
    yield from _unknown_guests(listing.guests, letter.personnel)
    extra = len(listing.guests) - letter.headcount
    limit = ctx.standards.new_letter_increase
    if extra > 0 and extra >= limit:  # a limit of 0 or less must not refuse a list that adds nobody
        yield block(
            "L-03",
            f"接待清单来宾 {len(listing.guests)} 人，比公函所列 {letter.headcount} 人多 {extra} 人；"
            f"增加 {limit} 人及以上须派出单位另发公函",
            f"the list names {len(listing.guests)} guests, {extra} more than the letter's "
            f"{letter.headcount}; {limit} or more extra guests need a new letter",
            "$.reception_list.guests",
            ctx.standards.cite("new_letter_increase", art("第七条")),
        )
    elif extra > 0:
        yield explain(
            "L-03",
            f"接待清单来宾 {len(listing.guests)} 人，比公函所列 {letter.headcount} 人多 {extra} 人"
            f"（少于 {limit} 人），须书面说明",
            f"the list names {len(listing.guests)} guests, {extra} more than the letter's "
            f"{letter.headcount} (fewer than {limit}); a written explanation is needed",
            "$.reception_list.guests",
            ctx.standards.cite("new_letter_increase", art("第七条")),
        )
    itinerary = letter.itinerary
    dated: list[tuple[str, date]] = [(f"items[{i}]", item.on) for i, item in enumerate(listing.items)]
    dated += [(f"meals[{i}]", meal.on) for i, meal in enumerate(listing.meals)]
    for where, on in dated:
        if not itinerary.start <= on <= itinerary.end:
            yield block(
                "L-03",
                f"接待清单所列日期 {on.isoformat()} 不在公函行程 {_span(itinerary)} 内",
                f"the list has an entry dated {on.isoformat()}, outside the letter's itinerary "
                f"({_span_en(itinerary)})",
                f"$.reception_list.{where}.on",
                art("第七条"),
            )


def _unknown_guests(listed: Iterable[Guest], named: Iterable[Guest]) -> Iterator[Finding]:
    remaining = Counter(normalise_name(g.name) for g in named)
    for i, guest in enumerate(listed):
        key = normalise_name(guest.name)
        if remaining[key] > 0:
            remaining[key] -= 1
            continue
        yield explain(
            "L-03",
            f"接待清单第 {i + 1} 位来宾「{guest.name}」（{guest.unit}）不在公函所列人员中，须书面说明",
            f"list guest {i + 1}, {guest.name!r} ({guest.unit}), is not named in the letter; "
            "a written explanation is needed",
            f"$.reception_list.guests[{i}].name",
            art("第七条"),
        )


# --- L-04 一函一事一事一结 -----------------------------------------------------------------------


def check_one_settlement(ctx: RuleContext) -> Iterator[Finding]:
    """L-04 一函一事、一事一结: within this reception, no invoice is claimed twice.

    The principle is local (e.g. Hubei county measures; docs/sources.md lists the source); the national
    hook is the voucher set of Art 14 (票据 + 公函 + 清单 per reception), which the findings cite.

    What the rule can see is one reception, so it checks only that the list's invoices are
    distinct (numbers compared like names). The rest of 一函一事一事一结 is not a rule:

    * one letter, one reception — the aggregate carries exactly one letter;
    * one settlement per reception — the state machine settles from ``settling`` once and
      ``settled`` never returns there;
    * the same letter number or invoice number in *another* reception — needs a store query,
      which rules may not make; it belongs to the store or a ``jiedai_before_transition`` plugin.
    """
    listing = ctx.reception.reception_list
    if listing is None:
        return
    first: dict[str, int] = {}
    for i, invoice in enumerate(listing.invoices):
        key = normalise_name(invoice.number)
        if key not in first:
            first[key] = i
            continue
        yield block(
            "L-04",
            f"发票 {invoice.number}（{invoice.amount} 元）在接待清单中重复列报"
            f"（第 {first[key] + 1} 张与第 {i + 1} 张）",
            f"invoice {invoice.number} ({invoice.amount} yuan) is listed twice "
            f"(invoices {first[key] + 1} and {i + 1})",
            f"$.reception_list.invoices[{i}].number",
            art("第十四条"),
        )


# --- S-01 公务范围, S-02 同城不接待, S-03 类型分流 -------------------------------------------------

_OFFICIAL_PURPOSES = "、".join(p.label for p in Purpose if p is not Purpose.OTHER)


def check_purpose(ctx: RuleContext) -> Iterator[Finding]:
    """S-01 公务范围: the six purposes of Art 2 pass; 其他 needs a written explanation (Art 6 bars
    leave, family visits and tourism from being received as official business). A purpose whose words
    read as sightseeing (词表) is a warning."""
    if ctx.reception.letter.purpose is Purpose.OTHER:
        yield explain(
            "S-01",
            f"公函事由为「其他」，不在第二条所列 6 类公务（{_OFFICIAL_PURPOSES}）之内，须书面说明公务性质",
            "the letter's purpose is 'other', none of the 6 official purposes of Article 2; "
            "a written explanation of its official nature is needed",
            "$.letter.purpose",
            art("第二条"),
        )
    word = lexicon_of(ctx.standards).first(ctx.reception.letter.content, LexiconCategory.SIGHTSEEING)
    if word is not None:
        yield warn(
            "S-01",
            f"公函事由「{ctx.reception.letter.content}」提到「{word}」：旅游观光不属公务接待范围，请确认公务性质",
            f"the letter's purpose {ctx.reception.letter.content!r} mentions {word!r}: sightseeing is "
            "not official business; confirm its official nature",
            "$.letter.content",
            art("第二条"),
        )


def check_same_city(ctx: RuleContext) -> Iterator[Finding]:
    """S-02 同城不接待: where the local standards ban it, no hosting visitors from the same city. When
    the sending unit's area code is missing the check cannot run, and says so."""
    reception = ctx.reception
    code = reception.letter.sending_jurisdiction
    if ctx.standards.same_city_ban and not code.strip():
        yield note(
            "S-02",
            "派出单位地区代码为空，未能检查是否同城接待（请填写公函的 sending_jurisdiction）",
            "the sending unit's area code is empty: the same-city check could not run "
            "(fill in the letter's sending_jurisdiction)",
            "$.letter.sending_jurisdiction",
            ctx.standards.cite("same_city_ban", LOCAL),
        )
        return
    if ctx.standards.same_city_ban and same_city(reception.letter, reception.jurisdiction):
        yield block(
            "S-02",
            f"派出单位所在地（{code}）与接待地（{reception.jurisdiction}）同属一市（{code[:4]}），"
            "本地禁止同城公务接待",
            f"the sending unit ({code}) and the host ({reception.jurisdiction}) are in the same city "
            f"({code[:4]}); local rules ban same-city hosting",
            "$.letter.sending_jurisdiction",
            ctx.standards.cite("same_city_ban", LOCAL),
        )


def check_type_route(ctx: RuleContext) -> Iterator[Finding]:
    """S-03 类型分流: foreign and business receptions follow separate regimes; say which."""
    kind = ctx.reception.reception_type
    if kind is ReceptionType.FOREIGN:
        yield note(
            "S-03",
            f"外宾接待：适用{FOREIGN_GUESTS.instrument}及本省外宾接待规定",
            "foreign guests: the foreign-guest funding rules (Cai Xing [2013] No. 533) and the "
            "province's rules apply",
            "$.reception_type",
            FOREIGN_GUESTS,
        )
    elif kind is ReceptionType.BUSINESS:
        yield note(
            "S-03",
            "招商引资等商务接待：参照本规定实行单独管理（单独标准、总额控制、审批、审计）",
            "business / investment reception: managed separately by reference to these rules "
            "(own standards, total cap, approval, audit)",
            "$.reception_type",
            art("第二十三条"),
        )


# --- B-01 招商接待单独管理 -----------------------------------------------------------------------


def check_business_guests(ctx: RuleContext) -> Iterator[Finding]:
    """B-01 招商接待: a business reception is for people other than state employees (Art 23);
    a state employee among its guests is official reception under another name."""
    reception = ctx.reception
    if reception.reception_type is not ReceptionType.BUSINESS:
        return
    if ctx.stage in CLAIM_STAGES:
        if reception.reception_list is None:
            return
        guests, where = reception.reception_list.guests, "$.reception_list.guests"
    else:
        guests, where = reception.letter.personnel, "$.letter.personnel"
    state_employees = [(i, g) for i, g in enumerate(guests) if g.state_employee]
    for i, guest in state_employees:
        yield block(
            "B-01",
            f"商务接待的来宾「{guest.name}」（{guest.unit}{guest.post}）是国家工作人员"
            f"（{len(state_employees)}/{len(guests)} 人），应按国内公务接待办理",
            f"business-reception guest {guest.name!r} ({guest.unit}) is a state employee "
            f"({len(state_employees)} of {len(guests)}); this is official reception",
            f"{where}[{i}].state_employee",
            art("第二十三条"),
        )


RULES: tuple[Rule, ...] = (
    Rule("L-01", "无公函不接待", PLAN_STAGES, check_letter_kind, art("第七条"), "no letter, no reception"),
    Rule("L-02", "公函内容", PLAN_STAGES, check_letter_contents, art("第五条"), "letter contents"),
    Rule(
        "L-03",
        "清单与公函一致",
        CLAIM_STAGES,
        check_list_matches_letter,
        art("第七条"),
        "list matches letter",
    ),
    Rule(
        "L-04",
        "一函一事一事一结",
        CLAIM_STAGES,
        check_one_settlement,
        art("第十四条"),
        "one letter, one matter, one settlement",
    ),
    Rule("S-01", "公务范围", PLAN_STAGES, check_purpose, art("第二条"), "official purpose only"),
    Rule("S-02", "同城不接待", PLAN_STAGES, check_same_city, LOCAL, "no same-city hosting"),
    Rule(
        "S-03",
        "类型分流",
        PLAN_STAGES,
        check_type_route,
        art("第二十三条"),
        "route by type",
        also_cites=(FOREIGN_GUESTS,),
    ),
    Rule(
        "B-01",
        "招商接待单独管理",
        PLAN_STAGES | CLAIM_STAGES,
        check_business_guests,
        art("第二十三条"),
        "investment reception",
    ),
)

"""The sample files ``jiedai init`` writes 示例文件: actors, a local standards layer, and a reception
and its list to walk through the whole process. Dates are set from today so the example stays
current; the actors are :data:`jiedai_flow.domain.samples.ACTORS`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING

from jiedai_flow.domain.samples import ACTORS

if TYPE_CHECKING:
    from collections.abc import Iterable

SAMPLE_JURISDICTION = "341502"


def _s(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_s(i) for i in items) + "]"


def actors_toml() -> str:
    """The sample actors file."""
    out = [
        "# jiedai 参与人文件 actors file：命令行 --as 后面写这里的 id。",
        "# roles 角色：handler 经办人 · approver 审批人 · finance 财务 · office 办公室 ·",
        "#            supervisor 纪检监察 · admin 管理员（也可写中文）",
        "# levels 审批层级：与标准文件的 approval_levels 对应，如「部门负责人」「分管领导」。",
        "",
    ]
    for actor in ACTORS.values():
        out += [
            "[[actor]]",
            f"id = {_s(actor.id)}",
            f"name = {_s(actor.name)}",
            f"roles = {_list(sorted(actor.roles))}",
            f"unit = {_s(actor.unit)}",
            f"levels = {_list(sorted(actor.levels))}",
            "",
        ]
    return "\n".join(out)


STANDARDS_TOML = f"""\
# 本地接待标准（示例）local standards layer (sample)。一个文件是一层：只写与国家标准不同之处。
# 请按本地文件修改：jurisdiction 改成本单位的行政区划代码（GB/T 2260），各项标准照本地规定填写。
# 格式见 docs/standards.md；jiedai 默认读取当前目录的 jiedai-standards.toml（或 --standards 指定）。

name = "示例县（请按本地文件修改）"
level = "county"
jurisdiction = "{SAMPLE_JURISDICTION}"
effective_from = 2024-01-01
source = "示例，非真实文件 / sample, not a real instrument"

[standards]
accepted_letters = ["公函", "邀请函", "通知", "电话记录"]
# 审批：先部门负责人，后分管领导（参与人文件的 levels 与此对应）。
approval_levels = ["部门负责人", "分管领导"]
# 接待结束后一个月内报销，逾期须附情况说明。
claim_deadline_months = 1

# 工作餐标准：机关食堂 60 元/人·餐，其他场所 100 元/人·餐。
[[standards.meal_standards]]
amount = "60.00"
unit = "元/人·餐"
venue_types = ["机关食堂", "乡镇公务灶"]

[[standards.meal_standards]]
amount = "100.00"
unit = "元/人·餐"
"""


def _meal(start: date) -> str:
    """The working lunch as the plan arranges it and the list files it: one text, so they agree."""
    return f"""\
on = {start}
kind = "午餐"
venue = "县机关食堂"
venue_type = "机关食堂"
guests = 3
companions = 2
cost = "275.00"
dishes = ["家常豆腐", "清炒时蔬", "米饭"]
"""


def reception_toml(today: date) -> str:
    """A reception a week from ``today``: a city bureau's two-day research visit, one working meal."""
    start = today + timedelta(days=7)
    end = start + timedelta(days=1)
    return f"""\
# 一次接待（示例）：jiedai new jiedai-reception.toml --as zhang.wei
# [reception] 接待信息 · [letter] 公函 · [plan] 接待方案。字段见 docs/cli.md。

[reception]
jurisdiction = "{SAMPLE_JURISDICTION}"
host_unit = "县政府办公室"
handler = "zhang.wei"
type = "国内公务接待"

[letter]
kind = "公函"
number = "市农函〔{start.year}〕12号"
sending_unit = "市农业农村局"
issued_on = {start - timedelta(days=5)}
purpose = "考察调研"
content = "高标准农田建设考察调研"
contact = "市农业农村局办公室 0550-1234567"
meal_requested = true

[letter.itinerary]
start = {start}
end = {end}
places = ["县农业产业园"]
summary = "实地调研、座谈"

[[letter.personnel]]
name = "刘建国"
unit = "市农业农村局"
post = "副局长"
rank = "厅局级/司局级"

[[letter.personnel]]
name = "陈晓华"
unit = "市农业农村局"
post = "科长"
rank = "县处级"

[[letter.personnel]]
name = "周明"
unit = "市农业农村局"
post = "科员"
rank = "乡科级及以下"

[plan]
budget = "400.00"

[[plan.meals]]
{_meal(start)}
[[plan.activities]]
on = {start}
place = "县农业产业园"
description = "高标准农田现场调研"
time = "09:00-11:30"

[[plan.companions]]
name = "王强"
post = "县农业农村局局长"
"""


def list_toml(today: date) -> str:
    """The 接待清单 of :func:`reception_toml`, to file with ``jiedai claim``."""
    start = today + timedelta(days=7)
    end = start + timedelta(days=1)
    return f"""\
# 接待清单（示例）：jiedai claim <ID> --as zhang.wei --list jiedai-list.toml

signed_by = "县政府办公室主任 孙浩"
signed_on = {end}
documents = ["发票", "公函", "接待清单"]

[[guests]]
name = "刘建国"
unit = "市农业农村局"
post = "副局长"
rank = "厅局级/司局级"

[[guests]]
name = "陈晓华"
unit = "市农业农村局"
post = "科长"
rank = "县处级"

[[guests]]
name = "周明"
unit = "市农业农村局"
post = "科员"
rank = "乡科级及以下"

# 用餐写在 [[meals]]（计入用餐费用），其他活动写在 [[items]]。
# Meals go in [[meals]]; visits, lodging, transport in [[items]].
[[items]]
on = {start}
item = "高标准农田现场调研"
place = "县农业产业园"
cost = "0.00"
time = "09:00-11:30"

[[meals]]
{_meal(start)}
[[invoices]]
number = "0451207"
issued_on = {start}
issuer = "县机关食堂"
amount = "275.00"

[[payments]]
method = "公务卡"
amount = "275.00"
reference = "公务卡 6222****1234"

[[companions]]
name = "王强"
post = "县农业农村局局长"

[[support_staff]]
name = "张伟"
post = "县政府办公室科员"
"""

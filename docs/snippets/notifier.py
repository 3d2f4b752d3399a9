"""通知渠道插件：把待办发到单位的政务即时通讯（按手机号找人），外加一个按角色给出联系人的通讯录。"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow import hookimpl
from jiedai_flow.notify.channels import DeliveryFailed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from jiedai_flow import Reception, Role
    from jiedai_flow.notify.channels import Contact, Message, RegisterNotifier


class MessengerNotifier:
    """渠道 im：每条通知在发件箱里有一行 channel="im"，由投递器 Dispatcher 送达，失败按退避重试。"""

    name = "im"  # 发件箱的渠道名
    inline = False  # 网关可能慢、可能不通：不在命令里发，交给投递器

    def __init__(self, send: Callable[[str, str], None]) -> None:
        self.send = send  # send(手机号, 消息)，由应用注入；网关出错就抛异常

    @hookimpl
    def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
        register(self)

    def deliver(self, message: Message) -> None:
        mobiles = list(dict.fromkeys(c.mobile for c in message.contacts if c.mobile))
        if not mobiles:  # 再试也没用：直接进死信，去补通讯录
            raise DeliveryFailed("联系人没有手机号 / no contact has a mobile", permanent=True)
        for mobile in mobiles:
            # 抛出的任何异常都算这次投递失败：这一行留在发件箱，投递器稍后重试
            self.send(mobile, message.text())


class Directory:
    """通讯录：角色 → 联系人。实际部署里由 OA 用户库或 LDAP 提供。"""

    def __init__(self, people: Mapping[Role, Sequence[Contact]]) -> None:
        self.people = people

    @hookimpl
    def jiedai_contacts(self, role: Role, reception: Reception) -> Sequence[Contact]:
        del reception  # 本例不按承办单位区分
        return self.people.get(role, ())

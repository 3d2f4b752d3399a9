"""通知插件：把待办推送给单位即时通讯里对应角色的人。发送函数由应用注入。"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from jiedai_flow import Notification, Reception, Role


class MessengerNotifier:
    def __init__(self, send: Callable[[str, str], None], directory: Mapping[Role, Sequence[str]]) -> None:
        self.send = send  # send(用户账号, 消息)
        self.directory = directory  # 角色 → 用户账号

    @hookimpl
    def jiedai_notify(self, notification: Notification, reception: Reception) -> None:
        for role in notification.recipients:
            for user in self.directory.get(role, ()):
                # 发送失败就让异常抛出：这条通知留在发件箱（outbox），状态变更不受影响。
                self.send(user, f"{notification.message_zh}（{reception.host_unit}）")

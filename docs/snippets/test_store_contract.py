"""存储后端跑一遍存储契约：继承 StoreContract，提供一个返回全新空存储的 store 夹具。"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
import shared_storage  # 被测的存储插件模块

from jiedai_flow.testing import StoreContract

if TYPE_CHECKING:
    from jiedai_flow import Store


class TestSharedMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        store = shared_storage.jiedai_storage(f"shared-memory://{uuid.uuid4().hex}")
        assert store is not None
        return store

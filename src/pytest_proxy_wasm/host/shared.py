"""Shared key-value data and shared queues, kept per host as Envoy keeps them per process (by vm_id)."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .abi.enums import WasmResult

if TYPE_CHECKING:
    from .contexts import RootContext


class SharedData:
    """cpp-host ``SharedData``: values with a CAS counter shared by every key, starting at 1, skipping 0."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, bytes], tuple[bytes, int]] = {}
        self._cas = itertools.count(1)

    def get(self, vm_id: str, key: bytes) -> tuple[bytes, int] | None:
        return self.values.get((vm_id, key))

    def set(self, vm_id: str, key: bytes, value: bytes, cas: int) -> WasmResult:
        current = self.values.get((vm_id, key))
        if cas and current is not None and current[1] != cas:
            return WasmResult.CAS_MISMATCH
        self.values[(vm_id, key)] = (value, next(self._cas))  # cas 0 (or a new key): unconditional
        return WasmResult.OK

    def snapshot(self, vm_id: str = "") -> dict[str, bytes]:
        return {k.decode("utf-8", "replace"): v for (vid, k), (v, _) in self.values.items() if vid == vm_id}


@dataclass
class SharedQueue:
    vm_id: str
    name: bytes
    token: int
    owner: RootContext | None
    items: deque[bytes] = field(default_factory=deque)


class SharedQueues:
    """cpp-host ``SharedQueue``: tokens from 1; re-registering keeps the data and moves the owner."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, bytes], SharedQueue] = {}
        self.by_token: dict[int, SharedQueue] = {}
        self._tokens = itertools.count(1)

    def register(self, vm_id: str, name: bytes, owner: RootContext) -> int:
        queue = self.by_key.get((vm_id, name))
        if queue is None:
            queue = SharedQueue(vm_id, name, next(self._tokens), owner)
            self.by_key[(vm_id, name)] = queue
            self.by_token[queue.token] = queue
        queue.owner = owner
        return queue.token

    def resolve(self, vm_id: str, name: bytes) -> int | None:
        queue = self.by_key.get((vm_id, name))
        return queue.token if queue is not None else None

    def enqueue(self, token: int, value: bytes) -> SharedQueue | None:
        queue = self.by_token.get(token)
        if queue is not None:
            queue.items.append(value)
        return queue

    def dequeue(self, token: int) -> tuple[WasmResult, bytes]:
        queue = self.by_token.get(token)
        if queue is None:
            return WasmResult.NOT_FOUND, b""
        if not queue.items:
            return WasmResult.EMPTY, b""
        return WasmResult.OK, queue.items.popleft()

"""Shared key-value data and shared queues, kept per host as Envoy keeps them per process (by vm_id)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .abi.enums import WasmResult

if TYPE_CHECKING:
    from .contexts import RootContext


M32 = 0xFFFFFFFF


def _next_u32(current: int) -> int:
    """cpp-host counters (cas, queue tokens) are u32 that wrap and skip 0."""
    following = (current + 1) & M32
    return following or 1


class SharedData:
    """cpp-host ``SharedData``: values with a CAS counter shared by every key, starting at 1, skipping 0."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, bytes], tuple[bytes, int]] = {}
        self._cas = 1

    def _next_cas(self) -> int:
        cas = self._cas
        self._cas = _next_u32(cas)
        return cas

    def get(self, vm_id: str, key: bytes) -> tuple[bytes, int] | None:
        return self.values.get((vm_id, key))

    def set(self, vm_id: str, key: bytes, value: bytes, cas: int) -> WasmResult:
        current = self.values.get((vm_id, key))
        if cas and current is not None and current[1] != cas:
            return WasmResult.CAS_MISMATCH
        self.values[(vm_id, key)] = (value, self._next_cas())  # cas 0 (or a new key): unconditional
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
        self._token = 1

    def _next_token(self) -> int:
        while True:  # cpp-host nextQueueToken: u32, skips 0 and tokens still in use
            token = self._token
            self._token = _next_u32(token)
            if token not in self.by_token:
                return token

    def register(self, vm_id: str, name: bytes, owner: RootContext | None) -> int:
        queue = self.by_key.get((vm_id, name))
        if queue is None:
            queue = SharedQueue(vm_id, name, self._next_token(), owner)
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

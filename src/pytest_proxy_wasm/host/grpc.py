"""gRPC callouts: declarative fakes per cluster/service/method, records, and deliveries.

Mirrors Envoy ``source/extensions/common/wasm/context.{h,cc}`` (``grpcCall``, ``grpcStream``,
``grpcSend``, ``grpcClose``, ``grpcCancel``, ``GrpcCallClientHandler``, ``GrpcStreamClientHandler``):

* unary call: success (status 0 and a message) -> only ``proxy_on_grpc_receive``; any failure -> only
  ``proxy_on_grpc_close(status)`` (Envoy's unary handler has no metadata callbacks; an OK answer
  without a message is a failure with status 13 INTERNAL, as in ``Grpc::AsyncRequestImpl``);
* stream: initial metadata (map 4) -> messages (buffer 5) -> trailing metadata (map 5) -> close;
* every callback goes to the root context that made the call; ``proxy_get_status`` reads
  (grpc status, message) during ``proxy_on_grpc_close`` (the message is cleared afterwards);
* tokens per VM: calls 1, 5, 9...; streams 2, 6, 10... (proxy-wasm-cpp-host ``wasm.h``).

Answers are scheduled on ``host.scheduler`` (virtual time), like HTTP callouts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .abi.enums import MapType
from .contexts import Buffer
from .grpc_fakes import (
    INTERNAL,
    OK,
    TIMEOUT_DETAILS,
    TIMEOUT_MESSAGE,
    UNAVAILABLE,
    UPSTREAM_DOWN,
    UPSTREAM_DOWN_DETAILS,
    VIA_UPSTREAM,
    GrpcCallRecord,
    GrpcDeclarations,
    GrpcExpectation,
    GrpcResponse,
    Pairs,
    decode_message,
    encode_message,
    grpc_status_message,
    pairs_of,
    unanswered,
)
from .headers import HeaderMap, to_pairs

# The initial metadata Envoy 1.40 hands a plugin from a grpcio server, before the declared entries.
GRPCIO_INITIAL_METADATA = (
    (":status", "200"),
    ("content-type", "application/grpc"),
    ("grpc-accept-encoding", "identity"),
)

if TYPE_CHECKING:
    from typing import Any

    from .contexts import RootContext
    from .host import Host
    from .scheduler import Event
    from .vm import VM

__all__ = [
    "TIMEOUT_MESSAGE",
    "UPSTREAM_DOWN",
    "GrpcCallRecord",
    "GrpcCalls",
    "GrpcExpectation",
    "GrpcResponse",
    "decode_message",
    "encode_message",
]


@dataclass
class _Active:
    vm: VM
    root: RootContext
    token: int
    record: GrpcCallRecord
    response: GrpcResponse
    events: list[Event] = field(default_factory=list)
    local_closed: bool = False
    remote_closed: bool = False
    closing: bool = False  # remote close scheduled
    sent: int = 0


class GrpcCalls(GrpcDeclarations):
    """The host's gRPC state: expectations, records, live calls/streams per (VM, token)."""

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.active: dict[tuple[int, int], _Active] = {}
        self._next: dict[int, list[int]] = {}  # id(vm) -> [next call token, next stream token]

    # -- declaring ---------------------------------------------------------------------------------

    def knows(self, cluster: str) -> bool:
        if self.host.callouts.knows(cluster):
            return True
        return self.declared(cluster)

    # -- hostcall side -------------------------------------------------------------------------------

    def _token(self, vm: VM, kind: int) -> int:
        # cpp-host adds 4 before handing a token out: the first call is 5, the first stream 6 (Envoy 1.40)
        counters = self._next.setdefault(id(vm), [5, 6])
        token = counters[kind - 1]
        counters[kind - 1] += 4
        return token

    def _answer(self, kind: str, cluster: str, service: str, method: str) -> tuple[GrpcResponse, bool]:
        expectation = self.find(kind, cluster, service, method)
        return (expectation.response, True) if expectation is not None else (unanswered(), False)

    def start(
        self,
        root: RootContext,
        kind: str,
        cluster: str,
        service: str,
        method: str,
        metadata: Pairs,
        message: bytes | None,
        timeout_ms: int | None,
    ) -> int:
        """Open a call (``message`` given) or a stream; schedule what the fake answers. Returns the token."""
        vm = root.vm
        token = self._token(vm, 1 if kind == "call" else 2)
        response, matched = self._answer(kind, cluster, service, method)
        messages = [message] if message is not None else []
        record = GrpcCallRecord(
            kind, cluster, service, method, metadata, messages, timeout_ms, token, matched
        )
        self.records.append(record)
        active = _Active(vm, root, token, record, response)
        self.active[(id(vm), token)] = active
        if kind == "call":
            if timeout_ms and response.delay_ms > timeout_ms:
                self._at(
                    active,
                    timeout_ms,
                    lambda: self._close(active, UNAVAILABLE, TIMEOUT_MESSAGE, TIMEOUT_DETAILS),
                )
            elif response.failure or response.status != OK:
                self._at(
                    active,
                    response.delay_ms,
                    lambda: self._close(active, response.status, response.status_message, _details(response)),
                )
            elif not response.messages:  # Grpc::AsyncRequestImpl: Internal with an empty message
                self._at(active, response.delay_ms, lambda: self._close(active, INTERNAL, "", ""))
            else:
                self._at(active, response.delay_ms, lambda: self._message(active, response.messages[0]))
            return token
        if response.failure:
            active.closing = True
            self._at(
                active,
                response.delay_ms,
                lambda: self._close(active, response.status, response.status_message, _details(response)),
            )
            return token
        self._at(active, response.delay_ms, lambda: self._initial_metadata(active))
        for data in response.messages:
            self._at(active, response.delay_ms, lambda data=data: self._message(active, data))  # type: ignore[misc]
        if response.close_after == 0:
            self._remote_close(active)
        return token

    def pending_due(self, first_record: int) -> int | None:
        """When the next answer to a unary call made since record ``first_record`` is due (None: none)."""
        mine = {id(r) for r in self.records[first_record:] if r.kind == "call"}
        waiting = set(map(id, self.host.scheduler.events))
        due = [
            e.due_ns
            for active in self.active.values()
            if id(active.record) in mine
            for e in active.events
            if id(e) in waiting and not e.cancelled
        ]
        return min(due) if due else None

    def lookup(self, vm: VM, token: int) -> _Active | None:
        return self.active.get((id(vm), token))

    def send(self, active: _Active, message: bytes, end_stream: bool) -> None:
        active.record.messages.append(message)
        response = active.response
        if not active.record.matched or response.failure or active.closing:
            return
        index, active.sent = active.sent, active.sent + 1
        for data in self._replies(response, index, message):
            self._at(active, response.delay_ms, lambda data=data: self._message(active, data))  # type: ignore[misc]
        if end_stream:
            active.record.half_closed = True
        if end_stream or (response.close_after is not None and active.sent >= response.close_after):
            self._remote_close(active)

    def close(self, active: _Active) -> None:
        """proxy_grpc_close: cancel a call; half-close a stream (kept until the remote close)."""
        if active.record.kind == "call":
            self.cancel(active)
            return
        active.record.half_closed = True
        if active.remote_closed:
            self._forget(active)
            return
        active.local_closed = True
        if not active.closing and active.record.matched and not active.response.failure:
            self._remote_close(active)

    def cancel(self, active: _Active) -> None:
        """proxy_grpc_cancel (and close of a call): reset; no further callbacks."""
        active.record.cancelled = True
        for event in active.events:
            event.cancelled = True
        self._forget(active)

    # -- test-driven server events (streams) -----------------------------------------------------------

    def server_send(self, record: GrpcCallRecord, *messages: Any, delay_ms: float = 0) -> None:
        active = self._live(record)
        for message in messages:
            data = encode_message(message)
            self._at(active, delay_ms, lambda data=data: self._message(active, data))  # type: ignore[misc]

    def server_close(
        self,
        record: GrpcCallRecord,
        status: int = OK,
        message: str = "",
        trailing_metadata: Pairs | dict[str, str] | None = None,
        delay_ms: float = 0,
    ) -> None:
        active = self._live(record)
        active.response = GrpcResponse(
            trailing_metadata=pairs_of(trailing_metadata),
            status=status,
            status_message=message,
            delay_ms=delay_ms,
        )
        active.closing = False
        self._remote_close(active)

    def _live(self, record: GrpcCallRecord) -> _Active:
        for active in self.active.values():
            if active.record is record and not active.remote_closed:
                return active
        raise ValueError(f"gRPC {record.kind} {record.token} is no longer open")

    # -- delivery ----------------------------------------------------------------------------------

    def _replies(self, response: GrpcResponse, index: int, message: bytes) -> list[bytes]:
        replies = response.replies
        if replies is None:
            return []
        if callable(replies):
            answer = replies(decode_message(message, response.request_type))
        else:
            answer = replies[index] if index < len(replies) else None
        if answer is None:
            return []
        if isinstance(answer, bytes | bytearray | str) or hasattr(answer, "SerializeToString"):
            return [encode_message(answer)]
        return [encode_message(a) for a in answer]

    def _at(self, active: _Active, delay_ms: float, deliver: Callable[[], None]) -> None:
        due = self.host.clock.monotonic_ns + int(delay_ms * 1_000_000)
        label = f"grpc {active.record.kind} {active.token} to {active.record.cluster}"
        active.events.append(self.host.scheduler.schedule(due, deliver, label))

    def _remote_close(self, active: _Active) -> None:
        active.closing = True
        response = active.response
        self._at(active, response.delay_ms, lambda: self._trailing_metadata(active))
        self._at(
            active, response.delay_ms, lambda: self._close(active, response.status, response.status_message)
        )

    def _forget(self, active: _Active) -> None:
        self.active.pop((id(active.vm), active.token), None)

    def _is_live(self, active: _Active) -> bool:
        return self.active.get((id(active.vm), active.token)) is active and not active.remote_closed

    def _invoke(self, active: _Active, callback: str, *args: int) -> None:
        root, vm = active.root, active.vm
        try:
            vm.call(root, callback, root.id, active.token, *args)
        finally:
            vm.callout_maps, vm.callout_buffers = {}, {}
        self.host.after_callback()

    def _initial_metadata(self, active: _Active) -> None:
        if not self._is_live(active):
            return
        # What Envoy 1.40 hands the plugin from a grpcio server (the Envoy backend's fake): the transport
        # headers, grpcio's grpc-accept-encoding (identity only: the fake enables no compression), then
        # the declared metadata (docs/fidelity.md, "Callouts").
        pairs = [*GRPCIO_INITIAL_METADATA, *active.response.initial_metadata]
        metadata = HeaderMap(to_pairs(pairs))
        active.vm.callout_maps = {MapType.GRPC_RECEIVE_INITIAL_METADATA: metadata}
        self._invoke(active, "proxy_on_grpc_receive_initial_metadata", len(metadata))

    def _message(self, active: _Active, data: bytes) -> None:
        if not self._is_live(active):
            return
        active.record.received.append(data)
        active.vm.callout_buffers = {5: Buffer(data)}
        self._invoke(active, "proxy_on_grpc_receive", len(data))
        if active.record.kind == "call":
            # The server closed the call with OK (its trailers): Envoy tells the plugin nothing more,
            # but the record says how the call ended, as the Envoy backend's does.
            active.record.close_status = OK
            self._forget(active)

    def _trailing_metadata(self, active: _Active) -> None:
        if not self._is_live(active):
            return
        response = active.response
        # grpcio and grpc-go always send grpc-message, empty when the status has no message.
        pairs = [("grpc-status", str(response.status)), ("grpc-message", response.status_message)]
        metadata = HeaderMap(to_pairs([*pairs, *response.trailing_metadata]))
        active.vm.callout_maps = {MapType.GRPC_RECEIVE_TRAILING_METADATA: metadata}
        self._invoke(active, "proxy_on_grpc_receive_trailing_metadata", len(metadata))

    def _close(self, active: _Active, status: int, message: str, details: str = VIA_UPSTREAM) -> None:
        if not self._is_live(active):
            return
        active.remote_closed = True
        active.record.close_status, active.record.close_message = status, message
        root = active.root
        root.status = (status, grpc_status_message(message, details).encode())
        try:
            self._invoke(active, "proxy_on_grpc_close", status)
        finally:
            root.status = (status, b"")  # Envoy clears status_message_ after the callback
        if active.record.kind == "call" or active.local_closed:
            self._forget(active)


def _details(response: GrpcResponse) -> str:
    """Envoy's response code details for an answer: a ``fail`` is a cluster nobody answers on."""
    return UPSTREAM_DOWN_DETAILS if response.failure else VIA_UPSTREAM

"""A real gRPC server per callout cluster (grpcio on 127.0.0.1), answering from the same declarative
expectations as the emulator (``host/grpc_fakes.py``): raw message bytes for any service and method.

Envoy's gRPC client speaks HTTP/2 to the cluster (``Cluster(http2=True)`` in the bootstrap). The server
cannot see whether the plugin used ``proxy_grpc_call`` or ``proxy_grpc_stream`` (both are one HTTP/2
stream), so a request is matched against the expectations of either kind; the first declared one wins.
"""

from __future__ import annotations

import math
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc

from ...host.grpc_fakes import (
    OK,
    GrpcCallRecord,
    GrpcDeclarations,
    GrpcResponse,
    Pairs,
    decode_message,
    encode_message,
    unanswered,
)

# What Envoy's async gRPC client and grpcio add to every call: not the plugin's metadata.
TRANSPORT_METADATA = frozenset(
    {"user-agent", "te", "content-type", "grpc-timeout", "grpc-accept-encoding", "accept-encoding"}
)
_CODES = {code.value[0]: code for code in grpc.StatusCode}


def status_code(status: int) -> Any:
    """The grpcio ``StatusCode`` of a numeric status (unknown numbers become UNKNOWN)."""
    return _CODES.get(status, grpc.StatusCode.UNKNOWN)


def parse_timeout(value: str | None) -> int | None:
    """``grpc-timeout`` (``5000m``, ``5S``...) in milliseconds."""
    if not value:
        return None
    units = {"H": 3_600_000, "M": 60_000, "S": 1000, "m": 1, "u": 0.001, "n": 0.000001}
    return int(int(value[:-1]) * units.get(value[-1], 1))


class GrpcFakes(GrpcDeclarations):
    """Expectations and records for every gRPC cluster of one backend (the emulator's ``GrpcCalls``
    without the virtual clock)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def clusters(self) -> list[str]:
        return sorted({e.cluster for e in self.expectations if not any(ch in e.cluster for ch in "*?[")})

    def unreachable(self, cluster: str) -> bool:
        """Every expectation for ``cluster`` is a ``fail()``: Envoy gets a cluster with nothing listening,
        the reset the emulator models (grpcio cannot reset one stream: it answers trailers-only)."""
        mine = [e for e in self.expectations if e.cluster == cluster]
        # Every declared answer, not the one the last call took: a fail() in a sequence of answers
        # must not take the cluster down for the answers after it.
        return bool(mine) and all(a.failure for e in mine for a in (e.answers or [e.response]))

    def knows(self, cluster: str) -> bool:
        return self.declared(cluster)

    def answer(self, cluster: str, service: str, method: str) -> tuple[str, GrpcResponse, bool]:
        """(kind, response, matched) for a call that reached ``cluster``."""
        with self._lock:
            expectation = self.find(None, cluster, service, method)
        if expectation is None:
            return "call", unanswered(), False
        return expectation.kind, expectation.response, True


def _replies(response: GrpcResponse, index: int, message: bytes) -> list[bytes]:
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


class GrpcCluster:
    """One gRPC cluster: a grpcio server with a generic handler for every service and method."""

    def __init__(self, cluster: str, fakes: GrpcFakes) -> None:
        self.cluster = cluster
        self.fakes = fakes
        self.stopping = threading.Event()
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix=f"grpc-{cluster}"),
            handlers=[_Handler(self)],
            options=[("grpc.so_reuseport", 0), ("grpc.compression_enabled_algorithms_bitset", 1)],
        )
        self.port = int(self.server.add_insecure_port("127.0.0.1:0"))
        self.server.start()
        self._closed_port: socket.socket | None = None

    @property
    def closed_port(self) -> int:
        """A port bound but not listening: connections to it are refused."""
        if self._closed_port is None:
            self._closed_port = socket.socket()
            self._closed_port.bind(("127.0.0.1", 0))
        return int(self._closed_port.getsockname()[1])

    def close(self) -> None:
        self.stopping.set()
        self.server.stop(grace=None)
        if self._closed_port is not None:
            self._closed_port.close()

    # -- one RPC ---------------------------------------------------------------------------------------

    def serve(self, full_method: str, requests: Iterator[bytes], context: Any) -> Iterator[bytes]:
        _, service, method = [*full_method.split("/"), "", ""][:3]
        metadata = [(str(k), str(v)) for k, v in context.invocation_metadata()]
        timeout = next((v for k, v in metadata if k == "grpc-timeout"), None)
        plugin_metadata = [
            (k, v) for k, v in metadata if k not in TRANSPORT_METADATA and not k.startswith("x-envoy-")
        ]
        remaining = context.time_remaining()  # grpcio keeps grpc-timeout out of the metadata
        timeout_ms = parse_timeout(timeout)
        if timeout_ms is None and remaining is not None and remaining < 1e6:
            timeout_ms = math.ceil(remaining * 10) * 100  # up to 100 ms: the deadline started in Envoy
        kind, response, matched = self.fakes.answer(self.cluster, service, method)
        record = GrpcCallRecord(
            kind, self.cluster, service, method, plugin_metadata, [], timeout_ms, 0, matched
        )
        self.fakes.records.append(record)
        context.add_callback(lambda: setattr(record, "cancelled", record.close_status is None))
        if response.delay_ms and self.stopping.wait(response.delay_ms / 1000):
            return
        if response.failure:  # trailers-only: a stream also sees (empty) metadata callbacks on Envoy
            if kind == "call":  # the request is whole (the client half-closed): record what was sent
                record.messages.extend(requests)
            self._finish(record, context, response)
            return
        if kind == "call":
            for message in requests:
                record.messages.append(message)
            record.half_closed = True
            context.send_initial_metadata(tuple(response.initial_metadata))
            if response.status == OK and response.messages:
                record.received.append(response.messages[0])
                yield response.messages[0]
            self._finish(record, context, response)
            return
        yield from self._stream(record, requests, context, response)

    def _stream(
        self, record: GrpcCallRecord, requests: Iterator[bytes], context: Any, response: GrpcResponse
    ) -> Iterator[bytes]:
        context.send_initial_metadata(tuple(response.initial_metadata))  # never trailers-only
        for data in response.messages:
            record.received.append(data)
            yield data
        if response.close_after != 0:
            for index, message in enumerate(requests):
                record.messages.append(message)
                for data in _replies(response, index, message):
                    record.received.append(data)
                    yield data
                if response.close_after is not None and index + 1 >= response.close_after:
                    break
            else:
                record.half_closed = True
        self._finish(record, context, response)

    def _finish(self, record: GrpcCallRecord, context: Any, response: GrpcResponse) -> None:
        if not response.failure and not record.received:
            _await_initial_metadata(context)
        record.close_status, record.close_message = response.status, response.status_message
        if response.trailing_metadata and not response.failure:
            context.set_trailing_metadata(tuple(response.trailing_metadata))
        if response.status != OK:
            context.set_code(status_code(response.status))
            context.set_details(response.status_message)


def _await_initial_metadata(context: Any, timeout_s: float = 2.0) -> None:
    """Wait until grpcio has handed the initial metadata to the transport.

    Without a message in between, a status set before that moment lets grpc's HTTP/2 transport fold
    the initial metadata into the trailers (a trailers-only answer), and Envoy then reports empty
    initial metadata: a race under load. grpcio has no public hook, so this reads its call state.
    """
    state = getattr(context, "_state", None)
    token = getattr(sys.modules.get("grpc._server"), "_SEND_INITIAL_METADATA_TOKEN", None)
    if state is None or token is None:
        return
    deadline = time.monotonic() + timeout_s
    while token in state.due and time.monotonic() < deadline:
        time.sleep(0.001)


class _Handler(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(self, cluster: GrpcCluster) -> None:
        self.cluster = cluster

    def service(self, handler_call_details: Any) -> Any:
        name = str(handler_call_details.method)

        def behaviour(requests: Iterator[bytes], context: Any) -> Iterator[bytes]:
            return self.cluster.serve(name, requests, context)

        return grpc.stream_stream_rpc_method_handler(behaviour)


__all__ = ["GrpcCluster", "GrpcFakes", "Pairs", "parse_timeout", "status_code"]

"""gRPC helpers: optional protobuf encoding/decoding and server events driven by the test."""

from __future__ import annotations

import pytest
from test_grpc import CLUSTER, LOADED, events, grpc_stream, probe, send
from wat_builder import build, guest_bytes, records, slots

from pytest_proxy_wasm import Host


class FakeProto:
    """Duck-typed protobuf message: what the optional helpers use."""

    def __init__(self, text: str) -> None:
        self.text = text

    def SerializeToString(self) -> bytes:
        return b"P:" + self.text.encode()

    @classmethod
    def FromString(cls, data: bytes) -> FakeProto:
        return cls(data[2:].decode())


def test_protobuf_messages_are_encoded_and_decoded(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    seen: list[str] = []

    def reply(message: FakeProto) -> FakeProto:
        seen.append(message.text)
        return FakeProto(message.text + "!")

    host.expect_grpc_stream(CLUSTER).respond_with(replies=reply, request_type=FakeProto)
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_stream(p), send(p, LOADED, b"P:hi", end=1)]), None)
    plugin = host.load_plugin(build(p))
    while host.run_pending():
        pass
    assert seen == ["hi"]
    assert guest_bytes(plugin, 16, 20) == b"P:hi!"
    assert [m.text for m in host.grpc_calls[0].decoded(FakeProto)] == ["hi"]
    assert events(host) == ["initial", "message", "trailing", "close"]


def test_server_events_driven_by_the_test(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.expect_grpc_stream(CLUSTER).respond_with()
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_stream(p)]), None)
    plugin = host.load_plugin(build(p))
    while host.run_pending():
        pass
    assert events(host) == ["initial"]
    [stream] = host.grpc_calls
    host.grpc.server_send(stream, b"push")
    host.grpc.server_close(stream, 9, "later", delay_ms=10)
    while host.run_pending():
        pass
    assert events(host) == ["initial", "message", "trailing", "close"]
    assert slots(plugin, 1, 20) == [9]
    assert guest_bytes(plugin, 24, 28) == b"later{via_upstream}"  # Envoy 1.40 appends the details
    with pytest.raises(ValueError, match="no longer open"):
        host.grpc.server_send(stream, b"late")

"""The metadata of a gRPC stream's answer as the plugin sees it, on every backend (docs/fidelity.md,
"Callouts"): Envoy hands over what the server sent; the emulator's answers are those of a grpcio
server, the Envoy backend's fake."""

from __future__ import annotations

import pytest
from wat_builder import Probe, build

from pytest_proxy_wasm.backends import Backend

CLUSTER, SERVICE, METHOD = "grpc_backend", "pkg.Svc", "Watch"
STREAM_CONTEXT = 8  # the HTTP stream's context id, to resume it from the root's gRPC callbacks
PAIRS_PTR, PAIRS_SIZE = 16, 20
CURSOR, END = 24, 28
INITIAL_METADATA, TRAILING_METADATA = 4, 5


def log_map(probe: Probe, map_type: int, label: str) -> str:
    """Logs ``label`` and then the map's serialized pairs with every NUL shown as ``|``."""
    return f"""{probe.log(label)}
    (drop (call $proxy_get_header_map_pairs (i32.const {map_type}) (i32.const {PAIRS_PTR})
      (i32.const {PAIRS_SIZE})))
    (i32.store (i32.const {END})
      (i32.add (i32.load (i32.const {PAIRS_PTR})) (i32.load (i32.const {PAIRS_SIZE}))))
    (i32.store (i32.const {CURSOR}) (i32.add (i32.load (i32.const {PAIRS_PTR}))
      (i32.add (i32.const 4) (i32.mul (i32.const 8) (i32.load (i32.load (i32.const {PAIRS_PTR})))))))
    (call $log_from_cursor)"""


LOG_FROM_CURSOR = f"""
  (func $log_from_cursor
    (local $i i32)
    (local.set $i (i32.load (i32.const {CURSOR})))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const {END}))))
      (if (i32.eqz (i32.load8_u (local.get $i))) (then (i32.store8 (local.get $i) (i32.const 124))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (drop (call $proxy_log (i32.const 2) (i32.load (i32.const {CURSOR}))
      (i32.sub (i32.load (i32.const {END})) (i32.load (i32.const {CURSOR}))))))
"""


def metadata_probe() -> bytes:
    """Opens a stream on the request's headers and waits; logs both metadata maps; resumes the request
    when the stream closes."""
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        f"(i32.store (i32.const {STREAM_CONTEXT}) (local.get $p0))\n"
        f"    (drop (call $proxy_grpc_stream {probe.s(CLUSTER)} {probe.s(SERVICE)} {probe.s(METHOD)}"
        " (i32.const 0) (i32.const 0) (i32.const 12)))",
        ret=1,  # Pause
    )
    probe.on("proxy_on_grpc_receive_initial_metadata", log_map(probe, INITIAL_METADATA, "initial"))
    probe.on("proxy_on_grpc_receive", probe.log("message"))
    probe.on("proxy_on_grpc_receive_trailing_metadata", log_map(probe, TRAILING_METADATA, "trailing"))
    probe.on(
        "proxy_on_grpc_close",
        probe.log("close")
        + f"\n    (drop (call $proxy_set_effective_context (i32.load (i32.const {STREAM_CONTEXT}))))"
        "\n    (drop (call $proxy_continue_stream (i32.const 0)))",
    )
    probe.extra.append(LOG_FROM_CURSOR)
    return build(probe)


@pytest.mark.parametrize(
    ("answer", "initial", "trailing"),
    [
        (
            {},
            ":status|200|content-type|application/grpc|grpc-accept-encoding|identity|",
            "grpc-status|0|grpc-message||",
        ),
        (
            {"initial_metadata": {"x-server": "fake"}, "trailing_metadata": {"x-t": "1"}},
            ":status|200|content-type|application/grpc|grpc-accept-encoding|identity|x-server|fake|",
            "grpc-status|0|grpc-message||x-t|1|",
        ),
    ],
    ids=["bare", "declared"],
)
def test_stream_answer_metadata(
    proxy_wasm_backend: Backend, answer: dict[str, dict[str, str]], initial: str, trailing: str
) -> None:
    plugin = proxy_wasm_backend.load_plugin(metadata_probe())
    proxy_wasm_backend.expect_grpc_stream(CLUSTER, SERVICE, METHOD).respond_with(
        b"pong", close_after=0, **answer
    )
    outcome = proxy_wasm_backend.request(plugin, upstream_body="served")
    assert (outcome.status, outcome.response_body) == (200, b"served")
    assert [record.message for record in outcome.logs] == [
        "initial",
        initial,
        "message",
        "trailing",
        trailing,
        "close",
    ]

"""The shortcuts the exchange path takes for speed (issue 15) give exactly what the plain code gives."""

from __future__ import annotations

import random
import uuid
from dataclasses import fields

from pytest_proxy_wasm.host.abi.pairs import decode_pairs, encode_pairs
from pytest_proxy_wasm.host.exchange import request_id
from pytest_proxy_wasm.host.headers import HeaderMap, to_pairs
from pytest_proxy_wasm.outcome import LogRecord, Outcome, UpstreamRequest, assemble_outcome


def test_assembled_outcome_equals_the_dataclass_built_one() -> None:
    values = {
        "status": 200,
        "response_headers": [(":status", "200")],
        "response_body": b"ok",
        "upstream_request": UpstreamRequest("GET", "/", [(":path", "/")], b""),
        "logs": [LogRecord(2, "hello", "p", 2, "plugin", "stream")],
        "plugin_failed": None,
        "response_trailers": [],
        "local_reply": False,
        "details": "via_upstream",
        "hung": False,
        "reset": False,
        "callouts": [],
        "metrics": {"c": 1},
        "diagnostics": [],
    }
    fast = assemble_outcome(dict(values))
    assert fast == Outcome(**values)  # type: ignore[arg-type]
    assert {f.name for f in fields(Outcome)} == {*values, "backend", "trace", "misuse"}
    assert fast.to_json() == Outcome(**values).to_json()  # type: ignore[arg-type]


def test_request_id_is_the_uuid4_text_of_the_stream_bits() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        bits = rng.getrandbits(128)
        assert request_id(bits).decode() == str(uuid.UUID(int=bits, version=4))


def test_header_map_keeps_pseudo_headers_first_in_order() -> None:
    pairs = [(b"B", b"1"), (b":Path", b"/"), (b"a", b"2"), (b":method", b"GET")]
    assert HeaderMap(pairs).entries == [(b":path", b"/"), (b":method", b"GET"), (b"b", b"1"), (b"a", b"2")]
    assert HeaderMap([(b":a", b"1"), (b"x", b"2")]).entries == [(b":a", b"1"), (b"x", b"2")]


def test_to_pairs_mixes_text_and_bytes_and_names_bad_text() -> None:
    assert to_pairs([("a", b"\xff"), (b"B", "t")]) == [(b"a", b"\xff"), (b"B", b"t")]
    assert to_pairs({"k": "v"}) == [(b"k", b"v")]
    assert to_pairs(iter([("k", "v")])) == [(b"k", b"v")]
    try:
        to_pairs([("k", "\u20ac")])
    except ValueError as exc:
        assert "'k'" in str(exc) and "Latin-1" in str(exc)
    else:
        raise AssertionError("non-Latin-1 text accepted")


def test_pairs_codec_round_trips_every_count() -> None:
    for count in (1, 2, 63, 64, 65, 200):
        pairs = [(f"k{i}".encode(), b"v" * i) for i in range(count)]
        assert decode_pairs(encode_pairs(pairs)) == pairs


def test_callback_arguments_outside_u32_go_in_as_their_low_bits() -> None:
    """VM.call packs arguments with one struct; a value outside u32 is truncated as a ctypes slot
    would, not raised as a harness error."""
    from pathlib import Path

    from pytest_proxy_wasm import Host, HostOptions, Runtime

    module = Path(__file__).resolve().parents[2] / "fixtures" / "rust" / "headers.wasm"
    runtime = Runtime(cache_dir=None)
    try:
        with Host(runtime, HostOptions(thread_vms=False)) as host:
            plugin = host.load_plugin(module)
            root = plugin.root
            assert plugin.vm.call(root, "proxy_on_tick", root.id + (1 << 32)) is None  # the same root
            assert plugin.vm.failure is None
            plugin.vm.call(root, "proxy_on_tick", -1)  # 0xFFFFFFFF: no such context, the SDK traps
            assert plugin.vm.failure is not None and plugin.vm.failure.callback == "proxy_on_tick"
    finally:
        runtime.close()

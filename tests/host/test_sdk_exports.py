"""Issue 27, item 6: known SDK exports are not misuse (named once, in the classification); the
allocator's calls count in the coverage."""

from __future__ import annotations

from pathlib import Path

from wat_builder import Probe, build

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.conformance.cases import CaseRun, Target
from pytest_proxy_wasm.conformance.classify import classify, header_lines

JWT_AUTH = Path(__file__).resolve().parents[2] / "fixtures" / "go" / "jwt_auth.wasm"
REDIS = '  (func (export "proxy_on_redis_call_response") (param i32 i32 i32 i32))'


def _higress_like() -> bytes:
    probe = Probe()
    probe.extra.append(REDIS)
    return build(probe)


def test_a_known_sdk_export_is_not_misuse(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(_higress_like(), name="higress")
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.misuse == [] and proxy_wasm_host.misuse == []
    assert not any("redis" in d for d in proxy_wasm_host.diagnostics)


def test_the_classification_names_it_once(tmp_path: Path, proxy_wasm_host: Host) -> None:
    module = tmp_path / "higress.wasm"
    module.write_bytes(_higress_like())
    found = classify(CaseRun(Target(module=module), proxy_wasm_host.runtime))
    assert list(found["sdk_exports"]) == ["proxy_on_redis_call_response"]
    lines = [line for line in header_lines(module.name, found) if "proxy_on_redis_call_response" in line]
    assert len(lines) == 1 and "not misuse" in lines[0] and "Higress" in lines[0]


def test_allocator_calls_count_as_callbacks(proxy_wasm_host: Host) -> None:
    run = CaseRun(Target(module=JWT_AUTH, plugin_config=b'{"secret": "s"}'), proxy_wasm_host.runtime)
    host, plugin = run.started()
    host.request(plugin, headers={"authorization": "Bearer x.y.z"})
    assert plugin.vm.callback_counts()["proxy_on_memory_allocate"] == plugin.vm.allocations > 0
    run.close()
    assert run.callbacks["proxy_on_memory_allocate"] > 0

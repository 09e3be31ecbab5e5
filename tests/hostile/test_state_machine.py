"""Fuzzing (issue 8, item 7): random legal and illegal callback sequences against sample and hostile
modules. Invariants: no Python exception escapes except the package's documented errors, no harness
fault, actions are CONTINUE/PAUSE, statuses are HTTP statuses (or None for a hung stream), and every
step finishes in bounded time."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import hypothesis.strategies as st
import pytest
import wasmtime
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.errors import HarnessFault, ProxyWasmError
from pytest_proxy_wasm.host.abi.enums import Action
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.host.runtime import Runtime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEADLINE = 0.1
STEP_BOUND = DEADLINE + 2.0
CLUSTER = "outbound|5000||sealos.hub"

SAMPLES = ["rust/headers.wasm", "go/basic_auth.wasm", "wat/headers_021.wat"]
HOSTILE = [
    "hostile/trap_request_body.wasm",
    "hostile/trap_response_headers.wasm",
    "hostile/loop_request_headers.wasm",
    "hostile/malloc_returns_zero.wasm",
    "hostile/malloc_out_of_bounds.wasm",
    "hostile/trap_on_log.wasm",
    "hostile/trap_tick.wasm",
    "hostile/trap_http_call_response.wasm",
    "hostile/recursion_unbounded.wasm",
    "hostile/trap_configure.wasm",
]

_RUNTIMES: list[Runtime] = []
_BYTES: dict[str, bytes] = {}


def runtime() -> Runtime:
    if not _RUNTIMES:
        _RUNTIMES.append(Runtime(cache_dir=None))
    return _RUNTIMES[0]


def module_bytes(name: str) -> bytes:
    if name not in _BYTES:
        path = FIXTURES / name
        data = path.read_bytes()
        _BYTES[name] = bytes(wasmtime.wat2wasm(data.decode())) if path.suffix == ".wat" else data
    return _BYTES[name]


headers = st.lists(
    st.sampled_from(
        [
            ("authorization", "Basic YWRtaW46YWRtaW4="),
            ("authorization", "Basic !!!"),
            ("authorization", "Bearer x"),
            ("x-a", "1"),
            ("x-a", ""),
            ("content-type", "application/json"),
            ("x-\u00e9", "\u00ff"),
        ]
    ),
    max_size=4,
)
chunks = st.binary(max_size=64)


class HarnessMachine(RuleBasedStateMachine):
    """One host, one plugin (or a refused one), streams driven callback by callback in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.host: Host | None = None
        self.plugin = None
        self.stream = None

    def step(self, what: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.monotonic()
        try:
            result = fn(*args, **kwargs)
        except HarnessFault:
            raise
        except ProxyWasmError as exc:  # documented: load/start errors, PluginFailedError
            result = exc
        elapsed = time.monotonic() - start
        assert elapsed < STEP_BOUND, f"{what} took {elapsed:.2f} s"
        return result

    @initialize(name=st.sampled_from(SAMPLES + HOSTILE))
    def load(self, name: str) -> None:
        self.host = Host(runtime(), HostOptions(deadline_seconds=DEADLINE, memory_limit=32 << 20))
        self.host.add_cluster(CLUSTER)
        with contextlib.suppress(ProxyWasmError):  # compile outside the timed step
            runtime().load(module_bytes(name))
        loaded = self.step("load_plugin", self.host.load_plugin, module_bytes(name))
        self.plugin = None if isinstance(loaded, ProxyWasmError) else loaded

    def teardown(self) -> None:
        if self.host is not None:
            self.host.close()

    def drive(self, what: str, *args: object) -> None:
        if self.stream is None:
            self.stream = self.plugin.http_stream()  # type: ignore[union-attr]
        action = self.step(what, getattr(self.stream, what), *args)
        if not isinstance(action, ProxyWasmError) and what != "complete":
            assert action in (Action.CONTINUE, Action.PAUSE), f"{what} returned {action!r}"

    @precondition(lambda self: self.plugin is not None)
    @rule(hdrs=headers, eos=st.booleans())
    def request_headers(self, hdrs: list[tuple[str, str]], eos: bool) -> None:
        pseudo = [(":method", "GET"), (":path", "/"), (":authority", "example.com")]
        self.drive("on_request_headers", pseudo + hdrs, eos)

    @precondition(lambda self: self.plugin is not None)
    @rule(chunk=chunks, eos=st.booleans())
    def request_body(self, chunk: bytes, eos: bool) -> None:
        self.drive("on_request_body", chunk, eos)

    @precondition(lambda self: self.plugin is not None)
    @rule(hdrs=headers)
    def request_trailers(self, hdrs: list[tuple[str, str]]) -> None:
        self.drive("on_request_trailers", hdrs)

    @precondition(lambda self: self.plugin is not None)
    @rule(hdrs=headers, eos=st.booleans())
    def response_headers(self, hdrs: list[tuple[str, str]], eos: bool) -> None:
        self.drive("on_response_headers", [(":status", "200"), *hdrs], eos)

    @precondition(lambda self: self.plugin is not None)
    @rule(chunk=chunks, eos=st.booleans())
    def response_body(self, chunk: bytes, eos: bool) -> None:
        self.drive("on_response_body", chunk, eos)

    @precondition(lambda self: self.plugin is not None)
    @rule(hdrs=headers)
    def response_trailers(self, hdrs: list[tuple[str, str]]) -> None:
        self.drive("on_response_trailers", hdrs)

    @precondition(lambda self: self.plugin is not None)
    @rule(new_stream=st.booleans())
    def complete(self, new_stream: bool) -> None:
        self.drive("complete")
        if new_stream:
            self.stream = None

    @precondition(lambda self: self.host is not None)
    @rule(ms=st.sampled_from([0, 1, 10, 1000, 60_000]))
    def advance(self, ms: int) -> None:
        self.step("advance", self.host.advance, ms)  # type: ignore[union-attr]

    @precondition(lambda self: self.plugin is not None)
    @rule(hdrs=headers, body=chunks, path=st.sampled_from(["/", "/admin", "/%ff?\x00"]))
    def request(self, hdrs: list[tuple[str, str]], body: bytes, path: str) -> None:
        outcome = self.step("request", self.host.request, self.plugin, path=path, headers=hdrs, body=body)  # type: ignore[union-attr]
        if isinstance(outcome, ProxyWasmError):
            return
        assert outcome.status is None or 100 <= outcome.status <= 599, outcome.status
        assert outcome.status is not None or outcome.hung, "no status, yet not reported as hung"

    @invariant()
    def no_harness_fault(self) -> None:
        if self.host is None:
            return
        for vm in self.host.all_vms:
            assert getattr(vm, "harness_fault", None) is None, vm.harness_fault
            assert vm.failure is None or vm.failure.kind != "harness_fault", vm.failure
        assert not [d for d in self.host.diagnostics if "harness fault" in d.lower()]


# hypothesis' failure report imports mypy_extensions.TypedDict, a DeprecationWarning that the project's
# filterwarnings=error turns into an INTERNALERROR hiding the falsifying example.
HarnessMachine.TestCase.pytestmark = [  # type: ignore[attr-defined]
    pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")
]
HarnessMachine.TestCase.settings = settings(max_examples=30, deadline=None, stateful_step_count=12)
test_harness_state_machine = HarnessMachine.TestCase


@pytest.fixture(autouse=True, scope="module")
def _close_runtime():  # type: ignore[no-untyped-def]
    yield
    while _RUNTIMES:
        _RUNTIMES.pop().close()

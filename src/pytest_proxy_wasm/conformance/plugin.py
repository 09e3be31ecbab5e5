"""Collect the shipped suite from the installed package: ``--proxy-wasm-module X --proxy-wasm-conformance``.

Each area module (``conformance/<area>.py``) becomes a collector whose items are the registered cases,
one per case and module. Works from any directory: the package folder is added to the arguments.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..errors import MissingImportsError, ModuleLoadError, PluginStartError, UnknownAbiVersionError
from ..host.proxy_crash import ProxyCrash
from ..host.runtime import Runtime
from ..plugin_coverage.pytest_plugin import instrument_runtime
from . import harness
from .blocking import first_with, settle, teststatus
from .cases import (
    AREAS,
    REGISTRY,
    Case,
    CaseFailure,
    CaseRun,
    CaseWarning,
    NotApplicable,
    Target,
)
from .causes import cause_of
from .classify import KIND_OPTIONS, classify, header_lines, skip_reason
from .evidence import Evidence
from .expectations import Expectations, ExpectationsError, load, merge
from .inputs import add_input_options
from .registry import load_cases
from .support import crash_skip_reason, synthetic_callout_failure
from .targets import selection, targets
from .trace_details import failing_trace

HERE = Path(__file__).resolve().parent
RUNTIME_KEY = pytest.StashKey[Runtime]()
CLASSIFY_KEY = pytest.StashKey[dict[tuple[Any, ...], dict[str, Any]]]()
SHA_KEY = pytest.StashKey[dict[Path, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proxy-wasm")
    add = group.addoption
    add("--proxy-wasm-conformance", action="store_true", help="run the shipped conformance suite")
    add("--proxy-wasm-select", default="", metavar="AREA,...", help="conformance areas or case ids to run")
    add("--proxy-wasm-expect", action="append", default=[], metavar="FILE", help="expected failures")
    add("--proxy-wasm-plugin-config", default="", metavar="TEXT|@FILE", help="plugin configuration")
    add("--proxy-wasm-vm-config", default="", metavar="TEXT|@FILE", help="VM configuration")
    add("--proxy-wasm-env", action="append", default=[], metavar="NAME=VALUE", help="VM environment")
    add("--proxy-wasm-seed", type=int, default=None, help="hypothesis seed for generated requests")
    add("--proxy-wasm-examples", type=int, default=25, help="generated examples per robustness case")
    add("--proxy-wasm-budget", action="append", default=[], metavar="NAME=VALUE", help="performance budget")
    add("--proxy-wasm-kind", default="auto", choices=("auto", *KIND_OPTIONS),
        help="check the module as this kind instead of the classified one")  # fmt: skip
    add("--proxy-wasm-report-dir", default=None, metavar="DIR", help="write JSON, HTML and Markdown here")
    add("--proxy-wasm-emit-scenarios", default=None, metavar="DIR", help="write a scenario per finding here")
    add_input_options(add)


def enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--proxy-wasm-conformance", default=False))


def pytest_configure(config: pytest.Config) -> None:
    if not enabled(config):
        return
    if not config.getoption("--proxy-wasm-module"):
        raise pytest.UsageError("--proxy-wasm-conformance needs --proxy-wasm-module PATH")
    selection(config)
    try:
        config.stash[EXPECT_KEY] = merge([load(Path(p)) for p in config.getoption("--proxy-wasm-expect")])
    except (OSError, ExpectationsError, ValueError) as exc:
        raise pytest.UsageError(f"--proxy-wasm-expect: {exc}") from None
    config.pluginmanager.register(harness.HarnessFaults(), "proxy-wasm-harness-faults")
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(HERE)]
    elif str(HERE) not in config.args:
        config.args.append(str(HERE))


EXPECT_KEY = pytest.StashKey[Expectations]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not enabled(parent.config) or file_path.parent != HERE or file_path.stem not in AREAS:
        return None
    area = file_path.stem
    selected = selection(parent.config)
    if selected and not any(s == area or s.startswith(area + ".") for s in selected):
        return None
    return AreaCollector.from_parent(parent, path=file_path, nodeid=f"proxy-wasm-conformance/{area}")


class AreaCollector(pytest.File):
    """One area of the suite: its cases for every module under test."""

    def collect(self) -> Iterator[pytest.Item]:
        load_cases()
        area = self.path.stem
        selected = selection(self.config)
        found = targets(self.config)
        for case in REGISTRY.values():
            if case.area != area or (selected and area not in selected and case.id not in selected):
                continue
            several = len({t.module for t in found}) > 1
            for target in found:
                label = module_label(target.module, found) if several else ""
                label += f"@{target.envoy_version}" if target.envoy_version else ""
                name = case.id.split(".", 1)[1] + (f"[{label}]" if label else "")
                module = module_label(target.module, found)
                yield CaseItem.from_parent(self, name=name, case=case, target=target, module=module)


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, target: Target, module: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.target = target
        self.evidence: Evidence | None = None
        self.record: dict[str, Any] = {"case": case.record(), "module": module or target.module.name}
        if target.envoy_version:
            self.record["envoy_version"] = target.envoy_version
        sha = _sha256(self.config, target.module)
        reason = self.config.stash[EXPECT_KEY].reason(target.module.name, sha, case.id)
        if reason:
            self.add_marker(pytest.mark.xfail(reason=reason, strict=True))
            self.record["expected_failure"] = reason
        self.user_properties += [("case", case.id), ("area", case.area), ("module_sha256", sha)]

    def runtest(self) -> None:
        case, target = self.case, self.target
        if case.needs_backend and target.backend not in case.needs_backend.split("|"):
            pytest.skip(f"needs --backend {case.needs_backend}")
        kind = classification(self.config, target)
        self.record["classification"] = kind
        if kind.get("harness_fault"):
            self.record["harness_fault"] = f"harness fault in {case.id}: {kind['harness_fault']} (probe)"
            raise harness.CheckHarnessFault(self.record["harness_fault"])
        reason = skip_reason(case, kind, target.kind)
        if reason:
            pytest.skip(reason)
        run = CaseRun(target, runtime(self.config), classification=kind)
        start = time.perf_counter()
        try:
            abi = _abi(run)
            if abi and abi not in case.abi_versions:
                pytest.skip(f"does not apply to ABI {abi}")
            try:
                case.func(run)
            except CaseFailure as exc:
                harness.raise_vm_faults(case.id, run)
                stand_in = synthetic_callout_failure(run)
                if case.severity != "warn" and stand_in is None and not isinstance(exc, CaseWarning):
                    raise
                # A warning never fails the verdict: the case passes with the finding recorded.
                warning = f"{exc} [{stand_in}]" if stand_in else str(exc)
                run.details["warning"] = warning
                self.record["warning"] = warning
            harness.raise_vm_faults(case.id, run)
        except AssertionError as exc:
            if not isinstance(exc, CaseFailure):
                harness.raise_vm_faults(case.id, run)
            crash = next((h.proxy_crash for h in run.hosts if h.proxy_crash), None)
            if (
                crash is not None and case.id != "lifecycle.envoy_survives"
            ):  # the failure is the crash: reported once
                pytest.skip(crash_skip_reason(crash))
            try:
                self.evidence = self._finding(run, str(exc))
            except Exception as broken:  # building the evidence is our code: a fault there is ours
                raise harness.fault(case.id, broken) from broken
            raise
        except NotApplicable as exc:
            pytest.skip(str(exc))
        except ModuleLoadError as exc:
            owner = responsible_case(exc)
            if owner != case.id:
                pytest.skip(f"the module does not load ({owner} fails): {exc.reason}")
            raise AssertionError(exc.reason) from None
        except ProxyCrash as exc:  # lifecycle.envoy_survives reports it; the case cannot go on
            pytest.skip(crash_skip_reason(exc))
        except PluginStartError as exc:
            harness.raise_vm_faults(case.id, run)
            if case.id != "lifecycle.start_configure":
                pytest.skip(f"the plugin does not start (lifecycle.start_configure fails): {exc.reason}")
            self.evidence = self._finding(run, str(exc))
            raise AssertionError(str(exc)) from None
        except harness.CheckHarnessFault:
            raise
        except Exception as exc:  # anything else raised while running the case is ours
            raise harness.fault(case.id, exc) from exc
        finally:
            fault = sys.exc_info()[1]
            if isinstance(fault, harness.CheckHarnessFault):
                self.record["harness_fault"] = str(fault)
            if sys.exc_info()[0] is not None:  # a failing case keeps its hosts' traces for the report
                trace = failing_trace(run.hosts)
                if trace:
                    run.details["trace"] = trace
            run.close()
            self.record.update(
                details=run.details,
                logs=run.logs,
                hostcalls=dict(run.hostcalls),
                callbacks=dict(run.callbacks),
                seconds=round(time.perf_counter() - start, 4),
            )
            if self.evidence is not None:
                self.record["evidence"] = self.evidence.to_json()
                self.user_properties.append(("evidence", "\n".join(self.evidence.lines())))

    def _finding(self, run: CaseRun, message: str = "") -> Evidence:
        """Evidence for the failure (after closing the hosts), and its root cause: the first case failing
        on a cause is replayed on Envoy when it runs; later ones are blocked by it (causes.py). With
        ``--proxy-wasm-emit-scenarios DIR`` also a scenario reproducing it (conformance/emit.py)."""
        run.close()
        evidence = run.finding()
        cause = cause_of(message, evidence.to_json())
        if cause is not None:
            self.record["cause"] = cause.to_json()
            blocked_by = first_with(self.config, self.target.module.name, cause, self.case.id)
            if blocked_by is not None:
                self.record["blocked_by"] = blocked_by
                return evidence
        if self.target.backend in ("envoy", "diff") and self.case.area != "differential":
            from .replay import replay

            evidence.replay = replay(self.target, evidence)
        emit_dir = self.config.getoption("--proxy-wasm-emit-scenarios", default=None)
        if emit_dir:
            from .emit import emit_into

            emit_into(Path(emit_dir), self.case.id, message, self.target, evidence, run.details)
        return evidence

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, harness.CheckHarnessFault):
            return f"{excinfo.value}\n  ({harness.HINT})"
        if isinstance(excinfo.value, AssertionError):
            lines = [f"{self.case.id}: {excinfo.value}", f"  rule: {self.case.rule}"]
            lines += [f"  {line}" for line in (self.evidence.lines() if self.evidence else [])]
            return "\n".join(lines)
        return str(self._repr_failure_py(excinfo, style="short"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        version = f"@{self.target.envoy_version}" if self.target.envoy_version else ""
        return self.path, None, f"{self.case.id} [{self.record['module']}{version}]"


def module_label(module: Path, found: list[Target]) -> str:
    """``probe.wasm``; ``go/probe.wasm`` when another module under test has the same file name (so no
    two cases share a test id and no result is lost)."""
    same = {t.module for t in found if t.module.name == module.name}
    return f"{module.parent.name}/{module.name}" if len(same) > 1 else module.name


def classification(config: pytest.Config, target: Target) -> dict[str, Any]:
    """The module's classification (conformance/classify.py), probed once per target and session."""
    cache = config.stash.setdefault(CLASSIFY_KEY, {})
    key = (str(target.module), target.plugin_config, target.vm_config, tuple(sorted(target.env.items())),
           target.envoy_version)  # fmt: skip
    if key not in cache:
        cache[key] = classify(CaseRun(target, runtime(config)))
    return cache[key]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """The classification of every module under test, at the top of the run."""
    if not enabled(config):
        return None
    lines: list[str] = []
    for target in targets(config):
        kind = classification(config, target)
        lines += header_lines(target.module.name, kind)
        if target.kind != "auto" and target.kind != kind["kind"]:
            lines.append(f"  checked as: {target.kind} (--proxy-wasm-kind)")
    return lines


def pytest_proxy_wasm_update_report(config: pytest.Config, report: dict[str, Any]) -> None:
    """The run model gets each module's classification (``modules[i].classification``)."""
    if not enabled(config):
        return
    by_path = {str(t.module): classification(config, t) for t in targets(config)}
    for module in report.get("modules", []):
        found = by_path.get(str(module.get("path")))
        if found is not None:
            module["classification"] = found


def _abi(run: CaseRun) -> str | None:
    try:
        return run.compiled().abi.value
    except ModuleLoadError:
        return None


def responsible_case(exc: ModuleLoadError) -> str:
    """The module case that reports this loading failure."""
    reason = exc.reason
    if isinstance(exc, UnknownAbiVersionError):
        return "module.abi_marker"
    if isinstance(exc, MissingImportsError):
        return "module.imports_provided"
    for needle, owner in (
        ("Bad function signature", "module.export_signatures"),
        ("exports no memory", "module.memory_exported"),
        ("missing malloc", "module.allocator"),
        ("start function", "module.start_functions"),
        ("instantiation failed", "module.start_functions"),
    ):
        if needle in reason:
            return owner
    return "module.valid_wasm"


def _sha256(config: pytest.Config, path: Path) -> str:
    """The module's sha256, hashed once per session (every case item of a module asks)."""
    import hashlib

    known = config.stash.setdefault(SHA_KEY, {})
    if path not in known:
        try:
            known[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            known[path] = ""
    return known[path]


def runtime(config: pytest.Config) -> Runtime:
    if RUNTIME_KEY not in config.stash:
        config.stash[RUNTIME_KEY] = Runtime(config.getoption("--proxy-wasm-cache-dir") or "default")
        instrument_runtime(config.stash[RUNTIME_KEY], config)  # --proxy-wasm-coverage
    return config.stash[RUNTIME_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    if RUNTIME_KEY in config.stash:
        config.stash[RUNTIME_KEY].close()


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: sees the report after xfail handling
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if isinstance(item, CaseItem) and (call.when == "call" or report.outcome != "passed"):
        report.proxy_wasm = item.record
        settle(report, item.record, str(item.path))
    return report


def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, Any] | None:
    """Blocked and warned cases are counted as such in the terminal (conformance/blocking.py)."""
    return teststatus(report)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Cases run area by area in the order of ``AREAS`` (module first), so the first case to meet a
    cause, the one that reports it, is the most basic one. The fuel-metering compile that
    ``performance.callback_cost`` needs starts now, in the background."""
    from .performance import start_fuel_compile

    for item in items:
        if isinstance(item, CaseItem) and item.case.id == "performance.callback_cost":
            kind = classification(config, item.target)
            if not hasattr(config, "workerinput") and not skip_reason(item.case, kind, item.target.kind):
                start_fuel_compile(item.target.module, runtime(config).cache_dir)
    order = {area: i for i, area in enumerate(AREAS)}
    slots = [n for n, item in enumerate(items) if isinstance(item, CaseItem)]
    found = [item for item in items if isinstance(item, CaseItem)]
    cases = sorted(found, key=lambda i: order.get(i.case.area, len(order)))
    for n, item in zip(slots, cases, strict=True):
        items[n] = item  # other tests of the session keep their places

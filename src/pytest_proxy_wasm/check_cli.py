"""``pytest-proxy-wasm check`` (run the conformance suite through pytest) and ``report`` (re-render).

``check plugins.yaml`` checks the plugin a WasmPlugin YAML describes (fetched as istio-agent would, with
its pluginConfig, vmConfig.env and root id).

Exit codes of ``check`` are pytest's: 0 nothing unexpected failed (expected failures are fine),
1 a case failed or an expected failure passed, 2 interrupted, 3 a harness fault (our bug, never a finding;
conformance/harness.py) or internal error, 4 usage error
(bad option, unreadable expectations file), 5 no case selected.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from . import mesh_cli
from .check_wasmplugin import add_fetch_options, from_wasmplugin
from .client_address_cli import add_client_address_arguments, client_address_pytest_args
from .conformance.cases import AREAS
from .conformance.inputs import validate_check_inputs
from .errors import ProxyWasmError
from .host.clock_start import NOW_FORMATS, parse_now, resolve
from .istio.cli import is_yaml
from .matrix_cli import add_matrix_options, check_each, expand_directories, matrix_args, several_wasmplugins
from .plugin_coverage import cli_options as coverage_cli
from .plugin_coverage import guided_plugin


def add_check_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="run the conformance suite on a module (exit 0 = conformant)")
    check.add_argument(
        "module", type=Path, nargs="+", help="the compiled plugin(s) (.wasm), or a WasmPlugin YAML file"
    )
    check.add_argument("--plugin-config", default="", help="plugin configuration: text or @FILE")
    check.add_argument("--vm-config", default="", help="VM configuration: text or @FILE")
    check.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="VM environment")
    check.add_argument("--root-id", default="", help="root id (AssemblyScript proxy-runtime needs one)")
    check.add_argument("--vm-id", default="", help="VM id")
    check.add_argument(
        "--callout",
        action="append",
        default=[],
        metavar="CLUSTER=STATUS[:BODY]",
        help="answer HTTP callouts to CLUSTER, declared before the plugin starts; repeatable",
    )
    check.add_argument(
        "--request",
        action="append",
        default=[],
        metavar="'METHOD /PATH'",
        help="a request of your own that every area sends besides the generated ones; repeatable",
    )
    check.add_argument(
        "--requests", type=Path, default=None, metavar="FILE", help="YAML scenario of requests"
    )
    check.add_argument(
        "--wasmplugin", default="", metavar="NAME", help="which WasmPlugin of the YAML to check"
    )
    add_fetch_options(check)
    check.add_argument("--backend", choices=("emulator", "envoy", "diff"), default="emulator")
    check.add_argument(
        "--kind",
        choices=("auto", "http", "network", "service"),
        default="auto",
        help="check the module as this kind (default: as classified)",
    )
    check.add_argument(
        "--report-dir", type=Path, default=None, help="write run.json, run.html, summary.md, junit.xml here"
    )
    check.add_argument(
        "--emit-scenarios",
        type=Path,
        default=None,
        metavar="DIR",
        help="write one scenario file per finding here, Envoy's answer as its expectation",
    )
    check.add_argument(
        "--expect",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="expected failures (YAML or JSON); repeatable",
    )
    check.add_argument(
        "--select", default="", metavar="AREA,...", help=f"areas or case ids: {', '.join(AREAS)}"
    )
    check.add_argument("--deadline", type=float, default=1.0, help="CPU seconds per callback (default 1)")
    check.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, reported)")
    check.add_argument("--examples", type=int, default=25, help="generated requests per robustness case")
    check.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="performance budget: request_us, callback_us, context_bytes",
    )
    add_client_address_arguments(check)
    check.add_argument("--strict", action="store_true", help="misuse findings fail (module.hostcall_misuse)")
    check.add_argument("--trace", action="store_true", help="trace hostcalls; failing cases show the trace")
    check.add_argument("--now", default="", metavar="TIME",
                       help=f"start every host's clock here: {NOW_FORMATS} (default: now)")  # fmt: skip
    check.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    mesh_cli.add_check_options(check)
    add_matrix_options(check)
    coverage_cli.add_options(check, report_dir=False)
    guided_plugin.add_check_option(check)
    check.set_defaults(handler=run_check)
    report = sub.add_parser("report", help="re-render a saved run.json")
    report.add_argument("run_json", type=Path)
    report.add_argument("--html", type=Path, default=None, help="write the HTML page here")
    report.add_argument("--markdown", type=Path, default=None, help="write the Markdown summary here")
    report.add_argument("--junit", type=Path, default=None, help="write the JUnit XML here")
    report.set_defaults(handler=run_report)


def pytest_args(args: argparse.Namespace, ini: Path) -> list[str]:
    # --noconftest: a conftest.py above the installed package (a project with its venv inside) is not ours.
    # --assert=plain: the suite raises its own failures, and rewriting every plugin's modules on each start
    # costs ~1 s where no bytecode is cached (PYTHONDONTWRITEBYTECODE).
    out = ["-c", str(ini), "--rootdir", str(ini.parent), "-p", "no:cacheprovider", "-p", "no:randomly",
           "--noconftest", "--assert=plain",
           "--proxy-wasm-conformance", "--proxy-wasm-backend", args.backend,
           "--proxy-wasm-deadline", str(args.deadline), "--proxy-wasm-examples", str(args.examples),
           "--proxy-wasm-kind", getattr(args, "kind", "auto"),
           "-q" if args.quiet else "-rfE"]  # fmt: skip
    for module in args.module:
        out += ["--proxy-wasm-module", str(module.resolve())]
    for flag, value in (("--proxy-wasm-plugin-config", args.plugin_config),
                        ("--proxy-wasm-vm-config", args.vm_config),
                        ("--proxy-wasm-select", args.select)):  # fmt: skip
        if value:  # one token: pytest expands a separate argument starting with @ as an args file
            out += [f"{flag}={_absolute_at(value)}"]
    for item in args.env:
        out += ["--proxy-wasm-env", item]
    for flag, value in (("--proxy-wasm-root-id", args.root_id), ("--proxy-wasm-vm-id", args.vm_id),
                        ("--proxy-wasm-origin", getattr(args, "origin", ""))):  # fmt: skip
        if value:
            out += [flag, value]
    for item in args.callout:
        out += ["--proxy-wasm-callout", item]
    for item in args.request:
        out += ["--proxy-wasm-request", item]
    if args.requests is not None:
        out += ["--proxy-wasm-requests", str(args.requests.resolve())]
    for item in args.budget:
        out += ["--proxy-wasm-budget", item]
    out += client_address_pytest_args(args)
    for path in args.expect:
        out += ["--proxy-wasm-expect", str(path.resolve())]
    out += ["--proxy-wasm-strict"] * bool(args.strict) + ["--proxy-wasm-trace"] * bool(args.trace)
    out += mesh_cli.pytest_args(args)
    if args.seed is not None:
        out += ["--proxy-wasm-seed", str(args.seed)]
    if getattr(args, "now_ns", None) is not None:  # resolved by run_check: one instant for the whole check
        out += ["--proxy-wasm-now", f"{args.now_ns // 10**9}.{args.now_ns % 10**9:09d}"]
    if getattr(args, "emit_scenarios", None) is not None:
        out += ["--proxy-wasm-emit-scenarios", str(args.emit_scenarios.resolve())]
    out += matrix_args(args)
    if args.report_dir is not None:
        directory = args.report_dir.resolve()
        out += ["--proxy-wasm-report-dir", str(directory)]  # junit.xml too, from the run model
    out += coverage_cli.pytest_args(args)
    out += guided_plugin.check_pytest_args(args)
    return out


def _absolute_at(value: str) -> str:
    return "@" + str(Path(value[1:]).resolve()) if value.startswith("@") else value


CHILD = "import sys; from pytest_proxy_wasm.check_child import main; sys.exit(main(sys.argv[1:]))"


def run_check(args: argparse.Namespace) -> int:
    """Run the suite in a child pytest (isolated from the caller's pytest configuration)."""
    args.module = expand_directories(args.module)
    for module in args.module:
        if not module.exists():
            print(f"pytest-proxy-wasm check: no such module: {module}", file=sys.stderr)
            return 4
    try:
        validate_check_inputs(args.plugin_config, args.vm_config, args.requests, args.request, args.callout)
        args.now_ns = resolve(parse_now(getattr(args, "now", "")))
    except ValueError as exc:  # InputError too: the message names the option, file, entry and field
        print(f"pytest-proxy-wasm check: {exc}", file=sys.stderr)
        return 4
    with tempfile.TemporaryDirectory(prefix="proxy-wasm-check-") as tmp:
        if any(is_yaml(m) for m in args.module):
            try:
                keys = several_wasmplugins(args)
                if keys:  # each WasmPlugin with its own pluginConfig and env, one merged report
                    return check_each(args, keys, run_check)
                from_wasmplugin(args, Path(tmp))
            except (ProxyWasmError, OSError, ValueError) as exc:
                print(f"pytest-proxy-wasm check: {exc}", file=sys.stderr)
                return 4
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\nxfail_strict = true\n")
        command = [sys.executable, "-c", CHILD, *pytest_args(args, ini)]
        return subprocess.call(command, cwd=tmp)


def run_report(args: argparse.Namespace) -> int:
    """Re-render a saved run; a writer that fails is named in one line (exit 3), the others still write."""
    from .reports.html import render_html
    from .reports.junit import render_junit
    from .reports.markdown import render_markdown
    from .reports.writers import load_json, one_line

    try:
        model = load_json(args.run_json)
    except (OSError, ValueError) as exc:
        print(f"pytest-proxy-wasm report: {exc}", file=sys.stderr)
        return 2
    outputs = [("HTML", args.html, render_html), ("JUnit", args.junit, render_junit),
               ("Markdown", args.markdown, lambda m: render_markdown(m) + "\n")]  # fmt: skip
    if all(path is None for _, path, _ in outputs):
        outputs = [("Markdown", Path("-"), render_markdown)]
    failed = 0
    for writer, path, render in outputs:
        if path is None:
            continue
        try:
            text = render(model)
            if str(path) == "-":
                print(text)
            else:
                path.write_text(text, encoding="utf-8", errors="backslashreplace")
        except Exception as exc:
            print(f"pytest-proxy-wasm report: the {writer} writer failed ({one_line(exc)})", file=sys.stderr)
            failed += 1
    return 3 if failed else 0
